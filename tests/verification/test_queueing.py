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
    "parttime": lambda: cases.mmc_checks("parttime"),
    "shared_pool": cases.shared_pool_checks,
    "priority": cases.priority_checks,
    "mg1": cases.mg1_checks,
    "erlang_a": cases.erlang_a_checks,
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


def test_closed_forms_against_textbook_values():
    """The theory side itself: known values, so a slip there cannot hide an engine error."""
    from qtheory import (
        ErlangA, MMc, cobham_mmc, erlang_c, jackson_rates, pollaczek_khinchine, priority_top_wait_over,
    )

    assert erlang_c(1, 0.6) == pytest.approx(0.6)  # M/M/1: P(wait) = rho
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)  # M/M/2 at rho 0.5
    assert MMc(0.6, 1.0, 1).wq == pytest.approx(0.6 / 0.4)  # rho / (mu - lambda)
    assert pollaczek_khinchine(0.6, 1.0, 1.0) == pytest.approx(MMc(0.6, 1.0, 1).wq)  # exponential service
    assert pollaczek_khinchine(0.6, 1.0, 0.0) == pytest.approx(MMc(0.6, 1.0, 1).wq / 2)  # M/D/1
    hi, lo = cobham_mmc([0.8, 1.6], 1.0, 3)
    assert (0.8 * hi + 1.6 * lo) / 2.4 == pytest.approx(MMc(2.4, 1.0, 3).wq)  # conservation law
    assert cobham_mmc([2.4], 1.0, 3)[0] == pytest.approx(MMc(2.4, 1.0, 3).wq)  # one class = FIFO
    for t in (0.0, 0.7, 2.0):  # one class = FIFO
        assert priority_top_wait_over([2.4], 1.0, 3, t) == pytest.approx(MMc(2.4, 1.0, 3).p_wait_over(t))
    # the urgent wait's distribution has Cobham's mean: the integral of P(W > t), C / (c mu - lambda_1)
    assert priority_top_wait_over([0.8, 1.6], 1.0, 3, 0.0) / (3.0 - 0.8) == pytest.approx(hi)
    assert ErlangA(2.4, 1.0, 3, 1e-9).wq == pytest.approx(MMc(2.4, 1.0, 3).wq, rel=1e-6)  # no dropout
    ea = ErlangA(3.0, 1.0, 3, 0.5)
    assert ea.utilisation == pytest.approx(3.0 * (1 - ea.p_abandon) / 3)  # served work = capacity used
    lam = jackson_rates([4.0, 0.0, 0.0], [[0, 0.7, 0.3], [0.2, 0, 0], [0, 0, 0]])
    assert lam == pytest.approx([4 / 0.86, 0.7 * 4 / 0.86, 0.3 * 4 / 0.86])
