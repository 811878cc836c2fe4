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
    base = _population(provenance(scenarios[0]).raw)
    return [w for s in scenarios[1:] if (w := _population_warning(base, _population(provenance(s).raw),
                                                                    first.name, s.scenario.name))]


def _population_warning(base: tuple[dict, object, object], other: tuple[dict, object, object], base_name: str,
                        name: str) -> str:
    """What the comparison of ``name`` with ``base_name`` should know of their people. Streams are
    keyed by cohort name, so a cohort only one of them has leaves the others' arrivals alone."""
    (cohorts, *rest), (theirs, *their_rest) = base, other
    shared = cohorts.keys() & theirs.keys()
    if rest != their_rest or any(cohorts[c] != theirs[c] for c in shared):
        return (f"{name!r} has a different population (cohorts, rates or attributes) from {base_name!r}: "
                "different patients arrive, so common random numbers cannot hold and differences will be noisier")
    added, missing = sorted(theirs.keys() - shared), sorted(cohorts.keys() - shared)
    if not added and not missing:
        return ""
    change = "; ".join(([f"adds the cohort(s) {', '.join(added)}"] if added else [])
                       + ([f"lacks the cohort(s) {', '.join(missing)}"] if missing else []))
    return (f"{name!r} {change} of {base_name!r}: the cohorts both have see the same patients arrive, but counts, "
            "costs and shares over all patients include (or leave out) those cohorts' patients")


def _population(raw: dict) -> tuple[dict, object, object]:
    cohorts = {name: {k: v for k, v in c.items() if k not in ("entry", "label")}
               for name, c in raw.get("cohorts", {}).items()}
    return cohorts, raw.get("scenario", {}).get("population"), raw.get("attributes")
