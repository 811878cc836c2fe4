"""A comparison's "What differs between the scenarios": the inputs that differ, each part (step,
service, cohort) named by its label and each setting in words, with the key path kept for those who
edit the files; parts only some scenarios have are listed apart."""

from __future__ import annotations

import pandas as pd

from icssim.report.parameters import stored_parameters
from icssim.report.pieces import RunData, table_html

def _entity(path: str) -> str | None:
    """The named thing a parameter belongs to: ``pathway.steps.assess``, ``services.camhs``, ``cohorts.cyp``."""
    parts = path.split(".")
    if parts[0] == "pathway" and len(parts) > 2 and parts[1] == "steps":
        return ".".join(parts[:3]).split("[")[0]
    if parts[0] in ("services", "cohorts") and len(parts) > 1:
        return ".".join(parts[:2]).split("[")[0]
    return None


#: What each kind of part is called in the table of what differs.
_PART_KINDS = {"pathway": "step", "services": "service", "cohorts": "cohort"}


def _part_label(entity: str, tables: dict[str, pd.DataFrame], runs: list[tuple[str, RunData]]) -> str:
    """A part's label in people's words: the scenario file's ``label`` (as stored with the
    parameters, else read from the scenario), else its id in words (``adult_day_care`` →
    "Adult day care")."""
    from icssim.report.labels import id_words

    label = ""
    for n, table in tables.items():
        key = f"{entity}.label"
        if key in table.index and str(table.loc[key, "value"]).strip():
            label = str(table.loc[key, "value"])
            break
    name = entity.rsplit(".", 1)[-1]
    if not label:
        for _, r in runs:
            s = r.scenario
            if s is None:
                continue
            part = (s.pathway.steps.get(name) if entity.startswith("pathway.") else
                    s.services.get(name) if entity.startswith("services.") else s.cohorts.get(name))
            if part is not None and getattr(part, "label", None):
                label = str(part.label)
                break
    return label or id_words(name, capital=True)


def _setting_words(path: str, labels: dict[str, str]) -> str:
    """A parameter's key path as a reader reads it: the part's label, then the rest of the path
    (``pathway.steps.gp.next[0].p`` → "Asks their GP (step): next[0].p"); a path outside any
    part (``scenario.horizon``) in words."""
    from icssim.report.labels import id_words

    entity = _entity(path)
    if entity is None:
        return id_words(path.replace(".", " "), capital=True)
    rest = path[len(entity):].lstrip(".")
    return f"{labels[entity]}: {_path_words(rest)}" if rest else labels[entity]


def _path_words(rest: str) -> str:
    """The rest of a key path in words: ``next[0].p`` → "route 1, probability",
    ``staff.therapist.wte`` → "staff, therapist, wte"."""
    import re

    words = re.sub(r"next\[(\d+)\]", lambda m: f"route {int(m.group(1)) + 1}", rest)
    words = re.sub(r"\[(\d+)\]", lambda m: f" {int(m.group(1)) + 1}", words)
    parts = [{"p": "probability", "next": "routes", "wte": "WTE"}.get(w, w.replace("_", " "))
             for w in words.split(".")]
    return ", ".join(parts)


def input_diff_html(runs: list[tuple[str, RunData]]) -> str:
    """The inputs that differ between scenarios: steps, services and cohorts that only some scenarios
    have, then every value that differs, with its source; each part named by its label, its key
    path in the scenario file beside it."""
    tables = {}
    for name, r in runs:
        p = stored_parameters(r.folder, r.raw)
        if p is not None:
            tables[name] = p.drop_duplicates("path").set_index("path")
    if len(tables) < 2:
        return "<p>Only one scenario's inputs were stored.</p>"
    entities = {n: {e for e in map(_entity, t.index) if e} for n, t in tables.items()}
    everywhere = set.intersection(*entities.values())
    labels = {e: _part_label(e, tables, runs) for e in set().union(*entities.values())}
    only = []
    for e in dict.fromkeys(e for n in tables for e in sorted(entities[n])):
        if e in everywhere:
            continue
        having = [n for n in tables if e in entities[n]]
        kind = _PART_KINDS.get(e.split(".")[0], "part")
        only.append({"Part": f"{kind.capitalize()}: {labels[e]}", "Only in": ", ".join(having),
                     "Key in the scenario file": e})
    paths = list(dict.fromkeys(p for t in tables.values() for p in t.index))
    rows = []
    for path in paths:
        if path == "scenario.name" or (_entity(path) and _entity(path) not in everywhere):
            continue
        values = {n: (str(t.loc[path, "value"]) if path in t.index else "(not set)") for n, t in tables.items()}
        if len(set(values.values())) <= 1:
            continue
        source = ""
        for n, t in reversed(list(tables.items())):
            if path in t.index and str(t.loc[path, "source"]):
                source = str(t.loc[path, "source"])
                break
        rows.append({"Setting": _setting_words(path, labels), **values, "Source": source,
                     "Key in the scenario file": path})
    if not rows and not only:
        return "<p>The scenarios have identical inputs apart from their names.</p>"
    out = ""
    if only:
        out += (f"<h3>Parts that only some scenarios have ({len(only)})</h3><p class=note>Their values are listed "
                f"in each scenario's own report.</p>"
                + table_html(pd.DataFrame(only), "params", code=("Key in the scenario file",)))
    if rows:
        out += (f"<h3>Values that differ ({len(rows)})</h3><p class=note>All other values of the parts the "
                f"scenarios share are the same.</p>"
                + table_html(pd.DataFrame(rows), "params", code=("Key in the scenario file",)))
    return out
