"""KPIs as a registry: each KPI (or family of generated KPIs) is one class in one place.

A :class:`Kpi` has a name, a label, a unit, which direction is better, and a :meth:`Kpi.compute`
that measures it from a :class:`Window` — what several KPIs share in one replication (who is in the
observation window, who was referred, who was treated, its length in years), computed once.
A *family* (:class:`Family`) owns generated names, one per standard, resource, service or cohort.
Its ``group`` is the section of a run report's KPI tables it is shown in (:data:`GROUPS`), so a
registered KPI reaches every table and report without a list to edit.

:func:`compute_kpis` runs the registry in order, so the order of :data:`REGISTRY` is the order of
the KPI columns in every output. A scenario or a domain adds its own KPI with :func:`register`::

    class SeenWithinAWeek(Kpi):
        name, label, unit, better = "share_seen_within_a_week", "Seen within a week", "share", "higher"
        group = "Access and outcomes"

        def value(self, w: Window) -> float:
            wait = w.wait("assess_start", w.referred)
            return float((wait <= 7).mean()) if len(wait) else float("nan")

    register(SeenWithinAWeek())
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from icssim.kpi_base import DAYS_PER_YEAR, GROUPS, Family, Kpi, KpiInfo, Standards, Window
from icssim.kpi_definitions import DEFINED
from icssim.model.records import RunRecords

# The building blocks are defined in kpi_base; a KPI defined elsewhere imports them from here.
__all__ = ["DAYS_PER_YEAR", "GROUPS", "REGISTRY", "Family", "Kpi", "KpiInfo", "Standards", "Window", "compute_kpis",
           "kpi_groups", "kpi_info", "kpi_of", "kpi_subjects", "register", "unregister"]

#: Every KPI, in output order.
REGISTRY: list[Kpi] = list(DEFINED)


def register(kpi: Kpi, before: str | None = None) -> Kpi:
    """Add ``kpi`` to the registry, at the end or before the KPI that owns the name ``before``."""
    if kpi.name and any(k.owns(kpi.name) for k in REGISTRY):
        raise ValueError(f"a KPI named {kpi.name!r} is already registered")
    at = next((i for i, k in enumerate(REGISTRY) if k.owns(before)), None) if before else None
    REGISTRY.insert(len(REGISTRY) if at is None else at, kpi)
    return kpi


def unregister(kpi: Kpi) -> None:
    """Remove ``kpi`` (the same object :func:`register` was given) from the registry."""
    REGISTRY.remove(kpi)


def kpi_of(name: str) -> Kpi | None:
    """The registered KPI that owns ``name``: an exact name first, then a family's prefix."""
    exact = next((k for k in REGISTRY if not isinstance(k, Family) and k.owns(name)), None)
    return exact or next((k for k in REGISTRY if isinstance(k, Family) and k.owns(name)), None)


def kpi_info(name: str) -> KpiInfo:
    """Label and unit of any KPI name, including the generated ones (the name itself if unknown)."""
    kpi = kpi_of(name)
    return kpi.info(name) if kpi is not None else KpiInfo(name, "")


def kpi_subjects(names: Iterable[Any], family: str) -> dict[Any, str]:
    """The KPI names among ``names`` of ``family`` (``"standard"``, ``"resource"``, ``"service"``,
    ``"cohort"``), in their order, each mapped to what it is about: ``{"within_urgent": "urgent"}``."""
    out = {}
    for name in names:
        info = kpi_info(str(name))
        if info.family == family and info.subject is not None:
            out[name] = info.subject
    return out


def kpi_groups(names: Iterable[str]) -> list[tuple[str, list[str]]]:
    """``names`` in sections of the KPI tables, by each KPI's group: the :data:`GROUPS` in their
    order, then any other group in order of first appearance, then "Other" (KPIs without a group).
    Names keep their order within a section; empty sections are left out."""
    sections: dict[str, list[str]] = {g: [] for g in GROUPS}
    other: list[str] = []
    for name in names:
        group = kpi_info(name).group
        (sections.setdefault(group, []) if group else other).append(name)
    return [(g, keys) for g, keys in [*sections.items(), ("Other", other)] if keys]


def compute_kpis(rec: RunRecords, standards: Standards | None = None) -> dict[str, float]:
    """All KPIs of one replication, in registry order.

    ``standards`` maps a standard's name to (threshold in days, urgency level or None, measure,
    cohort or None), as :func:`icssim.experiments.standards_of` gives them.
    """
    w = Window(rec, standards)
    k: dict[str, float] = {}
    for kpi in REGISTRY:
        k.update(kpi.compute(w))
    return k
