"""Regenerate docs/validation.md's figure and tables: the ED course of illness against the
long-term recovery and mortality figures of shared/domain/ed-outcomes.md, overall and by diagnosis.

Run from the repository root: ``python docs/make_validation.py`` (about a minute on 2 cores), or
``python docs/make_validation.py --psa DIR`` to draw, beside the replications' range, the 95% range
of the share in remission over a PSA's parameter draws (``icssim psa scenarios/sweeps/ed_psa.yaml
--out DIR``: its ``points.csv``). Nothing here is tuned: the scenarios' parameters come from
ed-outcomes.md section 6.2, and these published figures are kept aside to judge the model.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from icssim.experiments import run  # noqa: E402
from icssim.scenario import load_scenario  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REPLICATIONS = 5
YEARS = (1, 2, 5, 9, 10)
#: Solmi et al. 2024, all eating disorders: share recovered by length of follow-up (years), the
#: bands being the follow-up ranges (ed-outcomes.md 1.1)
SOLMI = [((0, 2), 0.42), ((2, 4), 0.43), ((4, 6), 0.54), ((6, 8), 0.59), ((8, 10), 0.64)]
#: by diagnosis, ((from, to) years, share recovered, what it is): ed-outcomes.md 1.1
PUBLISHED = {
    "anorexia": [((9, 9), 1 / 3, "Eddy 2017: under 1/3 at ~9 y"),
                 ((10, 10), 0.11, "Von Holle 2008: 11% at 10 y (3 y symptom-free)")],
    "bulimia": [((4, 9), 0.45, "Steinhausen & Weber 2009: ~45% full recovery (peaks at 4-9 y)"),
                ((10, 10), 0.10, "Von Holle 2008: 10% at 10 y (3 y symptom-free)")],
}
#: crude deaths per 1,000 person-years (ed-outcomes.md section 2): Arcelus 2011 by diagnosis
#: (EDNOS for binge eating disorder and OSFED), Solmi 2024 across eating disorders (derived there)
DEATHS = {"anorexia": 5.1, "bulimia": 1.7, "binge_eating": 3.3, "osfed": 3.3, "all": 1.25}
COLOURS = {"anorexia": "#D55E00", "bulimia": "#009E73", "binge_eating": "#CC79A7", "osfed": "#56B4E9"}


def _mine(rec) -> np.ndarray:
    """People who asked for help in the observation window."""
    return rec.patients["arrival"] >= rec.warmup


def remission_by_year(rec, who: np.ndarray) -> np.ndarray:
    """Share of the living in remission at each whole year since asking for help, among ``who``."""
    out = rec.health
    states = out.state_at[who]
    alive = states != len(out.remission) - 1
    remitted = out.remission[states] & alive
    return remitted.sum(axis=0) / np.maximum(alive.sum(axis=0), 1)


def deaths_per_1000(rec, who: np.ndarray) -> float:
    out = rec.health
    return float(1000 * (~np.isnan(out.died[who])).sum() / max(out.life_years[who].sum(), 1e-9))


def groups(rec, levels: list[str]) -> dict[str, np.ndarray]:
    """Everyone, those who started treatment, and each diagnosis (window arrivals)."""
    mine = _mine(rec)
    diagnosis = np.asarray(rec.patients["attr_diagnosis"])
    out = {"all": mine, "started treatment": mine & ~np.isnan(rec.patients["treat_start"])}
    out.update({level: mine & (diagnosis == i) for i, level in enumerate(levels)})
    return out


def came_back(rec) -> tuple[float, float]:
    """Of the window's people: the share the course sent back into the pathway (health.returns),
    and that share among those whose (last) exit was a completed treatment."""
    mine = _mine(rec)
    back = rec.health.returns > 0
    completed = mine & (rec.patients["outcome"] == rec.outcomes.index("completed"))
    return float(back[mine].mean()), float(back[completed].mean())


def measure(name: str) -> tuple[dict[str, np.ndarray], dict[str, float], dict[str, float], list[str]]:
    """Per group: remission by year (mean over replications), deaths per 1,000 person-years, share of people."""
    scenario = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    levels = list(scenario.attributes["diagnosis"])
    result = run(scenario, REPLICATIONS, keep_records=True)
    shares: dict[str, list] = {}
    deaths: dict[str, list] = {}
    sizes: dict[str, list] = {}
    for rec in result.records:
        for group, who in groups(rec, levels).items():
            shares.setdefault(group, []).append(remission_by_year(rec, who))
            deaths.setdefault(group, []).append(deaths_per_1000(rec, who))
            sizes.setdefault(group, []).append(who.sum() / _mine(rec).sum())
        for group, share in zip(("came back", "came back (completed)"), came_back(rec)):
            sizes.setdefault(group, []).append(share)
    return ({g: np.array(v) for g, v in shares.items()}, {g: float(np.mean(v)) for g, v in deaths.items()},
            {g: float(np.mean(v)) for g, v in sizes.items()}, levels)


#: the PSA's KPIs drawn, by the group they are of (years after asking for help in the name)
PSA_KPIS = {"all": "in_remission_{}y", "started treatment": "treated_in_remission_{}y"}
SCENARIO_OF_STRATEGY = {"fragmented": "ed_fragmented", "integrated": "ed_integrated"}


def psa_ranges(folder: Path) -> dict[tuple[str, str], dict[int, tuple[float, float]]]:
    """(scenario, group) -> {year: (2.5th, 97.5th percentile)} of the share in remission over a
    PSA's parameter draws (each draw's mean over its replications), for the years it reports."""
    points = pd.read_csv(folder / "points.csv")
    out: dict[tuple[str, str], dict[int, tuple[float, float]]] = {}
    for strategy, rows in points.groupby("base"):
        for group, pattern in PSA_KPIS.items():
            years = {y: pattern.format(y) for y in YEARS if pattern.format(y) in rows}
            out[(SCENARIO_OF_STRATEGY.get(str(strategy), str(strategy)), group)] = {
                y: tuple(np.percentile(rows[k].dropna(), [2.5, 97.5])) for y, k in years.items()}
    return out


def _psa_bars(ax, ranges: dict, name: str, colour: str, offset: float) -> None:
    for group, style in (("all", "-"), ("started treatment", "--")):
        for year, (low, high) in ranges.get((name, group), {}).items():
            x = year + offset + (0.08 if group == "started treatment" else 0)
            ax.plot([x, x], [low, high], color=colour, linewidth=1.2, linestyle=style, marker="_", markersize=8)


def _overall(ax, results: dict, ranges: dict) -> None:
    for i, (name, (shares, _, _, _)) in enumerate(results.items()):
        colour = ("#0072B2", "#E69F00")[i]
        _psa_bars(ax, ranges, name, colour, offset=0.18 + 0.2 * i)
        for group, style, who in (("all", "o-", "everyone who asked for help"),
                                  ("started treatment", "s--", "those who started treatment")):
            s = shares[group]
            years = np.arange(s.shape[1])
            ax.plot(years, s.mean(axis=0), style, color=colour, markersize=4, label=f"{name}: {who}")
            ax.fill_between(years, s.min(axis=0), s.max(axis=0), color=colour, alpha=0.15)
    for (a, b), share in SOLMI:
        ax.plot([a, b], [share, share], color="#444444", linewidth=3, solid_capstyle="butt")
    ax.plot([], [], color="#444444", linewidth=3, label="Solmi 2024, all EDs: recovered, by length of follow-up")
    if ranges:
        ax.plot([], [], color="#666666", linewidth=1.2, marker="_", markersize=8,
                label="95% range over the PSA's parameter draws, beside the year (dashed: started treatment)")
    _frame(ax, "All eating disorders (the scenarios' diagnosis mix)")


def _by_diagnosis(ax, shares: dict[str, np.ndarray], levels: list[str]) -> None:
    for level in levels:
        s = shares[level]
        years = np.arange(s.shape[1])
        ax.plot(years, s.mean(axis=0), "o-", color=COLOURS.get(level, "#666666"), markersize=4,
                label=level.replace("_", " "))
        ax.fill_between(years, s.min(axis=0), s.max(axis=0), color=COLOURS.get(level, "#666666"), alpha=0.15)
    for level, marks in PUBLISHED.items():
        for (a, b), share, text in marks:
            if a == b:
                ax.plot([a], [share], "v" if "Von Holle" not in text else "x", color=COLOURS[level], markersize=9,
                        linestyle="none", label=f"{level}: {text}")
            else:
                ax.plot([a, b], [share, share], color=COLOURS[level], linewidth=3, solid_capstyle="butt",
                        label=f"{level}: {text}")
    _frame(ax, "By diagnosis (ed_fragmented)")


def _frame(ax, title: str) -> None:
    ax.set_xlabel("Years since asking for help")
    ax.set_ylabel("Share in remission / recovered (of the living)")
    ax.set_ylim(0, 1)
    ax.tick_params(labelleft=True)
    ax.set_title(title, loc="left", fontsize=10)
    ax.grid(True, color="#dddddd", linewidth=0.6)
    ax.legend(fontsize=7, loc="upper left")


def _row(label: str, mean: np.ndarray, deaths: float, share: float | None, published: str) -> str:
    cells = " | ".join(f"{mean[k]:.0%}" for k in YEARS)
    size = f"{share:.0%}" if share is not None else ""
    return f"| {label} | {size} | {cells} | {deaths:.1f} | {published} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--psa", type=Path, help="a PSA's output folder (icssim psa ... --out DIR)")
    args = parser.parse_args()
    ranges = psa_ranges(args.psa) if args.psa else {}
    results = {name: measure(name) for name in ("ed_fragmented", "ed_integrated")}
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5), sharey=True)
    _overall(left, results, ranges)
    shares, _, _, levels = results["ed_fragmented"]
    _by_diagnosis(right, shares, levels)
    bars = "; bars: 95% of the PSA's parameter draws" if ranges else ""
    fig.suptitle(f"Course of illness against long-term outcome studies (not fitted to them); mean of "
                 f"{REPLICATIONS} replications, band: their range{bars}", fontsize=11, x=0.01, ha="left")
    fig.tight_layout()
    fig.savefig(ROOT / "docs" / "img" / "validation_recovery.png", dpi=110)
    header = "| who | share of people | " + " | ".join(f"{y} y" for y in YEARS) + \
             " | deaths per 1,000 person-years | published deaths per 1,000 person-years |"
    for name, (shares, deaths, sizes, levels) in results.items():
        print(f"\n{name}\n\n{header}\n|" + "---|" * (len(YEARS) + 4))
        for group in ["all", "started treatment", *levels]:
            published = f"{DEATHS[group]:g}" if group in DEATHS else ""
            print(_row(group.replace("_", " "), shares[group].mean(axis=0), deaths[group],
                       sizes[group] if group != "all" else None, published))
        print(f"\nsent back into the pathway by a relapse (health.returns): {sizes['came back']:.1%} of "
              f"everyone, {sizes['came back (completed)']:.1%} of those whose last exit was completed treatment")
    for (name, group), by_year in ranges.items():
        cells = ", ".join(f"{y} y {low:.0%} to {high:.0%}" for y, (low, high) in by_year.items())
        print(f"PSA, 95% of parameter draws: {name}, {group}: {cells}")


if __name__ == "__main__":
    main()
