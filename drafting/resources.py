"""Data that ships inside the package: the bundled prompts and reference cases.

The repository keeps them at the top level (``prompts/``, ``reference_cases/``), where the
project's layout puts them; the build copies them into the wheel as ``drafting/_bundled/<name>``
(see ``setup.py``). They are read through `importlib.resources`, so an installed package never
looks for them next to ``site-packages``. A source checkout (editable install) has no copy and
reads the top-level directories themselves.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Literal

from drafting.errors import ConfigError

BundledData = Literal["prompts", "reference_cases"]
#: Where the build puts the data inside the package.
BUNDLE_DIR = "_bundled"


def bundled_path(name: BundledData) -> Path:
    """The directory of a bundled data set.

    Args:
        name: ``prompts`` or ``reference_cases``.

    Raises:
        ConfigError: Neither the installed copy nor a source checkout's directory exists (a
            broken install).
    """
    installed = files("drafting") / BUNDLE_DIR / name
    if installed.is_dir():
        # A wheel installs onto the file system, so the Traversable is a real path.
        return Path(str(installed))
    checkout = Path(__file__).resolve().parent.parent / name
    if checkout.is_dir() and (checkout.parent / "pyproject.toml").is_file():
        return checkout
    raise ConfigError(
        f"the bundled {name} are missing from this installation of drafting; reinstall it "
        '(pip install --force-reinstall "drafting[local,embeddings]")'
    )
