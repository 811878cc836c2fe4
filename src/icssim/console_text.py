"""What ``icssim run`` and ``icssim compare`` print: the KPI table and the paired differences, as
aligned text in the scenario's words (labels, not ids; shares as percentages; CIs clipped to their
natural range), and the progress bar while they run. The report modules write the same numbers to
files; this is the terminal's view."""

from __future__ import annotations

import argparse
import sys
import textwrap


def format_kpis(table, title: str, result) -> str:
    """The KPI table as aligned text, in sections: each measure in the scenario's words, its value in
    its unit (shares as percentages) and its 95% CI clipped to the natural range; measures of things
    the scenario does not have (no A&E step) are left out."""

    from icssim.kpis import kpi_groups
    from icssim.report.labels import absent_kpis, group_title, kpi_label, left_out
    from icssim.report.numbers import Estimate

    n = len(result.replications)
    s = getattr(result, "scenario", None)
    lines = [f"{title}: {n} replication(s), seed {result.seed}"
             + (", mean and 95% CI" if n > 1 else " (no CI from 1 replication)")]
    rows = {row.kpi: row for row in table.itertuples() if row.kpi not in ("events", "wall_seconds")}
    absent = absent_kpis(s, rows)
    rows = {k: r for k, r in rows.items() if not (k in absent and left_out(r.mean))}
    width = 62
    for group, chosen in kpi_groups(rows):
        lines.append(f"  {group_title(group, s)}")
        for k in chosen:
            r = rows[k]
            e = Estimate(k, float(r.mean), float(r.lower), float(r.upper), n)
            value = e.text() if e.has_ci and e.lower != e.upper else e.text().split(" (95% CI")[0]
            label = textwrap.wrap(kpi_label(k, s), width) or [k]
            lines += [f"    {part}" for part in label[:-1]]
            lines.append(f"    {label[-1]:<{width}}  {value}")
    return "\n".join(lines)


def format_differences(comparison) -> str:
    """Headline KPIs per scenario and the paired difference to the first, with 95% CIs and a verdict,
    in the scenario's words (shares as percentages, differences of shares in percentage points);
    measures that are zero in every scenario are left out."""
    from types import SimpleNamespace

    from icssim.metrics import kpi_info
    from icssim.report.compare_text import difference_texts, difference_verdict
    from icssim.report.labels import kpi_label_among
    from icssim.report.numbers import fmt, settled_differences
    from icssim.report.run_text import featured_or
    from icssim.results import HEADLINE_KPIS

    summary = comparison.summary().set_index(["kpi", "scenario"])
    settled = settled_differences(comparison.differences())
    assert settled is not None  # (None only for None: a comparison always has its differences)
    diffs = settled.set_index(["kpi", "scenario"])
    base = comparison.names[0]
    known = [getattr(r, "scenario", None) for r in comparison.results]   # (the baseline first)
    s = known[0]
    width = max(len(n) for n in comparison.names)
    lines = [f"Paired comparison against {base} ({len(comparison.results[0].replications)} replications, "
             f"common random numbers; differences with 95% CIs)"]
    for kpi in featured_or(s, HEADLINE_KPIS):
        if (kpi, base) not in summary.index:
            continue
        info = kpi_info(kpi)
        means = [float(summary.loc[(kpi, name), "mean"]) if (kpi, name) in summary.index else float("nan")
                 for name in comparison.names]   # (NaN: not measured there, e.g. no one asked for help)
        if all(m == 0 or m != m for m in means):  # zero or not measured (NaN) in every scenario
            continue
        lines.append(f"  {kpi_label_among(kpi, known)}")   # (every scenario's row: words_of's rule)
        lines.append(f"    {base:<{width}}  {fmt(means[0], info.unit):>22}")
        for name, m in zip(comparison.names[1:], means[1:]):
            d = (diffs.loc[(kpi, name)] if (kpi, name) in diffs.index   # (else not measured in both)
                 else dict.fromkeys(("diff_mean", "diff_lower", "diff_upper"), float("nan")))
            nan = float("nan")
            row = SimpleNamespace(kpi=kpi, scenario=name, baseline=base, unit=info.unit,
                                  diff_mean=d["diff_mean"], diff_lower=d["diff_lower"], diff_upper=d["diff_upper"],
                                  baseline_mean=d.get("baseline_mean", nan),
                                  pct_lower=d.get("pct_lower", nan), pct_upper=d.get("pct_upper", nan))
            _, verdict = difference_verdict(row, info.better)
            diff, interval = difference_texts(row, info.unit)
            lines.append(f"    {name:<{width}}  {fmt(m, info.unit):>22}   {diff} "
                         f"({interval or '95% CI –'}): {verdict}")
    return "\n".join(lines)


def format_value_for_money(ce) -> str:
    """``cost_effectiveness.csv`` (a comparison with a ``health:`` block) in words: each scenario's
    incremental cost and QALYs, ICER and net monetary benefit against the first, as the report's
    first screen says them; empty without one."""
    from icssim.report.economics import value_sentence

    if ce.empty:
        return ""
    lines = ["Value for money (discounted over the follow-up; paired 95% CIs):"]
    for _, row in ce.iterrows():
        name, rest = value_sentence(row)
        lines += textwrap.wrap(name + rest, 100, initial_indent="  ", subsequent_indent="    ")
    return "\n".join(lines)


def progress_bar(args: argparse.Namespace, unit: str, total: int | None):
    """A tqdm progress bar on stderr (or a silent stand-in with ``args.quiet``, or for one task)
    yielding a tick function."""
    from contextlib import contextmanager

    @contextmanager
    def bar():
        if args.quiet or (total is not None and total <= 1):
            yield lambda n=1: None
            return
        from tqdm import tqdm

        with tqdm(total=total, unit=unit, file=sys.stderr, leave=False) as t:
            yield t.update

    return bar()


def precision_line(precision: dict) -> str:
    """Whether a run or comparison to ``--precision`` reached its target, and after how many replications."""
    status = "reached" if precision["reached"] else "NOT reached (cap hit)"
    return f"precision {precision['target']:g} {status} after {precision['replications']} replications"
