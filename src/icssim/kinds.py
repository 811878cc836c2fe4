"""Step kinds: what each ``kind:`` of pathway step does, declared in one place.

Every kind is a small subclass of :class:`StepKind` whose class attributes say what the
kind does (starts the referral clock, counts as an assessment, a treatment start or
intensive care, lets waiting patients deteriorate, is an exit, keeps office hours...) and
how it is shown (its label, its colour in the pathway diagram). :data:`KINDS` maps each
``kind:`` name to an instance; the scenario schema accepts exactly these names, and the
compiler, checks, calendar, diagram and reports read these attributes instead of lists of
names. A new kind is one decorated class::

    @register
    class GroupSession(Treatment):
        name = "group_session"
        label = "group session"
        fill = "#CFE8DC"

The engine never looks kinds up while it runs: :func:`icssim.model.plan.compile_plan` copies
the attributes a step needs onto its :class:`~icssim.model.plan.StepPlan` once.

(This module sits at the top of the package, not in :mod:`icssim.model`, because the
scenario schema needs it at import and ``icssim.model`` imports the engine, which imports
the schema.)
"""

from __future__ import annotations

from typing import ClassVar, TypeVar


class StepKind:
    """What a kind of step does. Subclass it, set ``name`` and the attributes that differ, then
    :func:`register` the class."""

    #: The name used as ``kind:`` in scenario files.
    name: ClassVar[str] = ""
    #: Words for the kind in reports and diagrams (defaults to ``name``).
    label: ClassVar[str] = ""
    #: Fill colour of its box in the pathway diagram (a light tint of the Okabe-Ito palette).
    fill: ClassVar[str] = "#F2F2F2"

    # -- what a service start here counts as (the patient counters and KPIs)
    #: The first referral into a step of this kind starts the referral-to-treatment clock.
    starts_clock: ClassVar[bool] = False
    #: A service start here is an assessment (``assess_start``).
    is_assessment: ClassVar[bool] = False
    #: A service start here is a treatment start (``treat_start``).
    is_treatment: ClassVar[bool] = False
    #: Counts as intensive care (admitted, inpatient or in day care: ``first_intensive``).
    is_intensive: ClassVar[bool] = False
    #: Counts as an A&E attendance.
    counts_ae: ClassVar[bool] = False
    #: Counts as an emergency admission.
    counts_admission: ClassVar[bool] = False
    #: A specialist inpatient stay: counts as an inpatient admission and its length as bed-days.
    is_inpatient: ClassVar[bool] = False
    #: Its duration is a length of stay (a bed-based stay, not a contact).
    is_stay: ClassVar[bool] = False
    #: The pathway's treatment step: reports show "waiting for treatment" and uptake of treatment
    #: only when a scenario has one.
    treatment_list: ClassVar[bool] = False

    # -- how it runs
    #: Patients leave the system here (an exit: takes no ``next``, nobody waits there).
    is_exit: ClassVar[bool] = False
    #: Patients waiting here may deteriorate (unless the step says ``deteriorate_while_waiting``).
    deteriorates: ClassVar[bool] = True
    #: Open every day: never restricted to a calendar's working days (A&E, beds, exits, delays).
    always_open: ClassVar[bool] = False
    #: Referrals wait for the next scheduled meeting and are decided together (a panel).
    meets: ClassVar[bool] = False
    #: May hold staff, a caseload slot or a bed (False: the scenario may not give it any).
    holds_resources: ClassVar[bool] = True
    #: Takes time even without resources, so it needs a ``duration`` (a delay).
    takes_time: ClassVar[bool] = False
    #: The service's cost per contact (or its staff's hourly cost) applies to a visit here.
    costs_contacts: ClassVar[bool] = True
    #: Why it may not hold resources, in the words of a validation message.
    no_resources_because: ClassVar[str] = ""

    def __repr__(self) -> str:
        return f"<step kind {self.name!r}>"


K = TypeVar("K", bound=type[StepKind])

#: Every known step kind, by its ``kind:`` name, in the order registered.
KINDS: dict[str, StepKind] = {}


def register(kind_class: K) -> K:
    """Add a step kind to :data:`KINDS` (usable as a class decorator); its ``label`` defaults to its name.

    Registering a name again replaces the earlier kind (so a test or a plug-in can redefine one)."""
    if not kind_class.name:
        raise ValueError(f"{kind_class.__name__} has no 'name'")
    if not kind_class.label:
        kind_class.label = kind_class.name
    KINDS[kind_class.name] = kind_class()
    return kind_class


def unregister(name: str) -> None:
    """Remove a step kind from :data:`KINDS` (for tests and plug-ins that added one)."""
    del KINDS[name]


def expected_text(names=None) -> str:
    """The kinds as pydantic words a ``Literal`` of them: ``'a', 'b' or 'c'``."""
    quoted = [repr(n) for n in (KINDS if names is None else names)]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


# ----------------------------------------------------------------------------- the kinds
@register
class Referral(StepKind):
    """A referral or request for help: routes patients on (often after a hand-off)."""

    name = "referral"
    fill = "#E3EEF7"


@register
class Triage(StepKind):
    """Screening of a referral: starts the clock."""

    name = "triage"
    fill = "#E3EEF7"
    starts_clock = True


@register
class Assessment(StepKind):
    """An assessment: starts the clock and counts as one."""

    name = "assessment"
    fill = "#D6E9F5"
    starts_clock = True
    is_assessment = True


@register
class Treatment(StepKind):
    """A treatment contact or episode: starts the clock and counts as a treatment start."""

    name = "treatment"
    fill = "#D8F0E7"
    starts_clock = True
    is_treatment = True
    treatment_list = True


@register
class Monitoring(StepKind):
    """Physical-health monitoring: no contact cost of its own."""

    name = "monitoring"
    fill = "#D8F0E7"
    costs_contacts = False


@register
class Emergency(StepKind):
    """An A&E attendance: open every day, nobody deteriorates waiting for it."""

    name = "emergency"
    fill = "#F9DCCC"
    counts_ae = True
    deteriorates = False
    always_open = True


@register
class Admission(StepKind):
    """An emergency admission: a stay, intensive care, open every day."""

    name = "admission"
    fill = "#F9DCCC"
    counts_admission = True
    is_intensive = True
    is_stay = True
    deteriorates = False
    always_open = True


@register
class Inpatient(StepKind):
    """A specialist inpatient stay: counted in bed-days, intensive care, open every day."""

    name = "inpatient"
    fill = "#F4E1EC"
    is_inpatient = True
    is_intensive = True
    is_stay = True
    deteriorates = False
    always_open = True


@register
class DayCare(StepKind):
    """Day care (day patient treatment): a treatment start and intensive care."""

    name = "day_care"
    fill = "#EFE3F4"
    is_treatment = True
    is_intensive = True


@register
class Delay(StepKind):
    """Time passing without resources (e.g. a wait for a letter): needs a duration, costs nothing."""

    name = "delay"
    fill = "#F2F2F2"
    takes_time = True
    always_open = True
    costs_contacts = False


@register
class Discharge(StepKind):
    """An exit from the pathway, with its outcome."""

    name = "discharge"
    fill = "#EEEEEE"
    is_exit = True
    deteriorates = False
    always_open = True
    costs_contacts = False


@register
class Panel(StepKind):
    """A panel: referrals wait for its next meeting and are decided together; starts the clock."""

    name = "panel"
    fill = "#FFF3D1"
    starts_clock = True
    meets = True
    holds_resources = False
    no_resources_because = "a panel decides referrals"
