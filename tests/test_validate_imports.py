"""``icssim validate`` learns a scenario's KPI names from a one-day run (icssim.kpi_check) to check
the names a file gives (``report.featured``, a sweep's ``kpis:`` and optimise targets). That run
loaded pandas and scipy.stats, a second of a validate that otherwise takes half of one: the KPI of
waiting lists still rising imported icssim.warmup for a run without a warm-up, where it tests
nothing, and the sweep check imported the optimiser's tables for two parsers. They must stay out."""

from __future__ import annotations

import subprocess
import sys

import pytest

from helpers import SCENARIOS

#: What the check must not load (each costs a tenth of a second to a second).
HEAVY = ("pandas", "scipy.stats", "pyarrow", "matplotlib", "icssim.warmup")

_SCRIPT = """
import sys
from icssim.cli import main
code = main(["validate", sys.argv[1]])
print(code, *sorted(m for m in sys.argv[2:] if m in sys.modules))
"""


def _validate_loads(path) -> tuple[int, set[str]]:
    """``icssim validate PATH`` in a fresh interpreter: its exit status, and which of :data:`HEAVY`
    and ``icssim.experiments`` (what the one-day run needs) it loaded."""
    done = subprocess.run([sys.executable, "-c", _SCRIPT, str(path), *HEAVY, "icssim.experiments"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    code, *loaded = done.stdout.split("\n")[-2].split()
    return int(code), set(loaded)


@pytest.mark.parametrize("path", [SCENARIOS / "ltc_depression_fragmented.yaml",   # report.featured
                                  SCENARIOS / "sweeps" / "ed_cyp_capacity.yaml"])  # kpis, optimise, frontier
def test_checking_kpi_names_loads_neither_pandas_nor_scipy_stats(path):
    code, loaded = _validate_loads(path)
    assert code == 0
    assert "icssim.experiments" in loaded   # (the names were checked: the one-day run ran)
    assert not loaded & set(HEAVY), sorted(loaded)


def test_waiting_lists_rising_is_zero_without_a_warm_up_as_the_test_would_say():
    """The KPI skips the test (and its imports) without a warm-up: the value it would have given."""
    from icssim.experiments import run_replication
    from icssim.scenario import load_scenario
    from icssim.units import Span
    from icssim.warmup import rising_in_replication

    s = load_scenario(SCENARIOS / "urgent_mh_fragmented.yaml")
    s = s.model_copy(update={"scenario": s.scenario.model_copy(update={"horizon": Span(20.0, "day"),
                                                                       "warmup": Span(0.0)})})
    rep = run_replication(s, 0)
    assert rep.kpis["waiting_lists_rising"] == 0.0 == len(rising_in_replication(rep.records))
