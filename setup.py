"""Build hook: ship the top-level ``prompts/`` and ``reference_cases/`` inside the package.

They stay where the project's layout puts them (top level, data rather than code); the wheel
carries a copy under ``drafting/_bundled/``, read through `drafting.resources`. Everything else
is configured in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
BUNDLED = ("prompts", "reference_cases")


class BuildPyWithData(build_py):
    """``build_py`` that also copies the bundled YAML data into ``drafting/_bundled``."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):  # editable: the top-level directories are read
            return
        target_root = Path(self.build_lib) / "drafting" / "_bundled"
        for name in BUNDLED:
            source = ROOT / name
            target = target_root / name
            if target.exists():
                shutil.rmtree(target)
            for path in sorted(source.rglob("*.yaml")):
                dest = target / path.relative_to(source)
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, dest)


setup(cmdclass={"build_py": BuildPyWithData})
