"""The pathway as a graph: every route a patient can take, and the moves they made.

:func:`pathway_edges` reads every route from a scenario (``next``, ``on_reject``,
``dropout.then``, ``missed.then``, ``age_limit.then`` and deterioration to the emergency
step); :func:`observed_flows` counts the moves patients actually made from a run's visits
table (consecutive visits of the same patient, plus the final move into a discharge step).
Its layout and drawing are :mod:`icssim.diagram`'s; its words, :mod:`icssim.report_text`'s.
"""

from __future__ import annotations

import textwrap
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from icssim.distributions import describe_dist
from icssim.kinds import KINDS
from icssim.scenario.schema import Branch, Scenario

if TYPE_CHECKING:   # (pandas is loaded where flows are counted: checking a scenario's routes needs none)
    import pandas as pd

#: Every kind of route, the usual routing first (the diagram draws a style for each).
ROUTE_KINDS = ("next", "on_reject", "dropout", "missed", "age_limit", "deterioration")
#: Visit outcome -> the route it leaves by (``missed`` = rebooked at the same step: not a move).
_OUTCOME_ROUTE = {"served": "next", "rejected": "on_reject", "dropped_out": "dropout",
                  "discharged_missed": "missed", "aged_out": "age_limit", "emergency": "deterioration",
                  "escalated": "deterioration"}


@dataclass
class Edge:
    """One arrow: from step ``src`` to step ``dst`` by a kind of route, with its rule as text."""

    src: str
    dst: str
    kind: str
    rules: list[str] = field(default_factory=list)
    flow: float | None = None  # observed moves per year (after a run)
    share: float | None = None  # share of the moves out of src (after a run)
    sources: dict[str, float] = field(default_factory=dict)  # merged edges: flow per original source

    @property
    def label(self) -> str:
        parts = []
        rule = "; ".join(dict.fromkeys(r for r in self.rules if r))
        if rule:
            parts.extend(textwrap.wrap(rule, 26, break_long_words=False) or [rule])
        if self.flow is not None:
            flow = f"{self.flow:,.0f}/yr" if self.flow >= 10 else f"{self.flow:.1f}/yr"
            if self.share is not None:
                flow += f" ({self.share:.0%})" if self.share >= 0.005 or self.share == 0 else " (<1%)"
            parts.append(flow)
        return "\n".join(parts)


def _pct(p: float) -> str:
    return f"{p:.0%}" if abs(p * 100 - round(p * 100)) < 1e-9 else f"{p:.1%}"


def flatten(branches: list[Branch], prefix: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(target, rule text) for every leaf of a routing list, nested lists included."""
    out = []
    conditional = any(b.when is not None for b in branches)
    for b in branches:
        words = list(prefix)
        if b.when is not None:
            words.append(f"if {b.when}")
        elif conditional:
            words.append("otherwise")
        if b.p is not None and len(branches) > 1:
            words.append(_pct(b.p))
        if b.after is not None:
            words.append(f"after {_describe_after(b.after)}")
        if b.to is not None:
            out.append((b.to, ", ".join(words)))
        else:
            out.extend(flatten(b.next or [], tuple(words)))
    return out


def _describe_after(dist) -> str:
    return describe_dist(dist)


def routings(step) -> list[tuple[str, list[Branch]]]:
    """The routing lists of a step with the kind of route each one is."""
    out = []
    if step.next is not None:
        out.append(("next", step.next))
    if step.on_reject is not None:
        out.append(("on_reject", step.on_reject))
    for key in ("dropout", "missed", "age_limit"):
        sub = getattr(step, key)
        if sub is not None and getattr(sub, "then", None) is not None:
            out.append((key, sub.then))
    return out


def deteriorates(step) -> bool:
    """Whether patients waiting for ``step`` may deteriorate (as the engine decides)."""
    if step.deteriorate_while_waiting is not None:
        return step.deteriorate_while_waiting
    return KINDS[step.kind].deteriorates


def pathway_edges(s: Scenario) -> list[Edge]:
    """Every route between steps that the scenario allows, one edge per (from, to, kind)."""
    edges: dict[tuple[str, str, str], Edge] = {}

    def add(src: str, dst: str, kind: str, rule: str) -> None:
        edge = edges.setdefault((src, dst, kind), Edge(src, dst, kind))
        edge.rules.append(rule)

    for name, step in s.pathway.steps.items():
        for kind, branches in routings(step):
            for target, rule in flatten(branches):
                add(name, target, kind, rule)
    d = s.deterioration
    if d is not None:
        for name, step in s.pathway.steps.items():
            if not deteriorates(step):
                continue
            if d.detection_probability < 1:
                add(name, d.emergency_step, "deterioration", f"{d.attribute} reaches {d.emergency_at}")
            if d.detected_step and d.detection_probability > 0:
                add(name, d.detected_step, "deterioration",
                    f"{d.attribute} reaches {d.emergency_at}, detected ({_pct(d.detection_probability)})")
    return list(edges.values())


def observed_flows(s: Scenario, visits: pd.DataFrame, patients: pd.DataFrame | None,
                   start_days: float = 0.0) -> pd.DataFrame:
    """Moves between steps made by patients in a run, counted from the visits table.

    A move is two consecutive visits of the same patient (in one replication) at
    different steps; the route it took is read from the first visit's outcome. The
    last visit of a patient who left through a discharge step counts as a move into
    that step (discharge steps record no visit). Only moves that happen at or after
    ``start_days`` (the end of the warm-up) are counted. Returns columns ``src``,
    ``dst``, ``kind`` and ``count`` (summed over replications).
    """
    import pandas as pd

    n = len(visits)
    if n == 0:
        return pd.DataFrame(columns=["src", "dst", "kind", "count"])
    rep = visits["replication"].to_numpy() if "replication" in visits else np.zeros(n, dtype=np.int64)
    pid = visits["pid"].to_numpy()
    step = pd.Categorical(visits["step"])
    outcome = pd.Categorical(visits["outcome"])
    order = np.lexsort((np.arange(n), pid, rep))  # by replication, patient, then record order
    rep, pid, t_end = rep[order], pid[order], visits["t_end"].to_numpy()[order]
    sc, oc = step.codes[order], outcome.codes[order]
    steps, outs = [str(c) for c in step.categories], [str(c) for c in outcome.categories]
    same = np.zeros(n, dtype=bool)
    same[:-1] = (rep[1:] == rep[:-1]) & (pid[1:] == pid[:-1])
    counted = t_end >= start_days - 1e-9
    move = same.copy()
    move[:-1] &= sc[1:] != sc[:-1]
    move &= counted
    idx = np.flatnonzero(move)
    counts: dict[tuple[str, str, str], int] = defaultdict(int)
    table = pd.DataFrame({"src": sc[idx], "dst": sc[idx + 1], "out": oc[idx]}).value_counts()
    for (a, b, o), c in table.items():
        counts[(steps[a], steps[b], _OUTCOME_ROUTE.get(outs[o], "next"))] += int(c)
    if patients is not None and len(patients):
        last = np.flatnonzero(~same & counted)
        p_rep = patients["replication"].to_numpy() if "replication" in patients else np.zeros(len(patients), int)
        p_key = p_rep.astype(np.int64) * (1 << 32) + patients["pid"].to_numpy().astype(np.int64)
        finals = pd.Categorical(patients["outcome"])
        lookup = pd.Series(finals.codes, index=p_key)
        lookup = lookup[~lookup.index.duplicated()]
        keys = rep[last].astype(np.int64) * (1 << 32) + pid[last].astype(np.int64)
        final = lookup.reindex(keys).fillna(-1).to_numpy().astype(int)
        by_outcome = defaultdict(list)
        for name, st in s.pathway.steps.items():
            if KINDS[st.kind].is_exit:
                by_outcome[st.outcome or name].append(name)
        allowed = {(e.src, e.dst) for e in pathway_edges(s)}
        ends = pd.DataFrame({"src": sc[last], "final": final, "out": oc[last]}).value_counts()
        for (a, f, o), c in ends.items():
            if f < 0:
                continue
            targets = by_outcome.get(str(finals.categories[f]), [])
            if not targets:
                continue
            src = steps[a]
            direct = [t for t in targets if (src, t) in allowed]
            counts[(src, (direct or targets)[0], _OUTCOME_ROUTE.get(outs[o], "next"))] += int(c)
    rows = [{"src": a, "dst": b, "kind": k, "count": c} for (a, b, k), c in sorted(counts.items())]
    return pd.DataFrame(rows, columns=["src", "dst", "kind", "count"])


def attach_flows(edges: list[Edge], flows: pd.DataFrame, per: float) -> list[Edge]:
    """Set each edge's flow (count / ``per``, e.g. replications x years) and share of its source's moves.

    Observed moves that the routing rules do not explain are added as extra edges.
    """
    import pandas as pd

    by_key = {(e.src, e.dst, e.kind): e for e in edges}
    for e in edges:
        e.flow = 0.0
    out_total = flows.groupby("src")["count"].sum() if len(flows) else pd.Series(dtype=float)
    for row in flows.itertuples():
        e = by_key.get((row.src, row.dst, row.kind))
        if e is None:
            e = by_key.get((row.src, row.dst, "next"))
        if e is None:
            e = by_key[(row.src, row.dst, row.kind)] = Edge(row.src, row.dst, row.kind, ["observed"], 0.0)
            edges.append(e)
        e.flow += row.count / per
    for e in edges:
        total = out_total.get(e.src, 0)
        e.share = (e.flow * per / total) if total else None
    return edges


#: The pseudo-step drawn for deterioration while waiting (which can happen at any step with a wait).
WAITING = "(deteriorates while waiting)"


def merge_deterioration(edges: list[Edge]) -> list[Edge]:
    """Replace the deterioration edges of every waiting step by one edge per destination, drawn from
    a single 'deteriorates while waiting' box; each merged edge keeps its flow per original step."""
    out: list[Edge] = []
    merged: dict[str, Edge] = {}
    for e in edges:
        if e.kind != "deterioration":
            out.append(e)
            continue
        m = merged.get(e.dst)
        if m is None:
            m = merged[e.dst] = Edge(WAITING, e.dst, "deterioration", [], None if e.flow is None else 0.0)
            out.append(m)
        m.rules.extend(r for r in e.rules if r not in m.rules)
        if e.flow is not None:
            m.flow = (m.flow or 0.0) + e.flow
            m.sources[e.src] = m.sources.get(e.src, 0.0) + e.flow
    total = sum(m.flow or 0.0 for m in merged.values())
    for m in merged.values():
        m.share = (m.flow / total) if total and m.flow is not None else None
    return out
