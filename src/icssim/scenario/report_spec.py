"""The ``report:`` block of a scenario: how its reports read, declared with the domain.

Reports are written for any pathway, so what a domain counts as its headline results (recovery and
reliable improvement in NHS Talking Therapies; waits and intensive care in eating disorders) is
data, not code: ``featured`` names the KPIs shown first (the run report's tiles and the sentences
under them, the first screen of a comparison, ``icssim compare``'s console table), and ``people``
says whom the report is about. A scenario without the block gets the generic choice
(:data:`icssim.report.run_text.HEADLINE`).

A standard's own wording is its ``label`` (``scenario.standards``); a domain measure's is the
``label`` of ``health.measures``; a path time's, its ``label`` (``scenario.path_times``). The generic
waits (``wait_to_assessment_*``, ``wait_to_treatment_*``: from the start of the referral clock to
the first step that counts as an assessment, or a treatment) read "Referral to assessment" unless
``waits`` says what, in the domain, starts that clock and what the first assessment (or treatment)
is: in an emergency department whose triage starts the clock, "Arrival".
"""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints, field_validator

from icssim.distributions import NumbersChecked

#: a KPI name as icssim writes them (``within_tt_6_weeks``, ``share_at_exit_tt_recovery``,
#: ``health_events_ae_attendance``, ``utilisation_tt_low/pwp``)
KPI_NAME = r"^[a-z][a-z0-9_/]*$"
#: The most ``featured`` KPIs a scenario may name (a run report's tiles show the first 6).
MAX_FEATURED = 12


#: a few words for a generic wait's start or end, as they read in its label
WaitWord = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]


class WaitWords(NumbersChecked):
    """What the generic waits measure, in the domain's words: ``from``, what starts the referral
    clock (the first triage, assessment or treatment step entered), and ``assessment`` and
    ``treatment``, the first step that counts as each. ``{from: Arrival, assessment: first
    clinical assessment}`` makes "Referral to assessment, median" read "Arrival to first clinical
    assessment, median". They name what the pathway's own steps are; a comparison shows the
    words of the first variant that gives them, else the baseline's
    (:func:`icssim.report.labels.words_of`), so scenarios compared should say the same."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True)

    from_: WaitWord | None = Field(default=None, alias="from")
    assessment: WaitWord | None = None
    treatment: WaitWord | None = None


class ReportSpec(NumbersChecked):
    """Which KPIs a domain's reports lead with, and whom they are about."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    featured: list[Annotated[str, StringConstraints(pattern=KPI_NAME, max_length=120)]] = Field(
        default_factory=list)
    people: str = Field(default="people", min_length=1, max_length=80)
    #: what the generic waits from referral measure, in the domain's words
    waits: WaitWords | None = None

    @field_validator("featured")
    @classmethod
    def _at_most(cls, featured: list[str]) -> list[str]:
        """In the project's words, not pydantic's ("List should have at most 12 items after validation")."""
        if len(featured) > MAX_FEATURED:
            raise ValueError(f"at most {MAX_FEATURED} featured measures, found {len(featured)}")
        return featured
