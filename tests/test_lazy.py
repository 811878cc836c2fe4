"""icssim.lazy: the names packages export lazily."""

from __future__ import annotations

import pytest

from icssim.lazy import load_lazily


def test_lazy_package_names_resolve():
    """The names the packages export lazily are the real objects, and a wrong name still fails."""
    import icssim
    import icssim.report
    import icssim.sweep
    from icssim.experiments import run
    from icssim.report.run import run_report
    from icssim.scenario.loader import load_scenario
    from icssim.sweep.runner import sweep

    assert (icssim.run, icssim.load_scenario) == (run, load_scenario)
    assert (icssim.report.run_report, icssim.sweep.sweep) == (run_report, sweep)
    for module in (icssim, icssim.report, icssim.sweep):
        with pytest.raises(AttributeError):
            module.no_such_name


def test_load_lazily_imports_the_submodule_named():
    from icssim.report.pieces import REPORT_NAME

    assert load_lazily("icssim.report", {"REPORT_NAME": "pieces"}, "REPORT_NAME") == REPORT_NAME
    with pytest.raises(AttributeError, match="'icssim.report' has no attribute 'other'"):
        load_lazily("icssim.report", {"REPORT_NAME": "pieces"}, "other")
