"""The health-outcome and value-for-money KPIs, each against an independent recomputation.

One small fixed-seed pathway with a ``health:`` block, one replication with its records kept. The
course each person lived (every stretch of time in a state, every move) is read as it runs, by a
spy on the follow-up's two primitives (``course._Course._accrue``, which accrues a stretch, and
``_enter``, which makes a move): nothing is computed from it there. From those stretches and moves,
the patient records and the visits, this module recomputes with numpy and pandas

- each person's outcomes over the follow-up as docs/health.md defines them: QALYs discounted at
  the QALY rate from the day they asked for help (``discount``: annual rates, so ∫ (1 + r)^−t dt
  over each stretch), life-years (undiscounted), the cost of their health states and health events
  (discounted at the cost rate from asking for help), deaths, relapses (remission → illness), the
  state at each anniversary of asking for help and on leaving the pathway, the duration of
  untreated illness (years ill before asking, the cohort attribute, plus the wait from asking for
  help to the start of treatment), and the events while in the pathway;
- every KPI of ``icssim.health.kpis`` from those, by its documented definition (docs/health.md
  "KPIs", "Who pays", "Health events", "Care in a second service", "Domain measures"; the KPI's
  label and docstring): over the people who asked for help in the observation window
  ([warm-up, horizon], docs/scenario-format.md section 14), per person, per 1,000, of those alive,
  of the treated, per year of the window or in each of its first whole years,

not by calling the code that computes them; each must agree to 1e-12 (counts exactly).

The scenario is built so that the definitions can be told apart: the cost and QALY discount
rates differ; people die in and after the pathway, before the first anniversary too; some relapse
and the course sends some of them back to the pathway (a step of its own, so that the visits say
who came back); there is a warm-up of a year that is not a whole number of cost buckets (weeks),
and the window is 4.6 years (so budget years straddle buckets, and a fifth year is not whole);
services are costed by an establishment, by their activity (contacts, bed-days) and by nothing
(a second service whose contacts are health events), and paid for by three payers; the time unit
is the week.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd
import pytest

from icssim.experiments import run_replication
from icssim.health import course
from icssim.scenario import scenario_from_dict
from test_kpi_oracle import RAW as PATHWAY_RAW

DAYS_PER_YEAR = 365.25  # docs/scenario-format.md section 2: "a year 365.25 days"
DAYS_PER_UNIT = 7.0  # the scenario's time unit, the week
FOLLOW_UP = 10.0  # years
DISCOUNT_COSTS, DISCOUNT_QALYS = 0.05, 0.035

#: the health states in the order the block declares them (the dead state comes after them)
STATES = {
    "ill_moderate": {"utility": 0.7, "mortality_rr": 8, "cost_per_year": 1200},
    "ill_severe": {"utility": 0.5, "mortality_rr": 25, "cost_per_year": 6000},
    "remitted_early": {"utility": 0.85, "remission": True, "then": "remitted_late", "after": "12 months",
                       "cost_per_year": 300},
    "remitted_late": {"utility": 0.92, "remission": True},
}
NAMES = tuple(STATES)
DEAD = len(NAMES)
UTILITY = np.array([STATES[s]["utility"] for s in NAMES] + [0.0])
COST_PER_YEAR = np.array([STATES[s].get("cost_per_year", 0.0) for s in NAMES] + [0.0])
REMISSION = np.array([STATES[s].get("remission", False) for s in NAMES] + [False])

#: health events: cost each, and the expected number a year in each living state
EVENTS = {
    "ae_attendance": (250.0, {"ill_moderate": 0.3, "ill_severe": 1.2}),
    "ltc_review": (110.0, {s: 4.0 for s in NAMES}),  # every 3 months, in every living state
}
EVENT_SERVICE = {"ltc_review": "ltc_clinic"}
#: who pays each service (services without a payer: the ICB)
PAYER = {"practice": "primary_care", "team": "icb", "acute": "icb", "unit": "specialised_commissioning",
         "ltc_clinic": "local_authority"}
#: establishment cost a year of the services whose staff the scenario costs: wte x cost per hour x
#: paid hours a year (1560 by default, docs/scenario-format.md section 6)
ESTABLISHMENT = {"team": 2 * 60.0 * 1560}
RETURN_STEP = "gp_again"

#: the pathway of tests/test_kpi_oracle.py, with a step of its own where the course sends people
#: back (health.returns: only they come here), and more of A&E's and admissions' people admitted
STEPS = {}
for _name, _step in copy.deepcopy(PATHWAY_RAW["pathway"]["steps"]).items():
    STEPS[_name] = _step
    if _name == "gp":
        STEPS[RETURN_STEP] = {**copy.deepcopy(_step), "next": [{"p": 1.0, "to": "assess",
                                                                 "after": _step["next"][0]["after"]}]}
for _name in ("ae", "admit"):
    STEPS[_name]["next"][0]["p"], STEPS[_name]["next"][1]["p"] = 0.7, 0.3

RAW = {
    "scenario": {"name": "health_kpi_oracle", "time_unit": "weeks", "horizon": "292 weeks", "warmup": "1 year",
                 "seed": 20262},
    "attributes": {"risk": ["green", "amber", "red"], "urgency": ["routine", "urgent"]},
    "cohorts": {
        "cyp": {"rate": "2 per week", "entry": "gp",
                "attributes": {"age": {"dist": "uniform", "low": 8, "high": 17},
                               "illness_years": {"dist": "gamma", "mean": 1.5, "sd": 1.0},
                               "risk": {"values": ["green", "amber"], "weights": [1, 2]},
                               "urgency": {"values": ["routine", "urgent"], "weights": [3, 1]}}},
        "adults": {"rate": "3 per week", "entry": "gp",
                   "attributes": {"age": {"dist": "uniform", "low": 18, "high": 75},
                                  "illness_years": {"dist": "gamma", "mean": 1.5, "sd": 1.0},
                                  "risk": {"values": ["green", "amber"], "weights": [1, 1]},
                                  "urgency": {"values": ["routine", "urgent"], "weights": [4, 1]}}},
    },
    "services": {
        "practice": {"staff": {"gp": {"wte": 1}}, "cost_per_contact": 42, "payer": PAYER["practice"]},
        "team": {"staff": {"clinician": {"wte": 2, "clinical_hours_per_week": 8, "cost_per_hour": 60}},
                 "caseload": 34},
        "acute": {"staff": {"ae_staff": {"wte": 2}}, "beds": 4, "cost_per_contact": 250, "cost_per_bed_day": 900},
        "unit": {"beds": 3, "cost_per_bed_day": 700, "payer": PAYER["unit"]},
        "ltc_clinic": {"payer": PAYER["ltc_clinic"]},
    },
    "pathway": {"steps": STEPS},
    "deterioration": {"attribute": "risk", "hazard": {"green": "0.04 per week", "amber": "0.03 per week"},
                      "urgent_from": "amber", "emergency_at": "red", "emergency_step": "ae"},
    "health": {
        "follow_up": f"{FOLLOW_UP:g} years",
        "discount": {"costs": DISCOUNT_COSTS, "qalys": DISCOUNT_QALYS},
        "start": {"ill_moderate": 0.6, "ill_severe": 0.4},
        "on_admission": "ill_severe",
        "mortality": {"life_table": "england_wales_ons", "female_share": 0.7, "age_attribute": "age"},
        "untreated_duration": {"attribute": "illness_years", "effect_per_year": 0.15, "after": "6 months"},
        "treated_hazards_for": "6 months",
        "states": STATES,
        "transitions": [
            {"from": "ill_moderate", "to": "ill_severe", "rate": {"untreated": "0.04 per month",
                                                                 "treated": "0.01 per month"}},
            {"from": "ill_severe", "to": "ill_moderate", "rate": {"untreated": "0.02 per month",
                                                                 "treated": "0.1 per month"}},
            {"from": ["ill_moderate", "ill_severe"], "to": "remitted_early", "scaled_by_untreated_duration": True,
             "rate": {"untreated": "0.01 per month", "treated": "0.06 per month"}},
            {"from": "remitted_early", "to": "ill_moderate", "rate": "0.04 per month"},
            {"from": "remitted_late", "to": "ill_moderate", "rate": "0.005 per month"},
        ],
        "events": {
            "ae_attendance": {"label": "A&E attendance", "cost": EVENTS["ae_attendance"][0],
                              "rate": {s: f"{r} per year" for s, r in EVENTS["ae_attendance"][1].items()}},
            "ltc_review": {"label": "LTC review", "service": EVENT_SERVICE["ltc_review"], "every": "3 months",
                           "cost": EVENTS["ltc_review"][0]},
        },
        "measures": {"recovered": {"label": "In remission on completing treatment", "outcome": "completed",
                                   "states": ["remitted_early", "remitted_late"], "target": 0.4}},
        "returns": {"relapse": {"outcomes": ["completed"], "from": ["remitted_early", "remitted_late"],
                                "to": ["ill_moderate"], "probability": 0.9,
                                "delay": {"dist": "exponential", "mean": "1 month"}, "step": RETURN_STEP}},
    },
}
#: the events' rates as [event, state] per year (dead last: none)
EVENT_RATES = np.array([[EVENTS[e][1].get(s, 0.0) for s in NAMES] + [0.0] for e in EVENTS])
EVENT_COSTS = np.array([EVENTS[e][0] for e in EVENTS])


def close(got: float, want: float) -> None:
    assert math.isclose(got, want, rel_tol=1e-12, abs_tol=0.0), f"KPI {got!r} != recomputed {want!r}"


def per_person_close(got: np.ndarray, want: np.ndarray) -> None:
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def annuity(rate: float, t0: np.ndarray, t1: np.ndarray) -> np.ndarray:
    """∫ (1 + rate)^−t dt from t0 to t1 (years since asking for help): what a flow of 1 a year is
    worth today at the annual discount ``rate``."""
    return (np.power(1.0 + rate, -t0) - np.power(1.0 + rate, -t1)) / math.log1p(rate)


class Spy:
    """Records each stretch the follow-up accrues and each move it makes, person by person, and
    does nothing else: the course runs as it would."""

    def __init__(self) -> None:
        self.n: list[int] = []
        self.stretches: list[tuple] = []
        self.moves: list[tuple] = []

    def install(self, mp: pytest.MonkeyPatch) -> None:
        spy, cls = self, course._Course
        init, accrue, enter = cls.__init__, cls._accrue, cls._enter

        def spy_init(self, plan, tl):
            init(self, plan, tl)
            spy.n.append(len(tl))
            self.oracle_id = np.arange(len(tl))  # one value per person: follows the course's row copies

        def spy_accrue(self, who, t0, t1, **how):
            ids = self.oracle_id[who]
            spy.stretches.append((ids.copy(), np.broadcast_to(np.asarray(t0, float), ids.shape).copy(),
                                  np.broadcast_to(np.asarray(t1, float), ids.shape).copy(), self.state[who].copy()))
            accrue(self, who, t0, t1, **how)

        def spy_enter(self, who, dest):
            ids = self.oracle_id[who]
            spy.moves.append((ids.copy(), self.t[who].copy(), self.state[who].copy(),
                              np.broadcast_to(np.asarray(dest), ids.shape).copy()))
            enter(self, who, dest)

        mp.setattr(cls, "__init__", spy_init)
        mp.setattr(cls, "_accrue", spy_accrue)
        mp.setattr(cls, "_enter", spy_enter)

    def tables(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        def frame(rows: list[tuple], names: tuple[str, ...]) -> pd.DataFrame:
            cols = {name: np.concatenate([r[i] for r in rows]) for i, name in enumerate(names)}
            cols["call"] = np.arange(len(cols[names[0]]))  # the order they happened in
            return pd.DataFrame(cols)
        return (frame(self.stretches, ("person", "t0", "t1", "state")),
                frame(self.moves, ("person", "t", "old", "dest")))


class Oracle:
    """Each window help-seeker's course as it ran (from the spy) and their records, and what the
    docs define from them. Times in years since the person asked for help."""

    def __init__(self, rec, spy: Spy) -> None:
        self.rec = rec
        assert rec.hours_per_unit / 24 == DAYS_PER_UNIT
        P = rec.patients
        self.warmup, self.horizon = rec.warmup, rec.horizon  # weeks
        self.window_years = (rec.horizon - rec.warmup) * DAYS_PER_UNIT / DAYS_PER_YEAR
        #: the people the KPIs measure: who asked for help in the window (after the warm-up)
        self.rows = np.flatnonzero(P["arrival"] >= rec.warmup)
        self.n = len(self.rows)
        self.everyone = pd.DataFrame({k: v for k, v in P.items() if np.ndim(v) == 1})
        self.P = self.everyone.iloc[self.rows].reset_index(drop=True)  # row i: followed person i
        self.P["outcome_name"] = np.asarray(rec.outcomes, dtype=object)[self.P["outcome"].to_numpy()]
        exit_ = self.P["exit"].fillna(rec.horizon)
        #: years from asking for help to leaving the pathway (the run's end for those still in it)
        self.leave = ((exit_ - self.P["arrival"]) * DAYS_PER_UNIT / DAYS_PER_YEAR).to_numpy()
        assert spy.n == [self.n], "one follow-up, of the window's help-seekers"
        self.S, self.M = spy.tables()
        self._course()
        self._episodes()

    # -- each person's course -------------------------------------------------------------
    def _course(self) -> None:
        S, M, n = self.S, self.M, self.n
        S = S.sort_values(["person", "call"], kind="stable")
        first = S.groupby("person").head(1).set_index("person")
        assert (first["t0"] == 0).all() and len(first) == n
        self.start = first["state"].reindex(range(n)).to_numpy()
        # the stretches of each person follow each other with no gap from asking for help to death
        # or the end of follow-up; after a death only empty stretches (the row frozen)
        same = S["person"].to_numpy()[1:] == S["person"].to_numpy()[:-1]
        assert (S["t1"].to_numpy()[:-1][same] == S["t0"].to_numpy()[1:][same]).all()
        self.span = span = (S["t1"] - S["t0"]).to_numpy()
        assert (span >= 0).all()
        M = M.sort_values(["person", "t", "call"], kind="stable")
        self.M = M
        death = M[M["dest"] == DEAD].set_index("person")["t"]
        assert death.index.is_unique
        self.died = death.reindex(range(n)).to_numpy()  # NaN: alive at the end of follow-up
        last = S.groupby("person")["t1"].max().reindex(range(n)).to_numpy()
        ends = np.where(np.isnan(self.died), FOLLOW_UP, self.died)
        per_person_close(last, ends)
        assert (span[S["t0"].to_numpy() >= np.repeat(ends, S.groupby("person").size().to_numpy())] == 0).all()
        live = span > 0
        S = S[live]
        span, state = span[live], S["state"].to_numpy()
        assert (state != DEAD).all()
        # each stretch is spent in the state the moves had put the person in by its start
        moved = pd.merge_asof(S.sort_values("t0", kind="stable")[["person", "t0", "state"]],
                              M.sort_values(["t", "call"])[["person", "t", "dest"]],
                              left_on="t0", right_on="t", by="person", direction="backward")
        was = moved["dest"].fillna(pd.Series(self.start[moved["person"]], index=moved.index)).astype(int)
        assert (was == moved["state"]).all()
        who, t0, t1 = S["person"].to_numpy(), S["t0"].to_numpy(), S["t1"].to_numpy()
        self.stretch = (who, t0, t1, state, span)

        def total(values: np.ndarray) -> np.ndarray:
            return np.bincount(who, weights=values, minlength=n)

        costed = annuity(DISCOUNT_COSTS, t0, t1)
        self.qalys = total(UTILITY[state] * annuity(DISCOUNT_QALYS, t0, t1))
        self.qalys_undiscounted = total(UTILITY[state] * span)
        self.life_years = total(span)
        self.events = np.stack([total(EVENT_RATES[e, state] * span) for e in range(len(EVENTS))], axis=1)
        self.event_costs = np.stack([total(EVENT_RATES[e, state] * EVENT_COSTS[e] * costed)
                                     for e in range(len(EVENTS))], axis=1)
        self.state_costs = total(COST_PER_YEAR[state] * costed) + self.event_costs.sum(axis=1)
        # a relapse: from remission into illness (not into death)
        relapse = REMISSION[M["old"].to_numpy()] & ~REMISSION[M["dest"].to_numpy()] & (M["dest"].to_numpy() != DEAD)
        self.relapses = np.bincount(M["person"].to_numpy()[relapse], minlength=n)

    def state_at(self, t: np.ndarray | float) -> np.ndarray:
        """Each person's state at ``t`` years after asking for help (after any move made then)."""
        t = np.broadcast_to(np.asarray(t, float), (self.n,))
        M = self.M
        done = M[M["t"].to_numpy() <= t[M["person"].to_numpy()]]
        last = done.groupby("person")["dest"].last()
        state = self.start.copy()
        state[last.index.to_numpy()] = last.to_numpy()
        return state

    # -- the pathway's part ---------------------------------------------------------------
    def _episodes(self) -> None:
        """Each person's spells in the pathway, from the visits: from asking for help to leaving,
        and from each return (a visit to the step the course sends people back to) to leaving
        again; the last to the recorded exit, or the run's end."""
        rec = self.rec
        V = pd.concat([pd.DataFrame(rec.visits), pd.DataFrame(rec.in_progress)], ignore_index=True)
        V = V[V["pid"].isin(self.P["pid"])]
        back = V[V["step"] == rec.steps.index(RETURN_STEP)]
        self.returned = self.P["pid"].isin(back["pid"]).to_numpy()
        spells = []
        arrival = self.P.set_index("pid")["arrival"]
        for i, (pid, a) in enumerate(zip(self.P["pid"], self.P["arrival"])):
            begin = a
            if self.returned[i]:
                mine = V[V["pid"] == pid]
                for r in sorted(back.loc[back["pid"] == pid, "t_enter"]):
                    left = mine.loc[mine["t_enter"] < r, "t_end"].max()
                    spells.append((i, begin, left))
                    begin = r
            spells.append((i, begin, a + self.leave[i] * DAYS_PER_YEAR / DAYS_PER_UNIT))
        spells = pd.DataFrame(spells, columns=["person", "begin", "end"])
        start = arrival.loc[self.P["pid"].to_numpy()[spells["person"]]].to_numpy()
        spells["begin"] = (spells["begin"] - start) * DAYS_PER_UNIT / DAYS_PER_YEAR
        spells["end"] = (spells["end"] - start) * DAYS_PER_UNIT / DAYS_PER_YEAR
        self.spells = spells

    def events_in_pathway(self) -> np.ndarray:
        """[person, event] the expected events while in the pathway: rate x time in each spell."""
        who, t0, t1, state, _ = self.stretch
        out = np.zeros((self.n, len(EVENTS)))
        for person, begin, end in self.spells.itertuples(index=False):
            mine = who == person
            inside = np.clip(np.minimum(t1[mine], end) - np.maximum(t0[mine], begin), 0.0, None)
            out[person] += EVENT_RATES[:, state[mine]] @ inside
        return out

    def followed_beyond_exit(self) -> np.ndarray:
        """Whose course the engine ran on after they (last) left the pathway: its course ends
        (``Person.t``, years since asking for help) after their exit."""
        leave = dict(zip(self.P["pid"].tolist(), self.leave.tolist()))
        beyond = {pid for pid, person in self.rec.course.items() if pid in leave and person.t > leave[pid] + 1e-9}
        return self.P["pid"].isin(beyond).to_numpy()

    @property
    def dui(self) -> np.ndarray:
        """Years ill before asking for help plus the wait from asking to treatment (NaN: untreated)."""
        P = self.P
        return (P["attr_illness_years"] + (P["treat_start"] - P["arrival"]) * DAYS_PER_UNIT / DAYS_PER_YEAR).to_numpy()

    # -- the pathway's costs ----------------------------------------------------------------
    def bucket_costs(self) -> pd.DataFrame:
        """The cost booked in each bucket at each service (all categories), with the bucket's span
        in weeks."""
        rec = self.rec
        costs = rec.costs.sum(axis=2)
        frame = pd.DataFrame(costs, columns=list(rec.services))
        frame["start"] = np.arange(len(costs)) * rec.sample_every
        frame["end"] = frame["start"] + rec.sample_every
        return frame

    def service_cost(self, service: str, lo: float, hi: float) -> float:
        """What ``service`` costs over [lo, hi] (weeks), counted once (docs/health.md): its staff
        establishment evenly over time when it has one, else its activity, each bucket's cost
        spread evenly over the bucket."""
        if service in ESTABLISHMENT:
            return ESTABLISHMENT[service] * (hi - lo) * DAYS_PER_UNIT / DAYS_PER_YEAR
        B = self.bucket_costs()
        overlap = np.clip(np.minimum(B["end"], hi) - np.maximum(B["start"], lo), 0.0, None) / self.rec.sample_every
        return float((B[service] * overlap).sum())


@pytest.fixture(scope="module")
def run():
    spy = Spy()
    with pytest.MonkeyPatch.context() as mp:
        spy.install(mp)
        rep = run_replication(scenario_from_dict(copy.deepcopy(RAW)), 0)
    assert rep.records is not None and rep.records.health is not None
    return rep.kpis, Oracle(rep.records, spy)


def test_the_scenario_exercises_every_kpi(run):
    """What the recomputations below rely on to tell right from wrong."""
    k, o = run
    rec, P = o.rec, o.P
    assert tuple(rec.health.remission) == tuple(REMISSION)  # (the states' order: as declared, dead last)
    # a warm-up whose people are not measured, not a whole number of weekly buckets; a window of
    # 4.6 years, so the fifth budget year is not whole
    assert rec.sample_every == 1.0 and rec.warmup % 1 > 0.1 and (o.everyone["arrival"] < rec.warmup).sum() > 100
    assert 4.5 < o.window_years < 4.7 and o.n > 800
    # deaths in the pathway, after it, before the first anniversary and after the fifth
    dead = ~np.isnan(o.died)
    assert 0.05 < dead.mean() < 0.5
    assert (P["outcome_name"] == "died").sum() >= 3 and (dead & (P["outcome_name"] != "died")).sum() > 20
    assert (o.died < 1).sum() >= 3 and (o.died > 5).sum() >= 10
    # remissions, relapses, returns to the pathway (some of them twice), the courses the engine ran
    assert 0.2 < (o.relapses > 0).mean() < 0.8 and o.relapses.max() >= 2
    assert 20 <= o.returned.sum() < o.n / 5 and (o.rec.health.returns[o.rows] >= 2).sum() >= 2
    assert len(rec.course) > 100
    # treated and untreated people, long and short waits; people still in the pathway at the end
    treated = P["treat_start"].notna()
    assert 0.3 < treated.mean() < 0.9 and P["exit"].isna().sum() > 10
    # every share is a share, every cost and count positive
    for name in ("sent_back_share", "share_at_exit_recovered", *(f"in_remission_{y}y" for y in (1, 2, 5, 10))):
        assert 0.02 < k[name] < 0.98, (name, k[name])
    for name in ("qalys_per_person", "life_years_per_person", "deaths_per_1000", "relapses_per_person",
                 "dui_mean_months", "health_events_ae_attendance", "health_events_ltc_review",
                 "contacts_in_pathway_ltc_review", "follow_up_cost_ltc_clinic", "cost_per_person",
                 *(f"cost_to_{p}_year_{y}" for p in ("icb", "specialised_commissioning", "primary_care")
                   for y in ("all", 1, 2, 3, 4))):
        assert k[name] > 0, name


def test_the_spy_sees_the_course_the_follow_up_reports(run):
    """The stretches and moves read by the spy are the courses the outcomes come from: the time in
    each state and the number of remissions (which this module does not otherwise check) agree."""
    _, o = run
    h = o.rec.health
    who, _, _, state, span = o.stretch
    years_in = np.zeros((o.n, DEAD + 1))
    np.add.at(years_in, (who, state), span)
    per_person_close(h.years_in_state[o.rows], years_in)
    M = o.M
    into = REMISSION[M["dest"].to_numpy()] & ~REMISSION[M["old"].to_numpy()]
    assert np.array_equal(h.remissions[o.rows], np.bincount(M["person"].to_numpy()[into], minlength=o.n))
    # nobody outside the window was followed
    outside = np.setdiff1d(np.arange(len(o.everyone)), o.rows)
    assert np.isnan(h.qalys[outside]).all()


def test_each_persons_outcomes_follow_their_course(run):
    """Each person's outcomes (``rec.health``) from the stretches and moves of their course, as
    docs/health.md defines them: QALYs discounted from the day they asked for help at the QALY
    rate, costs at the cost rate, life-years undiscounted, health events at their state's rate."""
    _, o = run
    h, rows = o.rec.health, o.rows
    per_person_close(h.qalys[rows], o.qalys)
    per_person_close(h.qalys_undiscounted[rows], o.qalys_undiscounted)
    per_person_close(h.life_years[rows], o.life_years)
    per_person_close(h.state_costs[rows], o.state_costs)
    per_person_close(h.event_costs[rows], o.event_costs.sum(axis=1))
    per_person_close(h.events[rows], o.events)
    per_person_close(h.event_cost_by_event[rows], o.event_costs)
    assert np.array_equal(h.died[rows], o.died, equal_nan=True)
    assert np.array_equal(h.relapses[rows], o.relapses)
    for year in range(int(FOLLOW_UP) + 1):
        assert np.array_equal(h.state_at[rows, year], o.state_at(float(year))), year
    per_person_close(h.dui[rows], o.dui)
    # the discount rates differ, and discounting from the window's start would give other QALYs
    assert not np.allclose(o.qalys, o.qalys_undiscounted, rtol=1e-3)
    who, t0, t1, state, _ = o.stretch
    late = (o.P["arrival"] - o.warmup).to_numpy() * DAYS_PER_UNIT / DAYS_PER_YEAR
    shifted = np.bincount(who, UTILITY[state] * annuity(DISCOUNT_QALYS, t0 + late[who], t1 + late[who]), o.n)
    assert abs(shifted.mean() - o.qalys.mean()) > 0.1


def test_qalys_life_years_deaths_and_relapses(run):
    """Per help-seeker of the window: QALYs (discounted), life-years; deaths over the follow-up per
    1,000 help-seekers; relapses (remission to illness) per help-seeker."""
    k, o = run
    close(k["qalys_per_person"], o.qalys.mean())
    close(k["life_years_per_person"], o.life_years.mean())
    close(k["deaths_per_1000"], 1000 * (~np.isnan(o.died)).sum() / o.n)
    close(k["relapses_per_person"], o.relapses.sum() / o.n)
    assert k["qalys_per_person"] < o.qalys_undiscounted.mean() - 0.5


@pytest.mark.parametrize("year", [1, 2, 5, 10])
def test_in_remission_of_those_alive(run, year):
    """The share of the living in remission ``year`` years after asking for help."""
    k, o = run
    state = o.state_at(float(year))
    alive = state != DEAD
    assert (~alive).sum() > 0 and alive.sum() > 100
    want = REMISSION[state[alive]].mean()
    close(k[f"in_remission_{year}y"], want)
    assert REMISSION[state].mean() != want  # of everyone, it would differ


@pytest.mark.parametrize("year", [1, 2, 5, 10])
def test_treated_in_remission_of_those_alive(run, year):
    """The same share among those whom the pathway started treating (a treatment start recorded),
    whom clinical follow-up studies follow."""
    k, o = run
    treated = o.P["treat_start"].notna().to_numpy()
    state = o.state_at(float(year))
    alive = state != DEAD
    assert treated.sum() > 100 and (~treated & alive).sum() > 100
    want = REMISSION[state[alive & treated]].mean()
    close(k[f"treated_in_remission_{year}y"], want)
    assert REMISSION[state[alive]].mean() != want  # of everyone alive, it would differ


def test_sent_back_share(run):
    """Of the help-seekers, the share whose course sent them back into the pathway at least once:
    those with a visit to the step the return rule names (some came back twice)."""
    k, o = run
    close(k["sent_back_share"], o.returned.mean())
    returns = o.rec.health.returns[o.rows]
    assert np.array_equal(returns > 0, o.returned) and returns.max() >= 2


def test_duration_of_untreated_illness(run):
    """Mean over the window's treated of the years ill before asking for help plus the wait from
    asking to the start of treatment, in months (12 a year)."""
    k, o = run
    dui = o.dui[~np.isnan(o.dui)]
    assert 0.3 * o.n < len(dui) < o.n
    close(k["dui_mean_months"], dui.mean() * 12)


def test_health_events_and_second_service(run):
    """Events per 1,000 help-seekers over the follow-up; the second service's contacts per 1,000
    while in the pathway; its contacts' cost per help-seeker (discounted at the cost rate)."""
    k, o = run
    for e, name in enumerate(EVENTS):
        close(k[f"health_events_{name}"], 1000 * o.events[:, e].mean())
    e = list(EVENTS).index("ltc_review")
    close(k["follow_up_cost_ltc_clinic"], o.event_costs[:, e].mean())
    assert "contacts_in_pathway_ae_attendance" not in k  # (an event of no service)
    assert "follow_up_cost_icb" not in k


def test_contacts_in_pathway_of_people_in_it_once(run):
    """Each person's expected contacts while in the pathway (from asking for help to leaving), for
    those who were in it once (never sent back), including those whose course the engine ran on
    after they left (to see whether it sends them back; their contacts after leaving were counted
    as in the pathway until the stretch was cut at the exit): returners are the next test's. And
    the KPI as the mean of the per-person values, per 1,000."""
    k, o = run
    h = o.rec.health
    other = o.returned
    assert (o.followed_beyond_exit() & ~o.returned).sum() > 50
    assert (~other & np.isin(o.P["pid"], list(o.rec.course))).sum() > 20  # (courses the engine ran, too)
    per_person_close(h.events_in_pathway[o.rows][~other], o.events_in_pathway()[~other])
    e = list(EVENTS).index("ltc_review")
    close(k["contacts_in_pathway_ltc_review"], 1000 * h.events_in_pathway[o.rows][:, e].mean())


def test_contacts_in_pathway_count_only_time_in_the_pathway(run):
    """docs/health.md: the contacts "while the person was in the pathway (waiting or treated)", and
    "between leaving and coming back they are out of the pathway"."""
    k, o = run
    e = list(EVENTS).index("ltc_review")
    close(k["contacts_in_pathway_ltc_review"], 1000 * o.events_in_pathway()[:, e].mean())


def test_share_in_remission_on_completing(run):
    """Of the window's people whose pathway ended (last) with ``completed``, the share in one of
    the measure's states when they (last) left it."""
    k, o = run
    done = (o.P["outcome_name"] == "completed").to_numpy()
    state = np.array([o.state_at(t)[i] for i, t in enumerate(o.leave)])
    assert done.sum() > 100
    close(k["share_at_exit_recovered"], REMISSION[state[done]].mean())
    # (of those who died in the pathway, the state "on leaving" is dead or the state they died
    # in, as the last bits of two computations of the time fall: not compared)
    alive = (o.P["outcome_name"] != "died").to_numpy()
    assert np.array_equal(o.rec.health.state_at_leave[o.rows][alive], state[alive])


def test_cost_per_help_seeker(run):
    """docs/health.md, KPIs: each help-seeker's equal share of the staff establishment over the
    window, and (a run with a warm-up) of the activity booked in the window at the services
    without one, discounted at the cost rate to the day they asked for help from the midpoint of
    their time in the pathway (to the run's end for those still in it; the activity's share at
    the mean of those factors over the costs people booked there), plus their health states'
    and events' cost over the follow-up (discounted)."""
    k, o = run
    P = o.P
    activity = [s for s in o.rec.services if s not in ESTABLISHMENT]
    factor = np.power(1.0 + DISCOUNT_COSTS, -o.leave / 2)
    staff = sum(ESTABLISHMENT.values()) * o.window_years / o.n
    own = P[[f"cost_{s}" for s in activity]].sum(axis=1).to_numpy()
    booked = sum(o.service_cost(s, o.warmup, o.horizon) for s in activity)
    share = booked / o.n * (own * factor).sum() / own.sum()
    cost = staff * factor + share + o.state_costs
    close(k["cost_per_person"], cost.mean())
    # the pathway's part is discounted from asking for help, not from the window's start
    since_start = (P["arrival"] - o.warmup).to_numpy() * DAYS_PER_UNIT / DAYS_PER_YEAR
    late = factor * np.power(1.0 + DISCOUNT_COSTS, -since_start)
    assert abs((staff * late).mean() - (staff * factor).mean()) > 10


def test_cost_to_each_payer_per_year_of_the_window(run):
    """Undiscounted cost to each payer over the window, per year of it; each service counted once."""
    k, o = run
    for payer in dict.fromkeys(PAYER.values()):
        total = sum(o.service_cost(s, o.warmup, o.horizon) for s, p in PAYER.items() if p == payer)
        if total:
            close(k[f"cost_to_{payer}_year_all"], total / o.window_years)
        else:  # (the second service's contacts are health events, not the pathway's activity)
            assert k[f"cost_to_{payer}_year_all"] == 0.0


@pytest.mark.parametrize("year", [1, 2, 3, 4])
def test_budget_impact_by_year(run, year):
    """Undiscounted cost to each payer in year ``year`` of the window: 365.25 days from the end of
    the warm-up, a bucket that straddles two years shared by its days in each."""
    k, o = run
    year_weeks = DAYS_PER_YEAR / DAYS_PER_UNIT
    lo, hi = o.warmup + (year - 1) * year_weeks, o.warmup + year * year_weeks
    for payer in dict.fromkeys(PAYER.values()):
        want = sum(o.service_cost(s, lo, hi) for s, p in PAYER.items() if p == payer)
        if want:
            close(k[f"cost_to_{payer}_year_{year}"], want)
        else:
            assert k[f"cost_to_{payer}_year_{year}"] == 0.0
    # counted from the run's start instead, the year's bed-days would differ
    assert o.service_cost("unit", lo, hi) != o.service_cost("unit", lo - o.warmup, hi - o.warmup)


def test_only_whole_years_of_the_window_have_a_budget_year(run):
    k, _ = run
    assert {name for name in k if name.startswith("cost_to_icb_year_")} == {
        "cost_to_icb_year_all", *(f"cost_to_icb_year_{y}" for y in (1, 2, 3, 4))}
