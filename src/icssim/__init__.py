"""icssim: simulate fragmented and integrated mental health pathways for Integrated Care Systems.

The Python API mirrors the command line::

    import icssim
    scenario = icssim.load_scenario("scenarios/ed_integrated.yaml")
    result = icssim.run(scenario, replications=10)
    result.summary()            # KPIs with 95% confidence intervals (a DataFrame)
    base = icssim.load_scenario("scenarios/ed_fragmented.yaml")
    icssim.compare([base, scenario], replications=10).differences()   # paired, on common random numbers
"""

__version__ = "0.1.0"

from typing import Any  # noqa: E402

from icssim.lazy import load_lazily  # noqa: E402

_LAZY = {"Comparison": "experiments", "RunResult": "experiments", "compare": "experiments",
         "run": "experiments", "Scenario": "scenario", "load_scenario": "scenario",
         "scenario_from_dict": "scenario"}


def __getattr__(name: str) -> Any:
    """Import the API when first used: the scenario schema (pydantic, numpy) and the experiments
    (pandas) load only for the commands that need them, so ``icssim --help`` answers at once."""
    return load_lazily(__name__, _LAZY, name)

__all__ = ["Comparison", "RunResult", "Scenario", "__version__", "compare", "load_scenario", "run",
           "scenario_from_dict"]
