"""Build icssim, compiling the simulation engine with mypyc where it can.

The engine (``src/icssim/model/engine.py`` and its parts, listed in ``ENGINE``) is ordinary Python
and is shipped as such. A normal install also compiles its modules together with mypyc (part of
mypy) into C extensions that Python imports in their place: the same code, the same records bit for
bit, in fewer instructions per event (benchmarks/HISTORY.md, item 27). The build stays pure Python,
with a warning (which pip shows with ``-v``), when

* ``ICSSIM_PURE_PYTHON=1`` is set,
* the install is editable (``pip install -e``: edits to the engine must take effect), or
* mypyc or a C compiler is missing, or compiling fails.

``icssim.model.ENGINE_COMPILED`` says which engine runs (from ``icssim.model.engine.__file__``:
``.so`` or ``.py``).
"""

from __future__ import annotations

import os
import sys
import warnings

from setuptools import setup
from setuptools.command.build_ext import build_ext

# the engine's modules, compiled together (one mypyc group: each part's class is the base of the
# next, and a compiled class can only inherit from one compiled with it); all or none of them
ENGINE = [f"src/icssim/model/{name}.py" for name in (
    "entities", "choices", "loop", "recording", "deterioration", "queues", "flow", "service", "engine")] + [
    "src/icssim/health/person_keys.py",  # a person's own random numbers and the record of their course
    "src/icssim/health/person.py",  # each person's course of illness, which the engine advances per event
    "src/icssim/health/person_returns.py"]  # ... and out of the pathway, to a return (health.returns)


# setup.py commands that build the package itself; the others (egg_info, dist_info, sdist, and
# editable_wheel or develop for an editable install) need no compiled engine
BUILD_COMMANDS = ("bdist_wheel", "build", "build_ext", "install")


def _wants_compiled_engine() -> bool:
    if os.environ.get("ICSSIM_PURE_PYTHON") == "1":
        return False
    return any(cmd in sys.argv for cmd in BUILD_COMMANDS)


def _engine_extensions() -> list:
    """mypyc's extension modules for the engine, or none (pure Python)."""
    if not _wants_compiled_engine():
        return []
    try:
        from mypyc.build import mypycify

        # the engine must type-check; the modules it imports are read for their types only, and
        # packages absent from the build environment (numpy, simpy) count as untyped
        return mypycify(["--follow-imports=silent", "--ignore-missing-imports", *ENGINE], opt_level="3")
    except (Exception, SystemExit) as exc:  # mypyc missing, or the type check failed (mypyc then
        # exits the process with SystemExit, which Exception does not catch): ship the pure engine
        warnings.warn(f"icssim: engine not compiled ({exc}); using the pure-Python engine")
        return []


class OptionalBuildExt(build_ext):
    """Build the compiled engine, or, on any failure, none of it: a half-built set of mypyc
    modules would shadow the engine's sources with modules that cannot be imported."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # no C compiler, or it failed
            for path in self.get_outputs():
                if os.path.exists(path):
                    os.remove(path)
            warnings.warn(f"icssim: engine not compiled ({exc}); using the pure-Python engine")


setup(ext_modules=_engine_extensions(), cmdclass={"build_ext": OptionalBuildExt})
