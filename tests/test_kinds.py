"""Step kinds are a registry of small classes (issue 19): the schema, compiler, engine flags,
checks, diagram and reports all read :data:`icssim.kinds.KINDS`, so a new kind is one class."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from matplotlib.colors import to_hex
from matplotlib.patches import FancyBboxPatch

from icssim import diagram, kinds, pathway_graph
from icssim.errors import ScenarioError
from icssim.kinds import KINDS, StepKind, Treatment, register, unregister
from icssim.model import compile_plan, simulate
from icssim.report.model_text import step_rows
from icssim.scenario import scenario_from_dict
from icssim.scenario.schema import STEP_KINDS

#: A small pathway: referrals are assessed, then take part in a new kind of step, then leave.
RAW = {
    "scenario": {"name": "group", "time_unit": "days", "horizon": 400, "warmup": 50, "seed": 3},
    "cohorts": {"people": {"rate": 2, "entry": "assess"}},
    "services": {"clinic": {"staff": {"clinician": {"wte": 4}}}},
    "pathway": {"steps": {
        "assess": {"kind": "assessment", "service": "clinic", "staff": ["clinician"],
                   "duration": {"dist": "exponential", "mean": 0.5}, "next": "group"},
        "group": {"kind": "group_session", "service": "clinic", "staff": ["clinician"],
                  "duration": {"dist": "exponential", "mean": 1}, "next": "done"},
        "done": {"kind": "discharge"},
    }},
}


# ------------------------------------------------------------------ a new kind: one class
class GroupSession(Treatment):
    """Group therapy: a treatment start like any treatment contact, but called a group session."""

    name = "group_session"
    label = "group session"
    fill = "#CFE8DC"


@pytest.fixture
def group_session():
    register(GroupSession)
    yield KINDS["group_session"]
    unregister("group_session")


def test_a_new_kind_is_refused_until_registered():
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(copy.deepcopy(RAW), name="group")
    assert "pathway.steps.group.kind: expected one of: referral, triage," in str(err.value)
    assert "found 'group_session'" in str(err.value)


def test_a_new_kind_is_one_class(group_session):
    s = scenario_from_dict(copy.deepcopy(RAW), name="group")
    assert s.pathway.steps["group"].kind == "group_session"

    # compiled: the plan carries the flags the class declared (a treatment start, the clock)
    plan = compile_plan(s)
    step = next(sp for sp in plan.steps if sp.name == "group")
    assert (step.is_treatment, step.starts_clock, step.is_assessment, step.is_intensive) == (True, True, False, False)
    assert step.deteriorates and not step.is_exit and not step.is_stay

    # run: everyone who reached a group session has a treatment start, after their assessment
    rec = simulate(plan, replication=0)
    assert rec.step_kinds == ("assessment", "group_session", "discharge")
    treat, assess = rec.patients["treat_start"], rec.patients["assess_start"]
    started = ~np.isnan(treat)
    assert started.sum() > 500
    assert np.all(treat[started] >= assess[started])
    visits = rec.visits
    assert visits is not None
    at_group = set(np.unique(visits["pid"][visits["step"] == 1]).tolist())
    treated = set(rec.patients["pid"][started].tolist())
    assert at_group <= treated  # a finished group session was a treatment start
    assert len(treated - at_group) <= 4  # the rest were still in a session at the horizon (4 staff)

    # reports and diagram: its label and colour
    rows = {r["Step"]: r for r in step_rows(s)}
    assert rows["group"]["Kind"] == "group session"
    edges = pathway_graph.pathway_edges(s)
    fig = diagram.draw_pathway(s, edges)
    fills = {to_hex(p.get_facecolor()).upper() for p in fig.axes[0].patches if isinstance(p, FancyBboxPatch)}
    assert "#CFE8DC" in fills
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert "group session · clinic" in texts


def test_a_kind_that_holds_no_resources_is_checked(group_session):
    @register
    class WaitingRoom(StepKind):
        name = "waiting_room"
        holds_resources = False
        no_resources_because = "a waiting room only passes patients on"

    try:
        raw = copy.deepcopy(RAW)
        raw["pathway"]["steps"]["group"]["kind"] = "waiting_room"
        with pytest.raises(ScenarioError, match="a waiting room only passes patients on and takes no 'staff'"):
            scenario_from_dict(raw, name="group")
    finally:
        unregister("waiting_room")


# ------------------------------------------------------------------ the registry itself
def test_every_schema_kind_is_registered_in_order():
    assert STEP_KINDS == tuple(KINDS)
    assert STEP_KINDS == ("referral", "triage", "assessment", "treatment", "monitoring", "emergency",
                          "admission", "inpatient", "day_care", "delay", "discharge", "panel")
    for name, kind in KINDS.items():
        assert isinstance(kind, StepKind) and kind.name == name and kind.label


def test_every_kind_has_its_own_diagram_colour():
    for kind in KINDS.values():
        assert kind.fill.startswith("#") and len(kind.fill) == 7
    # day care and panel had none before (they were drawn in the default grey)
    assert KINDS["day_care"].fill != StepKind.fill and KINDS["panel"].fill != StepKind.fill


def test_kind_properties_are_consistent():
    for k in KINDS.values():
        assert not (k.is_assessment and k.is_treatment), k
        if k.is_exit:  # nobody waits at an exit, and it keeps no office hours and costs nothing
            assert not k.deteriorates and k.always_open and not k.costs_contacts and not k.starts_clock
        if k.is_stay or k.counts_ae or k.counts_admission:
            assert not k.deteriorates and k.always_open
        if k.is_inpatient or k.counts_admission:
            assert k.is_intensive and k.is_stay
        if not k.holds_resources:
            assert k.no_resources_because
        if k.treatment_list:
            assert k.is_treatment


def test_the_lists_that_had_drifted_are_one_property():
    """The three copies of "kinds where nobody deteriorates" and the engine's count table, as declared."""
    assert {n for n, k in KINDS.items() if not k.deteriorates} == {"discharge", "emergency", "admission", "inpatient"}
    assert {n for n, k in KINDS.items() if k.starts_clock} == {"triage", "assessment", "treatment", "day_care", "panel"}
    assert {n for n, k in KINDS.items() if k.is_treatment} == {"treatment", "day_care"}
    assert {n for n, k in KINDS.items() if k.is_intensive} == {"admission", "inpatient", "day_care"}
    assert {n for n, k in KINDS.items() if k.always_open} == {"emergency", "admission", "inpatient", "discharge",
                                                               "delay"}
    assert {n for n, k in KINDS.items() if not k.costs_contacts} == {"delay", "monitoring", "discharge"}


def test_register_needs_a_name_and_can_be_undone():
    class Nameless(StepKind):
        pass

    with pytest.raises(ValueError, match="no 'name'"):
        register(Nameless)
    before = dict(KINDS)
    register(GroupSession)
    assert KINDS["group_session"].label == "group session"
    unregister("group_session")
    assert KINDS == before
    assert kinds.expected_text(["a", "b", "c"]) == "'a', 'b' or 'c'"


def test_scenario_format_lists_every_registered_kind():
    """docs/scenario-format.md's table of kinds is generated from the registry, so a new kind
    cannot be missing from the docs: regenerate it with ``icssim.kinds.markdown_table()``."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "scenario-format.md").read_text(encoding="utf-8")
    begin = doc.index("<!-- kinds: generated from icssim.kinds.markdown_table()")
    table = doc[doc.index("\n", begin) + 1:doc.index("<!-- end of kinds -->")].rstrip("\n")
    assert all(kind.meaning for kind in KINDS.values()), "give each step kind its 'meaning' for the docs"
    assert table == kinds.markdown_table(), (
        "docs/scenario-format.md section 7.1 is out of date: paste icssim.kinds.markdown_table() there")


def test_day_care_first_starts_the_referral_clock():
    """Someone whose first care is day care (e.g. taken in on a detected deterioration) was referred
    to it: the wait to treatment starts there, never after the treatment started (it was -49 days
    for people who went on from day care to a treatment step, which stamped the referral then)."""
    raw = copy.deepcopy(RAW)
    raw["services"]["day"] = {"caseload": 2}
    raw["cohorts"]["people"]["entry"] = "day"
    steps = raw["pathway"]["steps"]
    steps["day"] = {"kind": "day_care", "service": "day", "caseload": True,
                    "duration": {"dist": "exponential", "mean": 3}, "next": "treat"}
    steps["treat"] = {"kind": "treatment", "service": "clinic", "staff": ["clinician"],
                      "duration": {"dist": "exponential", "mean": 0.5}, "next": "done"}
    del steps["assess"], steps["group"]
    rec = simulate(compile_plan(scenario_from_dict(raw, name="day")), replication=0)
    P = rec.patients
    treated = ~np.isnan(P["treat_start"])
    assert treated.sum() > 100
    assert (P["treat_start"][treated] - P["referral"][treated] >= 0).all()
    waited = P["treat_start"][treated] - P["referral"][treated]
    assert waited.max() > 1  # the day care's two places make people queue: the clock runs from the referral
