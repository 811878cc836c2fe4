"""Recording: patient and visit rows, cost spans and the time series, turned into :class:`RunRecords`.

Records go into flat packed rows (floats, then int32s) appended to a bytearray, one ``+=`` per
patient or visit, and are read at the end as strided numpy views of those buffers (no copy). A cost
is noted as a span (service and category, amount, t0, t1) and spread over the time buckets once, in
numpy, when the run ends (:func:`bucket_costs`).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any, Final

import numpy as np

from icssim.model.calendar import CalendarPlan
from icssim.model.entities import IN_QUEUE, IN_TRANSIT, NAN, NCAT, NOWHERE, Patient, Resource, Step
from icssim.model.loop import Loop
from icssim.model.plan import Plan, ResourcePlan
from icssim.model.records import ResourceUse, RunRecords

PATIENT_FLOATS: Final = (
    "arrival", "referral", "assess_start", "treat_start", "first_intensive", "exit", "bed_days", "urgency0")
PATIENT_INTS: Final = (
    "pid", "cohort", "outcome", "rejections", "rereferrals", "n_assessments", "n_duplicated_assessments",
    "n_ae", "n_emergency_admissions", "n_inpatient_admissions", "n_missed", "sessions")
VISIT_FLOATS: Final = ("t_enter", "t_queue", "t_start", "t_end")
VISIT_INTS: Final = ("pid", "step", "outcome")


def _row_struct(n_float: int, n_int: int) -> struct.Struct:
    """Native-order row of ``n_float`` doubles then ``n_int`` int32s, padded to a multiple of 8."""
    pad = -(8 * n_float + 4 * n_int) % 8
    return struct.Struct(f"={n_float}d{n_int}i{pad}x")


pack_visit = _row_struct(len(VISIT_FLOATS), len(VISIT_INTS)).pack
_pack_span = struct.Struct("=4d").pack  # a cost span (cell, £, t0, t1), read back as an (n, 4) float array


class Recording(Loop):
    """The records of a replication, and the running totals they are made from."""

    def __init__(self, plan: Plan, replication: int, seed: int | None, record_visits: bool) -> None:
        super().__init__(plan, replication, seed)
        self.n_buckets = int(plan.horizon // plan.sample_every) + 1
        # flat rows of (service*NCAT+category, £, t0, t1): read by numpy without conversion at the end
        self.cost_spans = bytearray()
        # a plan that books no cost shares one row of zeros instead of a list per patient
        books_costs = any(sp.contact_cost or sp.staff_hours_cost or sp.bed_day_cost
                          or (sp.monitoring is not None and sp.monitoring[4]) for sp in plan.steps)
        self._no_costs = None if books_costs or not self.n_services else (0.0,) * self.n_services
        self.arrivals = self.exits = 0
        self.in_sys = 0
        self.in_sys_area = 0.0
        self.in_sys_last = 0.0
        self._warm: tuple[list[float], float] | None = None  # areas at the end of the warm-up
        self.ts: list[tuple[Any, ...]] = []
        # patient rows: the fixed floats, the attributes on leaving, those a run may change on
        # arrival (Plan.changing), the final deterioration level, the costs
        self._n_attr = len(plan.attributes)
        self._final_attr = plan.deterioration.attribute if plan.deterioration else -1
        self.age_idx = next((i for i, a in enumerate(plan.attributes) if a.ages), -1)
        self._pfloat_names = (PATIENT_FLOATS + tuple(f"attr_{a.name}" for a in plan.attributes)
                              + tuple(f"arrival_{plan.attributes[i].name}" for i in plan.changing)
                              + ((f"final_{plan.attributes[self._final_attr].name}",)
                                 if self._final_attr >= 0 else ())
                              + tuple(f"cost_{name}" for name in plan.services))
        self.pbuf = bytearray()
        # stage waits and interval standards are measured from the visits: kept whenever asked for
        self.vbuf = bytearray() if record_visits or plan.stages or plan.intervals else None
        self._pack_patient = _row_struct(len(self._pfloat_names), len(PATIENT_INTS)).pack
        # (start, scheduled end) of each service that runs on past the horizon, by pid (service.py):
        # its end is never scheduled, so the patient is still in it when the run stops
        self.beyond: dict[int, tuple[float, float]] = {}
        #: where each person who left and may return has their row, by pid (deterioration.py)
        self._rows: dict[int, int] = {}

    def _stop_monitoring(self, p: Patient) -> None:
        """(deterioration.py) End ``p``'s monitoring, booking its contacts."""
        raise NotImplementedError

    # ------------------------------------------------------------------ rows
    def _write_patient(self, p: Patient, exit_time: float, outcome: int, at: int = -1) -> int:
        """Append ``p``'s row (layout in ``_pfloat_names`` and ``PATIENT_INTS``) to the patient buffer,
        or write it over the row at offset ``at`` (someone who left and came back: health.returns);
        returns the row's offset."""
        attrs = p.attrs  # the plan's attributes, then the cohort index (not written)
        final = (attrs[self._final_attr],) if self._final_attr >= 0 else ()
        row = self._pack_patient(
            p.arrival, p.referral, p.assess_start, p.treat_start, p.first_intensive, exit_time, p.bed_days,
            p.urgency0, *attrs[:self._n_attr], *p.attrs0, *final, *p.cost,
            p.pid, p.cohort, outcome, p.rejections, p.rereferrals, p.n_assess, p.n_dup, p.n_ae, p.n_admit,
            p.n_inpatient, p.n_missed, p.sessions)
        if at < 0:
            at = len(self.pbuf)
            self.pbuf += row
        else:
            self.pbuf[at:at + len(row)] = row
        return at

    def _visit(self, p: Patient, s: Step, started: float, outcome: int) -> None:
        vbuf = self.vbuf
        if vbuf is not None:
            vbuf += pack_visit(p.t_enter, p.t_queue, started, self.now, p.pid, s.index, outcome)

    def _book(self, p: Patient, service: int, category: int, amount: float, t0: float, t1: float) -> None:
        """Charge ``amount`` to ``service``, to be spread evenly over [t0, t1] when the run ends.

        Only the span is noted here; ``bucket_costs`` spreads all spans over the time buckets at once
        in numpy (a per-bucket Python loop here was the top item of the calendar scenario's profile).
        """
        if service >= 0:
            p.cost[service] += amount
            self.cost_spans += _pack_span(service * NCAT + category, amount, t0, t1)

    # ------------------------------------------------------------------ over time
    def _sample(self, arg: object) -> None:
        now = self.now
        if len(self._queue) > self._compact_at:
            self._drop_stale_events()
        self.ts.append((now, self.in_sys, *(s.n_wait + s.n_transit for s in self._served),
                        *(s.n_wait for s in self._served), *(r.used for r in self.res)))
        if now + self.plan.sample_every <= self.plan.horizon:
            self._at(self.plan.sample_every, self._sample, None)

    def _end_warmup(self, arg: object) -> None:
        now = self.now
        for r in self.res:
            r.area += r.used * (now - r.last)
            r.last = now
        self.in_sys_area += self.in_sys * (now - self.in_sys_last)
        self.in_sys_last = now
        self._warm = ([r.area for r in self.res], self.in_sys_area)

    # ------------------------------------------------------------------ records
    def _records(self) -> RunRecords:
        plan = self.plan
        end = plan.horizon
        for r in self.res:
            r.area += r.used * (end - r.last)
            r.last = end
        self.in_sys_area += self.in_sys * (end - self.in_sys_last)
        warm_areas, warm_sys = self._warm or ([0.0] * len(self.res), 0.0)
        in_system_end = len(self.active)
        beyond = [0.0] * len(self.res)
        open_visits = bytearray()
        for p in self.active.values():
            self._censor(p, end, open_visits, beyond)
        for p in list(self.active.values()):
            if p.mon is not None:
                self._stop_monitoring(p)
            self._write_patient(p, NAN, self._outcome_code["in_system"], self._rows.pop(p.pid, -1))
        cal = plan.calendar
        return RunRecords(
            scenario=plan.name, seed=self.seed, replication=self.replication, time_unit=plan.time_unit,
            horizon=plan.horizon, warmup=plan.warmup, sample_every=plan.sample_every,
            hours_per_unit=plan.hours_per_unit,
            steps=tuple(s.name for s in plan.steps), step_kinds=tuple(s.kind for s in plan.steps),
            services=plan.services, cohorts=tuple(c.name for c in plan.cohorts),
            attributes=tuple(a.name for a in plan.attributes),
            attribute_levels={a.name: a.levels for a in plan.attributes if a.levels},
            outcomes=plan.outcomes, patients=self._patient_columns(),
            visits=None if self.vbuf is None else _columns(self.vbuf, VISIT_FLOATS, VISIT_INTS),
            in_progress=None if self.vbuf is None else _columns(open_visits, VISIT_FLOATS, VISIT_INTS),
            timeseries=self._timeseries(), costs=self._costs(),
            resources=[self._resource_use(i, rp, r, wa, cal, over)
                       for i, (rp, r, wa, over) in enumerate(zip(plan.resources, self.res, warm_areas, beyond))],
            arrivals=self.arrivals, exits=self.exits, in_system_end=in_system_end,
            in_system_area=self.in_sys_area - warm_sys,
            # events due before the horizon (stale ones cleared from the heap count as run: they
            # would have been popped, doing nothing)
            events=next(self._eid) - self._eid0 - 1 - len(self._queue),
            stages=plan.stages, stage_queues=plan.stage_queues,
            intervals={i[0]: (i[1], i[2], i[3], i[4]) for i in plan.intervals},
            path_cohorts=dict(plan.path_cohorts),
        )

    def _censor(self, p: Patient, end: float, open_visits: bytearray, beyond: list[float]) -> None:
        """Note ``p``'s visit still in progress at the horizon ``end`` (a row of ``open_visits``:
        outcome -1, ``t_end`` the horizon) and add the rest of a service they are in, to its
        scheduled end, to ``beyond`` (per resource)."""
        s: Step | None = p.step
        if s is None:
            return
        started = NAN
        if p.where == NOWHERE:  # between events, a patient at a step and nowhere else is in service
            service = self.beyond.get(p.pid)
            if service is None or not s.res:
                return
            started = service[0]
            for ri in s.plan.resources:
                beyond[ri] += service[1] - end
        elif p.where == IN_TRANSIT:  # a hand-off, a rebooking, or a delay step (which started on arrival)
            if not s.res and s.duration is not None:
                started = p.t_queue
        elif p.where != IN_QUEUE:  # on a routing delay: the next step's visit has not begun
            return
        if self.vbuf is not None:
            open_visits += pack_visit(p.t_enter, p.t_queue, started, end, p.pid, s.index, -1)

    def _patient_columns(self) -> dict[str, np.ndarray]:
        # Columns are strided views of the packed row buffers: no copy, so a million patients
        # cost only the buffer (8 bytes per float field, 4 per int field, padded to 8 per row).
        cols = _columns(self.pbuf, self._pfloat_names, PATIENT_INTS)
        n_fixed = len(PATIENT_FLOATS)
        names = PATIENT_FLOATS + PATIENT_INTS + self._pfloat_names[n_fixed:]
        patients = {k: cols[k] for k in names}
        cal = self.plan.calendar
        if cal is not None and (cal.initial or cal.initial_groups):  # today's waiting list: pids 0..n-1
            n0 = len(cal.initial) + sum(g.count for g in cal.initial_groups)
            patients["initial"] = patients["pid"] < n0
        return patients

    def _timeseries(self) -> dict[str, np.ndarray]:
        ts_cols = (["time", "in_system"] + [f"waiting_{s.plan.name}" for s in self._served]
                   + [f"queue_{s.plan.name}" for s in self._served]
                   + [f"in_use_{r.name}" for r in self.plan.resources])
        ts = np.array(self.ts, dtype=float).reshape(len(self.ts), len(ts_cols))
        return {c: ts[:, i] for i, c in enumerate(ts_cols)}

    def _costs(self) -> np.ndarray:
        n_cells = max(self.n_services, 1) * NCAT
        spans = np.frombuffer(self.cost_spans, dtype=float).reshape(-1, 4)
        costs = bucket_costs(spans, self.n_buckets, self.plan.sample_every, n_cells, end=self.plan.horizon)
        return costs.reshape(self.n_buckets, max(self.n_services, 1), NCAT)

    def _resource_use(self, i: int, rp: ResourcePlan, r: Resource, warm_area: float,
                      cal: CalendarPlan | None, beyond: float) -> ResourceUse:
        """Window use of resource ``i``; capacity and staff cost time-averaged under a capacity plan;
        ``beyond``: the rest of the services in progress at the horizon."""
        # servers (an int), or their mean over the window (a float) under a capacity plan
        capacity: Any = rp.capacity if cal is None or not cal.capacity else cal.mean_capacity[i]
        scale = capacity / rp.capacity if rp.capacity else 1.0
        return ResourceUse(rp.name, self.plan.services[rp.service], rp.kind, rp.role, capacity,
                           r.area - warm_area, rp.hours_available, bool(r.steps), rp.cost_per_year * scale,
                           beyond)


def _columns(buf: bytearray, float_names: Sequence[str], int_names: Sequence[str]) -> dict[str, np.ndarray]:
    """Column views (no copy) of a buffer of rows packed by :func:`_row_struct`."""
    size = _row_struct(len(float_names), len(int_names)).size
    dtype = np.dtype({
        "names": list(float_names) + list(int_names),
        "formats": [np.float64] * len(float_names) + [np.int32] * len(int_names),
        "offsets": [8 * i for i in range(len(float_names))]
                   + [8 * len(float_names) + 4 * i for i in range(len(int_names))],
        "itemsize": size,
    })
    table = np.frombuffer(buf, dtype=dtype) if len(buf) else np.zeros(0, dtype=dtype)
    return {name: table[name] for name in dtype.names or ()}


def bucket_costs(spans: np.ndarray | list[tuple[int, float, float, float]], n_buckets: int, width: float,
                 n_cells: int, end: float | None = None) -> np.ndarray:
    """Spread each ``(cell, amount, t0, t1)`` evenly over [t0, t1] across time buckets of ``width``.

    ``spans`` is a sequence of such rows or an ``(n, 4)`` float array (the engine's).

    Returns a flat ``n_buckets * n_cells`` array (bucket-major). Bucket ``b`` covers
    [b·width, (b+1)·width); the last bucket also takes whatever lies beyond it. With ``end`` (the
    run's horizon) the part of a span after ``end`` is left out: an episode booked to end after the
    run is paid for after it, and counting it in the run's last weeks would inflate the yearly costs
    (the patient's own total, ``cost_<service>``, keeps the whole episode).

    A span inside one bucket books its whole amount there. A longer span books its part-weeks at
    each end directly, and the whole buckets between them through a difference array summed
    along time, so the work grows with the number of spans and buckets, not with their product
    (monitoring spans years of weekly buckets). Buckets no span covers stay exactly zero.
    """
    out_len = n_buckets * n_cells
    spans = np.asarray(spans, dtype=float).reshape(-1, 4)
    if not len(spans):
        return np.zeros(out_len)
    if end is not None:
        spans = _clip_spans(spans, end)
    cell, amount, t0, t1 = spans.T
    cell = cell.astype(np.intp)
    last = n_buckets - 1
    b0 = np.minimum(t0 // width, last).astype(np.intp)
    b1 = np.minimum(t1 // width, last).astype(np.intp)
    inside = b0 == b1
    out = np.bincount(b0 * n_cells + cell, weights=np.where(inside, amount, 0.0), minlength=out_len)
    spread = ~inside
    if not spread.any():
        return out
    c, a, s0, s1, k0, k1 = (x[spread] for x in (cell, amount, t0, t1, b0, b1))
    rate = a / (s1 - s0)
    out += np.bincount(k0 * n_cells + c, weights=rate * ((k0 + 1) * width - s0), minlength=out_len)
    out += np.bincount(k1 * n_cells + c, weights=rate * (s1 - k1 * width), minlength=out_len)
    # whole buckets k0+1 .. k1-1: +rate·width from k0+1 on, -rate·width from k1 on
    n_diff = (n_buckets + 1) * n_cells
    starts, stops = (k0 + 1) * n_cells + c, k1 * n_cells + c
    per_bucket = rate * width
    diff = (np.bincount(starts, weights=per_bucket, minlength=n_diff)
            - np.bincount(stops, weights=per_bucket, minlength=n_diff))
    covering = np.bincount(starts, minlength=n_diff) - np.bincount(stops, minlength=n_diff)
    middle = np.cumsum(diff.reshape(n_buckets + 1, n_cells), axis=0)[:n_buckets]
    covered = np.cumsum(covering.reshape(n_buckets + 1, n_cells), axis=0)[:n_buckets] > 0
    out += np.where(covered, middle, 0.0).ravel()
    return out


def _clip_spans(spans: np.ndarray, end: float) -> np.ndarray:
    """``spans`` cut at ``end``: each amount in proportion to the span's time before ``end`` (a
    point cost whole if at or before it)."""
    cell, amount, t0, t1 = spans.T
    length = t1 - t0
    before = np.clip(end - t0, 0.0, None)
    share = np.where(length > 0, np.minimum(before, length) / np.where(length > 0, length, 1.0),
                     (t0 <= end).astype(float))
    clipped: np.ndarray = np.column_stack([cell, amount * share, t0, np.minimum(t1, np.maximum(end, t0))])
    kept: np.ndarray = clipped[share > 0]
    return kept
