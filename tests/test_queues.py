"""The order of a step's queue (model/queues.py): a FIFO step serves first come first served; a
priority step serves the highest urgency level first and, within a level, first come first served,
without interrupting a patient in service.

The verification case ``priority`` (tests/verification/) checks mean waits per class, which are
the same under any order within a class that keeps the server busy (FIFO, LIFO, random): only the
records of who started when can tell those orders apart, and that is what is checked here.
"""

from __future__ import annotations

import numpy as np
import pytest

from icssim.model import compile_plan, simulate
from icssim.scenario import scenario_from_dict

#: urgency levels: the code recorded (``urgency0``) is the level's index
ROUTINE, URGENT = 0.0, 1.0


def _scenario(queue: str, servers: int = 1, seed: int = 11, **step) -> dict:
    """One step with ``servers`` servers and a queue of kind ``queue``, busy enough that many
    patients of each level wait together: per server, urgent patients arrive at 0.6 an hour and
    routine at 0.35 an hour, for one hour of service each (rho = 0.95), over 2,000 hours. ``step``:
    more keys of the step."""
    return {
        "scenario": {"name": f"queue_order_{queue}", "time_unit": "hours", "horizon": 2000, "seed": seed},
        "attributes": {"urgency": ["routine", "urgent"]},
        "cohorts": {
            "urgent": {"rate": 0.6 * servers, "entry": "service", "attributes": {"urgency": "urgent"}},
            "routine": {"rate": 0.35 * servers, "entry": "service", "attributes": {"urgency": "routine"}},
        },
        "services": {"desk": {"staff": {"server": {"wte": servers}}}},
        "pathway": {"steps": {
            "service": {"kind": "assessment", "service": "desk", "staff": ["server"], "queue": queue,
                        "duration": {"dist": "exponential", "mean": 1}, "next": "done", **step},
            "done": {"kind": "discharge", "outcome": "served"},
        }},
    }


def _visits(queue: str, servers: int = 1, seed: int = 11, **step) -> dict[str, np.ndarray]:
    """Every visit to the step, ended or still open at the horizon (``t_start`` NaN: still waiting;
    ``t_end`` the horizon), with each patient's urgency level."""
    rec = simulate(compile_plan(scenario_from_dict(_scenario(queue, servers, seed, **step))))
    cols = {k: np.concatenate([rec.visits[k], rec.in_progress[k]]) for k in ("pid", "t_queue", "t_start", "t_end")}
    row = np.empty(rec.arrivals, dtype=np.int64)  # patient records are in exit order, not by pid
    row[rec.patients["pid"]] = np.arange(len(rec.patients["pid"]))
    cols["urgency"] = rec.patients["urgency0"][row[cols["pid"]]]
    assert len(cols["pid"]) == rec.arrivals  # one visit each: nobody lost from the check
    return cols


def _overlaps(t_queue: np.ndarray, t_start: np.ndarray) -> int:
    """How many pairs of these patients waited at the same time (the later joined before the earlier
    started): the pairs whose order a queue discipline decides."""
    start = np.where(np.isnan(t_start), np.inf, t_start)
    order = np.argsort(t_queue, kind="stable")
    q, s = t_queue[order], start[order]
    waited = s > q
    # for each patient who waited, those who joined after them and before they started
    return int(sum(np.searchsorted(q, s[i], side="left") - i - 1 for i in np.flatnonzero(waited)))


def _assert_first_come_first_served(t_queue: np.ndarray, t_start: np.ndarray) -> None:
    """Service starts in the order of joining; those still waiting at the horizon joined after
    everyone who started."""
    started = ~np.isnan(t_start)
    order = np.argsort(t_start[started], kind="stable")
    joined = t_queue[started][order]
    overtaken = np.flatnonzero(np.diff(joined) < 0)
    assert not len(overtaken), (
        f"{len(overtaken)} patients started before someone of the same level who joined earlier; "
        f"first: one who joined at {joined[overtaken[0]]:.4f} h started before one who joined at "
        f"{joined[overtaken[0] + 1]:.4f} h")
    if (~started).any():
        assert t_queue[~started].min() >= joined.max()


@pytest.mark.parametrize("servers", [1, 3])
def test_a_priority_step_serves_each_urgency_level_first_come_first_served(servers):
    v = _visits("priority", servers)
    for level in (ROUTINE, URGENT):
        mine = v["urgency"] == level
        assert mine.sum() > 100
        # the order within the level matters here: many pairs waited together
        assert _overlaps(v["t_queue"][mine], v["t_start"][mine]) > 1000, level
        _assert_first_come_first_served(v["t_queue"][mine], v["t_start"][mine])


def test_a_priority_step_serves_urgent_patients_first_without_interrupting_service():
    """Nobody routine starts while someone urgent is waiting; an urgent patient waits (when it
    does) only for a service already under way to end, or for those urgent who joined before."""
    v = _visits("priority")
    urgent, routine = v["urgency"] == URGENT, v["urgency"] == ROUTINE
    uq, us = v["t_queue"][urgent], np.where(np.isnan(v["t_start"][urgent]), np.inf, v["t_start"][urgent])
    routine_starts = v["t_start"][routine][~np.isnan(v["t_start"][routine])]
    # for each routine start, how many urgent patients were waiting then (joined before, not yet started)
    waiting = ((uq[None, :] < routine_starts[:, None]) & (routine_starts[:, None] < us[None, :])).sum(axis=1)
    assert not waiting.any(), f"{np.count_nonzero(waiting)} routine patients started while urgent ones waited"
    # ... and yet the routine patients did wait behind urgent ones (the check above had work to do)
    rq = v["t_queue"][routine][~np.isnan(v["t_start"][routine])]
    overtaken = ((rq[:, None] < uq[None, :]) & (us[None, :] < routine_starts[:, None])).any(axis=1)
    assert overtaken.sum() > 50
    # one server, never interrupted and never idle while someone waits: each service starts when
    # the one before it ends, or when its patient joins if the server was free by then
    started = ~np.isnan(v["t_start"])
    order = np.argsort(v["t_start"][started])
    start, end, joined = v["t_start"][started][order], v["t_end"][started][order], v["t_queue"][started][order]
    assert np.array_equal(start[1:], np.maximum(end[:-1], joined[1:]))


#: a plain FIFO step (the engine's inlined path, model/flow.py) and one with a drop-out so slow that
#: nobody drops out in the run, which makes it go through Queues._enqueue and _dispatch instead
@pytest.mark.parametrize("step", [{}, {"dropout": {"mean_time": 1e12}}], ids=["plain", "with_dropout"])
def test_a_fifo_step_serves_everyone_first_come_first_served(step):
    v = _visits("fifo", servers=3, **step)
    assert _overlaps(v["t_queue"], v["t_start"]) > 1000
    _assert_first_come_first_served(v["t_queue"], v["t_start"])
