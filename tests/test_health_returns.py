"""Returns to the pathway driven by the course of illness (``health.returns``): after leaving the
pathway, a relapse sends a person back to a step with a probability after a help-seeking delay,
the same person with the same course. Checked against the closed form of a constant-hazard
cohort, against an engine that runs every course from arrival, across two pathways (common random
numbers), across worker processes, and for bad input."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from ruamel.yaml import YAML

from icssim.errors import ScenarioError
from icssim.experiments import replicate, run_replication
from icssim.health import person, person_returns
from icssim.scenario import load_scenario, scenario_from_dict

RELAPSE_PER_YEAR, HELP_P, DELAY_YEARS = 0.8, 0.6, 0.25


def _returning(therapy_days: float = 10) -> dict:
    """Everyone starts well and stays well in the pathway; after leaving it they relapse at a constant
    hazard into an illness they keep (absorbing), and a relapse sends them back to therapy with
    probability HELP_P after an exponential delay of mean DELAY_YEARS."""
    return {
        "scenario": {"name": "returning", "time_unit": "days", "horizon": "6 years", "seed": 7},
        "cohorts": {"all": {"rate": "5 per day", "entry": "therapy"}},
        "services": {"team": {"staff": {"nurse": {"wte": 500}}}},
        "pathway": {"steps": {
            "therapy": {"kind": "treatment", "service": "team", "staff": ["nurse"],
                        "duration": f"{therapy_days} days", "next": "done"},
            "done": {"kind": "discharge", "outcome": "completed"}}},
        "health": {
            "states": {"well": {"utility": 0.9, "remission": True}, "ill": {"utility": 0.6, "absorbing": True}},
            "start": {"well": 1.0},
            "transitions": [{"from": "well", "to": "ill", "rate": {
                "untreated": f"{RELAPSE_PER_YEAR} per year", "waiting": "0 per year", "treated": "0 per year"}}],
            "returns": {"relapse": {"from": "well", "to": "ill", "probability": HELP_P, "step": "therapy",
                                    "outcomes": ["completed"],
                                    "delay": {"dist": "exponential", "mean": f"{DELAY_YEARS} years"}}},
            "follow_up": "10 years"},
    }


def _run(raw: dict, replication: int = 0):
    return run_replication(scenario_from_dict(raw), replication).records


def _first_exit_and_return(rec) -> tuple[dict, dict]:
    """Each person's first exit from therapy and, for those who came back, when they did."""
    v = rec.visits
    at = v["step"] == rec.steps.index("therapy")
    pid, entered, ended = v["pid"][at], v["t_enter"][at], v["t_end"][at]
    order = np.lexsort((entered, pid))
    pid, entered, ended = pid[order], entered[order], ended[order]
    first = np.r_[True, pid[1:] != pid[:-1]]
    exits = dict(zip(pid[first].tolist(), ended[first].tolist()))
    back: dict[int, float] = {}
    for i in np.flatnonzero(~first):
        back.setdefault(int(pid[i]), float(entered[i]))
    return exits, back


def test_the_share_who_return_follows_the_closed_form():
    rec = _run(_returning())
    exits, back = _first_exit_and_return(rec)
    assert len(back) > 3000
    lam, h = 1 / DELAY_YEARS, RELAPSE_PER_YEAR
    for years in (0.25, 0.5, 1, 2, 3):
        days = years * 365.25
        followed = [pid for pid, t in exits.items() if t <= rec.horizon - days]
        share = np.mean([pid in back and back[pid] - exits[pid] <= days for pid in followed])
        # a relapse at hazard h, then the delay (exponential, rate lam): their sum's distribution
        within = 1 - (lam * math.exp(-h * years) - h * math.exp(-lam * years)) / (lam - h)
        expected = HELP_P * within
        se = math.sqrt(expected * (1 - expected) / len(followed))
        assert abs(share - expected) < 4 * se, (years, share, expected, len(followed))
    # the same person came back: one row each, counted out once, the course knows it
    P = rec.patients
    assert len(np.unique(P["pid"])) == len(P["pid"]) == rec.arrivals
    assert rec.exits + rec.in_system_end == rec.arrivals
    returned = np.array([rec.course[pid].returns if pid in rec.course else 0 for pid in P["pid"].tolist()])
    assert np.array_equal(returned, rec.health.returns)
    assert set(back) <= set(P["pid"][returned > 0].tolist())
    # the row of someone who came back and left again is their last exit, in the illness they relapsed into
    done = (returned > 0) & ~np.isnan(P["exit"])
    last = {pid: t for pid, t in zip(P["pid"][done].tolist(), P["exit"][done].tolist())}
    assert all(last[pid] > back[pid] for pid in last if pid in back)
    assert (rec.health.state_at_leave[done] == 1).all()
    assert (rec.health.state_at_leave[returned == 0] != 1).mean() > 0.95  # left well; most had not relapsed


def test_contacts_in_the_pathway_count_its_spells_not_the_time_between():
    """docs/health.md: between leaving and coming back a person is out of the pathway. The engine
    notes each exit and return of someone it sends back (``Person.away``: the records keep the last
    exit only), and the follow-up counts a health event's contacts "in the pathway" in the spells
    only: here a review every 3 months in every state, so each person's contacts in the pathway are
    4 a year times the time they spent in therapy, visit by visit."""
    raw = _remitting()  # (people can relapse and come back again)
    raw["services"]["clinic"] = {"payer": "icb"}
    raw["health"]["events"] = {"review": {"service": "clinic", "every": "3 months", "cost": 100}}
    rec = _run(raw)
    years = rec.hours_per_unit / 24 / 365.25
    P = rec.patients
    done = np.isfinite(P["exit"])  # (who is still in therapy at the end has a visit in progress)
    pids = P["pid"][done]
    v = rec.visits
    at = (v["step"] == rec.steps.index("therapy")) & np.isin(v["pid"], pids)
    row = np.searchsorted(pids, v["pid"][at])
    assert np.array_equal(pids[row], v["pid"][at])
    inside = np.bincount(row, weights=v["t_end"][at] - v["t_enter"][at], minlength=len(pids)) * years
    got = rec.health.events_in_pathway[done, 0]
    np.testing.assert_allclose(got, 4.0 * inside, rtol=1e-9, atol=1e-12)
    # people came back, some twice; counted to their last exit, the time between would have weighed
    returns = rec.health.returns[done]
    assert (returns > 0).sum() > 2000 and (returns >= 2).sum() > 100
    to_last_exit = (P["exit"][done] - P["arrival"][done]) * years
    assert (4.0 * to_last_exit[returns > 0] > 2 * got[returns > 0]).mean() > 0.9
    # each exit and return of those sent back, in years after asking: from the visits to therapy
    arrival = dict(zip(P["pid"].tolist(), P["arrival"].tolist()))
    order = np.lexsort((v["t_enter"][at], v["pid"][at]))
    visits: dict[int, list[tuple[float, float]]] = {}
    for pid, entered, ended in zip(v["pid"][at][order].tolist(), v["t_enter"][at][order].tolist(),
                                   v["t_end"][at][order].tolist()):
        visits.setdefault(pid, []).append((entered, ended))
    for pid, mine in visits.items():
        course = rec.course.get(pid)
        away = course.away if course is not None else ()
        assert len(away) == 2 * (len(mine) - 1) == 2 * (course.returns if course is not None else 0)
        want = [(t - arrival[pid]) * years for (_, left), (back, _) in zip(mine, mine[1:]) for t in (left, back)]
        np.testing.assert_allclose(away, want, rtol=0, atol=1e-9)


def test_nobody_returns_after_other_outcomes_or_without_the_rule():
    raw = _returning()
    raw["health"]["returns"]["relapse"]["outcomes"] = ["dropped_out"]
    rec = _run(raw)
    assert rec.health.returns.sum() == 0 and len(rec.patients["pid"]) == rec.arrivals
    del raw["health"]["returns"]
    plain = _run(raw)
    for key, column in plain.patients.items():  # the rule that never applies changes nothing
        assert np.array_equal(column, rec.patients[key], equal_nan=True), key


def test_the_share_sent_back_is_reported_only_with_return_rules():
    from icssim.kpis import compute_kpis
    raw = _returning()
    rec = _run(raw)
    kpis = compute_kpis(rec)
    window = rec.patients["arrival"] >= rec.warmup
    expected = (rec.health.returns[window] > 0).mean()
    assert 0.2 < expected < 0.9 and kpis["sent_back_share"] == pytest.approx(expected)
    del raw["health"]["returns"]
    assert "sent_back_share" not in compute_kpis(_run(raw))


def test_leaving_still_ill_counts_with_at_exit():
    raw = _returning()
    raw["health"]["start"] = {"ill": 1.0}
    raw["health"]["states"]["ill"] = {"utility": 0.6}
    raw["health"]["transitions"].append({"from": "ill", "to": "well", "rate": "0.5 per year"})
    rec = _run(raw)
    assert rec.health.returns.sum() > 0  # only relapses after a remission out of the pathway
    first = rec.health.returns.sum()
    raw["health"]["returns"]["relapse"]["at_exit"] = True
    rec = _run(raw)
    exits, back = _first_exit_and_return(rec)
    # everyone leaves ill: HELP_P of them come back after the delay unless they remit first (at 0.5
    # a year), and more after a remission and a relapse
    followed = [pid for pid, t in exits.items() if t <= rec.horizon - 2 * 365.25]
    share = np.mean([pid in back and back[pid] - exits[pid] <= 2 * 365.25 for pid in followed])
    lam, remit = 1 / DELAY_YEARS, 0.5
    at_exit = HELP_P * lam / (lam + remit) * (1 - math.exp(-(lam + remit) * 2))
    assert rec.health.returns.sum() > 2 * first
    assert at_exit - 4 * math.sqrt(at_exit * (1 - at_exit) / len(followed)) < share < at_exit + 0.15


def _remitting() -> dict:
    """People start ill and remit (faster in treatment); a relapse after leaving sends them back."""
    raw = _returning()
    raw["health"]["start"] = {"ill": 1.0}
    raw["health"]["states"]["ill"] = {"utility": 0.6}
    raw["health"]["transitions"].append({"from": "ill", "to": "well",
                                         "rate": {"untreated": "0.3 per year", "treated": "6 per year"}})
    return raw


@pytest.mark.parametrize("window", [None, "9 months"])
@pytest.mark.parametrize("who", ["well", "ill", "tunnelled"])
def test_a_lazy_engine_computes_what_an_eager_one_does(who, window, monkeypatch):
    """Also for people who leave ill (a relapse needs a remission first): a lazy engine leaves to
    the follow-up those whose remission clock cannot run out before the run ends. With
    ``treated_hazards_for`` the treated hazards go on after leaving, in the engine (which follows
    people out of the pathway for their returns) as in the follow-up."""
    raw = {"well": _returning, "ill": _remitting, "tunnelled": _tunnelled}[who]()
    if window:
        raw["health"]["treated_hazards_for"] = window
    raw["cohorts"]["all"]["attributes"] = {"age": 60}
    raw["health"]["mortality"] = {"female_share": 0.5, "age_attribute": "age"}
    raw["health"]["states"]["ill"]["mortality_rr"] = 5
    runs = {}
    for lazy in (False, True):
        monkeypatch.setattr(person, "LAZY", lazy)
        runs[lazy] = _run(raw, replication=2)
    eager, lazy = runs[False], runs[True]
    assert eager.health.returns.sum() > 500 and np.isfinite(eager.health.died).sum() > 100
    if who == "ill" and not window:  # some leave well (treated), some ill; of these some cannot remit
        # before the end (with the window, 9 months at the treated 6 a year: nearly all can)
        assert 0.5 * len(eager.course) < len(lazy.course) < 0.95 * len(eager.course)
    for key, column in eager.patients.items():
        assert np.array_equal(column, lazy.patients[key], equal_nan=True), key
    a, b = eager.health, lazy.health
    assert np.array_equal(a.died, b.died, equal_nan=True) and np.array_equal(a.state_at, b.state_at)
    assert np.array_equal(a.returns, b.returns) and np.array_equal(a.state_at_leave, b.state_at_leave)
    assert np.allclose(a.qalys, b.qalys, rtol=1e-12, atol=0)


def test_the_same_person_relapses_alike_in_both_pathways():
    a, b = _run(_returning(10)), _run(_returning(40))
    common = sorted(set(a.course) & set(b.course))
    assert len(common) > 5000
    years = a.hours_per_unit / 24 / 365.25

    def relapse_after_leaving(rec, pid):
        row = int(np.flatnonzero(rec.patients["pid"] == pid)[0])
        P = rec.patients
        moves = [t for t, state, anniversary in rec.course[pid].log if not anniversary and state == 1]
        if not moves:
            return None
        first_exit = (P["arrival"][row] + (10 if rec is a else 40)) * years
        return moves[0] - (first_exit - P["arrival"][row] * years)

    gaps = [(relapse_after_leaving(a, pid), relapse_after_leaving(b, pid)) for pid in common[:3000]]
    both = [(x, y) for x, y in gaps if x is not None and y is not None]
    assert len(both) > 1000
    # the relapse clock is the person's own, spent only out of the pathway: the same time after leaving
    assert np.allclose([x for x, _ in both], [y for _, y in both], rtol=0, atol=1e-9)
    # and the same decision to ask for help again (drawn from the person's own stream)
    came = [pid for pid in common if a.course[pid].returns or b.course[pid].returns]
    assert np.mean([bool(a.course[pid].returns) == bool(b.course[pid].returns) for pid in came]) > 0.85


def test_courses_of_people_who_returned_come_back_from_worker_processes():
    scenario = scenario_from_dict(_returning())
    here = [r.records for r in replicate(scenario, [0, 1], workers=1)]
    there = [r.records for r in replicate(scenario, [0, 1], workers=2)]
    for x, y in zip(here, there):
        assert x.health.returns.sum() > 1000
        assert np.array_equal(x.health.returns, y.health.returns)
        assert np.array_equal(x.health.qalys, y.health.qalys)
        some = next(pid for pid, c in x.course.items() if c.returns)
        assert type(y.course[some]) is type(x.course[some]) and y.course[some].log == x.course[some].log
        assert y.course[some].away == x.course[some].away and len(x.course[some].away) == 2 * x.course[some].returns


def test_the_courses_a_replication_followed_are_freed_before_the_collector_resumes():
    """The engine's courses of leavers (thousands, with their logs) go with the records: none is
    left for the cyclic collector to find, which would scan and free them in one long pass."""
    import gc

    from icssim.health.person_keys import Person

    raw = _returning()
    raw["scenario"]["horizon"] = "2 years"
    scenario = scenario_from_dict(raw)
    warm = run_replication(scenario, 0).records  # (imports and caches)
    assert sum(course.returns for course in warm.course.values()) > 100  # people came back
    del warm
    gc.collect()
    was_enabled, debug = gc.isenabled(), gc.get_debug()
    gc.disable()
    try:
        run_replication(scenario, 1, keep_records=False)
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        left = sum(isinstance(o, Person) for o in gc.garbage)
    finally:
        gc.set_debug(debug)
        gc.garbage.clear()
        if was_enabled:
            gc.enable()
    assert left == 0

@pytest.mark.parametrize(("change", "path", "words"), [
    ({"to": "sick"}, "health.returns.relapse.to", "'sick'"),
    ({"from": "unwell"}, "health.returns.relapse.from", "'unwell'"),
    ({"from": "ill"}, "health.returns.relapse.from", "only states in 'to'"),
    ({"step": "clinic"}, "health.returns.relapse.step", "'clinic'"),
    ({"step": "done"}, "health.returns.relapse.step", "discharge step"),
    ({"outcomes": ["finished"]}, "health.returns.relapse.outcomes", "'finished'"),
    ({"outcomes": ["died"]}, "health.returns.relapse.outcomes", "'died'"),
    ({"probability": 1.5}, "health.returns.relapse.probability", "probability"),
    ({"delay": {"dist": "exponential", "mean": "-3 days"}}, "health.returns.relapse.delay", ""),
])
def test_bad_returns_are_refused_naming_the_key(change, path, words):
    raw = _returning()
    raw["health"]["returns"]["relapse"].update(change)
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict(raw)
    assert any(p.path.startswith(path) and words in p.message for p in caught.value.problems), caught.value.problems


def test_bad_returns_name_the_file_and_line(tmp_path):
    raw = copy.deepcopy(_returning())
    raw["health"]["returns"]["relapse"]["step"] = "clinic"
    path = tmp_path / "bad.yaml"
    yaml = YAML(typ="safe")
    yaml.default_flow_style = False
    with path.open("w", encoding="utf-8") as f:
        yaml.dump(raw, f)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "clinic" in text)
    assert f"bad.yaml:{line}: health.returns.relapse.step" in str(caught.value)


def _tunnelled() -> dict:
    """As :func:`_remitting`, with remission in two stages as in the ED scenarios: early remission,
    at a high relapse hazard, becomes lasting after a year (a tunnel), at a low one."""
    raw = _remitting()
    health = raw["health"]
    health["states"] = {"ill": {"utility": 0.6},
                        "well_early": {"utility": 0.85, "remission": True, "then": "well_late", "after": "1 year"},
                        "well_late": {"utility": 0.9, "remission": True}}
    health["transitions"] = [
        {"from": "ill", "to": "well_early", "rate": {"untreated": "0.3 per year", "treated": "6 per year"}},
        {"from": "well_early", "to": "ill", "rate": "1.5 per year"},
        {"from": "well_late", "to": "ill", "rate": "0.02 per year"}]
    health["returns"]["relapse"]["from"] = ["well_early", "well_late"]
    return raw


@pytest.mark.parametrize("window", [None, "9 months"])
@pytest.mark.parametrize("who", ["well", "ill", "tunnelled"])
def test_stopping_when_no_return_can_come_changes_nothing(who, window, monkeypatch):
    """The engine stops following a course out of the pathway once no rule's move can come before
    the run ends (each move's clock spent at the highest hazard into its state, or, through a chain
    of tunnel states, at each one's own until its deadline): the follow-up carries on from there,
    on the same numbers, as if the engine had followed it to the end."""
    raw = {"well": _returning, "ill": _remitting, "tunnelled": _tunnelled}[who]()
    if window:
        raw["health"]["treated_hazards_for"] = window
    raw["cohorts"]["all"]["attributes"] = {"age": 60}
    raw["health"]["mortality"] = {"female_share": 0.5, "age_attribute": "age"}
    runs = {}
    for bound in (False, True):
        monkeypatch.setattr(person_returns, "BOUND", bound)
        runs[bound] = _run(raw, replication=3)
    full, bounded = runs[False], runs[True]
    moves = {b: sum(not anniversary for c in runs[b].course.values() for _, _, anniversary in c.log)
             for b in (False, True)}
    assert moves[True] < moves[False]  # fewer moves made in the engine (3% to 7% here)
    _assert_same_records(full, bounded)


def test_the_ed_course_is_the_same_however_the_engine_follows_it(monkeypatch):
    """On the shipped ED scenario (diagnoses, admissions that move the course, tunnels through
    remission, re-referral after a relapse): an engine that runs every course from arrival and
    follows every leaver to the run's end, and one that starts courses only when they could
    matter and lets leavers go once no return can come (both bounds), give the same records."""
    from helpers import shipped

    scenario = shipped("ed_fragmented", horizon="4 years", warmup="0 days")
    runs = {}
    for lazy in (False, True):
        monkeypatch.setattr(person, "LAZY", lazy)
        monkeypatch.setattr(person_returns, "BOUND", lazy)
        runs[lazy] = run_replication(scenario, 2).records
    eager, lazy = runs[False], runs[True]
    assert len(lazy.course) < 0.5 * len(eager.course)
    assert eager.health.returns.sum() > 20 and np.isfinite(eager.patients["first_intensive"]).sum() > 50
    _assert_same_records(eager, lazy)


def _assert_same_records(x, y) -> None:
    """Two runs' patient records equal, and their courses: the same states, returns and relapses,
    deaths at the same times and QALYs equal to rounding."""
    for key, column in x.patients.items():
        assert np.array_equal(column, y.patients[key], equal_nan=True), key
    a, b = x.health, y.health
    assert np.array_equal(a.state_at, b.state_at) and np.array_equal(a.returns, b.returns)
    assert np.array_equal(a.state_at_leave, b.state_at_leave) and np.array_equal(a.relapses, b.relapses)
    assert np.allclose(a.died, b.died, rtol=0, atol=1e-9, equal_nan=True)
    assert np.allclose(a.qalys, b.qalys, rtol=1e-12, atol=0)
