"""The engine against closed-form queueing theory (see docs/verification.md).

Each case runs a scenario in tests/verification/ with fixed seeds over several
replications; every theoretical value must lie inside the simulation's 99% Student-t
confidence interval across replications, and the interval must be narrow enough to
have detected an error of the stated size.
"""

import pytest

import cases

CASES = {
    "mm1": lambda: cases.mmc_checks("mm1"),
    "mm3": lambda: cases.mmc_checks("mm3"),
    "mmc": lambda: cases.mmc_checks("mmc"),
    "priority": cases.priority_checks,
    "mg1": cases.mg1_checks,
    "jackson": cases.jackson_checks,
}


@pytest.mark.parametrize("name", list(CASES))
def test_theory_inside_99_percent_ci(name):
    checks = CASES[name]()
    assert checks
    failed = [c.describe() for c in checks if not c.ok]
    assert not failed, "\n".join(failed)


def test_check_fails_when_theory_is_off():
    """A wrong theoretical value (5% off the M/M/1 mean wait) falls outside the interval."""
    wq = cases.mmc_checks("mm1")[0]
    wrong = cases.Check(wq.case, wq.measure, wq.theory * 1.05, wq.values, wq.max_half_width)
    assert wq.ok and not wrong.ok
