"""The ``report:`` block of a scenario: how its reports read, declared with the domain.

Reports are written for any pathway, so what a domain counts as its headline results (recovery and
reliable improvement in NHS Talking Therapies; waits and intensive care in eating disorders) is
data, not code: ``featured`` names the KPIs shown first (the run report's tiles and the sentences
under them, the first screen of a comparison, ``icssim compare``'s console table), and ``people``
says whom the report is about. A scenario without the block gets the generic choice
(:data:`icssim.report.run_text.HEADLINE`).

A standard's own wording is its ``label`` (``scenario.standards``); a domain measure's is the
``label`` of ``health.measures``.
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


class ReportSpec(NumbersChecked):
    """Which KPIs a domain's reports lead with, and whom they are about."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    featured: list[Annotated[str, StringConstraints(pattern=KPI_NAME, max_length=120)]] = Field(
        default_factory=list)
    people: str = Field(default="people", min_length=1, max_length=80)

    @field_validator("featured")
    @classmethod
    def _at_most(cls, featured: list[str]) -> list[str]:
        """In the project's words, not pydantic's ("List should have at most 12 items after validation")."""
        if len(featured) > MAX_FEATURED:
            raise ValueError(f"at most {MAX_FEATURED} featured measures, found {len(featured)}")
        return featured
