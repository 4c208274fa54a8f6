"""The `drafting` command: thin wrappers that parse, call one library function, and print.

Each command group lives in its own module; heavy libraries are imported inside commands so that
``drafting --help`` stays fast.
"""

from __future__ import annotations

import sys

import click
import typer

from drafting.cli import cases, draft, eval_run, eval_score, evaluate, fixtures, retrieve
from drafting.cli._common import err_console
from drafting.errors import DraftingError, EndpointError, InputError, ReplyParseError

app = typer.Typer(
    name="drafting",
    help="Draft structured clinical imaging reports with an LLM, and evaluate the drafts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(cases.app, name="cases")
for _group in (fixtures, retrieve, draft, evaluate, eval_run, eval_score):
    _group.register(app)


#: Exit status per error kind: 1 bad input or config, 2 endpoint failure, 3 unparseable reply.
EXIT_CODES: list[tuple[type[DraftingError], int]] = [
    (InputError, 1),
    (EndpointError, 2),
    (ReplyParseError, 3),
    (DraftingError, 1),
]


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit status.

    Known errors become one line on stderr and an exit status, never a traceback.
    """
    try:
        result = app(args=argv, standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        err_console.print("aborted")
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except DraftingError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False, markup=True)
        code = next(c for kind, c in EXIT_CODES if isinstance(exc, kind))
        return code
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    return result if isinstance(result, int) else 0


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())
