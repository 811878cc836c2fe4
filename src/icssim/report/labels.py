"""What a reader sees instead of internal names: a KPI's label written with the scenario's own labels
(services, cohorts, standards), and the KPIs a scenario cannot produce (no A&E step: no A&E
attendances), which outputs leave out rather than print as zeros.

Ids stay where a user must type them (``--target``, ``--kpi``; a KPI table's measure shows its id on hovering)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from icssim.kinds import KINDS
from icssim.kpis import GROUPS, kpi_info
from icssim.scenario.schema import Scenario

#: How a resource's second part reads: ``ed_service/caseload`` → "caseload slots".
RESOURCE_PARTS = {"caseload": "caseload slots", "beds": "beds"}


#: How the abbreviations in ids are written when an id is read as words (``cyp_ed`` → ``CYP ED``).
ABBREVIATIONS = {w: w.upper() for w in ("cyp", "ed", "gp", "spa", "cmht", "camhs", "nhs", "icb", "ics", "mh", "mbu",
                                        "pwp", "ltc", "tt")} | {"ae": "A&E"}


def id_words(name: str, capital: bool = False) -> str:
    """An id in words: ``cyp_urgent_1_week`` → ``CYP urgent 1 week``, ``gp`` → ``GP`` (not ``Gp``);
    with ``capital``, the first word capitalised unless it is an abbreviation."""
    words = [ABBREVIATIONS.get(w, w) for w in name.replace("_", " ").split()]
    if capital and words and words[0].islower():
        words[0] = words[0].capitalize()
    return " ".join(words)


def short(label: str) -> str:
    """A label without its explanation in brackets: ``Adults (18 and over)`` → ``Adults``."""
    return re.sub(r"\s*\([^)]*\)", "", label).strip() or label


def service_label(s: Scenario | None, name: str) -> str:
    """A service's label from the scenario (``CYP community eating disorder team``, without any
    explanation in brackets), else its name with spaces."""
    svc = s.services.get(name) if s is not None else None
    if svc is not None and svc.label:
        return short(svc.label)
    return name.replace("_", " ")


def cohort_label(s: Scenario | None, name: str) -> str:
    c = s.cohorts.get(name) if s is not None else None
    if c is not None and c.label:
        return short(c.label)
    return name.upper() if len(name) <= 4 else name.replace("_", " ").capitalize()


def resource_label(s: Scenario | None, resource: str) -> str:
    """``ed_service/psychologist`` → ``Eating disorder service: psychologists``."""
    svc, _, part = resource.partition("/")
    what = RESOURCE_PARTS.get(part, part.replace("_", " ") + ("" if part.endswith("s") else "s") if part else "")
    return f"{service_label(s, svc)}: {what}" if what else service_label(s, svc)


#: Labels that speak of treatment, as read in a pathway without a treatment step (an emergency
#: department): no one there waits for treatment, and what the KPI counts is said as it is
#: (``still_waiting_at_end``, referred in the window, not treated and not left: there, everyone
#: referred in the window who is still in the pathway at the end).
WITHOUT_TREATMENT = {"still_waiting_at_end": "Referred in window, still in the pathway at end"}


#: a generic wait from referral (:class:`icssim.kpi_definitions.WaitSummary`, and per cohort
#: :class:`~icssim.kpi_definitions.CohortMedianWaits`), whose words a scenario may give (``report.waits``)
GENERIC_WAIT = re.compile(r"wait_to_(assessment|treatment)_(mean|median|p90|p95)(_.+)?")


def wait_label(kpi: str, s: Scenario | None) -> str | None:
    """A generic wait's label in the scenario's words (``report.waits``: "Arrival to first clinical
    assessment, median" for "Referral to assessment, median"), or None when it gives none."""
    words = getattr(getattr(s, "report", None), "waits", None)
    match = GENERIC_WAIT.fullmatch(kpi)
    if words is None or match is None:
        return None
    what = match.group(1)
    start, end = words.from_ or "Referral", getattr(words, what) or what
    generic = kpi_info(kpi).label
    prefix = f"Referral to {what}"
    return f"{start} to {end}{generic[len(prefix):]}" if generic.startswith(prefix) else None


#: the section of the KPI tables of the generic waits (:data:`icssim.kpi_base.GROUPS`), which
#: :func:`group_title` words as the scenario's ``report.waits`` does
WAITS_GROUP = GROUPS[0]


def wait_words(s: Scenario | None) -> tuple[str, str, str]:
    """(what starts the clock, the first assessment, the first treatment) of the generic waits, in
    the scenario's words (``report.waits``) where it gives them: ``("Arrival", "first clinical
    assessment (…)", "treatment")``, else ``("Referral", "assessment", "treatment")``."""
    words = getattr(getattr(s, "report", None), "waits", None)
    return (getattr(words, "from_", None) or "Referral", getattr(words, "assessment", None) or "assessment",
            getattr(words, "treatment", None) or "treatment")


def in_sentence(words: str) -> str:
    """Words inside a sentence: the first letter lower case unless they start with an abbreviation
    ("Arrival" → "arrival", "GP referral" stays)."""
    return words if words[:2].isupper() else words[:1].lower() + words[1:]


def group_title(group: str, s: Scenario | None) -> str:
    """A section's title in the KPI tables (a KPI's group), in the scenario's words: the generic
    waits' section "Waits from referral" says what starts their clock (``report.waits``: "Waits
    from arrival" in an emergency department), as their labels do (:func:`wait_label`)."""
    if group != WAITS_GROUP:
        return group
    return f"Waits from {in_sentence(wait_words(s)[0])}"


def plain_label(kpi: str, s: Scenario | None, label: object = None) -> str:
    """The label of a KPI not written with the scenario's labels: ``label`` (as stored with the
    results) or the registry's, unless ``s`` has no treatment step and the label speaks of
    treatment (:data:`WITHOUT_TREATMENT`), gives the generic waits' words (``report.waits``:
    :func:`wait_label`) or names the path time it is (``scenario.path_times``)."""
    if kpi in WITHOUT_TREATMENT and s is not None:
        from icssim.kpi_check import has_step

        if not has_step(s, "treatment"):
            return WITHOUT_TREATMENT[kpi]
    words = wait_label(kpi, s)
    if words is not None:
        return words
    info = kpi_info(kpi)
    if info.family == "path_time" and s is not None and info.subject in s.scenario.path_times:
        from icssim.stage_kpis import path_time_label

        return path_time_label(kpi, s.scenario.path_times[info.subject].label)
    return label if isinstance(label, str) else info.label


def point_words(point: str, s: Scenario, brief: bool = False) -> str:
    """A point of a patient's path (a standard's ``from`` or ``to``) in words: ``arrival``, ``exit``
    as "leaving the pathway", ``tt_assessment.end`` as "the end of <the step's label>" and a step
    as "the start of <its label>", ``freed_engagement.enter`` as "the referral to <its label>";
    ``brief`` (a plot's legend): "leaving", "end of <label>", "referred to <label>", "<label>"."""
    if point in ("arrival", "exit"):
        return {"arrival": "arrival", "exit": "leaving" if brief else "leaving the pathway"}[point]
    step, _, end = point.partition(".")
    st = s.pathway.steps.get(step)
    label = in_sentence(st.label if st is not None and st.label else step.replace("_", " "))
    if end == "end":
        return f"end of {label}" if brief else f"the end of {label}"
    if end == "enter":
        return f"referred to {label}" if brief else f"the referral to {label}"
    return label if brief else f"the start of {label}"


def interval_words(start: str, end: str, s: Scenario) -> str:
    """An interval between two points of the path, for a plot's legend: "<start> → <end>" in
    :func:`point_words`' brief words, or, from the referral to a step to its own start, "<step>:
    referral → start" (not "referred to <step> → <step>")."""
    step, _, point = start.partition(".")
    if point == "enter" and end in (step, f"{step}.start"):
        return f"{point_words(step, s, True)}: referral \u2192 start"
    return f"{point_words(start, s, True)} \u2192 {point_words(end, s, True)}"


def step_names(s: Scenario | None, steps: Iterable[str]) -> dict[str, str]:
    """Each step's label for its id (``adult_ed_treatment`` → "Adult community ED treatment"),
    without any explanation in brackets, for a plot's legend (a waiting list per step); a step
    without a label by its id in words."""
    out = {}
    for name in steps:
        st = s.pathway.steps.get(name) if s is not None else None
        out[name] = short(st.label) if st is not None and st.label else id_words(name, capital=True)
    return out


def kpi_label(kpi: str, s: Scenario | None, with_target: bool = True) -> str:
    """A KPI's label in the scenario's words: standards by whom they cover, resources, services,
    cohorts and steps by their labels (a step without one by its id in words), and a count that
    speaks of treatment as what it counts in a pathway without a treatment step (:func:`plain_label`)."""
    from icssim.report.run_text import standard_label
    from icssim.stage_kpis import step_kpi_label

    info = kpi_info(kpi)
    if info.standard is not None:
        return standard_label(kpi, s, with_target)
    if info.family == "step" and info.subject is not None:   # (stage_kpis.StageTimes)
        return step_kpi_label(kpi, step_names(s, [info.subject])[info.subject])
    if info.resource is not None:
        return f"Utilisation of {resource_label(s, info.resource)}"
    if kpi.startswith("utilisation_in_full_"):  # (stage_kpis.UtilisationInFull)
        res = kpi[len("utilisation_in_full_"):]
        return f"Utilisation of {resource_label(s, res)}, counting work started before the horizon in full"
    if info.service is not None:
        first, named = info.label.split(":")[0], service_label(s, info.service)
        own = rf"\b{re.escape(info.service)}\b"   # the id inside the label ("of ltc_clinic contacts"): its label there
        return re.sub(own, lambda _: named, first) if re.search(own, first) else f"{first}: {named}"
    if info.cohort is not None:
        return f"{plain_label(kpi, s).rsplit(':', 1)[0]}: {cohort_label(s, info.cohort)}"
    return plain_label(kpi, s)


def words_of(kpi: str, scenarios: Sequence[Scenario | None]) -> Scenario | None:
    """The scenario in whose words a comparison names a KPI: the one rule of every view of a
    comparison (the report's first screen, its tables and plot captions, the plots, and the
    terminal's table from ``icssim compare``), so that a measure reads alike wherever it is shown.

    ``scenarios`` are the comparison's, the baseline first (``[baseline, variant, ...]``): for a row
    or a sentence about one variant against the baseline, that pair; for a row about every scenario
    (the results table, the terminal's table), all of them. The rule: **the first variant that has
    its own words for what the KPI measures** (:func:`own_words`: its service, resource, cohort,
    standard, step or path time, or ``report.waits`` for a generic wait), **else the baseline**. The
    variant first, because a comparison is about the variant: a standard both declare but word
    differently is named as the variant words it, one only the baseline declares as the baseline does."""
    if not scenarios:
        return None
    baseline, variants = scenarios[0], list(scenarios[1:])
    found = next((s for s in [*variants, baseline] if own_words(kpi, s)), None)
    return found if found is not None else baseline if baseline is not None else next(
        (s for s in variants if s is not None), None)


def own_words(kpi: str, s: Scenario | None) -> bool:
    """Whether ``s`` has its own words for what a KPI measures: the thing it is about
    (:func:`has_subject`), or, for a generic wait, ``report.waits`` (:func:`wait_label`)."""
    return has_subject(kpi, s) or wait_label(kpi, s) is not None


def kpi_label_among(kpi: str, scenarios: Sequence[Scenario | None], with_target: bool = True,
                    stored: object = None) -> str:
    """A KPI's label in a comparison (``scenarios``: the baseline first), in the words of the
    scenario :func:`words_of` chooses, the one rule of a comparison; with none of the scenarios
    known (a report rebuilt from its tables alone), ``stored`` (the label stored with the results)
    or the registry's (but a service's or a resource's id in words, "Cost per year: ed service", as
    :func:`kpi_label` writes it)."""
    s = words_of(kpi, scenarios)
    info = kpi_info(kpi)
    if s is None and isinstance(stored, str) and info.service is None and info.resource is None:
        return stored
    return kpi_label(kpi, s, with_target)


def has_subject(kpi: str, s: Scenario | None) -> bool:
    """Whether ``s`` has the service, resource, cohort, standard, step or path time a KPI measures."""
    if s is None:
        return False
    info = kpi_info(kpi)
    resource = kpi[len("utilisation_in_full_"):] if kpi.startswith("utilisation_in_full_") else info.resource
    service = resource.partition("/")[0] if resource else info.service
    step = info.subject if info.family == "step" else None
    path = info.subject if info.family == "path_time" else None
    return bool((service is not None and service in s.services)
                or (info.cohort is not None and info.cohort in s.cohorts)
                or (info.standard is not None and info.standard in s.scenario.standards)
                or (step is not None and step in s.pathway.steps)
                or (path is not None and path in s.scenario.path_times))


def absent_kpis(s: Scenario | None, names: Iterable[str] = ()) -> set[str]:
    """KPIs of things this scenario does not have (no A&E step, no admission, no rejected referrals,
    a single assessment step: always zero; among ``names``, waits to a kind of step it lacks: never
    measured, as an emergency department has no wait to treatment), which outputs leave out rather
    than show as zeros or n/a."""
    from icssim.kpi_check import has_step, no_value_reason

    if s is None:
        return set()
    kinds = [KINDS[st.kind] for st in s.pathway.steps.values()]
    out: set[str] = set()
    if not any(k.counts_ae for k in kinds):
        out.add("ae_attendances_per_year")
    if not any(k.counts_admission for k in kinds):
        out.add("emergency_admissions_per_year")
    if not any(k.is_inpatient for k in kinds):
        out |= {"inpatient_admissions_per_year", "specialist_bed_days_per_year"}
    if not any(st.on_reject is not None for st in s.pathway.steps.values()):
        out |= {"rejected_referrals_per_year", "share_ever_rejected", "rereferrals_per_year"}
    if sum(k.is_assessment for k in kinds) < 2:
        out.add("duplicated_assessments_per_year")
    if not any(k.is_intensive for k in kinds):
        out.add("share_intensive_12m")
    if not has_step(s, "treatment"):
        out |= {"share_treated", "uptake_after_referral", "untreated_time_mean"}
    out |= {f"cost_per_year_{name}" for name in _outside_the_pathway(s)}
    return out | {name for name in names if no_value_reason(s, name) is not None}


def _outside_the_pathway(s: Scenario) -> set[str]:
    """Services no step of the pathway uses (for its contacts or its monitoring) and with no staff
    establishment: the pathway costs nothing there (an LTC clinic that only holds the course of
    illness's contacts, ``health.events``), so a cost a year of £0 would stand beside that
    service's contacts as if they were free."""
    steps = s.pathway.steps.values()
    used = {st.service for st in steps} | {getattr(getattr(st, "monitoring", None), "service", None) for st in steps}
    return {name for name, svc in s.services.items() if name not in used and not svc.staff}


def left_out(mean: float) -> bool:
    """Whether an absent KPI's value (:func:`absent_kpis`) is one to leave out: zero, or none."""
    return mean == 0 or mean != mean
