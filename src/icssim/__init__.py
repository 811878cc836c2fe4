"""icssim: simulate fragmented and integrated mental health pathways for Integrated Care Systems.

The Python API mirrors the command line::

    import icssim
    scenario = icssim.load_scenario("scenarios/ed_integrated.yaml")
    result = icssim.run(scenario, replications=10)
    result.summary()            # KPIs with 95% confidence intervals (a DataFrame)
"""

__version__ = "0.1.0"

from icssim.experiments import RunResult, run  # noqa: E402
from icssim.scenario import Scenario, load_scenario, scenario_from_dict  # noqa: E402

__all__ = ["RunResult", "Scenario", "__version__", "load_scenario", "run", "scenario_from_dict"]
