"""The cost-effectiveness section of a comparison report: incremental costs and QALYs per
help-seeker, the ICER and the net monetary benefit, in words first and then as a table."""

from __future__ import annotations

import math
from html import escape

import pandas as pd

from icssim.budget import budget_name, shown_names
from icssim.health.economics import THRESHOLDS, none_compared, plane_notes, replications_left_out
from icssim.report.numbers import sig, signed_money, signed_qalys


def _money(x: float) -> str:
    """A sum of money to the pound, signed only when negative (a threshold, an ICER's bound)."""
    return signed_money(x, plus=False)


def _ratio(x: float) -> str:
    """An ICER, to three significant figures: its interval spans tens of thousands of pounds."""
    return _money(sig(x)) if math.isfinite(x) else "n/a"


def _ci(row: pd.Series, key: str, fmt) -> str:
    lower, upper = float(row[key + "_lower"]), float(row[key + "_upper"])
    if not (math.isfinite(lower) and math.isfinite(upper)):   # one replication: no interval (:func:`_counted`)
        return fmt(row[key])
    return f"{fmt(row[key])} (95% CI {fmt(lower)} to {fmt(upper)})"


def _counted(row: pd.Series) -> str:
    """How many replications a row is computed from, when it is not every one paired, and that one
    gives no interval (" (from 1 of 4 paired replications: ...; one gives no 95% CI)"); "" else."""
    notes = [left_out] if (left_out := replications_left_out(row)) else []
    if row.get("n") == 1 or not math.isfinite(float(row.get("delta_cost_lower", 0.0))):
        notes.append("one replication gives no 95% CI" if notes else "one replication: no 95% CIs")
    return f" ({'; '.join(notes)})" if notes else ""


def _compared(row: pd.Series) -> bool:
    return all(math.isfinite(float(row[key])) for key in ("delta_cost", "delta_qalys"))


def value_sentence(row: pd.Series) -> tuple[str, str]:
    """A row of ``cost_effectiveness.csv`` in words, as (the scenario's name, the rest of the
    sentence): the report sets the name in bold, the terminal prints it as it is. A row computed
    from only some of the paired replications (in the others no one asked for help in one of the
    two) says from how many; one computed from none says n/a and why."""
    if not _compared(row):
        return str(row["scenario"]), (f" against {row['baseline']}: value for money n/a. No cost or QALYs per "
                                      "person who asked for help can be compared: in no replication did anyone "
                                      "ask for help in both.")
    icer = row["icer"]
    interval = ""
    if "icer_lower" in row and math.isfinite(row["icer_lower"]) and math.isfinite(row["icer_upper"]):
        interval = f" (95% CI {_ratio(row['icer_lower'])} to {_ratio(row['icer_upper'])}, Fieller)"
    clear_gain = not row.get("delta_qalys_lower", 1.0) <= 0 <= row.get("delta_qalys_upper", 1.0)
    icer_text = (f"an ICER of {_ratio(icer)} per QALY gained{interval}" if clear_gain and row["delta_qalys"] > 0
                 and row["delta_cost"] > 0 else str(row["verdict"]))
    nmb = "; ".join(
        f"at {_money(t)} per QALY the net monetary benefit is {_ci(row, f'nmb_{int(t)}', signed_money)}"
        for t in THRESHOLDS if f"nmb_{int(t)}" in row)
    cost, qalys = _ci(row, "delta_cost", signed_money), _ci(row, "delta_qalys", signed_qalys)
    return str(row["scenario"]), (f" against {row['baseline']}, per person who asked for help"
                                  f"{_counted(row)}: cost {cost} and "
                                  f"QALYs {qalys}, so {icer_text}. {nmb[0].upper() + nmb[1:]}.")


def _sentence(row: pd.Series) -> str:
    name, rest = value_sentence(row)
    return f"<p><strong>{escape(name)}</strong>{escape(rest)}</p>"


def _decomposition(ce: pd.DataFrame) -> str:
    """For ``compare --equal-budget`` (scenarios named ``X_at_Y_budget``): which row is the pathway
    and which the money."""
    names = [str(n) for n in ce["scenario"]]
    base = str(ce["baseline"].iloc[0])
    variant = next((n for n in names if not n.endswith("_budget")), None)
    if variant is None or budget_name(variant, base) not in names or budget_name(base, variant) not in names:
        return ""
    return (f"<p><strong>Pathway or money?</strong> {escape(variant)} at {escape(base)}'s staff budget shows what "
            f"the pathway's design does with the same money; {escape(base)} at {escape(variant)}'s budget shows "
            f"what the extra money does on the old pathway; {escape(variant)} itself shows both together.</p>")


def cost_effectiveness_html(ce: pd.DataFrame | None) -> str:
    """Sentences and a table for ``cost_effectiveness.csv``; empty when there is none."""
    if ce is None or ce.empty:
        return ""
    rows = [_decomposition(ce)] + [_sentence(row) for _, row in ce.iterrows()]
    note = ("<p class=\"note\">Paired differences over the same simulated people (common random numbers), "
            "discounted at the scenario's rates over its follow-up. The intervals show simulation noise only, "
            "not uncertainty in the inputs (that needs a probabilistic sensitivity analysis). A positive net "
            "monetary benefit means the scenario is worth its extra cost at that threshold.</p>")
    return '<h3 id="value">Value for money</h3>' + "".join(rows) + note


def _nmb_reading(row: pd.Series, t: float) -> str:
    """What the net monetary benefit at threshold ``t`` says, in plain words, from its interval:
    worth its extra cost, not worth it, or not clear (the interval includes zero)."""
    key = f"nmb_{int(t)}"
    mean, lower, upper = (float(row.get(key + s, math.nan)) for s in ("", "_lower", "_upper"))
    if not (math.isfinite(lower) and math.isfinite(upper)):
        return "worth it" if mean > 0 else "not worth it" if mean < 0 else "break-even"
    if lower > 0:
        return "worth it"
    if upper < 0:
        return "not worth it"
    return "not clearly either way (the 95% CI includes zero)"


def value_summary_html(row: pd.Series | None) -> str:
    """A comparison's value for money in a few lines, for its first screen: the incremental cost
    and QALYs per help-seeker with their intervals, the ICER and the net monetary benefit at each
    threshold, read in plain words. The numbers are those of ``cost_effectiveness.csv``, written as
    :func:`value_sentence` writes them (the full section, further down, adds the notes); "" without
    a row."""
    if row is None:
        return ""
    if not _compared(row):
        return ('<p class="value"><strong>Value for money:</strong> n/a. No cost or QALYs per person who asked '
                'for help can be compared: in no replication did anyone ask for help in both.</p>')
    cost, qalys = float(row["delta_cost"]), float(row["delta_qalys"])

    def interval(key: str, fmt) -> str:   # " (95% CI a to b)"; none from one replication (:func:`_ci`)
        return _ci(row, key, fmt).removeprefix(fmt(row[key]))

    costs = (f"costs {_money(abs(cost))} {'more' if cost > 0 else 'less'}{interval('delta_cost', signed_money)}"
             if round(cost) != 0 else f"costs the same{interval('delta_cost', signed_money)}")
    gains = (f"{'gains' if qalys > 0 else 'loses'} {abs(qalys):.3f} QALYs{interval('delta_qalys', signed_qalys)}"
             if f"{abs(qalys):.3f}" != "0.000" else f"gains no QALYs{interval('delta_qalys', signed_qalys)}")
    clear_gain = not row.get("delta_qalys_lower", 1.0) <= 0 <= row.get("delta_qalys_upper", 1.0)
    if clear_gain and qalys > 0 and cost > 0 and math.isfinite(float(row["icer"])):
        bounds = ""
        if "icer_lower" in row and math.isfinite(row["icer_lower"]) and math.isfinite(row["icer_upper"]):
            bounds = f" (95% CI {_ratio(row['icer_lower'])} to {_ratio(row['icer_upper'])})"
        icer = f"an ICER of <strong>{escape(_ratio(row['icer']))} per QALY gained</strong>{escape(bounds)}"
    else:
        icer = escape(str(row["verdict"]))
    def nmb_text(t: float) -> str:   # "+£445, 95% CI +£413 to +£478"
        key = f"nmb_{int(t)}"
        bounds = interval(key, signed_money).strip().removeprefix("(").removesuffix(")")
        return ", ".join(filter(None, (signed_money(row[key]), bounds)))

    nmb = [f"at {escape(_money(t))} per QALY, <strong>{escape(_nmb_reading(row, t))}</strong> "
           f"(net monetary benefit {escape(nmb_text(t))})" for t in THRESHOLDS if f"nmb_{int(t)}" in row]
    worth = (" Against the thresholds: " + "; ".join(nmb) + ".") if nmb else ""
    return (f'<p class="value"><strong>Value for money</strong> (per person who asked for help, discounted'
            f"{escape(_counted(row))}): {escape(str(row['scenario']))} {escape(costs)} and {escape(gains)} "
            f"than {escape(str(row['baseline']))}, {icer}.{worth} "
            f'<a href="#value">More on value for money</a>.</p>')


def value_row(ce: pd.DataFrame | None, scenario: str) -> pd.Series | None:
    """The row of ``cost_effectiveness.csv`` of ``scenario`` (None when there is none)."""
    if ce is None or ce.empty or "scenario" not in ce:
        return None
    rows = ce[ce["scenario"].astype(str) == scenario]
    return rows.iloc[0] if len(rows) else None


def plane_caption(ce: pd.DataFrame | None, generic: str) -> str:
    """The caption of a comparison's cost-effectiveness plane (``generic`` as it stands) for the
    rows of ``cost_effectiveness.csv`` it was drawn from: that the plane could not be drawn, and
    why, when no scenario has a cost and QALYs per help-seeker against the baseline; which ones it
    leaves out, and the replications left out of those it shows, otherwise."""
    if ce is None or ce.empty or not {"delta_cost", "delta_qalys", "scenario", "baseline"} <= set(ce.columns):
        return generic
    base = str(ce["baseline"].iloc[0])
    shown = shown_names([base, *map(str, ce["scenario"])])   # as the plane names them
    missing = [shown[str(r["scenario"])] for _, r in ce.iterrows() if not _compared(r)]
    if len(missing) == len(ce):
        return "The cost-effectiveness plane could not be drawn: " + none_compared(missing, base)
    notes = plane_notes(missing, [(shown[str(r["scenario"])], r) for _, r in ce.iterrows() if _compared(r)], base)
    return " ".join([generic, *notes])
