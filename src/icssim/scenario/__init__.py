"""Scenario files: schema, loading with line numbers, and cross-reference checks."""

from icssim.scenario.loader import load_scenario, provenance, scenario_from_dict
from icssim.scenario.schema import Scenario

__all__ = ["Scenario", "load_scenario", "provenance", "scenario_from_dict"]
