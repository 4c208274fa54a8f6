"""The README's layering rules, enforced: import-linter contracts (pyproject.toml) and private names.

`lint-imports` also runs in `.ci/run`; running it here makes the README's test command enforce it.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO

PACKAGE = REPO / "drafting"

#: Private names allowed to cross modules, each as ``(importer, "module.name")`` with a one-line
#: reason. None today (the harness's last three went with its restructuring).
KNOWN_PRIVATE_IMPORTS: set[tuple[str, str]] = set()


def _lint_imports(cwd: Path, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    lint = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(lint), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_import_contracts_hold_on_the_tree() -> None:
    result = _lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "planted", "contract"),
    [
        ("schema.py", "import drafting.cases", "The drafting path is layered"),
        ("chain.py", "import drafting.evaluation.stats", "Nothing on the drafting path imports"),
        ("evaluation/stats.py", "import drafting.cli.draft", "The harness knows no CLI"),
    ],
)
def test_a_planted_violation_breaks_its_contract(
    tmp_path: Path, module: str, planted: str, contract: str
) -> None:
    copy = tmp_path / "drafting"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    target = copy / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{planted}  # planted\n", encoding="utf-8")
    result = _lint_imports(tmp_path, pythonpath=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{contract}" in result.stdout and "BROKEN" in result.stdout
    assert "Contracts: 2 kept, 1 broken." in result.stdout


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _is_sibling_module(importer_package: str, dotted: str) -> bool:
    """A private module of the importer's own package (e.g. ``cli._common`` from ``cli.draft``)."""
    package, _, name = dotted.rpartition(".")
    where = REPO.joinpath(*dotted.split("."))
    return package == importer_package and (where.with_suffix(".py").is_file() or where.is_dir())


def _private_imports(path: Path) -> set[tuple[str, str]]:
    """``(importer, module.name)`` for each private name of another drafting module used here.

    A package's private modules are for that package's own modules, so those imports are fine.
    """
    importer = _module_name(path)
    package = importer if path.name == "__init__.py" else importer.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[tuple[str, str]] = set()
    module_aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("drafting"):
            for alias in node.names:
                dotted = f"{node.module}.{alias.name}"
                crosses = node.module != importer and not _is_sibling_module(package, dotted)
                if _private(alias.name) and crosses:
                    found.add((importer, dotted))
                module_aliases[alias.asname or alias.name] = dotted
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("drafting") and alias.asname:
                    module_aliases[alias.asname] = alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in module_aliases
            and _private(node.attr)
        ):
            found.add((importer, f"{module_aliases[node.value.id]}.{node.attr}"))
    return found


def test_no_private_name_crosses_modules() -> None:
    found: set[tuple[str, str]] = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        found |= _private_imports(path)
    assert found - KNOWN_PRIVATE_IMPORTS == set()
    assert KNOWN_PRIVATE_IMPORTS - found == set(), "gone: delete them from KNOWN_PRIVATE_IMPORTS"


def test_the_private_name_check_sees_both_spellings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    module = tmp_path / "drafting" / "llm" / "handling.py"
    module.parent.mkdir(parents=True)
    (module.parent / "_private_sibling.py").write_text("", encoding="utf-8")  # a package's own
    module.write_text(
        "from drafting.llm.fixtures import _context\n"
        "from drafting.evaluation import rundir\n"
        "from drafting.llm import _private_sibling\n"
        "SAFE = rundir._SAFE\n",
        encoding="utf-8",
    )
    assert _private_imports(module) == {
        ("drafting.llm.handling", "drafting.llm.fixtures._context"),
        ("drafting.llm.handling", "drafting.evaluation.rundir._SAFE"),
    }
