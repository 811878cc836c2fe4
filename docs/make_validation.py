"""Regenerate docs/validation.md's figure and table: the ED course of illness against the
long-term recovery and mortality figures of shared/domain/ed-outcomes.md.

Run from the repository root: ``python docs/make_validation.py`` (about a minute on 2 cores).
Nothing here is tuned: the scenarios' parameters come from ed-outcomes.md section 6.2, and these
published figures are kept aside to judge the model.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from icssim.experiments import run  # noqa: E402
from icssim.scenario import load_scenario  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REPLICATIONS = 5
#: (years, share recovered, low, high, source): Solmi et al. 2024, all eating disorders, by length
#: of follow-up (ed-outcomes.md 1.1); the bands are the follow-up ranges
SOLMI = [((0, 2), 0.42), ((2, 4), 0.43), ((4, 6), 0.54), ((6, 8), 0.59), ((8, 10), 0.64)]
#: anorexia: Eddy et al. 2017, under a third recovered at about 9 years (ed-outcomes.md 1.1)
EDDY_AN_9Y = 1 / 3


def remission_by_year(result) -> np.ndarray:
    """Share of the living in remission at each whole year since asking for help (window arrivals)."""
    shares = []
    for rec in result.records:
        out = rec.health
        mine = rec.patients["arrival"] >= rec.warmup
        states = out.state_at[mine]
        dead = len(out.remission) - 1
        alive = states != dead
        remitted = out.remission[states] & alive
        shares.append(remitted.sum(axis=0) / np.maximum(alive.sum(axis=0), 1))
    return np.array(shares)


def deaths_per_1000_person_years(result) -> float:
    rates = []
    for rec in result.records:
        out = rec.health
        mine = rec.patients["arrival"] >= rec.warmup
        rates.append(1000 * (~np.isnan(out.died[mine])).sum() / out.life_years[mine].sum())
    return float(np.mean(rates))


def main() -> None:
    fig, ax = plt.subplots(figsize=(8, 4.8))
    rows = []
    for i, name in enumerate(("ed_fragmented", "ed_integrated")):
        result = run(load_scenario(ROOT / "scenarios" / f"{name}.yaml"), REPLICATIONS, keep_records=True)
        shares = remission_by_year(result)
        years = np.arange(shares.shape[1])
        mean, lo, hi = shares.mean(axis=0), shares.min(axis=0), shares.max(axis=0)
        colour = ("#0072B2", "#E69F00")[i]
        ax.plot(years, mean, "o-", color=colour, label=f"{name}: in remission (of the living), mean of "
                                                           f"{REPLICATIONS} replications (band: their range)")
        ax.fill_between(years, lo, hi, color=colour, alpha=0.2)
        rows.append((name, mean, deaths_per_1000_person_years(result)))
    for (a, b), share in SOLMI:
        ax.plot([a, b], [share, share], color="#444444", linewidth=3, solid_capstyle="butt")
    ax.plot([], [], color="#444444", linewidth=3, label="Solmi 2024, all EDs: recovered, by length of follow-up")
    ax.plot([9], [EDDY_AN_9Y], "v", color="#D55E00", markersize=9, label="Eddy 2017, anorexia: under 1/3 at ~9 y")
    ax.set_xlabel("Years since asking for help")
    ax.set_ylabel("Share in remission / recovered")
    ax.set_ylim(0, 1)
    ax.set_title("Course of illness against long-term outcome studies (not fitted to them)", loc="left",
                 fontsize=11)
    ax.grid(True, color="#dddddd", linewidth=0.6)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(ROOT / "docs" / "img" / "validation_recovery.png", dpi=110)
    print("| scenario | 1 y | 2 y | 5 y | 9 y | 10 y | deaths per 1,000 person-years |")
    print("|---|---|---|---|---|---|---|")
    for name, mean, deaths in rows:
        cells = " | ".join(f"{mean[k]:.0%}" for k in (1, 2, 5, 9, 10))
        print(f"| {name} | {cells} | {deaths:.1f} |")


if __name__ == "__main__":
    main()
