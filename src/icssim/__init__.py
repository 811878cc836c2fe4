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

from icssim.scenario import Scenario, load_scenario, scenario_from_dict  # noqa: E402

_LAZY = {"Comparison", "RunResult", "compare", "run"}


def __getattr__(name: str):
    """Import the experiment API (pandas, scipy) only when used, so `icssim validate` starts fast."""
    if name in _LAZY:
        from icssim import experiments

        return getattr(experiments, name)
    raise AttributeError(f"module 'icssim' has no attribute {name!r}")

__all__ = ["Comparison", "RunResult", "Scenario", "__version__", "compare", "load_scenario", "run",
           "scenario_from_dict"]
