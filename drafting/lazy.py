"""Lazy package attributes: a package's public names imported on first use (PEP 562)."""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from importlib import import_module
from typing import Any


def lazy_attributes(
    package: str, modules: dict[str, str], namespace: MutableMapping[str, Any]
) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` that imports each name from its module on first use.

    Args:
        package: The package's name, for the error message (``__name__``).
        modules: Public name -> the module that defines it.
        namespace: The package's ``globals()``: a resolved name is cached there, so the next
            lookup no longer reaches ``__getattr__``.

    Returns:
        The function to assign to the package's ``__getattr__``.
    """

    def __getattr__(name: str) -> Any:
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module), name)
        namespace[name] = value
        return value

    return __getattr__
