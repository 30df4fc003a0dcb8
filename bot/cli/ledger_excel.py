"""`duban ledger-import` and `duban ledger-export`: the ledger (台账) as Excel."""

from __future__ import annotations

import json

import click

from bot.cli.base import State, cli, needs_db
from bot.excel.ledger import ImportReport, export_ledger, run_import
from bot.excel.sheet import LedgerFileError


@cli.command("ledger-import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check every row and show what would change.")
@click.option(
    "--year",
    type=int,
    default=None,
    help="Year of dates written without one (9月底); default: this year.",
)
@click.option("--as", "actor", default="cli", show_default=True, help="Who imports (audit).")
@click.option(
    "--add-units",
    is_flag=True,
    help="Create the units the sheet names that are not registered (乡/镇 township, else "
    "department).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
@needs_db
def ledger_import(
    state: State,
    path: str,
    dry_run: bool,
    year: int | None,
    actor: str,
    add_units: bool,
    as_json: bool,
) -> None:
    """Import the ledger from an .xlsx sheet, all or nothing (exit 1 on any bad row)."""
    try:
        report = run_import(
            state.runtime, path, actor=actor, year=year, dry_run=dry_run, add_units=add_units
        )
    except LedgerFileError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        for line in report_lines(report):
            click.echo(line)
    if not report.ok:
        raise click.exceptions.Exit(1)


def report_lines(report: ImportReport) -> list[str]:
    units = [
        *(["未登记的单位：" + "、".join(report.unknown_units)] if report.unknown_units else []),
        *(f"  新建单位 {x}" for x in report.added_units),
        *(f"  单位名 {x}" for x in report.aliases),
    ]
    if not report.ok:
        return [
            f"导入失败，未写入任何数据（{len(report.errors)} 处错误）：",
            *(f"  {e}" for e in report.errors),
            *units,
            *(f"  ! {x}" for x in report.notes),
        ]
    head = "试导入（未写入）" if report.dry_run else "导入完成"
    return [
        f"{head}：新增 {len(report.created)} 项，更新 {len(report.updated)} 项，"
        f"未变 {report.unchanged} 项",
        *units,
        *(f"  + {x}" for x in report.created),
        *(f"  ~ {x}" for x in report.updated),
        *(f"  ↻ {x}" for x in report.duties),
        *(f"  ! {x}" for x in report.notes),
    ]


@cli.command("ledger-export")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@click.pass_obj
@needs_db
def ledger_export(state: State, path: str) -> None:
    """Write the ledger to an .xlsx sheet (it imports back unchanged)."""
    rt = state.runtime
    with rt.sessions() as session:
        n = export_ledger(session, rt.config, rt.calendar, path, today=rt.today())
    click.echo(f"已导出 {n} 项任务到 {path}")
