"""Checks that a scenario's work is bounded: patients per replication, samples, schedules, sessions and
waits per patient (each refused above a limit, with the estimated size in the message)."""

from __future__ import annotations

import math
from collections.abc import Iterator

from icssim.scenario.demand_profile import profile_path, read_profile
from icssim.scenario.findings import Finding, cohort_rate
from icssim.scenario.schema import Scenario
from icssim.units import UNIT_DAYS, canonical_unit

#: Largest expected number of simulated patients accepted in one replication.
MAX_PATIENTS = 5_000_000
#: Most time-series samples (waiting lists, costs) accepted in one replication.
MAX_SAMPLES = 100_000
#: Throughput assumed when estimating run time, in patients a second on one core (one worker), of the
#: compiled engine (mypyc, a non-editable install with a C compiler) and of the pure-Python engine
#: (an editable install, no C compiler, or ICSSIM_PURE_PYTHON=1): :func:`patients_per_second`.
#: Measured 2026-12-07 on scenarios/ed_fragmented.yaml (16,200 expected patients a replication),
#: Python 3.11, a 2-core Linux machine, ``icssim run -n 40 -w 2``: simulation (with each
#: replication's KPIs) 24.0 s compiled, 98.4 s pure-Python, so 13,500 and 3,290 patients a second a
#: worker (13.5 s and 4.9 s more to write the results: 9,700 and 3,080 end to end); one replication
#: alone in one process (``simulate``, no KPIs) ran 31,900 and 6,760 patients a second. Rounded down.
COMPILED_PATIENTS_PER_SECOND = 13_000
PURE_PATIENTS_PER_SECOND = 3_300
#: The same for a sweep's or PSA's runs, which keep no records (sweep/executors.py): 40,000 compiled
#: (the shipped 800-run PSA ran in 2 min 39 s on 2 cores: about 40,000 patients a second a worker),
#: and pure-Python in the ratio of one replication's ``simulate`` alone, above (31,900 to 6,760).
LEAN_COMPILED_PATIENTS_PER_SECOND = 40_000
LEAN_PURE_PATIENTS_PER_SECOND = 8_500
#: Most sessions a treatment episode may have on average (and as standard deviation).
MAX_SESSIONS = 10_000
#: Longest time a patient of the initial state may have waited or been treated, on average (and
#: as standard deviation), in days (100 years).
MAX_WAITED_DAYS = 36_525.0


def patients_per_second(lean: bool = False) -> int:
    """Patients a second one worker simulates with the engine this install runs (compiled or
    pure-Python, :data:`icssim.model.ENGINE_COMPILED`): the rate every run-time estimate uses;
    ``lean`` for runs that keep no records (a sweep's or PSA's)."""
    from icssim import model   # (the engine loads only when a run-time estimate is needed)

    if lean:
        return LEAN_COMPILED_PATIENTS_PER_SECOND if model.ENGINE_COMPILED else LEAN_PURE_PATIENTS_PER_SECOND
    return COMPILED_PATIENTS_PER_SECOND if model.ENGINE_COMPILED else PURE_PATIENTS_PER_SECOND


def engine_name() -> str:
    """Which engine :func:`patients_per_second` measured, for messages that print the rate."""
    from icssim import model

    return "compiled" if model.ENGINE_COMPILED else "pure-Python"


def per_patient(s: Scenario) -> Iterator[Finding]:
    """Work that grows without bound for one patient or one meeting: schedules much finer than the
    horizon, endless treatment episodes, waits of centuries."""
    unit = s.scenario.time_unit
    horizon = s.scenario.horizon.to(unit)
    if not horizon > 0:
        return
    for name, st in s.pathway.steps.items():
        at = ("pathway", "steps", name)
        schedules = [(("meets", "every"), st.meets.every if st.meets is not None else None, "panel meetings"),
                     (("monitoring", "every"), st.monitoring.every if st.monitoring is not None else None,
                      "monitoring contacts per patient"),
                     (("sessions", "every"), st.sessions.every if st.sessions is not None else None,
                      "sessions per patient")]
        for key, every, what in schedules:
            if every is not None and every.value > 0 and horizon / every.to(unit) > MAX_SAMPLES:
                yield (*at, *key), (
                    f"would give up to {horizon / every.to(unit):,.3g} {what} over the horizon; expected at most "
                    f"{MAX_SAMPLES:,} (a longer 'every'), found {every}")
        if st.sessions is not None:
            count = st.sessions.count.compile(unit)
            if count.mean > MAX_SESSIONS or count.var > MAX_SESSIONS ** 2:
                yield (*at, "sessions", "count"), (
                    f"expected at most {MAX_SESSIONS:,} sessions per episode on average (and as standard "
                    f"deviation), found a mean of {count.mean:,.3g} and a standard deviation of "
                    f"{count.var ** 0.5:,.3g}")
    if s.initial_state is None:
        return
    days = UNIT_DAYS[canonical_unit(unit)]
    for i, g in enumerate(s.initial_state.waiting):
        for key in ("waited", "treated_for"):
            dist = getattr(g, key)
            if dist is None:
                continue
            sampler = dist.compile(unit)
            if sampler.mean * days > MAX_WAITED_DAYS or sampler.var ** 0.5 * days > MAX_WAITED_DAYS:
                yield ("initial_state", "waiting", i, key), (
                    f"expected at most 100 years on average (and as standard deviation), found a mean of "
                    f"{sampler.mean * days / 365.25:,.3g} years")


def size(s: Scenario) -> Iterator[Finding]:
    unit = s.scenario.time_unit
    horizon = s.scenario.horizon.to(unit)
    if not horizon > 0:
        return  # reported by _run_length
    log_arrivals = [_log_arrivals(s, c, horizon) for c in s.cohorts]
    top = max(log_arrivals, default=-math.inf)
    log_expected = top + math.log(sum(math.exp(x - top) for x in log_arrivals)) if top > -math.inf else -math.inf
    waiting = sum(g.count for g in s.initial_state.waiting) if s.initial_state is not None else 0
    if log_expected > math.log(MAX_PATIENTS) or waiting + math.exp(min(log_expected, 700)) > MAX_PATIENTS:
        expected = math.exp(log_expected) if log_expected < 700 else math.inf
        total = expected + waiting
        about = f"about {total:,.0f}" if total < 1e15 else f"about {total:.3g}" if total < math.inf \
            else "more than 1e300"
        rate = patients_per_second()
        minutes = total / rate / 60
        run_time = f"{minutes:,.0f} minutes each" if minutes < 1e15 else f"{minutes:.3g} minutes each" \
            if minutes < math.inf else "without end"
        with_waiting = f", {waiting:,} of them already waiting at the start" if waiting else ""
        yield ("cohorts",), (
            f"{about} patients would arrive in one replication{with_waiting} (estimated run time "
            f"{run_time}, at {rate:,} patients a second with the {engine_name()} engine); the limit is "
            f"{MAX_PATIENTS:,}. Check the population, rates, demand "
            f"growth and changes, and initial_state counts.")



def _log_arrivals(s: Scenario, name: str, horizon: float) -> float:
    """Natural log of the expected arrivals of cohort ``name`` over ``horizon``, demand included
    (computed in logs: a huge growth or change factor must not overflow)."""
    rate = cohort_rate(s, name)
    if not rate > 0:
        return -math.inf
    log_total = math.log(rate)
    d = s.cohorts[name].demand
    if d is None:
        return log_total + math.log(horizon)
    unit_years = UNIT_DAYS[canonical_unit(s.scenario.time_unit)] / UNIT_DAYS["year"]
    k = math.log1p(d.growth_per_year) / (1 / unit_years)
    kh = k * horizon
    if k == 0:
        log_total += math.log(horizon)
    elif kh > 50:  # integral of e^(k t) over [0, H] is about e^(k H) / k
        log_total += kh - math.log(k)
    else:
        log_total += math.log(math.expm1(kh) / k) if kh != 0 else math.log(horizon)
    if d.seasonality is not None:
        log_total += math.log(max(sum(d.seasonality) / 12, 1e-300))
    hours = d.hourly if d.hourly is not None else [v for day in d.weekly or () for v in day]
    if d.profile is not None:  # a profile file (a file that cannot be used is refused by calendar_checks)
        path = profile_path(s, name)
        hours = (read_profile(path)[0] if path is not None else None) or []
    if hours:  # a repeating daily or weekly profile: its mean multiplier
        log_total += math.log(max(sum(hours) / len(hours), 1e-300))
    log_factor = peak = 0.0
    for change in d.changes:
        log_factor += math.log(change.factor)
        peak = max(peak, log_factor)
    return log_total + peak

