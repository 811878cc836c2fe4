"""A scenario's editable values as the app's forms show them: each value's place, its cited
source and where it was read (:class:`Field`), and how a form names it in the file's own words
(a weight by its level, a health transition by its states, a routing branch by its step, a
standard by its label as the reports write it).

Apart from :mod:`icssim.app.workspace` (the working directory's files, reading a form's values
and saving an edit) because naming a value is a concern of its own: the scenario page, the
what-if's list of numbers and its messages all read these names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from icssim.app.scenario_file import value_text
from icssim.units import key_unit


@dataclass
class Field:
    """One editable value of a scenario: where it is, what it holds and its cited source."""

    path: tuple[Any, ...]
    value: Any
    comment: str
    where: str
    #: for a routing target (a step a branch goes to): the steps it may name; empty for a number
    choices: tuple[str, ...] = ()
    #: what each list item on the path is (by the item's position in ``path``): a weight's level, a
    #: transition's states, a branch's step, so that the label says more than "#2"; and a standard by
    #: its label in the scenario's words, not its id
    names: dict[int, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return ".".join(str(p) for p in self.path)

    @property
    def text(self) -> str:
        return value_text(self.value)

    @property
    def unit(self) -> str:
        """The unit of a plain number (``£ an hour``, ``WTE``); empty for a span, which writes its own."""
        return key_unit(self.path) if isinstance(self.value, (int, float)) and not self.choices else ""

    @property
    def group(self) -> str:
        """The form section it is shown in: e.g. ``services / cyp_ed`` or ``pathway / steps / spa``."""
        depth = 3 if self.path[:2] == ("pathway", "steps") else 2
        return " / ".join(str(p) for p in self.path[:min(depth, len(self.path) - 1)]) or str(self.path[0])

    @property
    def label(self) -> str:
        depth = 3 if self.path[:2] == ("pathway", "steps") else 2
        rest = self.path[min(depth, len(self.path) - 1):]
        if self.choices:   # where a branch goes: "next › #1 › goes to"
            rest = (*(rest[:-1] if rest[-1] == "to" else rest), "goes to")
        start = len(self.path) - len(rest)
        # a branch's own "goes to" shows its step in the choice itself, not in the label
        names = {k: v for k, v in self.names.items() if not (self.choices and k == len(self.path) - 2)}
        return " › ".join((names.get(start + i) or p.replace("_", " ")) if isinstance(p, str)
                          else _item(p, names.get(start + i)) for i, p in enumerate(rest))


def standard_words(scenario) -> dict[str, str]:
    """Each standard's id and its name in the scenario's words, as the reports write it
    (:func:`icssim.report.labels.kpi_label`: "Mental health attendances: 4 hours from arrival to
    leaving the ED"), so that the form names a standard as the results do, not by its id."""
    from icssim.report.labels import kpi_label

    standards = getattr(getattr(scenario, "scenario", None), "standards", None) or {}
    return {str(k): kpi_label(f"within_{k}", scenario, with_target=False) for k in standards}


def _item(index: int, name: str | None) -> str:
    return f"#{index + 1} ({name})" if name else f"#{index + 1}"


def item_name(items: list[Any], index: int, key: Any, parent: Any) -> str | None:
    """What item ``index`` of the list ``items`` (under ``key`` of the mapping ``parent``) is, in the
    file's own words: a weight's level (``weights`` beside ``values``), a health transition's states
    (``ill_moderate → remitted_early``), a routing branch's step (``to``)."""
    item = items[index]
    if key == "weights" and isinstance(parent, dict) and isinstance(parent.get("values"), list):
        values = parent["values"]
        return str(values[index]) if index < len(values) else None
    if isinstance(item, dict) and "from" in item and "to" in item:
        return _transition_words(item)
    if isinstance(item, dict) and isinstance(item.get("to"), str):
        return f"to {item['to']}"
    return None


def _transition_words(item: dict) -> str:
    """``ill_moderate or ill_severe → remitted_early, adults, diagnosis anorexia``: a health
    transition's states and whom it is for (its ``cohorts`` and ``when``)."""
    def either(x: Any) -> str:
        return " or ".join(map(str, x)) if isinstance(x, list) else str(x)

    who = []
    if item.get("cohorts"):
        who.append(either(item["cohorts"]))
    if isinstance(item.get("when"), dict):
        who += [f"{k} {either(v)}" for k, v in item["when"].items()]
    return f"{either(item['from'])} → {either(item['to'])}" + (", " + ", ".join(who) if who else "")
