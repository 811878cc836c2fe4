"""The pathway diagram's words: routing conditions and rules in the scenario's own words (``if age
under 18 and urgency is urgent``, a cohort's label, never ``cohort == mental_health``), and text
measured as matplotlib draws it, to fit boxes and labels."""

from __future__ import annotations

import dataclasses
import re
from functools import lru_cache

from icssim.pathway_graph import Edge
from icssim.report.labels import cohort_label, id_words
from icssim.scenario.conditions import parse_condition
from icssim.scenario.schema import Scenario

# ----------------------------------------------------------------------------- words
#: A numeric comparison in words (``{v}`` is the value as written).
_NUMERIC = {"<": "under {v}", "<=": "{v} or under", ">": "over {v}", ">=": "{v} or over",
            "==": "is {v}", "!=": "is not {v}"}
_COMPARE = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
            ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b}


def _lower_first(label: str) -> str:
    """``Mental health attendances`` → ``mental health attendances`` (``CYP ...``, ``A&E ...`` kept)."""
    first = label.split(" ", 1)[0]
    return label[0].lower() + label[1:] if first[1:2].islower() else label


def _levels(levels: list[str], op: str, value: str) -> list[str] | None:
    """The levels of an ordered categorical attribute that ``op value`` keeps (None: not a level)."""
    if value not in levels:
        return None
    at = levels.index(value)
    return [lv for i, lv in enumerate(levels) if _COMPARE[op](i, at)]


def condition_words(s: Scenario, text: str) -> str:
    """A routing condition in the scenario's words: ``age < 18 and urgency == urgent`` → ``age under
    18 and urgency is urgent``; ``cohort == mental_health`` → the cohort's label; ``risk >= amber`` →
    ``risk is amber or red``. Text that is not a condition is only rid of its underscores."""
    try:
        clauses = parse_condition(text)
    except ValueError:
        return id_words(text)
    parts: list[str] = []
    previous = ""
    for c in clauses:
        if c.attribute == "cohort":
            kept = _levels(list(s.cohorts), c.op, c.value)
            if kept is None or not kept:
                parts.append(("not " if c.op == "!=" else "") + id_words(c.value))
            elif len(kept) <= 2 or c.op in ("==", "<", "<=", ">", ">="):
                parts.append(" or ".join(_lower_first(cohort_label(s, k)) for k in kept))
            else:
                parts.append("not " + _lower_first(cohort_label(s, c.value)))
            previous = ""
            continue
        name = "" if c.attribute == previous else id_words(c.attribute) + " "
        previous = c.attribute
        levels = s.attributes.get(c.attribute)
        kept = _levels(levels, c.op, c.value) if levels is not None else None
        if kept is not None:
            parts.append(f"{name}is " + (" or ".join(id_words(k) for k in kept) if kept else "none of its levels"))
        else:
            parts.append(name + _NUMERIC[c.op].format(v=id_words(c.value)))
    return " and ".join(parts)


def rule_words(s: Scenario, e: Edge, rule: str) -> str:
    """One rule of an edge (as :func:`icssim.pathway_graph.flatten` writes it) with its condition and
    the deterioration attribute in the scenario's words."""
    rule = re.sub(r"\bif ([^,]+)", lambda m: "if " + condition_words(s, m.group(1)), rule)
    d = s.deterioration
    if d is not None and e.kind == "deterioration":
        rule = rule.replace(f"{d.attribute} reaches {d.emergency_at}",
                            f"{id_words(d.attribute)} reaches {id_words(d.emergency_at)}")
    return rule


def edge_text(s: Scenario, e: Edge) -> str:
    """The label of an edge: its rules in words, then its observed flow (as :attr:`Edge.label`)."""
    rules = [rule_words(s, e, r) for r in e.rules]
    if e.src == e.dst:  # a return to the same step is no move between steps: no flow was counted
        return dataclasses.replace(e, rules=rules, flow=None, share=None).label
    return dataclasses.replace(e, rules=rules).label


# ----------------------------------------------------------------------------- measuring text
@lru_cache(maxsize=1)
def _measurer():  # type: ignore[no-untyped-def]
    """A figure at 72 dpi (pixels are points) that is never shown, to measure text with."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(dpi=72)
    canvas = FigureCanvasAgg(fig)
    return fig, canvas.get_renderer()


@lru_cache(maxsize=8192)
def text_size(text: str, size: float, bold: bool = False, linespacing: float = 1.15) -> tuple[float, float]:
    """Width and height in points of ``text`` as matplotlib draws it (several lines included)."""
    fig, renderer = _measurer()
    t = fig.text(0, 0, text, fontsize=size, fontweight="bold" if bold else "normal", linespacing=linespacing)
    box = t.get_window_extent(renderer)
    t.remove()
    return float(box.width), float(box.height)


def fit_text(text: str, width: float, size: float, bold: bool = False) -> str:
    """``text`` shortened at a word (with "…") to be at most ``width`` points wide."""
    if text_size(text, size, bold)[0] <= width:
        return text
    words = text.split()
    while len(words) > 1:
        words.pop()
        short = " ".join(words).rstrip(",;:· ") + " …"
        if text_size(short, size, bold)[0] <= width:
            return short
    word = words[0] if words else ""
    while word and text_size(word + "…", size, bold)[0] > width:  # one long word: cut it
        word = word[:-1]
    return word + "…"


def wrap_text(text: str, width: float, size: float, bold: bool = False, most: int = 3) -> list[str]:
    """``text`` in at most ``most`` lines of at most ``width`` points (the last shortened with "…")."""
    lines: list[str] = []
    for word in text.split():
        if lines and text_size(lines[-1] + " " + word, size, bold)[0] <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    if len(lines) > most:
        lines = lines[:most - 1] + [fit_text(" ".join(lines[most - 1:]), width, size, bold)]
    return [fit_text(line, width, size, bold) for line in lines]
