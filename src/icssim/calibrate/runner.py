"""ABC-SMC (population Monte Carlo ABC, Beaumont et al. 2009, with adaptive thresholds) on the
executor protocol, resumable from its store.

Generation 0 draws ``initial_factor`` x ``population`` parameter sets from the prior and keeps the
``population`` closest. Each later generation t sets its threshold to the ``quantile`` of the
previous generation's distances (never below ``stop_distance``), proposes by picking a particle by
weight and moving it with a Gaussian kernel (twice the weighted covariance), and accepts the first
``population`` proposals, by proposal number, within the threshold; weights are prior / proposal
density. Proposal i of generation t and its simulation's seed depend only on (seed, t, i) and the
previous generation, so the result is the same whatever the number or kind of workers, and an
interrupted run replays its finished simulations from the store and goes on.

The distance is the root mean square of each fitted target's error in units of its uncertainty:
1 means the simulated values are, on average, one standard deviation (or tolerance) away.
"""

from __future__ import annotations

import difflib
import math
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from icssim import executors
from icssim.calibrate import work
from icssim.calibrate.measures import measure_of, needs_follow_up, needs_visits
from icssim.calibrate.priors import Priors
from icssim.calibrate.spec import Calibration, load_calibration
from icssim.calibrate.store import STORE_NAME, Store, read_fingerprint
from icssim.errors import IcssimError
from icssim.estimate import format_duration, go_on_or_refuse
from icssim.kpis import kpi_of
from icssim.output_folder import check_holder, inside, result_kind

Log = Callable[[str], None]
BASE_REPLICATIONS = 4


@dataclass
class Generation:
    t: int
    epsilon: float
    theta: np.ndarray              # accepted parameter sets (population x parameters)
    weights: np.ndarray
    distances: np.ndarray
    kpis: list[dict[str, float]]   # each accepted particle's simulated KPIs
    simulations: int               # proposals simulated up to the last one accepted
    proposals: list[int] = field(default_factory=list)

    @property
    def acceptance(self) -> float:
        return len(self.weights) / max(self.simulations, 1)


@dataclass
class CalibrationRun:
    cal: Calibration
    out: Path
    priors: Priors
    generations: list[Generation] = field(default_factory=list)
    prior_kpis: list[dict[str, float]] = field(default_factory=list)   # generation 0's simulations
    prior_theta: np.ndarray | None = None
    stop_reason: str = ""
    simulations: int = 0
    ran_now: int = 0
    wall_seconds: float = 0.0
    sim_seconds: float = 0.0
    executor_name: str = ""
    workers: int = 0
    store: Store | None = None
    base_kpis: dict[str, float] = field(default_factory=dict)   # the scenario as shipped, mean of 4 replications

    @property
    def final(self) -> Generation:
        if not self.generations:
            raise IcssimError("the calibration has no finished generation yet")
        return self.generations[-1]

    @property
    def db(self) -> Store:
        if self.store is None:
            raise IcssimError("the calibration's store is not open")
        return self.store


def distance(cal: Calibration, kpis: dict[str, float]) -> float:
    """Root mean square error of the fitted targets in units of their uncertainty (inf if one is NaN)."""
    total = 0.0
    for target in cal.fitted.values():
        value = simulated(cal, target, kpis)
        if value is None or not math.isfinite(value):
            return math.inf
        total += ((value - target.value) / target.scale) ** 2
    return math.sqrt(total / len(cal.fitted))


def simulated(cal: Calibration, target: Any, kpis: dict[str, float]) -> float | None:
    value = kpis.get(target.kpi)
    if value is None:
        return None
    if target.per_100k:
        value = value / ((cal.scenario.scenario.population or 100_000) / 100_000)
    return float(value)


def prepare(path: str | Path, out: Path | None = None, restart: bool = False) -> CalibrationRun:
    """Load and check the calibration; check (without changing) its output folder."""
    cal = load_calibration(path)
    for key, target in cal.spec.targets.items():
        if kpi_of(target.kpi) is None and measure_of(target.kpi) is None:
            raise IcssimError(f"{cal.where('targets', key, 'kpi')}: unknown measure {target.kpi!r}; give a KPI "
                              "name (see docs/calibration.md for the measures)")
        if target.per_100k and cal.scenario.scenario.population is None:
            raise IcssimError(f"{cal.where('targets', key, 'per_100k')}: needs 'scenario.population' in "
                              f"{cal.scenario_file}")
    out = Path(out) if out is not None else inside(Path("results") / "calibration", cal.name)
    check_holder(out)
    if out.exists() and not out.is_dir():
        raise IcssimError(f"{out} exists and is not a folder")
    kind = result_kind(out) if out.is_dir() else None
    if kind not in (None, "calibration"):
        raise IcssimError(f"{out} is a {kind} folder, not a calibration's: choose another --out")
    old = read_fingerprint(out)
    if (out / STORE_NAME).exists() and not restart and old != cal.fingerprint():
        raise IcssimError(f"{out} holds simulations of a different calibration (the scenario, parameters, priors, "
                          "targets, seed or population have changed). Pass --restart to discard them and start "
                          "again, or --out for a new folder")
    if out.is_dir() and any(out.iterdir()) and not (out / STORE_NAME).exists() and kind != "calibration":
        raise IcssimError(f"{out} already exists and is not a calibration's output folder: choose another --out")
    return CalibrationRun(cal, out, Priors(cal.spec.parameters))


def values_of(run: CalibrationRun, theta: np.ndarray) -> dict[str, Any]:
    """A parameter set as scenario values (integers rounded, each followed by its prior's unit)."""
    cal = run.cal
    out = {name: cal.written(name, float(x)) for name, x in zip(run.priors.names, theta)}
    for name, x in zip(run.priors.names, theta):
        other = cal.spec.parameters[name].complement
        if other is not None:
            out[other] = round(1 - float(out[name]), 8)
    return out


def sim_seed(seed: int, t: int, i: int) -> int:
    return int(np.random.SeedSequence([seed, t + 1, i]).generate_state(1)[0])   # t = -1: the scenario as shipped


class Proposer:
    """Proposals of generation t from generation t-1 (or the prior), each from its own random stream."""

    def __init__(self, run: CalibrationRun, t: int, prev: Generation | None) -> None:
        self.run, self.t, self.prev = run, t, prev
        if prev is not None:
            cov = 2 * np.atleast_2d(np.cov(prev.theta, rowvar=False, aweights=prev.weights))
            span = np.array([hi - lo for lo, hi in (_span(d) for d in run.priors.dists)])
            cov += np.diag((1e-6 * span) ** 2)
            self.cov = cov
            self.chol = np.linalg.cholesky(cov)
            self.cum = np.cumsum(prev.weights / prev.weights.sum())

    def __call__(self, i: int) -> np.ndarray:
        rng = np.random.default_rng([self.run.cal.spec.calibration.seed, self.t, i, 7])
        if self.prev is None:
            return self.run.priors.sample(rng)
        for _ in range(10_000):
            j = min(int(np.searchsorted(self.cum, rng.random())), len(self.cum) - 1)
            theta = self.prev.theta[j] + self.chol @ rng.standard_normal(len(self.chol))
            if self.run.priors.inside(theta):
                return theta
        raise IcssimError("the proposals keep falling outside the prior (10,000 tries): the posterior is at a "
                          "corner of the prior; widen the prior there")

    def weights(self, theta: np.ndarray) -> np.ndarray:
        prior = self.run.priors.density(theta)
        if self.prev is None:
            return np.ones(len(theta))
        from scipy.stats import multivariate_normal

        kernel = np.array([multivariate_normal.pdf(theta, mean=m, cov=self.cov) for m in self.prev.theta])
        kernel = np.atleast_2d(kernel).reshape(len(self.prev.theta), len(theta))
        w = prior / (self.prev.weights / self.prev.weights.sum() @ kernel)
        return w / w.sum()


def _mean(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return sum(finite) / len(finite) if finite else math.nan


def _span(d: Any) -> tuple[float, float]:
    return float(d.ppf(0.01)), float(d.ppf(0.99))


class Simulator:
    """Simulates proposals on the executor, or takes them from the store; keeps each as it finishes."""

    def __init__(self, run: CalibrationRun, executor: Any, quiet: bool, yes: bool, budget: float | None,
                 log: Log, restart: bool, command: str) -> None:
        self.run, self.executor, self.yes, self.budget, self.log = run, executor, yes, budget, log
        self.restart, self.command = restart, command
        self.bar = tqdm(total=run.cal.spec.calibration.max_simulations, unit="sim", desc=run.cal.name,
                        disable=quiet, file=sys.stderr, dynamic_ncols=True, smoothing=0.1)
        self.confirmed = False

    def close(self) -> None:
        self.bar.close()

    def open_store(self) -> Store:
        run = self.run
        if self.restart and run.out.exists():
            for name in (STORE_NAME, f"{STORE_NAME}-wal", f"{STORE_NAME}-shm"):
                (run.out / name).unlink(missing_ok=True)
            for name in ("plots",):
                shutil.rmtree(run.out / name, ignore_errors=True)
        run.out.mkdir(parents=True, exist_ok=True)
        run.store = Store(run.out)
        if run.store.get_meta("fingerprint") is None:
            run.store.set_meta("fingerprint", run.cal.fingerprint())
            run.store.set_meta("command", self.command)
        self.bar.update(run.store.count())
        return run.store

    def evaluate(self, t: int, props: dict[int, np.ndarray]) -> dict[int, dict[str, float]]:
        """KPIs of each proposal (number -> parameter set) of generation t."""
        run = self.run
        stored = run.store.generation(t) if run.store is not None else {}
        out: dict[int, dict[str, float]] = {}
        todo = []
        for i, theta in props.items():
            if i in stored:
                if not np.allclose(stored[i][0], theta, rtol=1e-9, atol=1e-12):
                    raise IcssimError(f"{run.out / STORE_NAME}: simulation {t}/{i} was made with other parameters "
                                      "(the store does not belong to this file); pass --restart")
                out[i] = stored[i][1]
            else:
                todo.append((t, i, sim_seed(run.cal.spec.calibration.seed, t, i), values_of(run, theta)))
        if not todo:
            return out
        results = self.executor.map_unordered(work.simulate, todo, ahead=2 * self.executor.workers)
        try:
            for result in results:
                if "error" in result:
                    values = next(v for (_, i, _, v) in todo if i == result["i"])
                    raise IcssimError(f"{run.cal.path}: the parameter set {values} is not a valid scenario: "
                                      f"{result['error']}; narrow the priors")
                if not self.confirmed:
                    self._confirm(result["wall_seconds"])
                i = result["i"]
                run.db.add(t, i, [float(x) for x in props[i]], result["kpis"], result["wall_seconds"])
                run.ran_now += 1
                run.sim_seconds += result["wall_seconds"]
                out[i] = result["kpis"]
                self.bar.update(1)
        finally:
            results.close()
        return out

    def base(self, n: int) -> dict[str, float]:
        """Mean KPIs of ``n`` replications of the scenario as shipped (stored as generation -1)."""
        run = self.run
        stored = run.db.generation(-1)
        seed = run.cal.spec.calibration.seed
        todo: list[tuple[int, int, int, dict[str, Any]]] = [(-1, i, sim_seed(seed, -1, i), {})
                                                             for i in range(n) if i not in stored]
        kpis = [k for _, k, _ in stored.values()]
        for result in self.executor.map_unordered(work.simulate, todo, ahead=2 * self.executor.workers):
            run.db.add(-1, result["i"], [], result["kpis"], result["wall_seconds"])
            kpis.append(result["kpis"])
        return {k: _mean([float(x.get(k, np.nan)) for x in kpis]) for k in (kpis[0] if kpis else {})}

    def _confirm(self, seconds: float) -> None:
        """After the first simulation: estimate the time of the whole budget, ask if over --budget, open the store."""
        run = self.run
        s = run.cal.spec.calibration
        left = s.max_simulations - (run.store.count() if run.store is not None else 0)
        estimate = left * seconds / max(self.executor.workers, 1)
        message = (f"{run.cal.name}: up to {left:,} simulation(s) (population {s.population}, up to {s.generations} "
                   f"generations) on {self.executor.workers} {self.executor.name} worker(s), {seconds:.2f} s each: "
                   f"at most about {format_duration(estimate)}")
        self.log(message)
        if self.budget is not None and estimate > self.budget and not self.yes:
            over = f"the estimate ({format_duration(estimate)}) is more than the time budget " \
                   f"({format_duration(self.budget)})"
            go_on_or_refuse(f"{over}. Run it?", f"{message}; {over}. Pass --yes to run it anyway, --budget to "
                            "allow more time, or lower max_simulations or population (nothing was written)")
        self.confirmed = True
        if run.store is None:
            self.open_store()


def execute(run: CalibrationRun, workers: int | None = None, dask: str | None = None, restart: bool = False,
            yes: bool = False, budget: float | None = None, quiet: bool = False, log: Log | None = None,
            command: str = "") -> CalibrationRun:
    """Run (or resume) the ABC-SMC and keep every simulation in the store."""
    log = log or (lambda msg: None if quiet else print(msg, file=sys.stderr))
    cal = run.cal
    visits = any(needs_visits(t.kpi) for t in cal.spec.targets.values())
    follow_up = any(needs_follow_up(t.kpi) for t in cal.spec.targets.values())
    executor = executors.make_executor(workers, dask, initializer=work.install,
                                       initargs=(cal.base_raw, visits, follow_up))
    run.executor_name, run.workers = executor.name, executor.workers
    started = time.perf_counter()
    sim = Simulator(run, executor, quiet, yes, budget, log, restart, command)
    try:
        if (run.out / STORE_NAME).exists() and not restart:
            sim.open_store()
            stored = run.db.mean_seconds()
            if stored is not None:
                sim._confirm(stored)
        _generations(run, sim, log)
        run.base_kpis = sim.base(BASE_REPLICATIONS)
    finally:
        run.wall_seconds = time.perf_counter() - started
        sim.close()
        executor.close()
        if run.store is not None and run.ran_now:
            history = run.store.get_meta("invocations") or []
            history.append({"simulations": run.ran_now, "wall_seconds": round(run.wall_seconds, 2),
                            "cpu_seconds": round(run.sim_seconds, 2), "executor": run.executor_name,
                            "workers": run.workers, "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
            run.store.set_meta("invocations", history)
    return run


def _generations(run: CalibrationRun, sim: Simulator, log: Log) -> None:
    cal, s = run.cal, run.cal.spec.calibration
    N = s.population
    used = 0
    prev: Generation | None = None
    gen: Generation | None
    for t in range(s.generations):
        propose = Proposer(run, t, prev)
        if t == 0:
            n0 = int(math.ceil(N * s.initial_factor))
            if n0 > s.max_simulations:
                raise IcssimError(f"{cal.where('calibration', 'max_simulations')}: the first generation alone needs "
                                  f"{n0} simulations (population x initial_factor)")
            props = {i: propose(i) for i in range(n0)}
            kpis = sim.evaluate(0, props)
            d = np.array([distance(cal, kpis[i]) for i in range(n0)])
            order = np.lexsort((np.arange(n0), d))[:N]
            order.sort()
            eps = float(d[order].max())
            run.prior_theta = np.array([props[i] for i in range(n0)])
            run.prior_kpis = [kpis[i] for i in range(n0)]
            gen = Generation(0, eps, np.array([props[i] for i in order]), np.ones(N) / N, d[order],
                             [kpis[i] for i in order], n0, [int(i) for i in order])
            used = n0
        else:
            assert prev is not None
            eps = max(float(np.quantile(prev.distances, s.quantile)), s.stop_distance)
            gen = _sample(run, sim, t, propose, eps, N, s.max_simulations - used)
            if gen is None:
                run.stop_reason = (f"the simulation budget (max_simulations {s.max_simulations}) ran out during "
                                   f"generation {t}; the posterior is generation {t - 1}'s")
                break
            used += gen.simulations
        run.generations.append(gen)
        prev = gen
        sim.bar.set_postfix_str(f"gen {t} eps {gen.epsilon:.3g} acc {gen.acceptance:.0%}")
        log(f"generation {t}: threshold {gen.epsilon:.3g}, {gen.simulations} simulations, "
            f"acceptance {gen.acceptance:.1%}")
        if np.isinf(gen.epsilon):
            raise IcssimError(f"{cal.path}: the simulations do not measure every target (a KPI is missing or NaN "
                              f"in all of them): {_missing(run, gen)}")
        if t > 0 and gen.epsilon <= s.stop_distance:
            run.stop_reason = f"the threshold reached stop_distance ({s.stop_distance:g})"
            break
        if t > 0 and gen.acceptance < s.min_acceptance:
            run.stop_reason = f"the acceptance rate fell below min_acceptance ({s.min_acceptance:g})"
            break
    else:
        run.stop_reason = f"the last generation ({s.generations}) was reached"
    run.simulations = used


def _missing(run: CalibrationRun, gen: Generation) -> str:
    names = sorted({n for k in gen.kpis for n in k})
    bad = []
    for key, target in run.cal.fitted.items():
        if target.kpi not in names:

            near = difflib.get_close_matches(target.kpi, names, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            bad.append(f"targets.{key}: {target.kpi!r} is not measured{hint}")
        else:
            bad.append(f"targets.{key}: {target.kpi!r} is NaN in some simulations")
    return "; ".join(bad)


def _sample(run: CalibrationRun, sim: Simulator, t: int, propose: Proposer, eps: float, N: int,
            left: int) -> Generation | None:
    """Proposals of generation t in batches until the first N within ``eps`` (by number) are found."""
    accepted: list[int] = []
    thetas: dict[int, np.ndarray] = {}
    kpis: dict[int, dict[str, float]] = {}
    dist: dict[int, float] = {}
    rate = run.generations[-1].acceptance if run.generations else 0.5
    n = 0
    while len(accepted) < N:
        need = N - len(accepted)
        batch = int(min(max(math.ceil(need / max(rate, 0.01) * 1.1), 2 * sim.executor.workers, 8), left - n))
        if batch <= 0:
            return None
        props = {i: propose(i) for i in range(n, n + batch)}
        thetas.update(props)
        kpis.update(sim.evaluate(t, props))
        for i in range(n, n + batch):
            dist[i] = distance(run.cal, kpis[i])
            if dist[i] <= eps and len(accepted) < N:
                accepted.append(i)
        n += batch
        rate = max(len(accepted) / n, 0.005)
    last = accepted[-1] + 1
    theta = np.array([thetas[i] for i in accepted])
    return Generation(t, eps, theta, propose.weights(theta), np.array([dist[i] for i in accepted]),
                      [kpis[i] for i in accepted], last, accepted)


def calibrate(path: str | Path, out: Path | None = None, workers: int | None = None, dask: str | None = None,
              restart: bool = False, quiet: bool = True) -> CalibrationRun:
    """Run (or resume) a calibration and write its outputs: the Python twin of ``icssim calibrate``."""
    from icssim.calibrate.outputs import write_outputs

    run = prepare(path, out, restart)
    try:
        execute(run, workers, dask, restart, yes=True, budget=None, quiet=quiet)
        write_outputs(run)
    finally:
        if run.store is not None:
            run.store.close()
    return run
