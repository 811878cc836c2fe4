"""The simulation model: compile a scenario into a plan, run replications, return records."""

from icssim.model.engine import Simulation, simulate
from icssim.model.plan import Plan, compile_plan
from icssim.model.records import RunRecords

__all__ = ["Plan", "RunRecords", "Simulation", "compile_plan", "simulate"]
