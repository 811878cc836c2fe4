"""What an audit of the drawn plots found (December 2026), each checked on the figure: one colour
per scenario across a comparison's plots, one colour per service across a run's and its
comparison's cost plots, scenario names wrapped between words, wait plots that say what their
curves count and where their axis stops, waits of an emergency department in hours with its
standards, shares' differences in percentage points, intervals cut where a measure cannot go, and
every point of a sweep's cost-against-wait plot labelled."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from icssim import plots, plots_forest, plots_waits
from icssim.health.plots import ce_plane


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plots.plt.close("all")


def _line_colours(ax) -> dict[str, str]:
    """Each labelled line's colour by its label (the part before any colon or bracket)."""
    out = {}
    for line in ax.get_lines():
        label = line.get_label()
        if not label.startswith("_"):
            out[label.split(":")[0].split(" (")[0]] = to_hex(line.get_color())
    return out


def _diffs(names):
    return pd.DataFrame({"label": ["Wait"] * len(names), "scenario": names, "mean": [10.0] * len(names),
                         "lower": [5.0] * len(names), "upper": [15.0] * len(names)})


def test_each_scenario_has_one_colour_in_every_plot_of_a_comparison():
    """An equal-budget comparison drew ed_integrated green in the forest plot and on the plane
    (third of the scenarios against the baseline) but red-orange in the wait plot (fourth with the
    baseline): every plot now colours a scenario by its place in the comparison."""
    order = ["base", "base at b's budget", "b at base's budget", "b"]
    others = order[1:]
    forest = plots_forest.forest(_diffs(others), "t", order)
    in_forest = _line_colours(forest.axes[0])
    points = {name: pd.DataFrame({"delta_qalys": [0.01, 0.02], "delta_cost": [100.0, 200.0]}) for name in others}
    summary = pd.DataFrame([{"scenario": name, "delta_qalys": 0.015, "delta_qalys_lower": 0.01,
                             "delta_qalys_upper": 0.02, "delta_cost": 150.0, "delta_cost_lower": 100.0,
                             "delta_cost_upper": 200.0, "n": 2, "replications": 2} for name in others])
    plane = ce_plane(points, summary, "base", (20_000.0,), order)
    in_plane = {c.get_label().split(":")[0]: to_hex(c.get_facecolor()[0]) for c in plane.axes[0].collections
                if c.get_label().endswith("one point per replication")}
    rng = np.random.default_rng(3)
    waits = {name: rng.exponential(20 + 5 * i, 400) for i, name in enumerate(order)}
    ecdf = plots_waits.wait_ecdf(waits, {"four_weeks": 28.0}, "t", baseline="base")
    in_ecdf = _line_colours(ecdf.axes[0])
    for position, name in enumerate(order):
        assert in_ecdf[name] == to_hex(plots.scenario_colour(position))
        if position:
            assert in_forest[name] == in_plane[name] == to_hex(plots.scenario_colour(position)), name
    # the baseline stays visible: dashed, drawn over the others
    lines = {line.get_label().split(" (")[0].split(":")[0]: line for line in ecdf.axes[0].get_lines()}
    assert lines["base"].get_linestyle() != "-"
    assert lines["base"].get_zorder() > max(lines[n].get_zorder() for n in others)
    # without the order, the forest plot and the plane take the places after the baseline
    assert _line_colours(plots_forest.forest(_diffs(others), "t").axes[0])["b"] == to_hex(plots.scenario_colour(3))


def _costs(scenario: str, services: list[tuple[str, str, float]]) -> pd.DataFrame:
    total = sum(m for *_, m in services)
    return pd.DataFrame([{"scenario": scenario, "service": label, "service_id": sid, "mean": m, "half_width": 1e4,
                          "total_mean": total, "total_half_width": 2e4} for sid, label, m in services])


def _bar_colours(fig) -> dict[str, str]:
    ax = fig.axes[0]
    return {c.get_label(): to_hex(c.patches[0].get_facecolor()) for c in ax.containers
            if hasattr(c, "patches") and c.patches}


def test_each_service_keeps_its_colour_in_a_run_s_and_its_comparison_s_cost_plot():
    """A run's cost plot drew the CYP team light blue and GP black, its comparison's yellow and teal:
    services took their colours from their alphabetical place among those in the plot."""
    a = [("gp", "General practice", 1e6), ("cyp_ed", "CYP community eating disorder team", 3e6),
         ("acute", "Acute trust", 2e6)]
    b = [("gp", "General practice", 1e6), ("acute", "Acute trust", 1e6), ("ed_service", "All-age service", 5e6)]
    colours = plots.service_colours(["gp", "cyp_ed", "acute", "ed_service"])
    run = _bar_colours(plots.cost_bars(_costs("a", a), "a", plots.service_colours(["gp", "cyp_ed", "acute"])))
    both = _bar_colours(plots.cost_bars(pd.concat([_costs("a", a), _costs("b", b)]), "both", colours))
    run_b = _bar_colours(plots.cost_bars(_costs("b", b), "b", colours))
    for label in ("General practice", "CYP community eating disorder team", "Acute trust"):
        assert run[label] == both[label]
    assert run_b["Acute trust"] == both["Acute trust"] and run_b["All-age service"] == both["All-age service"]
    assert len(set(both.values())) == len(both)   # no two services alike


def test_a_service_labelled_differently_by_two_scenarios_is_one_legend_entry():
    a = [("tt_low", "NHS Talking Therapies, low intensity", 1e6)]
    b = [("tt_low", "Embedded psychological wellbeing practitioners", 2e6)]
    fig = plots.cost_bars(pd.concat([_costs("frag", a), _costs("int", b)]), "t")
    entries = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert len(entries) == 2 and entries[1] == "total: 95% CI"
    words = " ".join(entries[0].split())
    assert "NHS Talking Therapies, low intensity (in frag)" in words
    assert "Embedded psychological wellbeing practitioners (in int)" in words


def test_scenario_names_break_between_words_on_the_cost_plot():
    """``urgent_mh_fragment / ed``, ``ltc_depression_fra / gmented``: now broken at underscores."""
    names = ["urgent_mh_fragmented", "ltc_depression_fragmented", "ed_integrated at ed_fragmented's staff budget"]
    fig = plots.cost_bars(pd.concat([_costs(n, [("gp", "GP", 1e6)]) for n in names]), "t")
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks[0] == "urgent_mh_\nfragmented" and ticks[1] == "ltc_depression_\nfragmented"
    for name, tick in zip(names, ticks):   # each line ends at an underscore or before a space
        lines, at = tick.split("\n"), 0
        for line in lines[:-1]:
            at += len(line)
            assert line.endswith("_") or name[at] == " ", (name, tick)
            at += name[at] == " "
        assert "".join(line + ("" if line.endswith("_") else " ") for line in lines).strip() == name
    assert plots.wrap_name("a_very_long_scenario_name_without_spaces", 10) == \
        "a_very_\nlong_\nscenario_\nname_\nwithout_\nspaces"
    assert plots.wrap_name("incomprehensibilities", 5) == "incomprehensibilities"   # a long word stays whole


def test_a_wait_plot_says_what_its_curves_count_and_where_its_axis_stops():
    """The curves reached 100% (only completed waits count) while the caption spoke of everyone
    referred; the axis stopped at the 98th percentile unsaid, and ran to 980 days over 7- and 28-day
    standards without their targets."""
    rng = np.random.default_rng(5)
    short = np.concatenate([rng.exponential(20, 800), np.full(200, np.nan)])   # 20% never started
    long = np.concatenate([rng.exponential(20, 760), rng.uniform(300, 1000, 40), np.full(100, np.nan)])
    fig = plots_waits.wait_ecdf({"a": short, "b": long},
                                {"urgent_1_week": (7.0, 0.95), "routine_4_weeks": (28.0, 0.95)},
                                "t", never={"a": "referred did not start treatment in the run"})
    ax = fig.axes[0]
    assert "completed waits" in ax.get_ylabel()
    legend = [" ".join(t.get_text().split()) for t in ax.get_legend().get_texts()]
    assert legend[0] == "a: 800 completed waits; 20% of the 1,000 referred did not start treatment in the run"
    assert legend[1].startswith("b: 800 completed waits; 11% of the 900")
    right = ax.get_xlim()[1]
    assert right <= 300   # not the 98th percentile of b (~700 days): the standards stay readable
    notes = " ".join(" ".join(t.get_text().split()) for t in ax.texts)
    assert f"Axis cut at {right:,.0f} days" in notes
    off = float((long[np.isfinite(long)] > right).mean())
    assert f"{plots_waits._share_text(off)} of b" in notes and off > 0.01
    bars = [line for line in ax.get_lines() if line.get_marker() == "_"]
    assert sorted((float(b.get_xdata()[0]), float(b.get_ydata()[0])) for b in bars) == [(7.0, 0.95), (28.0, 0.95)]
    assert "its target (95%)" in notes
    # a plain number is a standard without a target, as before
    plain = plots_waits.wait_ecdf({"a": short}, {"cyp_urgent_1_week": 7.0}, "t").axes[0]
    assert not [line for line in plain.get_lines() if line.get_marker() == "_"]


def test_an_emergency_department_s_waits_read_in_hours_with_its_standards():
    """The urgent run's wait plot had a 0-1 day axis, its curve in the left fifth, no standard."""
    rng = np.random.default_rng(2)
    in_ed = rng.gamma(2.0, 2.0, 2000) / 24   # hours, in days
    fig = plots_waits.wait_ecdf({"arrival \u2192 leaving": in_ed},
                          {"4 hours from arrival to leaving": (4 / 24, 0.95), "under 12 hours": (0.5, 0.98)},
                          "t", "Wait (days)")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Wait (hours)"
    assert 12 < ax.get_xlim()[1] <= 15
    dashed = sorted(round(float(line.get_xdata()[0]), 6) for line in ax.get_lines() if line.get_linestyle() == "--")
    assert dashed == [4.0, 12.0]


def test_an_urgent_run_draws_the_times_its_standards_measure():
    from helpers import shipped

    from icssim import experiments, results
    from icssim.plots_waits import run_waits

    result = experiments.run(shipped("urgent_mh_fragmented", horizon="3 days", warmup="1 day"), replications=1,
                             workers=1)
    pats = pd.concat([results.patients_frame(r) for r in result.records], ignore_index=True)
    waits = run_waits(result, pats)
    assert "arrival \u2192 leaving" in waits.waits
    assert waits.standards["Mental health attendances: 4 hours from arrival to leaving the ED"] == \
        pytest.approx((4 / 24, 0.95))
    assert waits.standards["Psychiatric assessment within 1 hour of referral"][0] == pytest.approx(1 / 24)
    ax = waits.figure("t", "Wait from referral (days)").axes[0]
    assert "(hours)" in ax.get_xlabel()
    dashed = {round(float(line.get_xdata()[0]), 6) for line in ax.get_lines() if line.get_linestyle() == "--"}
    assert {1.0, 4.0, 12.0} <= dashed


def _forest_frame() -> pd.DataFrame:
    return pd.DataFrame([
        {"label": "Rejected referrals", "scenario": "b", "unit": "per year", "mean": -100.0, "lower": -113.0,
         "upper": -87.0, "baseline_mean": 10.0, "diff_mean": -10.0, "diff_lower": -11.3, "diff_upper": -8.7},
        {"label": "Seen within 1 hour", "scenario": "b", "unit": "share", "mean": 1030.0, "lower": 1005.0,
         "upper": 1055.0, "baseline_mean": 0.087, "diff_mean": 0.899, "diff_lower": 0.878, "diff_upper": 0.920},
        {"label": "Total cost", "scenario": "b", "unit": "GBP per year", "mean": 5.0, "lower": 4.0, "upper": 6.0,
         "baseline_mean": 1e7, "diff_mean": 5e5, "diff_lower": 4e5, "diff_upper": 6e5},
    ])


def test_a_forest_plot_shows_shares_in_points_and_cuts_what_cannot_be():
    """A share from 8.7% to 98.6% read +1,030% and stretched the axis; a rejected-referral count's
    interval reached −113%."""
    fig = plots_forest.forest(_forest_frame(), "t", ["a", "b"])
    relative, points = fig.axes
    assert "percent of baseline mean" in relative.get_xlabel() and "percentage points" in points.get_xlabel()
    assert [t.get_text() for t in points.get_yticklabels()] == ["Seen within 1 hour"]
    assert relative.get_xlim()[1] < 100   # +1,030% is not on it
    xs = [x for line in points.get_lines() for x in line.get_xdata()]
    assert max(xs) == pytest.approx(100 * (1 - 0.087))   # cut at 100%, not +92.0 points
    assert min(x for line in relative.get_lines() for x in line.get_xdata()) == pytest.approx(-100.0)
    markers = {line.get_marker() for line in relative.get_lines()} | {line.get_marker() for line in points.get_lines()}
    assert {"<", ">"} <= markers
    assert "interval cut" in points.get_xlabel()   # one scenario: the notes under the axis
    both = pd.concat([_forest_frame(), _forest_frame().assign(scenario="c")])
    several = plots_forest.forest(both, "t", ["a", "b", "c"])
    legend = [t.get_text() for t in several.axes[-1].get_legend().get_texts()]
    assert legend[:2] == ["b", "c"] and any("interval cut" in t for t in legend)


def _sweep_run(n: int) -> SimpleNamespace:
    spec = SimpleNamespace(sweep=SimpleNamespace(level=0.95))
    return SimpleNamespace(sweep=SimpleNamespace(name="s", spec=spec, bases={}),
                           points=[SimpleNamespace(index=i, base="base", area=None) for i in range(n)])


def _cost_wait_summary(costs, waits) -> pd.DataFrame:
    rows = []
    for i, (c, w) in enumerate(zip(costs, waits)):
        rows.append({"point": i, "kpi": "staff_cost_per_year", "mean": c, "half_width": 1e4})
        rows.append({"point": i, "kpi": "wait_to_treatment_median", "mean": w, "half_width": 0.3})
    return pd.DataFrame(rows)


def test_every_point_of_a_sweep_s_cost_against_wait_plot_is_labelled():
    """The title said "labels are point numbers" over 3 labels for 9 points (the frontier's)."""
    from icssim.sweep.frontier import cost_wait

    costs = [6.04e6, 5.99e6, 5.96e6, 6.57e6, 6.52e6, 6.49e6, 7.10e6, 7.05e6, 7.02e6]
    waits = [13.8, 14.35, 15.1, 13.8, 14.35, 15.1, 13.8, 14.35, 15.1]
    fig = cost_wait(_sweep_run(9), _cost_wait_summary(costs, waits), "staff_cost_per_year",
                    "wait_to_treatment_median")
    ax = fig.axes[0]
    labels = [t for t in ax.texts if t.get_text().replace(", ", "").isdigit()]
    assert sorted(int(n) for t in labels for n in t.get_text().split(", ")) == list(range(9))
    assert "each labelled with its point number" in ax.get_title(loc="left")
    fig.canvas.draw()
    boxes = [t.get_window_extent() for t in labels]
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_points_drawn_at_one_place_share_a_label_and_a_crowd_labels_its_frontier():
    from icssim.sweep.frontier import MAX_LABELLED, cost_wait

    fig = cost_wait(_sweep_run(3), _cost_wait_summary([6e6, 6e6, 5e6], [14.0, 14.0, 16.0]), "staff_cost_per_year",
                    "wait_to_treatment_median")
    assert sorted(t.get_text() for t in fig.axes[0].texts) == ["0, 1", "2"]
    n = MAX_LABELLED + 10
    rng = np.random.default_rng(0)
    crowd = cost_wait(_sweep_run(n), _cost_wait_summary(rng.uniform(5e6, 7e6, n), rng.uniform(10, 20, n)),
                      "staff_cost_per_year", "wait_to_treatment_median")
    assert "the frontier's points labelled" in crowd.axes[0].get_title(loc="left")
    assert len(crowd.axes[0].texts) < n


def test_a_comparison_gives_its_runs_cost_plots_its_own_service_colours(tmp_path, monkeypatch):
    """Each scenario's run folder in a comparison draws its costs in the comparison's colours: a
    service of the second scenario only (an integrated team) is not given the first's colour."""
    from helpers import shipped

    from icssim import experiments, results

    pair = [shipped(f"ltc_depression_{name}", horizon="2 months", warmup="2 weeks")
            for name in ("fragmented", "integrated")]
    comparison = experiments.compare(pair, replications=2, workers=1)
    drawn = []
    real = plots.cost_bars

    def recording(costs, title, colours=None):
        fig = real(costs, title, *([colours] if colours is not None else []))
        drawn.append((title, _bar_colours(fig)))
        return fig

    monkeypatch.setattr(plots, "cost_bars", recording)
    results.write_comparison(comparison, tmp_path / "cmp", workers=1)
    assert len(drawn) == 3   # each run's and the comparison's
    by_label: dict[str, set[str]] = {}
    for _, colours in drawn:
        for label, colour in colours.items():   # (a service labelled two ways: "A (in x) B (in y)")
            for name in re.split(r"\(in [^)]*\)", " ".join(label.split())):
                if name.strip():
                    by_label.setdefault(name.strip(), set()).add(colour)
    assert by_label and all(len(colours) == 1 for colours in by_label.values()), by_label


def test_a_service_with_no_cost_in_any_scenario_has_no_legend_entry():
    """The LTC cost plot's legend listed the clinic, which holds only the course of illness's
    contacts and costs the pathway nothing: a legend entry with no bar. The others keep their
    colours (by their place among all the services)."""
    a = [("gp", "General practice", 1e6), ("ltc_clinic", "LTC clinic", 0.0), ("tt", "Talking therapies", 2e6)]
    colours = plots.service_colours(["gp", "ltc_clinic", "tt"])
    fig = plots.cost_bars(pd.concat([_costs("a", a), _costs("b", a)]), "t", colours)
    entries = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "LTC clinic" not in entries and {"General practice", "Talking therapies"} <= set(entries)
    assert _bar_colours(fig)["Talking therapies"] == to_hex(colours["tt"][0])


# ----------------------------------------------------------------------------- waiting lists (report audit)
def test_a_waiting_list_plot_says_how_often_it_was_counted():
    """The waiting lists are snapshots (every 13.7 days in a 15-year run): the plot said nothing
    of it, so a reader could take the line for every day's count, peaks included."""
    days = np.arange(0, 15 * 365.25, 15 * 365.25 / 400)
    frame = pd.DataFrame({r: np.random.default_rng(r).poisson(40.0, len(days)).astype(float) for r in range(3)},
                         index=days)
    title = plots.band_over_time({"all": frame}, "ed_fragmented: waiting lists", "Patients waiting").axes[0].get_title(
        loc="left")
    assert "counted every 13.7 days: a peak between two counts is not shown" in title
    hourly = pd.DataFrame({0: np.ones(48), 1: np.ones(48)}, index=np.arange(48) / 24)
    title = plots.band_over_time({"all": hourly}, "urgent", "Patients waiting").axes[0].get_title(loc="left")
    assert "counted every hour:" in title
    assert plots.sampling_note(np.array([0.0, 1.0]), True) == ""   # (too few counts to say)


def test_a_waiting_list_plot_names_the_steps_by_their_labels():
    """The legend read ``adult_ed_treatment``, ``cmht_triage``: the steps' ids."""
    from helpers import shipped

    from icssim.report.labels import step_names

    s = shipped("ed_fragmented")
    names = step_names(s, ["adult_ed_treatment", "cmht_triage", "no_such_step"])
    assert names == {"adult_ed_treatment": "Adult community ED treatment",
                     "cmht_triage": "Adult community mental health triage", "no_such_step": "No such step"}
    days = np.arange(0.0, 100.0, 7.0)
    frame = pd.DataFrame({0: np.ones(len(days)), 1: np.ones(len(days))}, index=days)
    ax = plots.band_over_time({"adult_ed_treatment": frame, "all services": frame}, "t", "y", names=names).axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Adult community ED treatment", "all services"]


def test_a_sweep_s_line_plot_wraps_a_long_measure_in_its_axis_label_and_title():
    """A path time's share ("Mental health attendances: arrival to psychiatric assessment, share who
    reached its end before leaving (%)") ran past the y-axis and out of the figure in the title."""
    from helpers import SCENARIOS

    from icssim.scenario import load_scenario
    from icssim.sweep.plots import line

    s = load_scenario(SCENARIOS / "urgent_mh_fragmented.yaml")
    path, kpi = "services.liaison.staff.nurse.wte", "path_time_reached_mh_assessment"
    spec = SimpleNamespace(sweep=SimpleNamespace(level=0.95), kpis=[kpi],
                           parameters={path: SimpleNamespace(label="Liaison nurses", unit="WTE")})
    run = SimpleNamespace(sweep=SimpleNamespace(name="liaison", spec=spec, bases={"frag": s}, areas=None),
                          points=[SimpleNamespace(index=i, base="frag", area=None, values={path: v})
                                  for i, v in enumerate([1, 2, 4])])
    summ = pd.DataFrame({"point": [0, 1, 2], "kpi": kpi, "mean": [0.69, 0.7, 0.71], "lower": [0.6] * 3,
                         "upper": [0.8] * 3, "n": 2})
    fig = line(run, summ, kpi, path)
    ax = fig.axes[0]
    ylabel, title = ax.get_ylabel(), ax.get_title(loc="left")
    assert "share who reached its end" in " ".join(ylabel.split()), ylabel
    assert "\n" in ylabel and "\n" in title, (ylabel, title)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    assert ax.yaxis.label.get_window_extent(renderer).height <= ax.get_window_extent(renderer).height
    assert ax.title.get_window_extent(renderer).x1 <= fig.bbox.width, title


def test_a_sweep_whose_points_cost_nothing_draws_no_cost_against_wait():
    """Base scenarios without unit or staff costs drew every point at £0 against its wait."""
    from icssim.sweep.frontier import frontier_kpis

    spec = SimpleNamespace(frontier=SimpleNamespace(cost="cost_per_year", wait="wait_to_treatment_median"))
    run = SimpleNamespace(sweep=SimpleNamespace(spec=spec))
    frame = pd.DataFrame({"cost_per_year": [0.0, 0.0, 0.0], "wait_to_treatment_median": [12.6, 12.1, 12.1]})
    assert frontier_kpis(run, frame) is None
    frame["cost_per_year"] = [0.0, 1e6, 2e6]
    assert frontier_kpis(run, frame) == ("cost_per_year", "wait_to_treatment_median")
