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

__all__ = ["Comparison", "RunResult", "Scenario", "__version__", "compare", "load_scenario", "run",
           "scenario_from_dict"]

# The API names are imported on first use (PEP 562), so ``import icssim.model`` (the engine,
# e.g. in worker processes) does not pay for pandas and scipy: about 150 MB and a few seconds.
_LAZY = {
    "Comparison": "icssim.experiments", "RunResult": "icssim.experiments", "compare": "icssim.experiments",
    "run": "icssim.experiments",
    "Scenario": "icssim.scenario", "load_scenario": "icssim.scenario", "scenario_from_dict": "icssim.scenario",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'icssim' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
