"""The calibration's report (``report.md``): targets and fit, posterior, generations, timing."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from icssim.calibrate.runner import CalibrationRun


def _g(x: Any) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def _outside(r: Any) -> bool:
    lo, hi = r.get("fitted_low"), r.get("fitted_high")
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return False
    return bool(hi < r["interval_low"] or lo > r["interval_high"])


def report_text(run: CalibrationRun, summary: pd.DataFrame, fit: pd.DataFrame, gens: pd.DataFrame,
                meta: dict[str, Any]) -> str:
    from icssim.calibrate.outputs import label_of

    cal, s, gen = run.cal, run.cal.spec.calibration, run.final
    lines = [f"# Calibration: {cal.name}", ""]
    if cal.spec.calibration.description:
        lines += [cal.spec.calibration.description.strip(), ""]
    best = float(gen.distances.min())
    if not meta["fits"]:
        lines += [f"**Nothing fits.** The closest parameter set found is {best:.3g} uncertainty units from the "
                  f"targets (root mean square; `fit_distance` is {s.fit_distance:g}): the targets contradict each "
                  "other or the model, within these priors. The posterior below is only the closest region found, "
                  "not a calibration; look at which targets the fit table shows far off.", ""]
    missed = [r for _, r in fit.iterrows() if not r["held_out"] and _outside(r)]
    if missed:
        lines += ["**Targets no parameter set reaches** (the fitted 95% range misses the target's interval): "
                  + "; ".join(f"{r['target']} (published {_g(r['published'])}, fitted {_g(r.get('fitted_low'))}-"
                              f"{_g(r.get('fitted_high'))})" for r in missed)
                  + ". Within these priors the model cannot produce them: a structural gap, or a definition "
                    "that differs from the source's, rather than a value to tune.", ""]
    lines += [f"Scenario `{cal.scenario_file.name}`, {len(cal.spec.parameters)} free parameters, "
              f"{len(cal.fitted)} fitted and {len(cal.held_out)} held-out targets. ABC-SMC: population {s.population}, "
              f"{len(run.generations)} generation(s), final threshold {gen.epsilon:.3g} (distance: root mean square "
              f"error in units of each target's uncertainty); stopped because {run.stop_reason}.", ""]
    sims = meta.get("simulations_this_invocation") or 0
    lines += [f"Simulations: {meta.get('simulations_stored')} stored ({sims} in this invocation, "
              f"{meta.get('wall_seconds_this_invocation')} s wall on {meta.get('workers')} {meta.get('executor')} "
              f"worker(s); {_g(meta.get('simulations_per_second'))} simulations per second, "
              f"{_g(meta.get('cpu_seconds_per_simulation'))} s per simulation).", ""]
    lines += ["## Targets and fit", "",
              "Fitted: weighted median and 95% range of the final population's simulated values (one replication "
              "each; for fitted targets these are conditioned on the threshold, so they look tighter than a "
              "fresh posterior predictive would). As shipped: mean of 4 replications of the scenario unchanged.", "",
              "| target | measure | published (interval) | as shipped | fitted median (95%) | within | source |",
              "|---|---|---|---|---|---|---|"]
    for _, r in fit.iterrows():
        t = cal.spec.targets[r["target"]]
        name = label_of(t) + (" **(held out)**" if t.held_out else "")
        lines.append(f"| {name} | `{t.kpi}`{' per 100k' if t.per_100k else ''} | {_g(t.value)} "
                     f"({_g(r['interval_low'])}-{_g(r['interval_high'])}) | {_g(r.get('base_scenario'))} | "
                     f"{_g(r.get('fitted_median'))} ({_g(r.get('fitted_low'))}-{_g(r.get('fitted_high'))}) | "
                     f"{'yes' if r.get('within') is True else 'no'} | {t.source} |")
    lines += ["", "Plots: " + ", ".join(f"[{k}](plots/fit_{k}.png)" for k in cal.spec.targets) + ".", ""]
    lines += ["## Posterior", "", "| parameter | as shipped | prior | posterior median (95% credible interval) |",
              "|---|---|---|---|"]
    for _, r in summary.iterrows():
        lines.append(f"| `{r['parameter']}` | {r['base']} | {r['prior']} | {_g(r['median'])} "
                     f"({_g(r['lower_95'])}-{_g(r['upper_95'])}) |")
    lines += ["", "Pairwise: [plots/pairs.png](plots/pairs.png). As PSA input: `posterior.csv` (equally likely "
              "parameter sets, resampled by weight; `draws: posterior.csv` in a PSA sweep file keeps their "
              "correlations) or `psa_parameters.yaml` (moment-matched distributions, drawn independently).", ""]
    lines += ["## Generations", "", "| generation | threshold | simulations | acceptance | best distance | ESS |",
              "|---|---|---|---|---|---|"]
    for _, r in gens.iterrows():
        lines.append(f"| {int(r['generation'])} | {r['threshold']:.3g} | {int(r['simulations'])} | "
                     f"{r['acceptance']:.1%} | {r['best_distance']:.3g} | {r['ess']:.0f} |")
    return "\n".join(lines) + "\n"


def write_report(run: CalibrationRun, summary: pd.DataFrame, fit: pd.DataFrame, gens: pd.DataFrame,
                 meta: dict[str, Any]) -> None:
    (run.out / "report.md").write_text(report_text(run, summary, fit, gens, meta))
