"""The pathway diagram (:mod:`icssim.diagram`) of every shipped scenario is legible: no edge label lies
over another label or over a step's box, every box's words fit inside it, and conditions read in the
scenario's words (``if age under 18``, the cohort's label), never as ids (``cohort == mental_health``)."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from matplotlib.patches import FancyBboxPatch

from icssim import diagram, diagram_words, pathway_graph
from icssim.scenario import load_scenario

SCENARIOS = sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.yaml"))
#: An id or a comparison as written in a scenario file (``mental_health``, ``age < 18``, ``risk >= amber``).
RAW = re.compile(r"[A-Za-z0-9]_[A-Za-z0-9]|\s(==|!=|<=|>=|<|>)\s")


def _edges(s, flows: bool) -> list[pathway_graph.Edge]:
    """The scenario's routes; with ``flows``, each given an observed flow and share as a run would."""
    edges = pathway_graph.pathway_edges(s)
    if flows:
        for i, e in enumerate(edges):
            e.flow, e.share = 1234.5 * (i % 7 + 1), 0.25 + 0.05 * (i % 5)
    return pathway_graph.merge_deterioration(edges)


def _drawn(s, flows: bool):
    """The drawn figure's edge labels and step boxes (their extents, in pixels) and the boxes' words."""
    fig = diagram.draw_pathway(s, _edges(s, flows), "title", {n: 100.0 for n in s.pathway.steps} if flows else None)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    labels = [(t.get_text(), t.get_bbox_patch().get_window_extent(renderer)) for t in ax.texts if t.get_zorder() == 5]
    boxes = [p.get_window_extent(renderer) for p in ax.patches if isinstance(p, FancyBboxPatch)]
    words = [(t.get_text(), t.get_window_extent(renderer)) for t in ax.texts if t.get_zorder() == 4]
    plt.close(fig)
    return labels, boxes, words


def _overlap(a, b, tol: float = 0.5) -> bool:
    return a.x0 + tol < b.x1 and b.x0 + tol < a.x1 and a.y0 + tol < b.y1 and b.y0 + tol < a.y1


@pytest.mark.parametrize("flows", [False, True], ids=["routes", "flows"])
@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_labels_cover_no_label_and_no_box(path: Path, flows: bool):
    s = load_scenario(path)
    labels, boxes, words = _drawn(s, flows)
    assert labels and boxes
    clashes = [(a[0], b[0]) for i, a in enumerate(labels) for b in labels[i + 1:] if _overlap(a[1], b[1])]
    assert not clashes, f"labels over labels: {clashes}"
    over = [text for text, box in labels for b in boxes if _overlap(box, b)]
    assert not over, f"labels over boxes: {over}"
    outside = [text for text, ext in words
               if not any(b.x0 <= ext.x0 and ext.x1 <= b.x1 and b.y0 <= ext.y0 and ext.y1 <= b.y1 for b in boxes)]
    assert not outside, f"words sticking out of their boxes: {outside}"


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_no_ids_or_comparisons_in_the_words(path: Path):
    s = load_scenario(path)
    labels, _, words = _drawn(s, flows=True)
    raw = [text for text, _ in labels + words if RAW.search(text)]
    assert not raw, f"ids or comparisons as written in the file: {raw}"


def test_conditions_read_in_the_scenarios_words():
    ed = load_scenario(SCENARIOS[0].parent / "ed_fragmented.yaml")
    assert diagram_words.condition_words(ed, "age < 18 and urgency == urgent") == "age under 18 and urgency is urgent"
    assert diagram_words.condition_words(ed, "risk >= amber") == "risk is amber or red"
    assert diagram_words.condition_words(ed, "age >= 16 and age < 26") == "age 16 or over and under 26"
    assert diagram_words.condition_words(ed, "diagnosis != binge_eating") == "diagnosis is anorexia or bulimia or osfed"
    urgent = load_scenario(SCENARIOS[0].parent / "urgent_mh_integrated.yaml")
    assert diagram_words.condition_words(urgent, "cohort == mental_health") == "mental health attendances"
    texts = {(e.src, e.dst): diagram_words.edge_text(urgent, e) for e in pathway_graph.pathway_edges(urgent)}
    from_triage = [text for (src, _), text in texts.items() if src == "triage" and text.startswith("if")]
    assert from_triage == ["if mental health\nattendances"]
    assert texts[("liaison_assessment", "back_to_ward")] == "if referrals to liaison\nfrom the hospital's wards"


def test_every_kind_of_route_has_a_style():
    """The layout orders routes by ``ROUTE_KINDS``; the drawing needs a style for each."""
    assert tuple(diagram.EDGE_STYLES) == pathway_graph.ROUTE_KINDS


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_step_titles_are_whole(path: Path):
    # a long title gets a smaller font and a fourth line before it is cut; only a label longer
    # than four lines at 8 points (about 90 characters) may end in "…"
    s = load_scenario(path)
    inner = (diagram.BOX_W - 0.22) / diagram.PT
    for name, step in s.pathway.steps.items():
        title = step.label or name
        lines, size = diagram.box_title(title, inner)
        if len(title) < 90:
            assert " ".join(lines) == " ".join(title.split()), (name, lines)
        assert size in (8, 9) and len(lines) <= 4


def test_a_title_cut_at_three_lines_before_is_whole_now():
    inner = (diagram.BOX_W - 0.22) / diagram.PT
    title = "Talking Therapies telephone assessment and first treatment contact"
    assert diagram_words.wrap_text(title, inner, 9, bold=True)[-1].endswith("…")  # the old rule cut it
    lines, size = diagram.box_title(title, inner)
    assert " ".join(lines) == title and size == 8
