"""Closed forms from queueing theory, and helpers that measure the same things in simulation.

Used by the verification tests and by ``make_table.py`` (which writes the table in
``docs/verification.md``). Rates and times are in the scenario's own time unit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from icssim.experiments import replicate
from icssim.metrics import visits_frame
from icssim.model.records import RunRecords
from icssim.scenario import Scenario

LEVEL = 0.99  # confidence level of every verification interval


# ---------------------------------------------------------------------------- closed forms
def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival waits in an M/M/c queue with offered load ``a = lambda/mu``."""
    if not 0 < a < c:
        raise ValueError(f"need 0 < a < c for a stable M/M/c queue, found a={a}, c={c}")
    # Erlang B by the stable recursion, then C from B.
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    rho = a / c
    return b / (1 - rho * (1 - b))


@dataclass(frozen=True)
class MMc:
    """An M/M/c queue: arrival rate ``lam``, service rate ``mu`` per server, ``c`` servers."""

    lam: float
    mu: float
    c: int

    @property
    def a(self) -> float:
        return self.lam / self.mu

    @property
    def rho(self) -> float:
        return self.lam / (self.c * self.mu)

    @property
    def p_wait(self) -> float:
        return erlang_c(self.c, self.a)

    @property
    def wq(self) -> float:
        """Mean wait in queue: C(c, a) / (c mu - lambda)."""
        return self.p_wait / (self.c * self.mu - self.lam)

    def p_wait_over(self, t: float) -> float:
        """P(W > t) = C(c, a) exp(-(c mu - lambda) t) for t >= 0."""
        return self.p_wait * math.exp(-(self.c * self.mu - self.lam) * t)

    @property
    def lq(self) -> float:
        return self.lam * self.wq

    @property
    def l(self) -> float:
        """Mean number in the system (queue plus service): Little's law on Wq + 1/mu."""
        return self.lam * (self.wq + 1 / self.mu)


def cobham_mmc(lams: list[float], mu: float, c: int) -> list[float]:
    """Mean wait in queue per class of an M/M/c queue with non-pre-emptive priorities.

    ``lams`` are the arrival rates from the highest priority class to the lowest; every
    class has the same exponential service rate ``mu``. Cobham (1954):
    W_k = W0 / ((1 - s_{k-1}) (1 - s_k)), s_k = sum_{i<=k} lambda_i / (c mu),
    W0 = C(c, a) / (c mu) (the mean time until the next server frees, times P(wait)).
    """
    lam = sum(lams)
    w0 = erlang_c(c, lam / mu) / (c * mu)
    out, s_prev = [], 0.0
    for li in lams:
        s = s_prev + li / (c * mu)
        out.append(w0 / ((1 - s_prev) * (1 - s)))
        s_prev = s
    return out


def priority_top_wait_over(lams: list[float], mu: float, c: int, t: float) -> float:
    """P(W > t) for the highest class of an M/M/c queue with non-pre-emptive priorities, first
    come first served within the class, every class with service rate ``mu`` (``lams`` as in
    :func:`cobham_mmc`): C(c, a) exp(-(c mu - lambda_1) t), a = sum(lams) / mu.

    An arrival waits when all c servers are busy, with probability C(c, a) (PASTA; the number in
    the system is that of the FIFO M/M/c, since the order of service does not change it when every
    class has the same rate). While all are busy, a server frees at rate c mu, and the class-1
    queue goes up by one only by a class-1 arrival (rate lambda_1) and down by one only at a service
    end (rate c mu): so, given all busy, the class-1 queue is geometric, P(n) = (1 - s1) s1^n with
    s1 = lambda_1 / (c mu), and a class-1 arrival waits for n + 1 service ends (FIFO within the
    class; later class-1 arrivals and every lower class do not get ahead): a geometric sum of
    exponentials with rate c mu, which is exponential with rate c mu (1 - s1). Its mean is
    Cobham's W_1. Any other order within the class (LIFO, random) has the same mean but not this
    distribution.
    """
    return erlang_c(c, sum(lams) / mu) * math.exp(-(c * mu - lams[0]) * t)


def pollaczek_khinchine(lam: float, mean: float, var: float) -> float:
    """M/G/1 mean wait in queue: lambda E[S^2] / (2 (1 - rho))."""
    rho = lam * mean
    if not rho < 1:
        raise ValueError(f"M/G/1 unstable: rho={rho}")
    return lam * (var + mean**2) / (2 * (1 - rho))


@dataclass(frozen=True)
class ErlangA:
    """M/M/c+M: an M/M/c queue whose waiting customers abandon at rate ``theta`` each.

    The number in the system is a birth-death chain with birth rate lambda and death rate
    min(n, c) mu + max(n - c, 0) theta; its stationary distribution is computed on
    0..``cap`` (the tail beyond is negligible for the parameters used here).
    """

    lam: float
    mu: float
    c: int
    theta: float
    cap: int = 400

    @property
    def p(self) -> np.ndarray:
        n = np.arange(1, self.cap + 1)
        death = np.minimum(n, self.c) * self.mu + np.maximum(n - self.c, 0) * self.theta
        logp = np.concatenate([[0.0], np.cumsum(np.log(self.lam / death))])
        p = np.exp(logp - logp.max())
        return p / p.sum()

    @property
    def lq(self) -> float:
        return float(np.maximum(np.arange(self.cap + 1) - self.c, 0) @ self.p)

    @property
    def p_abandon(self) -> float:
        """Share of arrivals who drop out: abandonment rate theta Lq over arrival rate."""
        return self.theta * self.lq / self.lam

    @property
    def wq(self) -> float:
        """Mean time in queue of all arrivals, until service or dropping out (Little: Lq / lambda)."""
        return self.lq / self.lam

    @property
    def p_wait(self) -> float:
        """P(an arrival finds all servers busy) (PASTA)."""
        return float(self.p[self.c:].sum())

    @property
    def utilisation(self) -> float:
        return float(np.minimum(np.arange(self.cap + 1), self.c) @ self.p) / self.c


def jackson_rates(external: np.ndarray, routing: np.ndarray) -> np.ndarray:
    """Traffic equations of an open network: lambda = external + routing^T lambda.

    ``routing[i, j]`` is the probability that a job leaving node i goes to node j.
    """
    n = len(external)
    return np.linalg.solve(np.eye(n) - np.asarray(routing, float).T, np.asarray(external, float))


# ---------------------------------------------------------------------------- simulation side
def ci(x, level: float = LEVEL) -> tuple[float, float, float]:
    """Mean and Student-t confidence interval (lower, upper) of replication values ``x``."""
    x = np.asarray(x, float)
    n = len(x)
    mean = float(x.mean())
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half


def run_records(scenario: Scenario, replications: int, workers: int | None = None) -> list[RunRecords]:
    """Replications 0..n-1 of ``scenario`` with its own seed (so the tests are deterministic)."""
    reps = replicate(scenario, range(replications), scenario.scenario.seed, workers, keep_records=True)
    return [r.records for r in reps]


def queue_waits(rec: RunRecords, step: str, margin: float, by=None) -> dict:
    """Waits in queue (t_start - t_queue, in the scenario's time unit) of served visits to ``step``.

    Only visits that joined the queue in [warm-up, horizon - margin] count. Visits are
    recorded when they end, so a visit that joined just before the horizon and was still
    waiting or in service there is missing, and keeping it out would bias waits down;
    ``margin`` is chosen so that a wait plus service that long is vanishingly rare.
    ``by`` names a patient column (e.g. ``"urgency0"``) to split the waits by.
    """
    v = visits_frame(rec)
    scale = 24 / rec.hours_per_unit  # visits_frame gives days; back to the scenario's unit
    t_queue = v["t_queue"].to_numpy() * scale
    wait = (v["t_start"] - v["t_queue"]).to_numpy() * scale
    keep = ((v["step"] == step).to_numpy() & (v["outcome"] == "served").to_numpy()
            & (t_queue >= rec.warmup) & (t_queue <= rec.horizon - margin))
    if by is None:
        return {None: wait[keep]}
    row = np.empty(rec.arrivals, dtype=np.int64)  # patient records are in exit order, not by pid
    row[rec.patients["pid"]] = np.arange(len(rec.patients["pid"]))
    key = rec.patients[by][row[v["pid"].to_numpy()]]
    return {k: wait[keep & (key == k)] for k in np.unique(key[keep])}


def in_window_arrival_rate(rec: RunRecords) -> float:
    """Arrivals in the observation window per time unit."""
    return float((rec.patients["arrival"] >= rec.warmup).sum() / rec.window)


def mean_in_system(rec: RunRecords) -> float:
    """Time-average number in the system over the observation window (the engine's own L)."""
    return rec.in_system_area / rec.window
