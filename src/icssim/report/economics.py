"""The cost-effectiveness section of a comparison report: incremental costs and QALYs per
help-seeker, the ICER and the net monetary benefit, in words first and then as a table."""

from __future__ import annotations

import math
from html import escape

import pandas as pd

from icssim.budget import budget_name
from icssim.health.economics import THRESHOLDS
from icssim.report.numbers import sig, signed_money, signed_qalys


def _money(x: float) -> str:
    """A sum of money to the pound, signed only when negative (a threshold, an ICER's bound)."""
    return signed_money(x, plus=False)


def _ratio(x: float) -> str:
    """An ICER, to three significant figures: its interval spans tens of thousands of pounds."""
    return _money(sig(x)) if math.isfinite(x) else "n/a"


def _ci(row: pd.Series, key: str, fmt) -> str:
    return f"{fmt(row[key])} (95% CI {fmt(row[key + '_lower'])} to {fmt(row[key + '_upper'])})"


def value_sentence(row: pd.Series) -> tuple[str, str]:
    """A row of ``cost_effectiveness.csv`` in words, as (the scenario's name, the rest of the
    sentence): the report sets the name in bold, the terminal prints it as it is. A row whose
    differences are not numbers (no one asked for help in one of the two) says n/a and why."""
    if not all(math.isfinite(float(row[key])) for key in ("delta_cost", "delta_qalys")):
        return str(row["scenario"]), (f" against {row['baseline']}: value for money n/a. No cost or QALYs per "
                                      "person who asked for help can be compared: in one replication or more, no "
                                      "one asked for help in one of the two.")
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
    return str(row["scenario"]), (f" against {row['baseline']}, per person who asked for help: cost {cost} and "
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
    return "<h3>Value for money</h3>" + "".join(rows) + note
