"""The `drafting` command registers every command group it documents."""

from __future__ import annotations

import typer.main

from drafting.cli import app


def test_every_command_group_is_registered() -> None:
    commands = typer.main.get_command(app).commands  # a click Group
    assert sorted(commands) == ["cases", "draft", "eval", "fixtures", "retrieve"]
    assert sorted(commands["eval"].commands) == [
        "baseline", "check", "compare", "contamination", "matrix", "retrieval", "retry", "run",
        "runs", "score",
    ]
