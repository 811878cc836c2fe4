"""The answer of a probabilistic sensitivity analysis, for the first screen of its report: what the
decision is on average, how likely it is to be the right one at £20,000 and £30,000 per QALY, what
resolving the uncertainty would be worth (per person and for the people the decision affects) and
which parameters it would be worth learning about. Read from the folder's ``psa.json``
(:func:`icssim.health.psa_outputs.write_psa`); the plots follow in their own section."""

from __future__ import annotations

import math
from html import escape
from typing import Any

from icssim.report.numbers import money, pounds, signed_qalys

#: The PSA's plots in the order a reader needs them, with what each shows.
PSA_PLOTS = {
    "psa_plane.png": "Cost-effectiveness plane: each parameter draw's incremental cost and QALYs per help-seeker "
                     "against the baseline (one point per draw). Points below a dashed line (£20,000 and £30,000 "
                     "per QALY) are cost-effective at that threshold.",
    "ceac.png": "Cost-effectiveness acceptability curve: the share of draws in which each strategy has the "
                "highest net benefit, by willingness to pay; dots mark the strategy with the highest expected "
                "net benefit (the frontier). Dashed lines: £20,000 and £30,000 per QALY.",
    "evpi.png": "Expected value of perfect information: what removing all the parameter uncertainty would be "
                "worth, per help-seeker (left axis) and for the people the decision affects (right axis).",
    "sobol.png": "Sobol indices: the share of the spread of the incremental net benefit each parameter explains "
                 "alone (first order) and with its interactions (total), with bootstrap 95% intervals.",
}


def share(p: float) -> str:
    """A probability as a percentage that never rounds a doubt away: 99.7% is "over 99%", not 100%."""
    if 0.99 < p < 1:
        return "over 99%"
    if 0 < p < 0.01:
        return "under 1%"
    return f"{p:.0%}"


def _more_or_less(x: float) -> str:
    return f"{pounds(abs(x))} {'less' if x < 0 else 'more'}"


def _ratio(row: dict[str, Any]) -> str:
    if row["delta_qalys"] <= 0:
        return "no QALYs gained on average"
    if row["delta_cost"] <= 0:
        return "it is dominant on average (less cost and more QALYs)"
    return f"an ICER of {pounds(row['icer'])} per QALY (mean cost over mean QALYs)"


def _population(answer: dict[str, Any]) -> str:
    who = answer.get("population")
    if not who:
        return ""
    source = "as the PSA file gives" if who.get("given") else "the baseline scenario's help-seekers a year"
    return (f"{who['people_per_year']:,.0f} people a year ({source}) for {who['years']} years: "
            f"{who['people']:,.0f} people, discounted at {who['discount_rate']:.1%} a year")


def headline_html(answer: dict[str, Any]) -> str:
    """The answer in words: the mean incremental cost and QALYs with the ICER, then at each
    threshold the best strategy, the probability it is best and the EVPI."""
    draws = int(answer.get("draws", 0))
    parts = []
    for row in answer.get("incremental", []):
        parts.append(f"Over {draws:,} parameter draws, <strong>{escape(str(row['strategy']))}</strong> against "
                     f"{escape(str(row['baseline']))} costs {_more_or_less(row['delta_cost'])} and gains "
                     f"{signed_qalys(row['delta_qalys'])} QALYs per help-seeker on average: {_ratio(row)}.")
    for row in answer.get("at_thresholds", []):
        best = str(row["best"])
        chance = float(row["probability_best"].get(best, math.nan))
        text = (f"At {money(row['wtp'])} per QALY, <strong>{escape(best)}</strong> has the highest expected net "
                f"benefit, and the highest net benefit in <strong>{share(chance)}</strong> of the draws. Perfect "
                f"information would be worth {pounds(max(row['evpi_per_person'], 0.0))} per help-seeker")
        if "evpi_population" in row:
            text += f", {pounds(max(row['evpi_population'], 0.0))} for the people the decision affects"
        parts.append(text + ".")
    return '<p class="headline">' + " ".join(parts) + "</p>"


def evppi_html(answer: dict[str, Any]) -> str:
    """EVPPI of each parameter (or group) at each threshold, largest first: what learning it would be worth."""
    rows = answer.get("evppi") or []
    if not rows:
        return ("<p class=note>Too few draws to estimate what learning each parameter would be worth (EVPPI): "
                "the regression on each parameter's draws needs more draws than its 4 terms.</p>"
                + _evppi_groups_note(answer))
    thresholds = sorted({float(r["wtp"]) for r in rows})
    groups: dict[str, dict[float, dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(str(r["group"]), {})[float(r["wtp"])] = r
    order = sorted(groups, key=lambda g: -max(r["evppi_per_person"] for r in groups[g].values()))
    head = "".join(f"<th class=num>at {money(t)} per QALY</th>" for t in thresholds)
    most = max(r["evppi_per_person"] for r in rows)
    verdict = ("<p><strong>No parameter's EVPPI reaches £1 per help-seeker</strong>: learning any one of them "
               "would not change the decision; what uncertainty remains is the others together, or the "
               "simulation's noise.</p>" if most < 0.5 else "")
    body = []
    for g in order:
        cells = []
        for t in thresholds:
            r = groups[g].get(t)
            if r is None:
                cells.append("<td class=num>n/a</td>")
                continue
            text = pounds(max(r["evppi_per_person"], 0.0))
            if r.get("evppi_population", 0.0) >= 0.5:
                text += f" <span class=note>({pounds(max(r['evppi_population'], 0.0))} in all)</span>"
            cells.append(f"<td class=num>{text}</td>")
        body.append(f"<tr><td>{escape(g)}</td>{''.join(cells)}</tr>")
    return ("<h3>Which parameters are worth learning about</h3>"
            "<p>The expected value of partial perfect information (EVPPI) of each parameter: what knowing its "
            "true value would be worth per help-seeker (and for the people the decision affects), estimated by "
            "regression on the draws (Strong, Oakley and Brennan 2014). Near zero: learning it would not "
            "change the decision.</p>" + verdict +
            f"<table><thead><tr><th>parameter</th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
            + _evppi_groups_note(answer))


def _evppi_groups_note(answer: dict[str, Any]) -> str:
    """What each group of parameters in the EVPPI table holds, and the groups too large for this
    PSA's draws (the regression needs 10 draws a term), so that none is left out unsaid."""
    members = answer.get("evppi_groups") or {}
    skipped = answer.get("evppi_not_estimated") or []
    items = []
    for name, labels in members.items():
        missing = next((r for r in skipped if r["group"] == name), None)
        why = (f" <em>Not estimated: it needs {missing['draws_needed']:,} draws, this PSA has {answer['draws']:,}."
               "</em>" if missing else "")
        items.append(f"<li><strong>{escape(name)}</strong>: {escape(', '.join(labels))}.{why}</li>")
    alone = singles_not_estimated(answer)
    if alone:
        items.append(f"<li>Not estimated, too few draws: {escape(alone)}.</li>")
    return f"<p>The groups of parameters:</p><ul>{''.join(items)}</ul>" if items else ""


def singles_not_estimated(answer: dict[str, Any]) -> str:
    """The parameters whose EVPPI alone a PSA had too few draws for, in words: named when a few,
    counted when many (a 4-draw PSA leaves out every one)."""
    members = answer.get("evppi_groups") or {}
    single = [r for r in answer.get("evppi_not_estimated") or [] if r["group"] not in members]
    if not single:
        return ""
    needs = f"needs {single[0]['draws_needed']:,} draws"
    if len(single) <= 3:
        return f"{', '.join(r['group'] for r in single)} alone ({needs} each)"
    return f"each of {len(single)} parameters alone ({needs} each)"


def spread_of(kpi: str) -> str:
    """What a variance split (psa.json ``variance``) is of, in words."""
    if kpi.startswith("net_benefit_at_"):
        return f"the net benefit per help-seeker at £{float(kpi.rsplit('_', 1)[1]):,.0f} per QALY"
    return {"qalys_per_person": "QALYs per help-seeker", "cost_per_person": "costs per help-seeker"}.get(kpi, kpi)


def noise_html(answer: dict[str, Any]) -> str:
    """How much of the spread is parameter uncertainty, as a table (the net benefit's rows are what the
    decision turns on), or why that cannot be said (one replication a draw)."""
    shares = answer.get("variance") or []
    if shares:
        body = "".join(
            f"<tr><td>{escape(spread_of(r.get('kpi', 'qalys_per_person')))}</td><td>{escape(str(r['strategy']))}"
            f"</td><td class=num>{r['share_parameters']:.0%}</td><td class=num>{1 - r['share_parameters']:.0%}</td>"
            "</tr>" for r in shares)
        return ("<h3>Parameters or simulation noise</h3>"
                "<p>How much of the spread over the draws is parameter uncertainty and how much simulation "
                "noise, from each draw's replications (one-way analysis of variance). The decision turns on the "
                "net benefit: its noise is what one replication a draw would add to the acceptability curve and "
                "the EVPI as if it were parameter uncertainty.</p>"
                "<table><thead><tr><th>the spread of</th><th>for</th><th class=num>parameters</th>"
                f"<th class=num>simulation noise</th></tr></thead><tbody>{body}</tbody></table>")
    return ("<p class=note>With one replication per draw, each draw's result carries that replication's simulation "
            "noise as well as its parameters' effect: the cloud, the acceptability curve and the EVPI show both, "
            "so they overstate the decision uncertainty the parameters alone cause. Two or more replications per "
            "draw separate the two.</p>")


def psa_html(answer: dict[str, Any]) -> str:
    """The PSA's first screen: the answer, who the population figures are for, EVPPI, the noise caveat."""
    who = _population(answer)
    who_html = (f"<p>Population figures are for {escape(who)} (<code>population:</code> in the PSA file "
                f"sets who and for how long).</p>") if who else ""
    return headline_html(answer) + who_html + evppi_html(answer) + noise_html(answer)
