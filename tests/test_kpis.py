"""KPIs are a registry (:mod:`icssim.kpis`): a new KPI is one class in one place, every KPI a run
produces has a label and a unit from the registry, and the order of the KPIs is today's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from icssim import experiments, results
from icssim.kpis import REGISTRY, Kpi, Window, kpi_of, kpi_subjects, register, unregister
from icssim.metrics import compute_kpis, kpi_info
from icssim.scenario import load_scenario

FIXTURE = Path(__file__).parent / "fixtures" / "report_pathway.yaml"
NOT_KPIS = {"events", "wall_seconds"}  # added to each replication by experiments, not measured from records

#: The KPI names of the fixture, in the order compute_kpis gave them before the registry (and
#: accepted referrals, added beside the help-seekers in issue 23).
ORDER_BEFORE_REGISTRY = [
    "referrals_per_year", "accepted_referrals_per_year",
    "wait_to_assessment_mean", "wait_to_assessment_median", "wait_to_assessment_p90",
    "wait_to_assessment_p95", "wait_to_treatment_mean", "wait_to_treatment_median", "wait_to_treatment_p90",
    "wait_to_treatment_p95", "wait_to_assessment_median_cyp", "wait_to_treatment_median_cyp",
    "wait_to_assessment_median_adults", "wait_to_treatment_median_adults", "share_treated", "uptake_after_referral",
    "share_intensive_12m", "untreated_time_mean", "rejected_referrals_per_year", "share_ever_rejected",
    "rereferrals_per_year", "duplicated_assessments_per_year", "ae_attendances_per_year",
    "emergency_admissions_per_year", "inpatient_admissions_per_year", "specialist_bed_days_per_year",
    "share_dropped_out", "still_waiting_at_end", "within_routine_4_weeks", "within_urgent_1_week",
    "utilisation_primary_care/gp", "utilisation_ed_team/clinician", "utilisation_ed_team/caseload",
    "utilisation_acute/ae_staff", "utilisation_acute/beds", "cost_per_year", "activity_cost_per_year",
    "staff_cost_per_year", "cost_per_referral", "cost_per_year_primary_care", "cost_per_year_ed_team",
    "cost_per_year_acute", "mean_in_system", "waiting_lists_rising",
]


# --- the example: a new KPI is this one class, registered -------------------------------------
class RejectionsPerRejectedPatient(Kpi):
    name = "mean_rejections_per_rejected_patient"
    label = "Rejections per patient with a rejected referral, mean"
    unit = "rejections"
    better = "lower"

    def value(self, w: Window) -> float:
        rejections = w.patients["rejections"][w.in_window]
        rejections = rejections[rejections > 0]
        return float(rejections.mean()) if len(rejections) else float("nan")


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(FIXTURE)


@pytest.fixture(scope="module")
def result(scenario):
    return experiments.run(scenario, replications=2, workers=1)


@pytest.fixture
def new_kpi():
    kpi = register(RejectionsPerRejectedPatient())
    try:
        yield kpi
    finally:
        unregister(kpi)
    assert kpi_of(RejectionsPerRejectedPatient.name) is None


def test_a_new_kpi_is_one_registered_class(scenario, new_kpi):
    result = experiments.run(scenario, replications=2, workers=1)
    summary = result.summary()
    name = RejectionsPerRejectedPatient.name
    assert name in summary.index
    assert list(result.kpis.columns[: len(ORDER_BEFORE_REGISTRY) + 1]) == [*ORDER_BEFORE_REGISTRY, name]
    info = kpi_info(name)
    assert (info.label, info.unit, info.better) == ("Rejections per patient with a rejected referral, mean",
                                                    "rejections", "lower")
    row = results.kpi_table(summary).set_index("kpi").loc[name]
    assert (row["label"], row["unit"]) == (info.label, info.unit)
    # it measures what it says, from the same records as the patients table
    for rep, rec in zip(result.replications, result.records):
        P = rec.patients
        rej = P["rejections"][P["arrival"] >= rec.warmup]
        assert rep.kpis[name] == pytest.approx(rej[rej > 0].mean())
        assert rep.kpis[name] >= 1


def test_a_new_kpi_can_go_before_another_and_names_are_unique(result):
    kpi = register(RejectionsPerRejectedPatient(), before="cost_per_year")
    try:
        keys = list(compute_kpis(result.records[0], experiments.standards_of(result.scenario)))
        assert keys.index(kpi.name) == keys.index("cost_per_year") - 1
        with pytest.raises(ValueError, match="already registered"):
            register(RejectionsPerRejectedPatient())
    finally:
        unregister(kpi)
    assert list(compute_kpis(result.records[0], experiments.standards_of(result.scenario))) == ORDER_BEFORE_REGISTRY


def test_kpi_order_is_unchanged(result):
    assert [k for k in result.kpis.columns if k not in NOT_KPIS] == ORDER_BEFORE_REGISTRY
    assert list(result.replications[0].kpis)[: len(ORDER_BEFORE_REGISTRY)] == ORDER_BEFORE_REGISTRY


def test_every_kpi_of_a_run_has_a_label_and_unit_from_the_registry(result):
    names = [k for k in result.summary().index if k not in NOT_KPIS]
    assert names
    for name in names:
        kpi = kpi_of(name)
        assert kpi is not None and kpi in REGISTRY, name
        info = kpi_info(name)
        assert info == kpi.info(name)
        assert info.label and info.label != name and info.unit, name
        assert info.better in ("lower", "higher", "neutral"), name


def test_families_say_what_a_generated_kpi_is_about(result):
    names = list(result.summary().index)
    assert kpi_subjects(names, "standard") == {"within_routine_4_weeks": "routine_4_weeks",
                                               "within_urgent_1_week": "urgent_1_week"}
    assert kpi_subjects(names, "service") == {"cost_per_year_primary_care": "primary_care",
                                              "cost_per_year_ed_team": "ed_team", "cost_per_year_acute": "acute"}
    assert list(kpi_subjects(names, "resource").values()) == ["primary_care/gp", "ed_team/clinician",
                                                              "ed_team/caseload", "acute/ae_staff", "acute/beds"]
    assert set(kpi_subjects(names, "cohort").values()) == {"cyp", "adults"}
    assert kpi_info("within_routine_4_weeks").standard == "routine_4_weeks"
    assert kpi_info("utilisation_acute/beds").resource == "acute/beds"
    assert kpi_info("cost_per_year_acute").service == "acute"
    assert kpi_info("wait_to_treatment_median_cyp").cohort == "cyp"
    info = kpi_info("cost_per_year")  # an exact name wins over a family's prefix
    assert (info.label, info.service) == ("Total cost", None)
    assert kpi_info("wall_seconds").label == "wall_seconds" and kpi_info("wall_seconds").unit == ""


def test_window_is_shared_and_nan_safe(result):
    rec = result.records[0]
    w = Window(rec, experiments.standards_of(result.scenario))
    assert w.referred.sum() <= w.in_window.sum()
    assert np.all(w.wait("treat_start", w.referred) >= 0)
    assert w.costs is w.costs  # computed once


#: The KPI table sections of a run report before they came from the registry: (title, names or
#: name prefixes ending in "_"), in page order; every other KPI went under "Other".
GROUPS_BEFORE_REGISTRY = [
    ("Waits from referral", ("wait_to_", "untreated_time_mean")),
    ("Waiting-time standards", ("within_",)),
    ("Access and outcomes", ("uptake_after_referral", "share_treated", "share_ever_rejected", "share_dropped_out",
                             "still_waiting_at_end")),
    ("Demand and flow", ("referrals_per_year", "accepted_referrals_per_year", "rejected_referrals_per_year",
                         "rereferrals_per_year",
                         "duplicated_assessments_per_year", "mean_in_system")),
    ("Emergency and inpatient use", ("ae_attendances_per_year", "emergency_admissions_per_year",
                                     "inpatient_admissions_per_year", "specialist_bed_days_per_year",
                                     "share_intensive_12m")),
    ("Capacity", ("utilisation_", "waiting_lists_rising")),
    ("Costs", ("cost_", "activity_cost_per_year")),
]


def _sections_before(names: list[str]) -> list[tuple[str, list[str]]]:
    left, out = list(names), []
    for title, keys in [*GROUPS_BEFORE_REGISTRY, ("Other", ())]:
        chosen = [k for k in left if (any(k == x or (x.endswith("_") and k.startswith(x)) for x in keys)
                                      if keys else True)]
        left = [k for k in left if k not in chosen]
        if chosen:
            out.append((title, chosen))
    return out


def test_kpi_sections_come_from_the_registry_as_before():
    """Each KPI's ``group`` puts it in the report section the fixed list used to."""
    from icssim.kpis import kpi_groups

    names = [*ORDER_BEFORE_REGISTRY, "events", "wall_seconds"]
    assert kpi_groups(names) == _sections_before(names)


def test_a_registered_kpi_reaches_its_section_without_a_list():
    from icssim.kpis import GROUPS, kpi_groups

    class Seen(Kpi):
        name, label, unit, group = "share_seen_quickly", "Seen quickly", "share", "Access and outcomes"

        def value(self, w: Window) -> float:
            return 0.5

    class Outcome(Kpi):
        name, label, unit, group = "remission_rate", "Remission", "share", "Health outcomes"

        def value(self, w: Window) -> float:
            return 0.5

    seen, outcome = register(Seen()), register(Outcome())
    try:
        sections = dict(kpi_groups(["referrals_per_year", "share_seen_quickly", "remission_rate", "cost_per_year"]))
        assert sections["Access and outcomes"] == ["share_seen_quickly"]
        assert sections["Health outcomes"] == ["remission_rate"]
        titles = [t for t, _ in kpi_groups(["remission_rate", "cost_per_year"])]
        assert titles == ["Costs", "Health outcomes"]  # the known sections first, in GROUPS order
        assert "Health outcomes" not in GROUPS
    finally:
        unregister(seen)
        unregister(outcome)
