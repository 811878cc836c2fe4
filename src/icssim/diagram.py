"""The pathway as a diagram: steps as boxes, routing as labelled arrows, with observed flows.

The graph itself (routes and observed moves) is :mod:`icssim.pathway_graph`'s; here
:func:`draw_pathway` lays the steps out in layers (breadth-first depth from the entry steps,
discharge steps last) and draws them with matplotlib in the house style of :mod:`icssim.plots`.
"""

from __future__ import annotations

import math
import textwrap
from collections import defaultdict, deque
from dataclasses import dataclass

import matplotlib
from matplotlib.lines import Line2D
from matplotlib.path import Path as MPath

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

from icssim.kinds import KINDS, Emergency  # noqa: E402
from icssim.pathway_graph import WAITING, Edge  # noqa: E402
from icssim.plots import PALETTE  # noqa: E402
from icssim.report.labels import id_words, service_label  # noqa: E402
from icssim.scenario.schema import Scenario  # noqa: E402

#: How each kind of route is drawn: colour, line style and legend text.
EDGE_STYLES: dict[str, tuple[str, str, str]] = {
    "next": ("#333333", "-", "routing after the step"),
    "on_reject": (PALETTE[3], "--", "referral rejected"),
    "dropout": ("#888888", ":", "dropped out of the queue"),
    "missed": ("#888888", (0, (1, 2)), "discharged after missed appointments"),
    "age_limit": (PALETTE[4], "-.", "reached the age limit"),
    "deterioration": (PALETTE[3], (0, (5, 2, 1, 2)), "deteriorated while waiting"),
}

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
    for kinds in (("next",), tuple(EDGE_STYLES)):
        succ: dict[str, list[str]] = defaultdict(list)
        for e in edges:
            if e.kind in kinds:
                succ[e.src].append(e.dst)
        queue = deque(sorted(depth, key=depth.get))
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


def layout(s: Scenario, edges: list[Edge]) -> Layout:
    """Sugiyama-style layout: rows by depth, dummy way-points for edges that skip rows,
    barycentre ordering to reduce crossings, then boxes spaced evenly and centred."""
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
    x: dict[str, float] = {}
    y: dict[str, float] = {}
    for r_i, r in enumerate(rows):
        left = 0.0
        for i, n in enumerate(r):
            if i:
                left += _spacing(r[i - 1], n)
            x[n] = left
            y[n] = -r_i * (BOX_H + GAP_Y)
        for n in r:
            x[n] -= left / 2
    _straighten(rows, x, up, down)
    return Layout(rows, x, y, chains)


def _spacing(a: str, b: str) -> float:
    """Minimum distance between the centres of two neighbours in a row (way-points pack closer)."""
    wa = DUMMY_W if a.startswith("~") else BOX_W
    wb = DUMMY_W if b.startswith("~") else BOX_W
    gap = GAP_X if not (a.startswith("~") or b.startswith("~")) else DUMMY_GAP
    return (wa + wb) / 2 + gap


def _straighten(rows: list[list[str]], x: dict[str, float], up, down) -> None:
    """Pull each item towards the mean x of its neighbours, keeping order and spacing (a few passes)."""
    for _ in range(8):
        for r in rows:
            want = []
            for n in r:
                near = [x[m] for m in up[n] + down[n]]
                want.append(float(np.mean(near)) if near else x[n])
            pos = list(want)
            for i in range(1, len(r)):  # push right to keep the minimum gap
                pos[i] = max(pos[i], pos[i - 1] + _spacing(r[i - 1], r[i]))
            shift = float(np.mean(want) - np.mean(pos))  # keep the row centred on its wishes
            for n, p in zip(r, pos):
                x[n] = 0.5 * x[n] + 0.5 * (p + shift)


# ----------------------------------------------------------------------------- drawing
BOX_W, BOX_H, GAP_X, GAP_Y = 2.5, 1.45, 0.9, 2.2


def draw_pathway(s: Scenario, edges: list[Edge], title: str = "", visits_per_year: dict | None = None
                 ) -> plt.Figure:
    """Draw the pathway: boxes per step, curved arrows per route, labels with rules and flows."""
    lay = layout(s, edges)
    xs = [lay.x[n] for n in lay.x]
    x_lo, x_hi = min(xs) - BOX_W / 2 - 0.3, max(xs) + BOX_W / 2 + 0.3
    y_lo = min(lay.y.values()) - BOX_H / 2 - 0.3
    y_hi = BOX_H / 2 + 0.3
    scale = 0.62  # inches per data unit
    fig = plt.figure(figsize=((x_hi - x_lo) * scale, (y_hi - y_lo) * scale + 0.9))
    ax = fig.add_axes([0, 0.9 / ((y_hi - y_lo) * scale + 0.9), 1, (y_hi - y_lo) * scale /
                       ((y_hi - y_lo) * scale + 0.9)])
    ax.set_axis_off()
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)
    pt = 1 / (72 * scale)  # data units per typographic point
    obstacles: list[tuple[float, float, float, float]] = []
    _draw_boxes(ax, s, lay, edges, visits_per_year, obstacles)
    flows = [e.flow for e in edges if e.flow]
    top = max(flows) if flows else 0.0
    kinds_used, labels = _draw_edges(ax, lay, edges, top)
    _draw_labels(ax, labels, obstacles, pt)
    _legend(fig, kinds_used, top)
    if title:
        ax.set_title(title, fontsize=11, loc="left")
    return fig


def _draw_boxes(ax: plt.Axes, s: Scenario, lay: Layout, edges: list[Edge], visits_per_year: dict | None,
                obstacles: list[tuple[float, float, float, float]]) -> None:
    """A box per step (and the deterioration pseudo-step), each added to ``obstacles``."""
    for n in (m for r in lay.rows for m in r if not m.startswith("~")):
        x, y = lay.x[n], lay.y[n]
        name, sub, fill, note = _box_text(s, n, edges, visits_per_year)
        ax.add_patch(FancyBboxPatch((x - BOX_W / 2, y - BOX_H / 2), BOX_W, BOX_H,
                                    boxstyle="round,pad=0.02,rounding_size=0.12",
                                    facecolor=fill, edgecolor="#555555",
                                    linewidth=1.0, zorder=3, linestyle="--" if n == WAITING else "-"))
        obstacles.append((x - BOX_W / 2, x + BOX_W / 2, y - BOX_H / 2, y + BOX_H / 2))
        wrapped = textwrap.wrap(name, 22) or [n]
        lines = wrapped[:3]
        if len(wrapped) > 3:
            lines[2] = textwrap.shorten(lines[2] + " " + " ".join(wrapped[3:]), 22, placeholder=" …")
        top = y + (0.24 * len(lines) + (0.54 if note else 0.27)) / 2 - 0.12  # the text centred in the box
        for line in lines:
            ax.text(x, top, line, ha="center", va="center", fontsize=9, fontweight="bold", zorder=4)
            top -= 0.24
        ax.text(x, top - 0.02, textwrap.shorten(sub, 32, placeholder="…"), ha="center", va="center",
                fontsize=8, color="#333333", zorder=4)
        if note:
            ax.text(x, top - 0.28, textwrap.shorten(note, 34, placeholder="…"), ha="center", va="center",
                    fontsize=8, color=PALETTE[0], zorder=4)


def _ports(lay: Layout, edges: list[Edge], row: dict[str, int]
           ) -> tuple[dict[int, tuple[str, str]], dict[tuple[str, int], float]]:
    """The two ends of each drawn edge (upper row first), and where each meets its boxes: the ends
    spread along the bottom / top of each box, ordered by the other end's x."""
    bottom: dict[str, list[tuple[float, int]]] = defaultdict(list)
    topp: dict[str, list[tuple[float, int]]] = defaultdict(list)
    ends: dict[int, tuple[str, str]] = {}
    for i, e in enumerate(edges):
        if i not in lay.chains:
            continue
        a, b = (e.src, e.dst) if row[e.src] <= row[e.dst] else (e.dst, e.src)
        ends[i] = (a, b)
        if row[a] == row[b]:
            continue
        chain = lay.chains[i]
        first, last = (chain[0] if chain else b), (chain[-1] if chain else a)
        bottom[a].append((lay.x[first], i))
        topp[b].append((lay.x[last], i))
    port: dict[tuple[str, int], float] = {}
    for side in (bottom, topp):
        for n, items in side.items():
            items.sort()
            k = len(items)
            for j, (_, i) in enumerate(items):
                off = 0.0 if k == 1 else (j / (k - 1) - 0.5) * min(BOX_W * 0.8, 0.7 * (k - 1))
                port[(n, i)] = lay.x[n] + off
    return ends, port


def _draw_edges(ax: plt.Axes, lay: Layout, edges: list[Edge], top: float
                ) -> tuple[list[str], list[tuple[Edge, list, str, int]]]:
    """An arrow per route, its width growing with the flow; returns the edge kinds drawn and the
    labels to place."""
    row = {n: r_i for r_i, r in enumerate(lay.rows) for n in r}
    ends, port = _ports(lay, edges, row)
    kinds_used: list[str] = []
    labels = []
    for i, e in enumerate(edges):
        if i not in ends:
            continue
        a, b = ends[i]
        colour, style, _ = EDGE_STYLES.get(e.kind, ("#333333", "-", e.kind))
        if e.kind not in kinds_used:
            kinds_used.append(e.kind)
        lw = 1.2 if not top else 0.8 + 4.2 * math.sqrt((e.flow or 0) / top)
        verts = _edge_verts(e, i, a, b, lay, row, port)
        forward = (e.src == a) if row[a] != row[b] else (lay.x[e.src] <= lay.x[e.dst])
        if not forward:
            verts = verts[::-1]
        codes = [MPath.MOVETO] + [MPath.CURVE4] * (len(verts) - 1)
        arrow = FancyArrowPatch(path=MPath(verts, codes), arrowstyle="-|>", mutation_scale=13, color=colour,
                                linestyle=style, linewidth=lw, zorder=2, alpha=0.92)
        ax.add_patch(arrow)
        if e.label:
            sideways = row[a] == row[b] and verts[0][1] == verts[-1][1]
            labels.append((e, verts, colour, (1 if lay.x[e.src] < lay.x[e.dst] else -1) if sideways else 0))
    return kinds_used, labels


def _edge_verts(e: Edge, i: int, a: str, b: str, lay: Layout, row: dict[str, int],
                port: dict[tuple[str, int], float]) -> list[tuple[float, float]]:
    """The Bezier control points of edge ``i`` from ``a`` to ``b`` (before orienting it)."""
    if row[a] == row[b]:  # sideways: straight between neighbours, else an arc above the row
        left, right = sorted((a, b), key=lambda n: lay.x[n])
        r = lay.rows[row[a]]
        if abs(r.index(left) - r.index(right)) == 1:
            side_y = lay.y[left] + 0.18 * (1 if lay.x[e.src] < lay.x[e.dst] else -1)
            p0 = (lay.x[left] + BOX_W / 2, side_y)
            p1 = (lay.x[right] - BOX_W / 2, side_y)
            verts = [p0, ((2 * p0[0] + p1[0]) / 3, side_y), ((p0[0] + 2 * p1[0]) / 3, side_y), p1]
        else:
            p0 = (lay.x[left] + 0.3, lay.y[left] + BOX_H / 2)
            p1 = (lay.x[right] - 0.3, lay.y[right] + BOX_H / 2)
            h = 0.8
            verts = [p0, (p0[0], p0[1] + h), (p1[0], p1[1] + h), p1]
    else:
        pts = [(port[(a, i)], lay.y[a] - BOX_H / 2)]
        pts += [(lay.x[d], lay.y[d]) for d in lay.chains[i]]
        pts.append((port[(b, i)], lay.y[b] + BOX_H / 2))
        verts = [pts[0]]
        for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
            dy = (y0 - y1) / 2
            verts += [(x0, y0 - dy), (x1, y1 + dy), (x1, y1)]
    return verts


def _draw_labels(ax: plt.Axes, labels: list[tuple[Edge, list, str, int]],
                 obstacles: list[tuple[float, float, float, float]], pt: float) -> None:
    """Labels on their curves, moved along them to avoid boxes and earlier labels (largest flow first)."""
    for e, verts, colour, above in sorted(labels, key=lambda t: -(t[0].flow or 0)):
        text = e.label
        lines = text.split("\n")
        w = max(len(t) for t in lines) * 8 * 0.56 * pt + 0.1
        h = len(lines) * 8 * 1.25 * pt + 0.08
        best = None
        for t in (0.5, 0.42, 0.58, 0.34, 0.66, 0.26, 0.74, 0.18, 0.82):
            cx, cy = _bezier_point(verts, t)
            cy += above * (h / 2 + 0.04)
            box = (cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2)
            hits = sum(_overlap(box, o) for o in obstacles)
            if best is None or hits < best[0]:
                best = (hits, cx, cy, box)
            if hits == 0:
                break
        _, cx, cy, box = best
        obstacles.append(box)
        ax.text(cx, cy, text, ha="center", va="center", fontsize=8, linespacing=1.15,
                color=colour if colour != "#333333" else "#222222", zorder=5,
                bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none", alpha=0.9))


def _legend(fig: plt.Figure, kinds_used: list[str], top: float) -> None:
    handles = []
    for k in kinds_used:
        colour, style, text = EDGE_STYLES.get(k, ("#333333", "-", k))
        handles.append(Line2D([0], [0], color=colour, linestyle=style, linewidth=1.5, label=text))
    if top:
        handles.append(Line2D([0], [0], color="#333333", linewidth=4.5,
                              label=f"width: patients moving per year (widest {top:,.0f}/yr)"))
    if handles:
        fig.legend(handles=handles, loc="lower left", ncol=2 if len(handles) > 2 else len(handles), fontsize=8,
                   frameon=False, bbox_to_anchor=(0.0, 0.0))


def _box_text(s: Scenario, n: str, edges: list[Edge], visits_per_year: dict | None
              ) -> tuple[str, str, str, str]:
    """(title, subtitle, fill colour, note) of a box: a step, or the deterioration pseudo-step."""
    def per_year(v: float) -> str:
        return f"{v:,.0f}" if v >= 10 else f"{v:.1f}"

    if n == WAITING:
        d = s.deterioration
        merged = [e for e in edges if e.src == WAITING]
        sources: dict[str, float] = defaultdict(float)
        for e in merged:
            for k, v in e.sources.items():
                sources[k] += v
        note = ""
        if sources and sum(sources.values()) > 0:
            top = max(sources, key=sources.get)
            step = s.pathway.steps.get(top)
            note = f"{per_year(sum(sources.values()))}/yr; most at {(step.label if step else '') or id_words(top)}"
        sub = f"{d.attribute} reaches {d.emergency_at}, at any step" if d is not None else "at any step"
        return "Deteriorates while waiting", sub, Emergency.fill, note
    st = s.pathway.steps[n]
    kind = KINDS[st.kind]
    sub = f"{kind.label} · {service_label(s, st.service)}" if st.service else kind.label
    if kind.is_exit:
        sub = f"leaves: {(st.outcome or n).replace('_', ' ')}"
    note = ""
    if visits_per_year is not None and n in visits_per_year:
        what = "leaving/yr" if kind.is_exit else "visits/yr"
        note = f"{per_year(visits_per_year[n])} {what}"
    return st.label or id_words(n, capital=True), sub, kind.fill, note


def _bezier_point(verts: list[tuple[float, float]], t: float) -> tuple[float, float]:
    """The point at fraction ``t`` (by segment) of a chain of cubic Bézier segments."""
    segs = (len(verts) - 1) // 3
    pos = min(t * segs, segs - 1e-9)
    k = int(pos)
    u = pos - k
    p = [np.array(v, dtype=float) for v in verts[3 * k:3 * k + 4]]
    q = 1 - u
    out = q ** 3 * p[0] + 3 * q * q * u * p[1] + 3 * q * u * u * p[2] + u ** 3 * p[3]
    return float(out[0]), float(out[1])


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]
