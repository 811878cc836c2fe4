"""The simulation model: compile a scenario into a plan, run replications, return records."""

from icssim.model import engine
from icssim.model.engine import Simulation, simulate
from icssim.model.plan import Plan, compile_plan
from icssim.model.records import RunRecords

#: True when the engine imported is the C extension mypyc built at install (setup.py), False when it
#: is engine.py itself (an editable install, no C compiler, or ICSSIM_PURE_PYTHON=1)
ENGINE_COMPILED = not engine.__file__.endswith(".py")

__all__ = ["ENGINE_COMPILED", "Plan", "RunRecords", "Simulation", "compile_plan", "simulate"]
