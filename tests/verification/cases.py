"""The verification cases: simulate each scenario and pair every measure with its closed form.

Each case function runs its scenario (``tests/verification/<name>.yaml``) for a fixed
number of replications with the scenario's own seed, so the results are deterministic,
and returns :class:`Check` objects: the theoretical value, the per-replication
measurements and the largest confidence-interval half-width the check accepts. A check
passes when the theoretical value lies inside the 99% Student-t interval across
replications *and* the interval is at most that wide, so that a check cannot pass just
because its interval is uninformative. The tests (``test_queueing.py``) assert every
check; ``make_table.py`` prints them as the table in ``docs/verification.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from icssim.metrics import visits_frame
from icssim.scenario import load_scenario
from qtheory import (
    LEVEL, ErlangA, MMc, ci, cobham_mmc, in_window_arrival_rate, jackson_rates, mean_in_system,
    pollaczek_khinchine, priority_top_wait_over, queue_waits, run_records,
)

HERE = Path(__file__).resolve().parent


@dataclass
class Check:
    """One theoretical value against one simulated measure (a value per replication)."""

    case: str
    measure: str
    theory: float
    values: np.ndarray = field(repr=False)
    max_half_width: float  # the interval must be at most this wide (absolute, in the measure's unit)

    @property
    def interval(self) -> tuple[float, float, float]:
        return ci(self.values, LEVEL)

    @property
    def half_width(self) -> float:
        _, lo, hi = self.interval
        return (hi - lo) / 2

    @property
    def covers(self) -> bool:
        _, lo, hi = self.interval
        return lo <= self.theory <= hi

    @property
    def precise(self) -> bool:
        return self.half_width <= self.max_half_width

    @property
    def ok(self) -> bool:
        return self.covers and self.precise

    def describe(self) -> str:
        mean, lo, hi = self.interval
        return (f"{self.case}: {self.measure}: theory {self.theory:.5g}, simulation {mean:.5g} "
                f"(99% CI {lo:.5g} to {hi:.5g}, half-width {self.half_width:.3g}, "
                f"allowed {self.max_half_width:.3g}, n={len(self.values)})")


def scenario(name: str):
    return load_scenario(HERE / f"{name}.yaml")


def _rel(theory: float, share: float) -> float:
    return abs(theory) * share


# ---------------------------------------------------------------------------- M/M/c (Erlang C)
#: name -> (lambda, mu, c, replications, margin in hours). In ``parttime`` each of 2 servers
#: gives 84 of 168 hours a week, so a 1-hour contact (mu = 1 in staff time) lasts 2 hours.
MMC_CASES = {
    "mm1": (0.6, 1.0, 1, 10, 100.0),
    "mm3": (2.4, 1.0, 3, 16, 100.0),
    "mmc": (9.0, 1.0, 10, 8, 100.0),
    "parttime": (0.6, 0.5, 2, 10, 100.0),
}


@cache
def mmc_checks(name: str) -> tuple[Check, ...]:
    """Mean wait, P(W > t) at three t, utilisation and L = lambda (Wq + 1/mu) of an M/M/c queue."""
    lam, mu, c, reps, margin = MMC_CASES[name]
    q = MMc(lam, mu, c)
    recs = run_records(scenario(name), reps)
    waits = [queue_waits(r, "service", margin)[None] for r in recs]
    label = f"{name} (M/M/{c}, rho={q.rho:.2f}{', part-time staff' if name == 'parttime' else ''})"
    # a mean-wait interval wider than +-10% of theory (15% for the heavily loaded M/M/10) fails
    wq_share = 0.15 if q.rho >= 0.85 else 0.10
    checks = [Check(label, "Wq, mean wait in queue (hours)", q.wq,
                    np.array([w.mean() for w in waits]), _rel(q.wq, wq_share))]
    decay = c * mu - lam
    for k in (0, 1, 3):
        t = k / decay
        checks.append(Check(label, f"P(W > {t:.3g} h)", q.p_wait_over(t),
                            np.array([(w > t).mean() for w in waits]), 0.03))
    util = [r.resources[0].busy_area / (r.resources[0].capacity * r.window) for r in recs]
    checks.append(Check(label, "server utilisation", q.rho, np.array(util), 0.02))
    checks.append(Check(label, "L, mean number in system (engine's time average)", q.l,
                        np.array([mean_in_system(r) for r in recs]), _rel(q.l, wq_share)))
    checks.append(Check(label, "lambda x mean time in system (Little's law)", q.l,
                        np.array([_lambda_w(r, margin) for r in recs]), _rel(q.l, wq_share)))
    return tuple(checks)


def _lambda_w(rec, margin: float) -> float:
    """Arrival rate in the window times the mean time in system of patients arriving in
    [warm-up, horizon - margin] (so that all of them have left by the horizon)."""
    P = rec.patients
    keep = (P["arrival"] >= rec.warmup) & (P["arrival"] <= rec.horizon - margin)
    stay = P["exit"][keep] - P["arrival"][keep]
    if np.isnan(stay).any():
        raise AssertionError("a patient who arrived before horizon - margin is still in the system")
    return in_window_arrival_rate(rec) * float(stay.mean())


# ---------------------------------------------------------------------------- shared staff pool
SHARED = {"lams": (1.2, 1.2), "mu": 1.0, "c": 3, "replications": 12, "margin": 100.0}


@cache
def shared_pool_checks() -> tuple[Check, ...]:
    """Two FIFO steps on one staff pool behave as one M/M/3 FIFO queue: equal Erlang C waits,
    whatever order the steps are written in (one combined queue across the steps)."""
    cfg = SHARED
    q = MMc(sum(cfg["lams"]), cfg["mu"], cfg["c"])
    recs = run_records(scenario("shared_pool"), cfg["replications"])
    label = f"shared_pool (2 steps on one M/M/{cfg['c']} pool, rho={q.rho:.2f})"
    checks = []
    for step in ("step_one", "step_two"):
        waits = [queue_waits(r, step, cfg["margin"])[None] for r in recs]
        checks.append(Check(label, f"{step}: Wq (hours) = FIFO Erlang C", q.wq,
                            np.array([w.mean() for w in waits]), _rel(q.wq, 0.10)))
        checks.append(Check(label, f"{step}: P(W > 0)", q.p_wait, np.array([(w > 0).mean() for w in waits]),
                            0.03))
    return tuple(checks)


# ---------------------------------------------------------------------------- priorities (Cobham)
PRIORITY = {"lams": {"urgent": 0.8, "routine": 1.6}, "mu": 1.0, "c": 3, "replications": 12, "margin": 100.0}


@cache
def priority_checks() -> tuple[Check, ...]:
    """Mean wait per class in an M/M/3 queue with two non-pre-emptive priority classes, and the
    distribution of the urgent class's wait (which a wrong order within the class would change,
    as it would not the means)."""
    cfg = PRIORITY
    lams = cfg["lams"]
    theory = dict(zip(("urgent", "routine"), cobham_mmc([lams["urgent"], lams["routine"]], cfg["mu"], cfg["c"])))
    sc = scenario("priority")
    levels = list(sc.attributes["urgency"])  # [routine, urgent]: the code is the level's index
    recs = run_records(sc, cfg["replications"])
    label = f"priority (M/M/{cfg['c']}, 2 classes, rho={sum(lams.values()) / cfg['c']:.2f})"
    per_class = [queue_waits(r, "service", cfg["margin"], by="urgency0") for r in recs]
    checks = []
    for cls in ("urgent", "routine"):
        code = float(levels.index(cls))
        checks.append(Check(label, f"Wq {cls} (hours)", theory[cls],
                            np.array([w[code].mean() for w in per_class]), _rel(theory[cls], 0.10)))
    # Kleinrock's conservation law: with equal service times, the mean over all patients
    # equals the FIFO (Erlang C) mean wait.
    fifo = MMc(sum(lams.values()), cfg["mu"], cfg["c"]).wq
    checks.append(Check(label, "Wq all patients (hours) = FIFO Erlang C", fifo,
                        np.array([np.concatenate(list(w.values())).mean() for w in per_class]),
                        _rel(fifo, 0.10)))
    # the urgent wait is exponential given a wait (qtheory.priority_top_wait_over): P(W > t) at
    # t = 0, 1 and 3 over its rate, as for the M/M/c cases
    urgent = float(levels.index("urgent"))
    rates = [lams["urgent"], lams["routine"]]
    decay = cfg["c"] * cfg["mu"] - lams["urgent"]
    for k in (0, 1, 3):
        t = k / decay
        checks.append(Check(label, f"P(W > {t:.3g} h) urgent", priority_top_wait_over(rates, cfg["mu"], cfg["c"], t),
                            np.array([(w[urgent] > t).mean() for w in per_class]), 0.03))
    return tuple(checks)


# ---------------------------------------------------------------------------- M/G/1 (Pollaczek-Khinchine)
MG1 = {"lam": 0.5, "mean": 1.0, "sd": 1.5, "replications": 20, "margin": 200.0}


@cache
def mg1_checks() -> tuple[Check, ...]:
    """Mean wait (P-K), P(wait > 0) = rho and utilisation of M/G/1 with lognormal service."""
    cfg = MG1
    rho = cfg["lam"] * cfg["mean"]
    wq = pollaczek_khinchine(cfg["lam"], cfg["mean"], cfg["sd"] ** 2)
    recs = run_records(scenario("mg1"), cfg["replications"])
    waits = [queue_waits(r, "service", cfg["margin"])[None] for r in recs]
    label = f"mg1 (M/G/1 lognormal, cv={cfg['sd'] / cfg['mean']:.1f}, rho={rho:.2f})"
    util = [r.resources[0].busy_area / (r.resources[0].capacity * r.window) for r in recs]
    return (
        Check(label, "Wq, mean wait in queue (hours)", wq, np.array([w.mean() for w in waits]), _rel(wq, 0.10)),
        Check(label, "P(W > 0) = rho", rho, np.array([(w > 0).mean() for w in waits]), 0.03),
        Check(label, "server utilisation", rho, np.array(util), 0.02),
    )


# ---------------------------------------------------------------------------- dropout (Erlang A)
ERLANG_A = {"lam": 3.0, "mu": 1.0, "c": 3, "theta": 0.5, "replications": 12, "margin": 100.0}


@cache
def erlang_a_checks() -> tuple[Check, ...]:
    """Share dropping out, mean time in queue, P(wait) and utilisation of M/M/3+M."""
    cfg = ERLANG_A
    q = ErlangA(cfg["lam"], cfg["mu"], cfg["c"], cfg["theta"])
    recs = run_records(scenario("erlang_a"), cfg["replications"])
    label = f"erlang_a (M/M/{cfg['c']}+M, offered load {cfg['lam'] / cfg['mu']:.0f}, mean patience {1 / cfg['theta']:.0f} h)"
    share, mean_wait, waited = [], [], []
    for r in recs:
        v = visits_frame(r)
        scale = 24 / r.hours_per_unit
        t_queue = v["t_queue"].to_numpy() * scale
        keep = (t_queue >= r.warmup) & (t_queue <= r.horizon - cfg["margin"])
        served = (v["outcome"] == "served").to_numpy()[keep]
        dropped = (v["outcome"] == "dropped_out").to_numpy()[keep]
        if not np.all(served | dropped):
            raise AssertionError("a visit that neither was served nor dropped out")
        # time in queue: until service starts, or until the patient drops out
        left_queue = np.where(served, v["t_start"].to_numpy()[keep], v["t_end"].to_numpy()[keep]) * scale
        wait = left_queue - t_queue[keep]
        share.append(dropped.mean())
        mean_wait.append(wait.mean())
        waited.append((wait > 0).mean())
    util = [r.resources[0].busy_area / (r.resources[0].capacity * r.window) for r in recs]
    return (
        Check(label, "share of arrivals who drop out", q.p_abandon, np.array(share), 0.02),
        Check(label, "mean time in queue, served or dropped (hours)", q.wq, np.array(mean_wait),
              _rel(q.wq, 0.10)),
        Check(label, "P(W > 0)", q.p_wait, np.array(waited), 0.03),
        Check(label, "server utilisation", q.utilisation, np.array(util), 0.02),
    )


# ---------------------------------------------------------------------------- open Jackson network
JACKSON = {
    "external": [4.0, 0.0, 0.0],
    "routing": [[0.0, 0.7, 0.3], [0.2, 0.0, 0.0], [0.0, 0.0, 0.0]],
    "nodes": ("node_a", "node_b", "node_c"),
    "mu": (2.0, 2.5, 1.0),
    "c": (3, 2, 4),
    "replications": 12,
    "margin": 100.0,
}


@cache
def jackson_checks() -> tuple[Check, ...]:
    """Visit rates (traffic equations), per-node mean waits (Erlang C) and L of the network."""
    cfg = JACKSON
    rates = jackson_rates(np.array(cfg["external"]), np.array(cfg["routing"]))
    recs = run_records(scenario("jackson"), cfg["replications"])
    queues = [MMc(float(l), mu, c) for l, mu, c in zip(rates, cfg["mu"], cfg["c"])]
    label = "jackson (3 nodes, feedback B -> A)"
    checks = []
    for node, q in zip(cfg["nodes"], queues):
        waits = [queue_waits(r, node, cfg["margin"])[None] for r in recs]
        span = [r.horizon - cfg["margin"] - r.warmup for r in recs]
        checks.append(Check(label, f"{node}: visits per hour (traffic equations)", q.lam,
                            np.array([len(w) / s for w, s in zip(waits, span)]), _rel(q.lam, 0.03)))
        # node C is lightly loaded (Wq ~ 0.02 h): allow a wider relative interval there
        share = 0.20 if q.rho < 0.5 else 0.10
        checks.append(Check(label, f"{node}: Wq (hours), M/M/{q.c} rho={q.rho:.3f}", q.wq,
                            np.array([w.mean() for w in waits]), _rel(q.wq, share)))
    total = sum(q.l for q in queues)
    checks.append(Check(label, "L, mean number in the network", total,
                        np.array([mean_in_system(r) for r in recs]), _rel(total, 0.05)))
    checks.append(Check(label, "lambda x mean time in network (Little's law)", total,
                        np.array([_lambda_w(r, cfg["margin"]) for r in recs]), _rel(total, 0.05)))
    return tuple(checks)


def all_checks() -> list[Check]:
    """Every verification check, in the order of docs/verification.md."""
    out: list[Check] = []
    for name in MMC_CASES:
        out += mmc_checks(name)
    out += shared_pool_checks()
    out += priority_checks()
    out += mg1_checks()
    out += erlang_a_checks()
    out += jackson_checks()
    return out
