"""Names a package exports but loads only when first used (PEP 562 module ``__getattr__``).

The command line builds its parser from every package's subcommands; if the packages imported
pandas, matplotlib or pydantic at once, ``icssim --help`` would take a second and a half.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any


def load_lazily(package: str, names: dict[str, str], name: str) -> Any:
    """The object ``name`` from the submodule ``names[name]`` of ``package``, imported now.

    Called from a package's ``__getattr__``; a name not in ``names`` is an AttributeError, as
    for any module."""
    if name not in names:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    return getattr(import_module(f"{package}.{names[name]}"), name)
