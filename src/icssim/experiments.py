"""Experiments: replications on all cores, confidence intervals, and paired comparisons.

Replication ``r`` of any scenario draws from streams seeded by ``(seed, r)`` only, so
results do not depend on how many workers run them, and two scenarios run with the
same seed share their random numbers (common random numbers) wherever their
cohorts and steps share names.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from icssim.comparability import comparability
from icssim.errors import IcssimError
from icssim.executors import Executor, make_executor
from icssim.executors import default_workers as default_workers  # re-exported: callers use experiments.default_workers
from icssim.health import kpis as _health_kpis  # noqa: F401  (registers the health KPIs)
from icssim.health.follow import follow_records
from icssim.health.plan import HealthPlan, compile_health
from icssim.intervals import half_width
from icssim.kpi_base import window_people
from icssim.kpis import compute_kpis
from icssim.model import RunRecords, compile_plan, simulate
from icssim.model.loop import cyclic_gc_paused
from icssim.scenario import Scenario
from icssim.units import in_days

if TYPE_CHECKING:
    import pandas as pd

# pandas is imported where it is used: the replications, on forked workers, need none of it,
# and ``icssim run`` imports it while they run (:mod:`icssim.preload`), not before.

Progress = Callable[[int], None]


@dataclass
class Replication:
    """One replication's KPIs and (optionally) its full records."""

    replication: int
    kpis: dict[str, float]
    records: RunRecords | None
    wall_seconds: float = 0.0  # time simulating it (kept out of the KPIs: outputs reproduce to the byte)


@dataclass
class RunResult:
    """All replications of one scenario."""

    scenario: Scenario
    seed: int
    replications: list[Replication]
    precision: dict[str, object] = field(default_factory=dict)

    @property
    def kpis(self) -> pd.DataFrame:
        """One row per replication, one column per KPI."""
        import pandas as pd

        return pd.DataFrame([r.kpis for r in self.replications],
                            index=pd.Index([r.replication for r in self.replications], name="replication"))

    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """Mean and Student-t confidence interval of every KPI across replications."""
        return summarise(self.kpis, level)

    @property
    def records(self) -> list[RunRecords]:
        return [r.records for r in self.replications if r.records is not None]


def standards_of(scenario: Scenario) -> dict[str, tuple[float, str | None, str, str | tuple[str, ...] | None]]:
    """The scenario's waiting-time standards as (threshold in days, urgency, measure, cohort)."""
    unit = scenario.scenario.time_unit
    return {name: (in_days(std.within, unit), std.urgency, std.measure,
                   tuple(std.cohort) if isinstance(std.cohort, list) else std.cohort)
            for name, std in scenario.scenario.standards.items()}


def run_replication(scenario: Scenario, replication: int, seed: int | None = None,
                    keep_records: bool = True, record_visits: bool = True, follow_up: bool = True) -> Replication:
    """Simulate one replication and measure its KPIs.

    ``follow_up=False`` skips the course of illness after the run (the health and value-for-money
    KPIs are then absent; every other KPI is the same, the follow-up's draws being each person's
    own): for callers that measure only the pathway, such as a calibration."""
    plan, health = _plans(scenario)
    # The collector stays paused until the records not kept are freed (by reference counting): its
    # first pass after the engine's pause would otherwise scan every object the run left alive
    # (with a course of illness, tens of thousands: each person's course, their moves).
    with cyclic_gc_paused():
        records = simulate(plan, replication, seed, record_visits=record_visits and keep_records, health=health)
        if health is not None or any("payer" in svc.model_fields_set for svc in scenario.services.values()):
            records.payers = tuple(svc.payer for svc in scenario.services.values())
        if health is not None and follow_up:
            records.health = follow_records(records, health, window_people(records))
        kpis = compute_kpis(records, standards_of(scenario))
        kpis["events"] = float(records.events)
        replication_run = Replication(replication, kpis, records if keep_records else None, records.wall_seconds)
        del records
    return replication_run


_PLAN_CACHE: dict[int, tuple[Scenario, Any, HealthPlan | None]] = {}


def _plans(scenario: Scenario) -> tuple[Any, HealthPlan | None]:
    """The scenario's compiled pathway and course of illness (the last scenario's are cached)."""
    key = id(scenario)
    cached = _PLAN_CACHE.get(key)
    if cached is None or cached[0] is not scenario:
        _PLAN_CACHE.clear()
        cached = _PLAN_CACHE[key] = (scenario, compile_plan(scenario), compile_health(scenario))
    return cached[1], cached[2]


def replicate(scenario: Scenario, replications: Iterable[int], seed: int | None = None,
              workers: int | None = None, keep_records: bool = True,
              progress: Progress | None = None, done: list[Replication] | None = None,
              executor: Executor | None = None, dask: str | None = None) -> list[Replication]:
    """Run the given replication numbers on ``executor`` (else one made for ``workers`` or
    ``dask``); ordered by number.

    Finished replications are appended to ``done`` in number order as each is ready, so a
    caller that is interrupted still holds every one finished before it.
    """
    done = [] if done is None else done
    first = len(done)
    numbers = list(replications)
    with on_executor(executor, [scenario], workers, dask, len(numbers)) as ex, \
            closing(replications_in_order(ex, scenario, numbers, seed, keep_records)) as stream:
        for rep in stream:
            done.append(rep)
            if progress:
                progress(1)
    return sorted(done[first:], key=lambda r: r.replication)


def executor_for(scenarios: list[Scenario], workers: int | None = None, dask: str | None = None,
                 tasks: int | None = None) -> Executor:
    """An executor whose workers hold ``scenarios``, each sent to each worker once (when it
    starts), not with every replication: a worker then compiles a plan once (``_plan`` keeps
    it) instead of unpickling and compiling per replication."""
    installed = {_token(s): s for s in scenarios}
    install_scenarios(installed)   # in this process too, for an executor that runs here
    return make_executor(workers, dask, initializer=install_scenarios, initargs=(installed,), tasks=tasks)


@contextmanager
def on_executor(executor: Executor | None, scenarios: list[Scenario], workers: int | None, dask: str | None,
              tasks: int) -> Iterator[Executor]:
    """``executor`` as given (the caller closes it), or one made and closed here."""
    if executor is not None:
        install_scenarios({_token(s): s for s in scenarios})
        yield executor
        return
    with executor_for(scenarios, workers, dask, tasks) as made:
        yield made


def replications_in_order(executor: Executor, scenario: Scenario, numbers: list[int], seed: int | None = None,
                          keep_records: bool = True, ahead: int | None = None) -> Generator[Replication, None, None]:
    """Yield the replications ``numbers`` of ``scenario`` in that order, run on ``executor``.

    ``ahead`` bounds how many are started before the caller has taken the earlier ones (default:
    all of them), so a caller that may stop early (``run_to_precision``) wastes at most that many.
    Closing the iterator stops those under way and cancels those not yet started.
    """
    token = _token(scenario)
    return executor.map_in_order(_run_installed, [(token, r, seed, keep_records) for r in numbers], ahead)


def comparison_in_order(executor: Executor, scenarios: list[Scenario], numbers: Iterable[int],
                        seed: int | None = None, keep_records: bool = True,
                        ahead: int | None = None) -> Generator[Replication, None, None]:
    """Yield replication 0 of every scenario, then replication 1 of every scenario, and so on, run
    on ``executor`` from one queue (no worker idles between scenarios); ``ahead`` as in
    :func:`replications_in_order`."""
    tasks = [(_token(s), r, seed, keep_records) for r in numbers for s in scenarios]
    return executor.map_in_order(_run_installed, tasks, ahead)


_TOKENS: dict[int, tuple[Scenario, str]] = {}
_INSTALLED: dict[str, Scenario] = {}   # in a worker (and in this process): the scenarios it runs, by token


def _token(scenario: Scenario) -> str:
    """A name for this scenario object, unique across processes and commands (tasks carry it,
    not the scenario)."""
    known = _TOKENS.get(id(scenario))
    if known is None or known[0] is not scenario:
        known = _TOKENS[id(scenario)] = (scenario, uuid.uuid4().hex)
        while len(_TOKENS) > 64:
            del _TOKENS[next(iter(_TOKENS))]
    return known[1]


def install_scenarios(scenarios: dict[str, Scenario]) -> None:
    """A worker's state: the scenarios it may be asked to run, by token (the latest 64 kept)."""
    _INSTALLED.update(scenarios)
    while len(_INSTALLED) > 64:
        del _INSTALLED[next(iter(_INSTALLED))]


def _run_installed(task: tuple[str, int, int | None, bool]) -> Replication:
    token, replication, seed, keep_records = task
    scenario = _INSTALLED.get(token)
    if scenario is None:
        raise IcssimError("a worker does not hold the scenario it was asked to run: make the executor with "
                          "icssim.experiments.executor_for(scenarios, ...)")
    return run_replication(scenario, replication, seed, keep_records)


def run(scenario: Scenario, replications: int = 1, seed: int | None = None, workers: int | None = None,
        keep_records: bool = True, progress: Progress | None = None,
        done: list[Replication] | None = None, executor: Executor | None = None,
        dask: str | None = None) -> RunResult:
    """Run ``replications`` seeded replications of ``scenario`` (finished ones also go to ``done``)
    on ``executor``, else on one made for ``workers`` local processes or the Dask cluster ``dask``."""
    if replications < 1:
        raise IcssimError(f"--replications must be at least 1, found {replications}")
    seed = scenario.scenario.seed if seed is None else seed
    reps = replicate(scenario, range(replications), seed, workers, keep_records, progress, done, executor, dask)
    return RunResult(scenario, seed, reps)


def summarise(table: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Per column: mean, sd, n, Student-t CI (lower, upper, half-width)."""
    import pandas as pd

    rows = {}
    for col in table.columns:
        x = table[col].to_numpy(dtype=float)
        x = x[~np.isnan(x)]
        rows[col] = _ci(x, level)
    return pd.DataFrame.from_dict(rows, orient="index",
                                  columns=["mean", "sd", "n", "lower", "upper", "half_width"])


def _ci(x: np.ndarray, level: float) -> tuple[float, ...]:
    n = len(x)
    if n == 0:
        return (np.nan, np.nan, 0, np.nan, np.nan, np.nan)
    mean = float(x.mean())
    if n == 1:
        return (mean, np.nan, 1, np.nan, np.nan, np.nan)
    sd = float(x.std(ddof=1))
    half = half_width(sd, n, level)
    return (mean, sd, n, mean - half, mean + half, half)


@dataclass
class Comparison:
    """Several scenarios run on common random numbers, with paired differences to the first."""

    results: list[RunResult]
    warnings: list[str]
    #: how :func:`compare_to_precision` chose the number of replications (None: they were given)
    precision: dict[str, Any] | None = None

    @property
    def names(self) -> list[str]:
        return [r.scenario.scenario.name for r in self.results]

    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """Long table: one row per (KPI, scenario) with mean and CI; a service's cost is 0 in a scenario without
        the service, as in :meth:`differences`, so a baseline mean plus its difference is the other's mean."""
        import pandas as pd

        names = list(dict.fromkeys(k for res in self.results for k in res.kpis.columns))
        frames = []
        for res in self.results:
            s = summarise(_zero_filled(res.kpis, names), level)
            s.index.name = "kpi"
            frames.append(s.reset_index().assign(scenario=res.scenario.scenario.name))
        return pd.concat(frames, ignore_index=True)

    def differences(self, level: float = 0.95) -> pd.DataFrame:
        """Paired difference of every KPI, each scenario minus the first, with a t-interval."""
        import pandas as pd

        first = self.results[0].kpis
        rows = []
        for res in self.results[1:]:
            base, other = _zero_filled(first, res.kpis.columns), _zero_filled(res.kpis, first.columns)
            for kpi in base.columns.intersection(other.columns):
                d = (other[kpi] - base[kpi]).to_numpy(dtype=float)
                d = d[~np.isnan(d)]
                mean, sd, n, lower, upper, half = _ci(d, level)
                ref = float(base[kpi].mean())
                pct = (lambda x: 100 * x / abs(ref)) if ref else (lambda x: np.nan)
                rows.append({"kpi": kpi, "scenario": res.scenario.scenario.name, "baseline": self.names[0],
                             "baseline_mean": ref, "diff_mean": mean, "diff_lower": lower,
                             "diff_upper": upper, "diff_half_width": half, "n": n,
                             "pct_mean": pct(mean), "pct_lower": pct(lower), "pct_upper": pct(upper)})
        return pd.DataFrame(rows)


def _zero_filled(table: pd.DataFrame, names: Iterable[str]) -> pd.DataFrame:
    """A KPI table with a column of 0 for each KPI in ``names`` it lacks that is 0 where its subject is absent (a
    service's cost: an integrated team replacing two changes its whole cost); others (a utilisation) stay absent."""
    from icssim.kpis import kpi_info

    return table.assign(**{k: 0.0 for k in names if k not in table.columns and kpi_info(k).zero_when_absent})


def compare(scenarios: list[Scenario], replications: int = 10, seed: int | None = None,
            workers: int | None = None, keep_records: bool = True,
            progress: Progress | None = None, executor: Executor | None = None,
            dask: str | None = None, done: list[Replication] | None = None) -> Comparison:
    """Run every scenario with the same seed and replication numbers (common random numbers),
    all on one executor (``executor``, else one made for ``workers`` or ``dask``).

    Replication 0 of every scenario runs first, then replication 1 of every scenario, and so on,
    each one appended to ``done`` as it is ready: a caller that is interrupted holds complete
    pairs (:func:`finished_comparison`)."""
    if len(scenarios) < 2:
        raise IcssimError("compare needs at least two scenarios")
    if replications < 2:
        raise IcssimError(f"--replications must be at least 2 to give a confidence interval, found {replications}")
    warnings = comparability(scenarios)
    seed = scenarios[0].scenario.seed if seed is None else seed
    done = [] if done is None else done
    first = len(done)
    with on_executor(executor, scenarios, workers, dask, replications * len(scenarios)) as ex, \
            closing(comparison_in_order(ex, scenarios, range(replications), seed, keep_records)) as stream:
        for rep in stream:
            done.append(rep)
            if progress:
                progress(1)
    comparison = finished_comparison(scenarios, seed, done[first:], warnings)
    assert comparison is not None  # (every replication finished)
    return comparison


def finished_comparison(scenarios: list[Scenario], seed: int, done: list[Replication],
                        warnings: list[str]) -> Comparison | None:
    """The comparison of the replications in ``done`` (in :func:`compare`'s order) that finished
    for every scenario, or None if fewer than two did (no confidence interval)."""
    pairs = len(done) // len(scenarios)
    if pairs < 2:
        return None
    results = [RunResult(s, seed, done[i:pairs * len(scenarios):len(scenarios)]) for i, s in enumerate(scenarios)]
    from icssim.warmup import records_warning

    unsteady = [w for r in results if (w := records_warning(r.scenario.scenario.name, r.records))]
    return Comparison(results, warnings + unsteady)
