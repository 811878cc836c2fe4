"""Whether scenarios can be compared, and what their comparison should know of their people.

Compared scenarios must share a time unit, a horizon and a warm-up. Common random numbers pair the
same people in every scenario where the cohorts that arrive are the same: every stream is keyed by
its name (model/streams.py), so a cohort only one scenario has leaves the others' arrivals alone,
while a cohort whose rate or attributes differ sees different people.
"""

from __future__ import annotations

from icssim.errors import IcssimError
from icssim.scenario import Scenario, provenance


def comparability(scenarios: list[Scenario]) -> list[str]:
    """Refuse scenarios that cannot be compared; return warnings where CRN cannot fully hold."""
    first = scenarios[0].scenario
    for s in scenarios[1:]:
        if s.scenario.time_unit != first.time_unit:
            raise IcssimError(f"cannot compare {first.name!r} (time unit {first.time_unit}) with "
                              f"{s.scenario.name!r} (time unit {s.scenario.time_unit}): use one time unit")
        for key in ("horizon", "warmup"):
            a, b = getattr(first, key).to(first.time_unit), getattr(s.scenario, key).to(first.time_unit)
            if abs(a - b) > 1e-9:
                raise IcssimError(f"cannot compare {first.name!r} ({key} {getattr(first, key)}) with "
                                  f"{s.scenario.name!r} ({key} {getattr(s.scenario, key)}): they must match")
    names = [s.scenario.name for s in scenarios]
    if len(set(names)) != len(names):
        raise IcssimError(f"scenario names must differ to be compared, found {names}")
    base_raw = provenance(scenarios[0]).raw
    base = _population(base_raw)
    return [w for s in scenarios[1:] if (w := _population_warning(
        base, _population(provenance(s).raw), first.name, s.scenario.name,
        _labels(base_raw) | _labels(provenance(s).raw)))]


def _population_warning(base: tuple[dict, object, object], other: tuple[dict, object, object], base_name: str,
                        name: str, labels: dict[str, str] | None = None) -> str:
    """What the comparison of ``name`` with ``base_name`` should know of their people. Streams are
    keyed by cohort name, so a cohort only one of them has leaves the others' arrivals alone: the
    warning names it (by its label, ``labels``: cohort name → label), says what it does to the
    totals and which measures compare fairly."""
    (cohorts, *rest), (theirs, *their_rest) = base, other
    shared = cohorts.keys() & theirs.keys()
    if rest != their_rest or any(cohorts[c] != theirs[c] for c in shared):
        return (f"{name!r} has a different population (cohorts, rates or attributes) from {base_name!r}: "
                "different patients arrive, so common random numbers cannot hold and differences will be noisier")
    added, missing = sorted(theirs.keys() - shared), sorted(cohorts.keys() - shared)
    if not added and not missing:
        return ""
    labels = labels or {}
    change = " and ".join(([f"adds {_cohorts(added, labels)}, which {base_name!r} does not have"] if added else [])
                          + ([f"leaves out {_cohorts(missing, labels)}, which {base_name!r} has"] if missing else []))
    whose = (f"the totals of {name!r}" if not missing else f"the totals of {base_name!r}" if not added
             else "the totals of the scenario that has them")
    those = "that cohort's" if len(added) + len(missing) == 1 else "those cohorts'"
    return (f"{name!r} {change}. Patients of the cohorts both have arrive alike in both, but {those} patients "
            f"count only in {whose}: its help-seekers and total cost include them, as do its shares and means "
            f"over all patients. Compare the scenarios on measures per person and on the cohorts both have, "
            f"not on totals.")


def _cohorts(names: list[str], labels: dict[str, str]) -> str:
    """``the cohort “Referrals to liaison from the hospital's wards”``: cohorts by their labels
    (their names where they have none)."""
    shown = [f"\u201c{labels.get(n) or n}\u201d" for n in names]
    listed = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]
    return ("the cohort " if len(shown) == 1 else "the cohorts ") + listed


def _labels(raw: dict) -> dict[str, str]:
    """Each cohort's label in a scenario's raw input, by cohort name."""
    return {name: str(c["label"]) for name, c in (raw.get("cohorts") or {}).items()
            if isinstance(c, dict) and c.get("label")}


def _population(raw: dict) -> tuple[dict, object, object]:
    cohorts = {name: {k: v for k, v in c.items() if k not in ("entry", "label")}
               for name, c in raw.get("cohorts", {}).items()}
    return cohorts, raw.get("scenario", {}).get("population"), raw.get("attributes")
