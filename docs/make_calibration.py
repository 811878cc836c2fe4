"""Print the calibration table of docs/calibration.md: the fragmented baseline against the domain
file's calibration targets, and the integrated and FREED scenarios beside it (10 replications).

    python docs/make_calibration.py
"""

from pathlib import Path

import icssim

ROOT = Path(__file__).resolve().parents[1]
TARGETS = [
    ("uptake_after_referral", "Uptake of treatment after referral", "75.4% (Flynn et al. 2021)", 100, "%"),
    ("share_intensive_12m", "Admitted or day care within 12 months", "12.4% (Austin et al. 2021)", 100, "%"),
    ("wait_to_assessment_median_adults", "Adult median wait, referral to assessment", "28 days (NAED 2025)", 1, " d"),
    ("wait_to_treatment_median_adults", "Adult median wait, referral to treatment", "28 + 42 = 70 days (NAED 2025)", 1, " d"),
    ("within_cyp_urgent_1_week", "CYP urgent: treatment within 1 week", "63.8% (RCPsych 2024)", 100, "%"),
    ("within_cyp_routine_4_weeks", "CYP routine: treatment within 4 weeks", "79.4% (RCPsych 2024)", 100, "%"),
]


def main() -> None:
    names = ["ed_fragmented", "ed_integrated", "ed_freed"]
    results = {n: icssim.run(icssim.load_scenario(ROOT / "scenarios" / f"{n}.yaml"), replications=10,
                             keep_records=False).summary() for n in names}
    print("| KPI | target | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for kpi, label, target, scale, unit in TARGETS:
        cells = []
        for n in names:
            row = results[n].loc[kpi]
            cells.append(f"{row['mean'] * scale:.1f}{unit} ({row['lower'] * scale:.1f}-{row['upper'] * scale:.1f})")
        print(f"| {label} | {target} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
