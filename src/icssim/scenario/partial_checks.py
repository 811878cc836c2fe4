"""The cross-reference checks on a scenario the schema refused, so one pass reports every mistake.

The checks of :mod:`~icssim.scenario.checks` need a validated scenario. When the schema refuses
a file, its invalid parts are cut from a copy (an unknown key goes, a bad value falls back to its
default, an entry that cannot be mended goes whole) until the copy validates, and the checks run
on the copy. Findings the cuts could have caused are dropped: those at, inside or directly above a
cut key, and a name "not defined" because its entry was cut. When a whole named entry was cut (a
step, a service, a staff role), only the reference findings are kept, since where patients can go
and how big the run is depend on what was cut; so too for the findings on a structure built from
several parts of the file (:data:`WHOLES`) when one of those parts was cut. A file whose mistakes
cannot be cut out (a required key of the ``scenario`` block) gets its schema problems only.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from pydantic import ValidationError

from icssim.scenario.findings import Finding
from icssim.scenario.messages import data_path
from icssim.scenario.schema import Scenario, known_keys
from icssim.scenario.yaml_reader import KeyPath, Provenance

#: Rounds of cutting before giving up: a round cuts every part pydantic names, and a cut can
#: expose one more (a required value cut, then the entry that needs it).
MAX_ROUNDS = 8

_NOT_DEFINED = re.compile(r"'([^']*)' is not defined")

#: findings on a structure as a whole (their key path starts with the key), and the parts of the
#: file it is built from: after a cut in one of those parts such a finding may be the cut's doing
#: (a health state "no one can reach" because the transition into it had a bad rate and was cut),
#: so it waits until the part is mended and the file is checked again
WHOLES: dict[KeyPath, tuple[KeyPath, ...]] = {
    ("health", "states"): (("health", "transitions"), ("health", "start"), ("health", "states"),
                           ("health", "on_admission")),
}


def findings_despite(exc: ValidationError, raw: dict[str, Any], prov: Provenance) -> list[Finding]:
    """The cross-reference findings of ``raw`` that the schema errors in ``exc`` would otherwise
    hide until they are fixed; empty when the invalid parts cannot be cut out."""
    from icssim.scenario.checks import check_scenario

    data = copy.deepcopy(raw)
    cuts: list[tuple[KeyPath, bool]] = []  # (key path, a whole named entry?)
    errors = exc.errors()
    for _ in range(MAX_ROUNDS):
        for err in errors:
            cut = _cut_point(err, data)
            if not cut:
                return []
            if _remove(data, cut):
                cuts.append((cut, err["type"] != "extra_forbidden" and str(cut[-1]) not in known_keys()))
        try:
            scenario = Scenario.model_validate(data)
            break
        except ValidationError as again:
            errors = again.errors()
    else:
        return []
    scenario._provenance = prov  # the checks resolve files named relative to the scenario
    try:
        findings = check_scenario(scenario)
    except Exception:  # noqa: BLE001 - a best-effort second look must never hide the first
        return []
    return _kept(findings, cuts)


def _cut_point(err: Any, data: Any) -> KeyPath:
    """The key to cut for one pydantic error: the bad key itself, or (for a missing key, a rule on
    a whole entry, or a bad list item) the nearest key that holds it."""
    path = data_path(err["loc"], data, keep_last=err["type"] == "extra_forbidden")
    while path and not isinstance(path[-1], str):
        path = path[:-1]
    return path


def _remove(data: Any, path: KeyPath) -> bool:
    node = data
    for part in path[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return False
    if isinstance(node, dict) and path[-1] in node:
        del node[path[-1]]
        return True
    return False


def _kept(findings: list[Finding], cuts: list[tuple[KeyPath, bool]]) -> list[Finding]:
    entries = {str(cut[-1]) for cut, whole in cuts if whole}
    kept = []
    for path, message in findings:
        if any(_related(tuple(path), cut) or _names(message, cut) for cut, _ in cuts):
            continue
        named = _NOT_DEFINED.search(message)
        if (named and named.group(1) in entries) or (entries and not named):
            continue
        if not named and _on_a_cut_whole(tuple(path), cuts):
            continue
        kept.append((path, message))
    return kept


def _on_a_cut_whole(path: KeyPath, cuts: list[tuple[KeyPath, bool]]) -> bool:
    """Whether ``path`` is a finding on one of :data:`WHOLES` that lost a part to a cut."""
    return any(path[:len(whole)] == whole and any(cut[:len(part)] == part for cut, _ in cuts for part in parts)
               for whole, parts in WHOLES.items())


def _names(message: str, cut: KeyPath) -> bool:
    """Whether a finding's message names the cut key (``needs 'scenario.population' to be set``,
    after an invalid population was cut), or says that what held it lacks it (``service
    'cyp_inpatient' has no 'beds'``, or ``staff role 'nurse' is not defined in service 'ed'`` after
    its ``staff`` was cut): the cut, not the file, made it."""
    if f"'{'.'.join(str(part) for part in cut)}'" in message:
        return True
    if len(cut) >= 3 and cut[0] == "services":
        name, key = cut[1], cut[2]
        return (f"{name!r} has no {key!r}" in message or
                (key == "staff" and "staff role" in message and f"in service {name!r}" in message))
    return False


def _related(path: KeyPath, cut: KeyPath) -> bool:
    """A finding at a cut key, inside it, or on the entry that holds it (a step that lost its
    'next' would be said to need one), a list item's included (a routing list whose branch lost
    its 'p' would be said to need one in every branch)."""
    if path[:len(cut)] == cut:
        return True
    holder = cut[:-1]
    while holder and not isinstance(holder[-1], str):   # the list that holds the item
        holder = holder[:-1]
    return path in (cut[:-1], holder)
