"""Where the pathway diagram's steps go: rows by breadth-first depth from the entry steps
(discharge steps last), way-points for routes that skip rows, and an order within each row that
keeps crossings few (a Sugiyama-style layout), in data units."""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass

import numpy as np

from icssim.kinds import KINDS
from icssim.pathway_graph import ROUTE_KINDS, WAITING, Edge
from icssim.scenario.schema import Scenario

# ----------------------------------------------------------------------------- layout
def layer_of(s: Scenario, edges: list[Edge]) -> dict[str, int]:
    """Row of each step: breadth-first depth from the entry steps along the usual routing first,
    then along the exceptional routes; discharge steps all in the last row."""
    steps = list(s.pathway.steps)
    discharge = [n for n in steps if KINDS[s.pathway.steps[n].kind].is_exit]
    depth: dict[str, int] = {}
    for c in s.cohorts.values():
        depth.setdefault(c.entry, 0)
    if any(e.src == WAITING for e in edges):
        steps.append(WAITING)
        depth[WAITING] = 0
    for kinds in (("next",), ROUTE_KINDS):
        succ: dict[str, list[str]] = defaultdict(list)
        for e in edges:
            if e.kind in kinds:
                succ[e.src].append(e.dst)
        queue = deque(sorted(depth, key=depth.__getitem__))
        while queue:
            n = queue.popleft()
            for m in succ[n]:
                if m not in depth and m not in discharge:
                    depth[m] = depth[n] + 1
                    queue.append(m)
    for n in steps:  # steps no route reaches (only possible as entries of unused cohorts)
        if n not in depth and n not in discharge:
            depth[n] = max(depth.values(), default=-1) + 1
    last = max(depth.values(), default=-1) + 1
    for n in discharge:
        depth[n] = last
    used = sorted(set(depth.values()))
    return {n: used.index(d) for n, d in depth.items()}


@dataclass
class Layout:
    """Positions of step boxes and of the way-points of long edges (one per row crossed)."""

    rows: list[list[str]]  # node ids per row, left to right; dummies are "~<edge index>~<row>"
    x: dict[str, float]
    y: dict[str, float]
    chains: dict[int, list[str]]  # edge index -> dummy ids from the upper to the lower end


DUMMY_W, DUMMY_GAP = 0.25, 0.25
BOX_W, BOX_H, GAP_X, GAP_Y = 2.5, 1.45, 0.9, 2.2


def layout(s: Scenario, edges: list[Edge], gaps: list[float] | None = None,
           wide: dict[frozenset[str], float] | None = None) -> Layout:
    """Sugiyama-style layout: rows by depth, dummy way-points for edges that skip rows,
    barycentre ordering to reduce crossings, then boxes spaced evenly and centred.

    ``gaps[r]`` is the height of the gap below row ``r`` (default ``GAP_Y``); ``wide`` the least
    distance between the centres of two steps (for a label on an arrow between neighbours)."""
    row = layer_of(s, edges)
    rows: list[list[str]] = [[] for _ in range(max(row.values()) + 1)]
    for n in row:
        rows[row[n]].append(n)
    chains: dict[int, list[str]] = {}
    links: list[tuple[str, str]] = []
    for i, e in enumerate(edges):
        if e.src not in row or e.dst not in row or e.src == e.dst:
            continue
        a, b = (e.src, e.dst) if row[e.src] <= row[e.dst] else (e.dst, e.src)
        chain = []
        for r in range(row[a] + 1, row[b]):
            d = f"~{i}~{r}"
            rows[r].append(d)
            chain.append(d)
        chains[i] = chain
        path = [a, *chain, b]
        links.extend(zip(path, path[1:]))
    up: dict[str, list[str]] = defaultdict(list)
    down: dict[str, list[str]] = defaultdict(list)
    for a, b in links:
        if a != b:
            down[a].append(b)
            up[b].append(a)
    rank = {n: float(i) for r in rows for i, n in enumerate(r)}

    def sweep(order: range, nbrs: dict[str, list[str]]) -> None:
        for r in order:
            def key(n: str) -> float:
                near = [rank[m] for m in nbrs[n]]
                return float(np.mean(near)) if near else rank[n]

            rows[r].sort(key=key)
            rank.update({n: float(i) for i, n in enumerate(rows[r])})

    for _ in range(6):
        sweep(range(1, len(rows)), up)
        sweep(range(len(rows) - 2, -1, -1), down)
    wide = wide or {}
    x: dict[str, float] = {}
    y: dict[str, float] = {}
    top = 0.0
    for r_i, names in enumerate(rows):
        left = 0.0
        for i, n in enumerate(names):
            if i:
                left += _spacing(names[i - 1], n, wide)
            x[n] = left
            y[n] = top
        for n in names:
            x[n] -= left / 2
        top -= BOX_H + (gaps[r_i] if gaps is not None and r_i < len(gaps) else GAP_Y)
    _straighten(rows, x, up, down, wide)
    return Layout(rows, x, y, chains)


def _spacing(a: str, b: str, wide: dict[frozenset[str], float] | None = None) -> float:
    """Minimum distance between the centres of two neighbours in a row (way-points pack closer)."""
    wa = DUMMY_W if a.startswith("~") else BOX_W
    wb = DUMMY_W if b.startswith("~") else BOX_W
    gap = GAP_X if not (a.startswith("~") or b.startswith("~")) else DUMMY_GAP
    return max((wa + wb) / 2 + gap, (wide or {}).get(frozenset((a, b)), 0.0))


def _straighten(rows: list[list[str]], x: dict[str, float], up: dict[str, list[str]],
                down: dict[str, list[str]], wide: dict[frozenset[str], float]) -> None:
    """Pull each item towards the mean x of its neighbours, keeping order and spacing (a few passes)."""
    for _ in range(8):
        for r in rows:
            want = []
            for n in r:
                near = [x[m] for m in up[n] + down[n]]
                want.append(float(np.mean(near)) if near else x[n])
            pos = list(want)
            for i in range(1, len(r)):  # push right to keep the minimum gap
                pos[i] = max(pos[i], pos[i - 1] + _spacing(r[i - 1], r[i], wide))
            shift = float(np.mean(want) - np.mean(pos))  # keep the row centred on its wishes
            for n, p in zip(r, pos):
                x[n] = 0.5 * x[n] + 0.5 * (p + shift)
