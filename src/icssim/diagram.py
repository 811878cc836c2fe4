"""The pathway as a diagram: steps as boxes, routing as labelled arrows, with observed flows.

The graph itself (routes and observed moves) is :mod:`icssim.pathway_graph`'s, the rows and order
of the steps :mod:`icssim.diagram_layout`'s, and the words and text sizes
:mod:`icssim.diagram_words`'; here :func:`draw_pathway` draws them with matplotlib in the house
style of :mod:`icssim.plots`.

:func:`plan_pathway` does all the geometry in data units before anything is drawn: the boxes, the
arrows and a place for every arrow's label on its own curve that covers no box and no other label
(the gap between two rows grows until every label has one).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import matplotlib
from matplotlib.lines import Line2D
from matplotlib.path import Path as MPath

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

from icssim.diagram_layout import BOX_H, BOX_W, GAP_Y, Layout, layer_of, layout  # noqa: E402
from icssim.diagram_words import edge_text, fit_text, text_size, wrap_text  # noqa: E402
from icssim.kinds import KINDS, Emergency  # noqa: E402
from icssim.pathway_graph import WAITING, Edge  # noqa: E402
from icssim.plots import PALETTE  # noqa: E402
from icssim.report.labels import id_words, service_label  # noqa: E402
from icssim.scenario.schema import Scenario  # noqa: E402

#: How each kind of route is drawn: colour, line style and legend text.
EDGE_STYLES: dict[str, tuple[str, Any, str]] = {
    "next": ("#333333", "-", "routing after the step"),
    "on_reject": (PALETTE[3], "--", "referral rejected"),
    "dropout": ("#888888", ":", "dropped out of the queue"),
    "missed": ("#888888", (0, (1, 2)), "discharged after missed appointments"),
    "age_limit": (PALETTE[4], "-.", "reached the age limit"),
    "deterioration": (PALETTE[3], (0, (5, 2, 1, 2)), "deteriorated while waiting"),
}


# ----------------------------------------------------------------------------- planning
SCALE = 0.62  # inches per data unit
PT = 1 / (72 * SCALE)  # data units per typographic point
LABEL_SIZE, LABEL_SPACING, LABEL_PAD = 8, 1.15, 0.15  # points, line spacing, padding (share of the size)
LOOP = 0.8  # how far a loop back into the same step reaches above its box (control points)
HEAD = 0.3  # the length of an arrow head, in data units (mutation scale 13 pt), and a margin round it
#: Where a label may sit on its curve (share of the way along), nearest the middle first.
_T = sorted(np.linspace(0.06, 0.94, 45).tolist(), key=lambda t: (abs(t - 0.5), t))

Rect = tuple[float, float, float, float]  # x0, x1, y0, y1 in data units


@dataclass
class Arrow:
    """One drawn edge: Bézier control points from its source to its destination, and its style."""

    index: int  # in the edges given to :func:`plan_pathway`
    edge: Edge
    verts: list[tuple[float, float]]
    colour: str
    style: object
    width: float
    above: int  # +1 / -1: its label sits above / below a straight sideways arrow; 0: on the curve
    beside: int = 0  # -1 / +1: its label sits left / right of the curve (a loop back into the same step)


@dataclass
class Label:
    """An arrow's label: its text, centre and box (padding included), in data units."""

    index: int
    text: str
    colour: str
    x: float
    y: float
    rect: Rect


@dataclass
class Plan:
    """Everything :func:`draw_pathway` draws, placed in data units."""

    layout: Layout
    boxes: dict[str, Rect]
    arrows: list[Arrow]
    labels: list[Label]
    top: float  # the largest flow (0 when none was observed)
    limits: Rect
    kinds: list[str] = field(default_factory=list)  # the kinds of route drawn, in order


def _label_size(text: str) -> tuple[float, float]:
    """Width and height of a label's box in data units (its padding and a hair of margin included)."""
    w, h = text_size(text, LABEL_SIZE, linespacing=LABEL_SPACING)
    pad = 2 * LABEL_PAD * LABEL_SIZE
    return (w + pad) * PT + 0.04, (h + pad) * PT + 0.02


def plan_pathway(s: Scenario, edges: list[Edge]) -> Plan:
    """Lay out the pathway and place every label: on its own curve, over no box, arrow head or other
    label; where a label finds no such place, the gaps between the rows it spans grow and all is
    placed again. Labels between neighbours in a row get a gap as wide as themselves."""
    row = layer_of(s, edges)
    texts = {i: edge_text(s, e) for i, e in enumerate(edges) if e.src in row and e.dst in row}
    sizes = {i: _label_size(t) for i, t in texts.items() if t}
    wide: dict[frozenset[str], float] = {}
    for i, e in enumerate(edges):
        if i in sizes and e.src != e.dst and row[e.src] == row[e.dst]:
            key = frozenset((e.src, e.dst))
            wide[key] = max(wide.get(key, 0.0), BOX_W + sizes[i][0] + HEAD + 0.2)
    flows = [e.flow for e in edges if e.flow]
    top = max(flows) if flows else 0.0
    gaps = [GAP_Y] * max(max(row.values()), 1)
    for attempt in range(12):
        lay = layout(s, edges, gaps, wide)
        at = {n: r_i for r_i, r in enumerate(lay.rows) for n in r}
        boxes = {n: (lay.x[n] - BOX_W / 2, lay.x[n] + BOX_W / 2, lay.y[n] - BOX_H / 2, lay.y[n] + BOX_H / 2)
                 for r in lay.rows for n in r if not n.startswith("~")}
        arrows, kinds = _arrows(lay, edges, top, at)
        labels, stuck = _place_labels(arrows, texts, sizes, boxes)
        if not stuck:
            break
        for i in stuck:  # more room in the gaps the label's arrow crosses
            ra, rb = sorted((at[edges[i].src], at[edges[i].dst]))
            spanned = range(ra, rb) if rb > ra else range(max(ra - 1, 0), max(ra, 1))
            for g in spanned:
                gaps[g] += (sizes[i][1] + 0.1) / len(spanned)
    xs = [v for b in boxes.values() for v in b[:2]] + [v for lb in labels for v in lb.rect[:2]]
    ys = [v for b in boxes.values() for v in b[2:]] + [v for lb in labels for v in lb.rect[2:]]
    for a in arrows:
        xs += [p[0] for p in a.verts]
        ys += [p[1] for p in a.verts]
    limits = (min(xs) - 0.3, max(xs) + 0.3, min(ys) - 0.3, max(ys) + 0.3)
    return Plan(lay, boxes, arrows, labels, top, limits, kinds)


def _arrows(lay: Layout, edges: list[Edge], top: float, row: dict[str, int]) -> tuple[list[Arrow], list[str]]:
    """An arrow per route, its width growing with the flow, and the kinds of route drawn."""
    ends, port = _ports(lay, edges, row)
    kinds_used: list[str] = []
    arrows = []
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
        sideways = row[a] == row[b] and verts[0][1] == verts[-1][1]
        above = (1 if lay.x[e.src] < lay.x[e.dst] else -1) if sideways else 0
        arrows.append(Arrow(i, e, verts, colour, style, lw, above))
    for i, e in enumerate(edges):  # back into the same step (after a delay): a loop on its top right
        if e.src == e.dst and e.src in lay.x:
            colour, style, _ = EDGE_STYLES.get(e.kind, ("#333333", "-", e.kind))
            if e.kind not in kinds_used:
                kinds_used.append(e.kind)
            lw = 1.2 if not top else 0.8 + 4.2 * math.sqrt((e.flow or 0) / top)
            x0, y0 = lay.x[e.src] + BOX_W / 2 - 0.45, lay.y[e.src] + BOX_H / 2
            verts = [(x0 - 0.2, y0), (x0 - 0.35, y0 + LOOP), (x0 + 0.35, y0 + LOOP), (x0 + 0.2, y0)]
            arrows.append(Arrow(i, e, verts, colour, style, lw, 0, beside=1))
    return arrows, kinds_used


def _place_labels(arrows: list[Arrow], texts: dict[int, str], sizes: dict[int, tuple[float, float]],
                  boxes: dict[str, Rect]) -> tuple[list[Label], list[int]]:
    """A place for each label on its curve (largest flow first), covering no box, arrow head or earlier
    label, and as few other arrows and as near the middle of its own as can be; and the edges whose
    labels found no free place."""
    obstacles: list[Rect] = [(b[0] - 0.06, b[1] + 0.06, b[2] - 0.08, b[3] + 0.08) for b in boxes.values()]
    for a in arrows:  # the arrow heads
        (x1, y1) = a.verts[-1]
        obstacles.append((x1 - HEAD / 2, x1 + HEAD / 2, y1 - HEAD / 2, y1 + HEAD / 2))
    samples = {a.index: _sample(a.verts) for a in arrows}
    left, right = min(b[0] for b in boxes.values()), max(b[1] for b in boxes.values())
    labels: list[Label] = []
    stuck: list[int] = []
    for a in sorted((a for a in arrows if a.index in sizes), key=lambda a: -(a.edge.flow or 0)):
        w, h = sizes[a.index]
        best: tuple[float, int, float, float, Rect] | None = None
        sides = (a.beside, -a.beside) if a.beside else (0,)  # a loop's label on either side of it
        for t, side in ((t, side) for t in _T for side in sides):
            cx, cy = _bezier_point(a.verts, t)
            cy += a.above * (h / 2 + 0.04)
            cx += side * (w / 2 + 0.04)
            rect = (cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2)
            hard = sum(_overlap(rect, o) for o in obstacles)
            if best is not None and hard > best[1]:
                continue
            crossed = sum(_covers(rect, pts) for j, pts in samples.items() if j != a.index)
            wider = rect[0] < left or rect[1] > right  # it would widen the drawing
            score = hard * 1000 + crossed * 2 + abs(t - 0.5) * 3 + wider * 5
            if best is None or score < best[0]:
                best = (score, hard, cx, cy, rect)
        assert best is not None
        _, hard, cx, cy, rect = best
        if hard:
            stuck.append(a.index)
        obstacles.append((rect[0] - 0.12, rect[1] + 0.12, rect[2] - 0.05, rect[3] + 0.05))  # a clear gap between
        colour = a.colour if a.colour != "#333333" else "#222222"
        labels.append(Label(a.index, texts[a.index], colour, cx, cy, rect))
    return labels, stuck


def _sample(verts: list[tuple[float, float]], per: int = 24) -> np.ndarray:
    """Points along a chain of cubic Bézier segments (``per`` a segment)."""
    segs = (len(verts) - 1) // 3
    return np.array([_bezier_point(verts, k / (per * segs)) for k in range(per * segs + 1)])


def _covers(rect: Rect, pts: np.ndarray) -> bool:
    inside = (pts[:, 0] > rect[0]) & (pts[:, 0] < rect[1]) & (pts[:, 1] > rect[2]) & (pts[:, 1] < rect[3])
    return bool(inside.any())


# ----------------------------------------------------------------------------- drawing
def draw_pathway(s: Scenario, edges: list[Edge], title: str = "", visits_per_year: dict | None = None
                 ) -> plt.Figure:
    """Draw the pathway: boxes per step, curved arrows per route, labels with rules and flows."""
    plan = plan_pathway(s, edges)
    x_lo, x_hi, y_lo, y_hi = plan.limits
    legend_h = 0.9  # inches below the drawing for the legend
    fig = plt.figure(figsize=((x_hi - x_lo) * SCALE, (y_hi - y_lo) * SCALE + legend_h))
    ax = fig.add_axes((0, legend_h / ((y_hi - y_lo) * SCALE + legend_h), 1, (y_hi - y_lo) * SCALE /
                       ((y_hi - y_lo) * SCALE + legend_h)))
    ax.set_axis_off()
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)
    _draw_boxes(ax, s, plan.layout, edges, visits_per_year)
    for a in plan.arrows:
        codes = [MPath.MOVETO] + [MPath.CURVE4] * (len(a.verts) - 1)
        ax.add_patch(FancyArrowPatch(path=MPath(a.verts, codes), arrowstyle="-|>", mutation_scale=13,
                                     color=a.colour, linestyle=a.style, linewidth=a.width, zorder=2, alpha=0.92))
    for lb in plan.labels:
        ax.text(lb.x, lb.y, lb.text, ha="center", va="center", fontsize=LABEL_SIZE, linespacing=LABEL_SPACING,
                color=lb.colour, zorder=5,
                bbox=dict(boxstyle=f"round,pad={LABEL_PAD}", facecolor="white", edgecolor="none", alpha=0.9))
    _legend(fig, plan.kinds, plan.top)
    if title:
        ax.set_title(title, fontsize=11, loc="left")
    return fig


def _draw_boxes(ax: plt.Axes, s: Scenario, lay: Layout, edges: list[Edge], visits_per_year: dict | None) -> None:
    """A box per step (and the deterioration pseudo-step), its words fitted inside it."""
    inner = (BOX_W - 0.22) / PT  # the width the text may take, in points
    for n in (m for r in lay.rows for m in r if not m.startswith("~")):
        x, y = lay.x[n], lay.y[n]
        name, sub, fill, note = _box_text(s, n, edges, visits_per_year)
        ax.add_patch(FancyBboxPatch((x - BOX_W / 2, y - BOX_H / 2), BOX_W, BOX_H,
                                    boxstyle="round,pad=0.02,rounding_size=0.12",
                                    facecolor=fill, edgecolor="#555555",
                                    linewidth=1.0, zorder=3, linestyle="--" if n == WAITING else "-"))
        title, size = box_title(name, inner)
        title = title or [n]
        # the subtitle may take a second line when the title leaves room for it
        lines = [(line, size, "bold", "black", 0.24 if size == 9 else 0.215) for line in title]
        # a four-line title packs the rest closer, so that the service's name still has two lines
        tight = len(title) > 3
        room = 2 if tight else max(1, (4 if note else 5) - len(title))
        sub_size, sub_gap, between = (7.5, 0.19, 0.2) if tight else (8, 0.22, 0.26)
        lines += [(line, sub_size, "normal", "#333333", sub_gap) for line in wrap_text(sub, inner, sub_size, most=room)]
        if note:
            lines.append((fit_text(note, inner, 8), 8, "normal", PALETTE[0], 0.22))
        gaps = [0.0] + [between if b[1] != a[1] or b[3] != a[3] else a[4] for a, b in zip(lines, lines[1:])]
        at = y + sum(gaps) / 2  # the text centred in the box
        for (line, size, weight, colour, _), gap in zip(lines, gaps):
            at -= gap
            ax.text(x, at, line, ha="center", va="center", fontsize=size, fontweight=weight, color=colour, zorder=4)


def box_title(name: str, width: float) -> tuple[list[str], float]:
    """A step's title in a box ``width`` points wide, and its font size: in up to three lines at 9
    points, else three at 8, else four at 8 (a planner's long label, e.g. "Joint assessment
    (therapist and specialist nurse) and first treatment contact; one shared care plan"), cut with
    "…" only if even that is too little."""
    for size, most in ((9, 3), (8, 3), (8, 4)):
        lines = wrap_text(name, width, size, bold=True, most=most)
        if not lines or not lines[-1].endswith("…"):
            return lines, size
    return lines, 8


def _ports(lay: Layout, edges: list[Edge], row: dict[str, int]
           ) -> tuple[dict[int, tuple[str, str]], dict[tuple[str, int], float]]:
    """The two ends of each drawn edge (upper row first), and where each meets its boxes: the ends
    spread along the bottom / top of each box, ordered by the other end's x (on the top, left of the
    loop of a step that routes back into itself)."""
    looped = {e.src for e in edges if e.src == e.dst}
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
                if side is topp and n in looped:
                    off = 0.7 * off - 0.3
                port[(n, i)] = lay.x[n] + off
    return ends, port


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
            top = max(sources, key=sources.__getitem__)
            step = s.pathway.steps.get(top)
            note = f"{per_year(sum(sources.values()))}/yr; most at {(step.label if step else '') or id_words(top)}"
        sub = (f"{id_words(d.attribute)} reaches {id_words(d.emergency_at)}, at any step" if d is not None
               else "at any step")
        return "Deteriorates while waiting", sub, Emergency.fill, note
    st = s.pathway.steps[n]
    kind = KINDS[st.kind]
    kind_words = id_words(kind.label)  # "day care", not "day_care"
    sub = f"{kind_words} · {service_label(s, st.service)}" if st.service else kind_words
    if kind.is_exit:
        sub = f"leaves: {id_words(st.outcome or n)}"
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
