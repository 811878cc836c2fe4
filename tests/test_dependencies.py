"""Every package the code imports is one that installing icssim brings (or an extra names).

A module that imports a package only present by accident (PyYAML arrives with Dask) works in the
test environment and fails for a user who installed icssim without that extra.
"""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "icssim"

# import name -> distribution name, where they differ
DISTRIBUTION_OF = {"ruamel": "ruamel.yaml", "distributed": "dask", "pydantic_core": "pydantic",
                   "mypy_extensions": "mypy"}
# packages every module may import whatever the extras: icssim itself and what the standard library holds
ALWAYS = {"icssim"} | set(sys.stdlib_module_names)


def _declared() -> tuple[set[str], dict[str, set[str]]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]

    def names(requirements: list[str]) -> set[str]:
        return {req.split(";")[0].split("[")[0].split(">")[0].split("<")[0].split("=")[0].strip().lower()
                for req in requirements}

    extras = {extra: names(reqs) for extra, reqs in project.get("optional-dependencies", {}).items()}
    return names(project["dependencies"]), extras


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def _distribution(module: str) -> str:
    return DISTRIBUTION_OF.get(module, module).lower()


def test_core_modules_import_only_core_dependencies() -> None:
    core, extras = _declared()
    allowed_anywhere = core | set().union(*extras.values())
    undeclared = {}
    for path in sorted(SOURCE.rglob("*.py")):
        missing = sorted(m for m in _imports(path) - ALWAYS if _distribution(m) not in allowed_anywhere)
        if missing:
            undeclared[str(path.relative_to(ROOT))] = missing
    assert not undeclared, f"imports of packages no dependency or extra declares: {undeclared}"


def test_the_national_run_needs_no_extra() -> None:
    """national.py is run as `python -m icssim.national` on a plain install: core packages only."""
    core, _ = _declared()
    module = SOURCE / "national.py"
    extra_only = sorted(m for m in _imports(module) - ALWAYS if _distribution(m) not in core)
    assert extra_only == []
