"""`duban` command line: the group and its commands, one module per concern."""

from __future__ import annotations

import sys

import click

from bot.cli import (
    aliases,
    backup,
    chat,
    corpus,
    experience,
    interview,
    ledger,
    ledger_excel,
    ops,
    people,
    rank,
    report,
    spot_check,
    tick,
)
from bot.cli.base import cli
from bot.config import ConfigError

__all__ = ["cli", "main"]
# Importing a command module registers its commands on the group.
del (
    aliases,
    backup,
    chat,
    corpus,
    experience,
    interview,
    ledger,
    ledger_excel,
    ops,
    people,
    rank,
    report,
    spot_check,
    tick,
)


def main() -> None:
    try:
        # Without standalone mode click returns, not raises, a command's ctx.exit(code).
        rc = cli.main(standalone_mode=False)
        if isinstance(rc, int) and rc:
            sys.exit(rc)
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
