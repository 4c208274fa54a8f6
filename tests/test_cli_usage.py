"""CLI manners: usage errors are click's two usage lines and one error line, exit 2, no traceback;
`--version`; every option an error message names exists; Ctrl-C says where a run stands (130)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from drafting.cli import EXIT_CODES, run
from drafting.errors import ConfigError, EndpointError, ReplyParseError

ROOT = Path(__file__).resolve().parent.parent
SEED = str(ROOT / "reference_cases" / "seeds" / "seed-000.yaml")
SUITE = str(ROOT / "eval" / "suites" / "seeds.yaml")

#: (command words, arguments that make each usage-error class), per command.
USAGE_ERRORS = {
    "draft": {
        "missing argument": [],
        "unknown option": [SEED, "--no-such-option"],
        "bad choice": [SEED, "--format", "html"],
        "bad value": [SEED, "-k", "many"],
    },
    "retrieve": {
        "missing argument": ["--corpus", str(ROOT / "reference_cases")],
        "missing option": [SEED],
        "unknown option": [SEED, "--corpus", "x", "--bogus"],
        "bad value": [SEED, "--corpus", "x", "-k", "0"],
    },
    "eval run": {
        "missing argument": [],
        "unknown option": [SUITE, "--fixture", "replay"],
        "bad value": [SUITE, "--concurrency", "two"],
    },
}


def _cases() -> list[tuple[list[str], str]]:
    out = []
    for command, errors in USAGE_ERRORS.items():
        for kind, args in errors.items():
            out.append((command.split() + args, f"{command}: {kind}"))
    out.append((["drafft", SEED], "unknown command"))
    out.append((["eval", "runn", SUITE], "unknown subcommand"))
    out.append((["draft", SEED, "--structured-output", "xml"], "draft: bad structured-output"))
    return out


@pytest.mark.parametrize(("argv", "what"), _cases(), ids=[w for _, w in _cases()])
def test_usage_errors_are_short_exit_2_no_traceback(argv: list[str], what: str, capsys):
    code = run(argv)
    captured = capsys.readouterr()
    err = captured.err
    assert code == 2, (what, err)
    assert "Traceback" not in err and "Traceback" not in captured.out
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[0].startswith("Usage: drafting"), err
    assert sum(line.startswith("Error: ") for line in lines) == 1, err
    assert len(lines) <= 4, err  # Usage, Try, Error (and click's "Did you mean")


def test_version_in_process_and_from_the_console_script(capsys):
    from drafting import __version__

    assert run(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"drafting {__version__}"
    exe = Path(sys.executable).with_name("drafting")
    proc = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == f"drafting {__version__}"


def test_exit_codes_are_distinct_from_usage_errors():
    codes = {kind: code for kind, code in EXIT_CODES}
    assert codes[ConfigError.__mro__[1]] == 1
    assert codes[ReplyParseError] == 3 and codes[EndpointError] == 4
    assert 2 not in codes.values()  # 2 is click's, for usage errors only


def test_an_input_error_is_one_line_exit_1(capsys, tmp_path: Path):
    missing = tmp_path / "nope.yaml"
    assert run(["draft", str(missing), "--fixtures", "replay"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and "nope.yaml" in err


#: Options of other programs that the package's strings name (pip, llama_cpp.server's argv).
OTHER_PROGRAMS = {"--force-reinstall", "--host", "--port"}


def _options_of_every_command() -> set[str]:
    from drafting.cli import app

    try:
        from typer.main import get_command
    except ImportError:  # pragma: no cover
        raise
    names: set[str] = set()

    def walk(cmd) -> None:  # noqa: ANN001
        for param in getattr(cmd, "params", []):
            names.update(o for o in getattr(param, "opts", []) if o.startswith("--"))
        for sub in (getattr(cmd, "commands", None) or {}).values():
            walk(sub)

    walk(get_command(app))
    return names


def test_every_option_a_message_names_exists():
    """Grep the package's messages for --options: each must be a real option of some command."""
    named: dict[str, str] = {}
    for path in (ROOT / "drafting").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for literal in re.findall(r'"[^"\n]*"|\'[^\'\n]*\'', text):
            for opt in re.findall(r"(?<![\w-])--[a-z][a-z-]+(?![\w])", literal):
                named.setdefault(opt, str(path.relative_to(ROOT)))
    known = _options_of_every_command() | {"--help"} | OTHER_PROGRAMS
    unknown = {opt: where for opt, where in named.items() if opt not in known}
    assert not unknown, f"messages name options that do not exist: {unknown}"
    assert "--api-key" not in named


def test_ctrl_c_during_a_run_says_where_and_how_to_resume(tmp_path: Path):
    """SIGINT while cases are drafting: the partial run's directory, the resume command, 130."""
    env = dict(os.environ)
    env["DRAFTING_EVAL_DRAFT_FN"] = "tests.evaluation.harness_support:slow_draft"
    env["PYTHONPATH"] = str(ROOT)
    env["FAKE_DRAFT_DELAY"] = "30"
    exe = Path(sys.executable).with_name("drafting")
    argv = [str(exe), "eval", "run", SUITE, "--fixtures", "replay", "--out", str(tmp_path), "-q"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=tmp_path)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(tmp_path.glob("*/config.json")):
        time.sleep(0.2)
    assert any(tmp_path.glob("*/config.json")), "the run directory never appeared"
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    (run_dir,) = [p.parent for p in tmp_path.glob("*/config.json")]
    assert f"the partial run is in {run_dir}" in err
    assert f"--resume {run_dir}" in err and "drafting eval run" in err
