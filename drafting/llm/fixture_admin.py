"""Keeping fixture directories reviewable: statistics, and pruning what no run used.

Evaluation runs list the fixture keys each case used in ``<run>/results.jsonl`` (field
``fixture_keys``); `prune_fixtures` keeps exactly the fixtures some listed run used.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from drafting.errors import ConfigError, FixtureFileError

_KEY_RE = re.compile(r"^[0-9a-f]{64}$")


def fixture_files(directory: str | Path) -> list[Path]:
    """Every fixture file under a directory (a fixtures root or one label), sorted."""
    root = Path(directory)
    if not root.is_dir():
        raise ConfigError("not a fixture directory", path=root)
    return sorted(p for p in root.rglob("*.json") if _KEY_RE.match(p.stem))


@dataclass
class FixtureStats:
    """What a fixture directory holds."""

    count: int = 0
    total_bytes: int = 0
    models: Counter[str] = field(default_factory=Counter)
    oldest: str | None = None
    newest: str | None = None
    unreadable: list[Path] = field(default_factory=list)


def fixture_stats(directory: str | Path) -> FixtureStats:
    """Count, size, models and recording dates of the fixtures under a directory.

    Unreadable files are listed, not raised, so that one bad file does not hide the rest.
    """
    from drafting.llm.fixtures import read_fixture

    stats = FixtureStats()
    for path in fixture_files(directory):
        stats.count += 1
        stats.total_bytes += path.stat().st_size
        try:
            record = read_fixture(path)
        except FixtureFileError:
            stats.unreadable.append(path)
            continue
        stats.models[str(record.get("model") or "?")] += 1
        when = record.get("recorded_at")
        if isinstance(when, str):
            stats.oldest = min(stats.oldest or when, when)
            stats.newest = max(stats.newest or when, when)
    return stats


def used_keys(runs: list[str | Path]) -> set[str]:
    """The fixture keys recorded in the ``results.jsonl`` rows of evaluation runs.

    Raises:
        ConfigError: A run without ``results.jsonl``, or a line that is not a JSON object.
    """
    keys: set[str] = set()
    for run in runs:
        results = Path(run) / "results.jsonl"
        if not results.is_file():
            raise ConfigError("no results.jsonl: not an evaluation run directory", path=run)
        for number, line in enumerate(results.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"line {number} is not JSON ({exc.msg})", path=results) from None
            if not isinstance(row, dict):
                raise ConfigError(f"line {number} is not a JSON object", path=results)
            for key in row.get("fixture_keys") or ():
                keys.add(str(key))
    return keys


@dataclass
class PruneResult:
    """What pruning kept and removed (or would remove, in a dry run)."""

    kept: int
    removed: list[Path]
    dry_run: bool


def prune_fixtures(directory: str | Path, runs: list[str | Path], *, dry_run: bool = False) -> PruneResult:
    """Delete the fixtures under a directory that none of the listed runs used.

    Args:
        directory: A fixtures root or one label directory.
        runs: Evaluation run directories (each with ``results.jsonl``).
        dry_run: Report what would go, delete nothing.

    Raises:
        ConfigError: No runs given, a run is unreadable, or the runs used no fixtures at all
            (that would delete everything: more likely live runs than an intent).
    """
    if not runs:
        raise ConfigError("name at least one run with --keep-used")
    keep = used_keys(runs)
    files = fixture_files(directory)
    if not keep and files and not dry_run:
        raise ConfigError(
            f"the listed runs used no fixtures (live runs?); refusing to delete all {len(files)} fixtures",
            path=directory,
        )
    removed = [p for p in files if p.stem not in keep]
    if not dry_run:
        for path in removed:
            path.unlink()
            parent = path.parent
            if parent != Path(directory) and not any(parent.iterdir()):
                parent.rmdir()
    return PruneResult(kept=len(files) - len(removed), removed=removed, dry_run=dry_run)
