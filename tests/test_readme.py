"""Every Python and shell block of the README runs, so the README cannot drift from the code.

Blocks run in order, each in a fresh copy of the repository's data (``reference_cases``,
``prompts``, ``eval/suites``, ``eval/baselines``; ``eval/fixtures`` linked read-only) with
``../shared`` linked beside it, the way a user would type them from the repository root. A block
preceded by ``<!-- readme-test: skip, needs network ... -->`` is skipped: it installs from the
package index or talks to a server the test cannot have.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
_BLOCK = re.compile(r"(?P<marker><!--[^\n]*-->\n)?```(?P<lang>python|bash)\n(?P<code>.*?)```", re.S)


def readme_blocks() -> list[tuple[str, str, str, str | None]]:
    """(id, language, code) of each python/bash block; the skip marker's text, if any."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = []
    for m in _BLOCK.finditer(text):
        marker = m.group("marker") or ""
        skip = marker.strip() if "readme-test: skip" in marker else None
        line = text[: m.start("code")].count("\n") + 1
        blocks.append((f"{m.group('lang')}-line{line}", m.group("lang"), m.group("code"), skip))
    return blocks


BLOCKS = readme_blocks()


def test_the_readme_has_runnable_blocks():
    runnable = [b for b in BLOCKS if b[3] is None]
    assert {b[1] for b in runnable} == {"python", "bash"} and len(runnable) >= 4
    for _, _, _, skip in BLOCKS:
        if skip is not None:
            assert "needs network" in skip  # the only reason a block may skip


def _sandbox(tmp_path: Path) -> Path:
    work = tmp_path / "repo"
    work.mkdir()
    for name in ("reference_cases", "prompts"):
        shutil.copytree(ROOT / name, work / name)
    for name in ("suites", "baselines"):
        shutil.copytree(ROOT / "eval" / name, work / "eval" / name)
    # The README's import examples read the example exports shipped beside the tests.
    shutil.copytree(ROOT / "tests" / "data" / "import", work / "tests" / "data" / "import")
    (work / "eval" / "fixtures").symlink_to(ROOT / "eval" / "fixtures", target_is_directory=True)
    if SHARED.is_dir():
        (tmp_path / "shared").symlink_to(SHARED, target_is_directory=True)
    return work


@pytest.mark.parametrize(("lang", "code", "skip"), [b[1:] for b in BLOCKS], ids=[b[0] for b in BLOCKS])
def test_readme_block_runs(lang: str, code: str, skip: str | None, tmp_path: Path):
    if skip is not None:
        pytest.skip(skip)
    if "../shared/" in code and not SHARED.is_dir():
        pytest.skip(f"needs the MedPix data at {SHARED}")
    work = _sandbox(tmp_path)
    bin_dir = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DRAFTING_", "OPENAI_"))}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["DRAFTING_FORBID_LOCAL_SERVER"] = "README blocks replay recorded traffic"
    shell = ["bash", "-euo", "pipefail", "-c", code]
    argv = [sys.executable, "-c", code] if lang == "python" else shell
    proc = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (
        f"README block failed:\n{code}\nstdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"
    )
    assert "Traceback" not in proc.stderr
