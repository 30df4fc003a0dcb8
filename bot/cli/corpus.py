"""`duban corpus-check FILE`: how the bot reads a file of officials' messages."""

from __future__ import annotations

import click

from bot.cli.base import cli


@cli.command("corpus-check")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--show",
    default="wrong,missed",
    show_default=True,
    help="Verdicts to list message by message (understood, asked, missed, wrong).",
)
def corpus_check(path: str, show: str) -> None:
    """Run every message of a JSONL corpus against the fixture county; print the counts.

    Exits with status 1 when any message was recorded differently from its expectation.
    """
    from bot.devtools.corpus import check_file

    counts = check_file(path)
    wanted = {v.strip() for v in show.split(",") if v.strip()}
    for o in counts.outcomes:
        if o.verdict in wanted:
            m = o.message
            click.echo(
                f"{o.verdict:<8} #{m.get('id', '-')} {m['text']}  → {o.template} {o.records}"
            )
    click.echo(counts.line())
    if counts.by["wrong"]:
        raise click.exceptions.Exit(1)
