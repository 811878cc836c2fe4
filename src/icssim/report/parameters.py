"""The parameter table of a run: every input value, its key path and its source (parameters.csv)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from icssim.report.pieces import PARAMETERS_NAME
from icssim.scenario import provenance
from icssim.scenario.schema import Scenario
from icssim.tables import write_csv


# ----------------------------------------------------------------------------- parameters
#: keys whose comment heads a section of named entries (``pathway.steps``, ``services`` ...): a source
#: for none of the values below them
HEADINGS_BELOW = 2


def parameter_rows(scenario: Scenario) -> pd.DataFrame:
    """Every scenario value with its key path, file, line and source comment (from the YAML). A value
    without a comment of its own takes that of the nearest key above it in the same file (as a
    ``handoff: {...}  # source`` covers its mean and sd), never a section heading's (a comment on
    ``pathway.steps``) nor one from another file of an ``extends`` chain."""
    prov = provenance(scenario)
    rows = []
    for path, value in _flatten(prov.raw):
        comment, owner = "", None
        file, line = prov.where(path)
        for cut in range(len(path), HEADINGS_BELOW, -1):
            if path[:cut] in prov.comments and (cut == len(path) or prov.where(path[:cut])[0] == file):
                comment, owner = prov.comments[path[:cut]], path[:cut]
                break
        if not comment:  # a list shown as one value (a routing): its items' comments
            items = [prov.comments[k] for k in prov.comments if len(k) == len(path) + 1 and k[:-1] == path]
            comment = "; ".join(dict.fromkeys(items))
        rows.append({"path": _dotted(path), "value": value, "source": comment,
                     "source_key": _dotted(owner) if owner and owner != path else "",
                     "file": file, "line": line})
    return pd.DataFrame(rows, columns=["path", "value", "source", "source_key", "file", "line"])


def write_parameters(scenario: Scenario, folder: Path) -> Path:
    """Write ``parameters.csv`` (path, value, source, source_key, file, line) into ``folder``."""
    path = folder / PARAMETERS_NAME
    write_csv(parameter_rows(scenario), path)   # as every CSV: text a spreadsheet would run is neutralised
    return path


def _flatten(node: Any, path: tuple = ()) -> list[tuple[tuple, str]]:
    """(key path, value text) pairs; small mappings of plain values stay on one row."""
    if isinstance(node, dict):
        if path and node and len(node) <= 4 and all(_plain(v) for v in node.values()):
            return [(path, value_text(node))]
        out = []
        for k, v in node.items():
            out.extend(_flatten(v, (*path, k)))
        return out
    if isinstance(node, list) and node and not all(_plain(v) for v in node):
        if all(isinstance(v, dict) and all(_plain(x) for x in v.values()) for v in node):
            return [(path, "; ".join(value_text(v) for v in node))]
        out = []
        for i, v in enumerate(node):
            out.extend(_flatten(v, (*path, i)))
        return out
    return [(path, value_text(node))]


def _plain(v: Any) -> bool:
    return not isinstance(v, (dict, list)) or (isinstance(v, list) and all(not isinstance(x, (dict, list)) for x in v))


def value_text(v: Any) -> str:
    if isinstance(v, dict):
        return ", ".join(f"{k}: {value_text(x)}" for k, x in v.items())
    if isinstance(v, list):
        return "[" + ", ".join(value_text(x) for x in v) + "]"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, bool):
        return "true" if v else "false"
    return "" if v is None else str(v)


def _dotted(path: tuple | None) -> str:
    if not path:
        return ""
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


#: Keys whose values are choices about the run or labels, not data that needs a cited source.
_NO_SOURCE_NEEDED = {"name", "description", "label", "seed", "horizon", "warmup", "sample_every", "start_date",
                     "time_unit", "kind", "service", "staff", "entry", "queue", "outcome", "attribute", "role",
                     "emergency_step", "detected_step", "urgent_from", "emergency_at", "accept", "caseload", "bed",
                     "to", "when", "urgency", "measure", "attributes", "until", "deteriorate_while_waiting"}


def needs_source(path: str, value: str) -> bool:
    """Whether a parameter is a quantity taken from data (so should cite a source)."""
    last = path.replace("]", "").split(".")[-1].split("[")[0]
    if last in _NO_SOURCE_NEEDED:
        return False
    return any(ch.isdigit() for ch in str(value))


def stored_parameters(folder: Path, raw: dict | None) -> pd.DataFrame | None:
    """parameters.csv if the run recorded it, else the scenario.json values without sources."""
    from icssim.report.stored import read_table

    stored = read_table(folder / PARAMETERS_NAME, required=("path", "value", "source"), dtype=str,
                        keep_default_na=False)
    if stored is not None:
        return stored
    if raw is None:
        return None
    return pd.DataFrame([{"path": _dotted(p), "value": v, "source": "", "source_key": "", "file": "",
                          "line": ""} for p, v in _flatten(raw)])


def source_counts(params: pd.DataFrame) -> tuple[int, int]:
    """(quantities needing a source, of which with a source)."""
    q = [needs_source(str(r.path), str(r.value)) for r in params.itertuples()]
    has = params["source"].astype(str).str.len() > 0
    return int(sum(q)), int(sum(1 for need, h in zip(q, has) if need and h))
