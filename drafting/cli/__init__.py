"""The `drafting` command: thin wrappers that parse, call one library function, and print.

Each command group lives in its own module; heavy libraries are imported inside commands so that
``drafting --help`` stays fast.

Exit status (also in the README):

- 0: done; 1: bad input or configuration (a case file, a suite, an option's value), or a failed
  gate (`drafting eval check`, `drafting cases validate`);
- 2: a usage error (missing argument, unknown option or command, bad choice): click's
  ``Usage: ...`` / ``Error: ...`` lines, never a traceback;
- 3: a model reply that did not parse; 4: a model endpoint that failed (after retries);
- 130: interrupted (Ctrl-C); `drafting eval run` says where the partial run is and how to resume.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from drafting.cli import (
    cases,
    draft,
    eval_contamination,
    eval_run,
    eval_score,
    evaluate,
    fixtures,
    retrieve,
)
from drafting.cli._common import err_console, escape
from drafting.errors import DraftingError, EndpointError, InputError, ReplyParseError

app = typer.Typer(
    name="drafting",
    help="Draft structured clinical imaging reports with an LLM, and evaluate the drafts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(cases.app, name="cases")


def _show_version(value: bool) -> None:
    if value:
        from drafting import __version__

        print(f"drafting {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Draft structured clinical imaging reports with an LLM, and evaluate the drafts."""


for _group in (fixtures, retrieve, draft, evaluate, eval_run, eval_score, eval_contamination):
    _group.register(app)


#: Exit status per error kind (see the module docstring); 2 is click's, for usage errors.
EXIT_CODES: list[tuple[type[DraftingError], int]] = [
    (InputError, 1),
    (ReplyParseError, 3),
    (EndpointError, 4),
    (DraftingError, 1),
]
USAGE_ERROR = 2
INTERRUPTED = 130


def _parser_exceptions() -> tuple[tuple[type[BaseException], ...], ...]:
    """(usage errors, exits, aborts) of the click the installed typer parses with.

    typer 0.2x vendors its own copy of click, whose usage errors derive from
    ``typer.TyperException`` and are not ``click.ClickException``: catching only the latter is
    how they once escaped as tracebacks. Both are caught, so either typer works.
    """
    errors: list[type[BaseException]] = []
    exits: list[type[BaseException]] = [typer.Exit]
    aborts: list[type[BaseException]] = [typer.Abort]
    if hasattr(typer, "TyperException"):  # typer >= 0.2x: its vendored click's errors
        errors.append(typer.TyperException)
    try:
        import click

        errors.append(click.ClickException)
        exits.append(click.exceptions.Exit)
        aborts.append(click.exceptions.Abort)
    except ImportError:  # pragma: no cover - a vendoring typer does not need the package
        pass
    return tuple(dict.fromkeys(errors)), tuple(dict.fromkeys(exits)), tuple(dict.fromkeys(aborts))


_CLICK_ERRORS, _CLICK_EXITS, _CLICK_ABORTS = _parser_exceptions()


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit status.

    Known errors become one line on stderr and an exit status, never a traceback.
    """
    try:
        result = app(args=argv, standalone_mode=False, prog_name="drafting")
    except _CLICK_EXITS as exc:
        return int(getattr(exc, "exit_code", 0))
    except _CLICK_ABORTS:
        err_console.print("aborted")
        return INTERRUPTED
    except _CLICK_ERRORS as exc:
        exc.show()  # type: ignore[attr-defined]  # "Usage: ...", "Try '... --help'...", "Error: ..."
        return int(getattr(exc, "exit_code", USAGE_ERROR))
    except DraftingError as exc:
        err_console.print(f"[red]error:[/red] {escape(exc)}", highlight=False, markup=True)
        code = next(c for kind, c in EXIT_CODES if isinstance(exc, kind))
        return code
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return INTERRUPTED
    return result if isinstance(result, int) else 0


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())
