"""What a calibration writes: the posterior as PSA input, fit and pairwise plots, a markdown report."""

from __future__ import annotations

import json
import math
import time
from typing import Any

import numpy as np
import pandas as pd

from icssim import __version__
from icssim.calibrate.measures import measure_info
from icssim.calibrate.runner import CalibrationRun, simulated, values_of


def resample(run: CalibrationRun, n: int | None = None) -> np.ndarray:
    """Indices of the final population drawn in proportion to the weights (systematic resampling,
    seeded), so that each row of ``posterior.csv`` is an equally likely parameter set."""
    gen = run.final
    n = n or len(gen.weights)
    rng = np.random.default_rng([run.cal.spec.calibration.seed, 99])
    positions = (rng.random() + np.arange(n)) / n
    return np.minimum(np.searchsorted(np.cumsum(gen.weights / gen.weights.sum()), positions), len(gen.weights) - 1)


def posterior_table(run: CalibrationRun) -> pd.DataFrame:
    """``posterior.csv``: ``calibration.posterior_draws`` rows (default: one per particle), each
    the parameter set of a particle drawn in proportion to its weight. A PSA of more parameter
    sets than the final population has particles needs more rows than that: a particle then fills
    about its weight's share of them, as drawing from the weighted population would."""
    gen = run.final
    rows = []
    for draw, j in enumerate(resample(run, run.cal.spec.calibration.posterior_draws)):
        row: dict[str, Any] = {"draw": draw, "particle": int(j)}
        row.update(values_of(run, gen.theta[j]))
        row["distance"] = float(gen.distances[j])
        rows.append(row)
    return pd.DataFrame(rows)


def wquantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    order = np.argsort(x)
    cw = np.cumsum(w[order]) / w.sum()
    return float(x[order][min(int(np.searchsorted(cw, q)), len(x) - 1)])


def summary_table(run: CalibrationRun) -> pd.DataFrame:
    gen = run.final
    rows = []
    for k, name in enumerate(run.priors.names):
        x, w = gen.theta[:, k], gen.weights
        m = float(np.average(x, weights=w))
        sd = float(np.sqrt(np.average((x - m) ** 2, weights=w)))
        lo, hi = run.priors.bounds[k]
        p = run.cal.spec.parameters[name]
        prior = f"{p.dist} [{lo:g}, {hi:g}]" if p.dist in ("uniform", "loguniform") else \
            f"{p.dist} mean {p.mean:g} sd {p.sd:g}"
        prior += f" {p.unit.strip()}" if p.unit.strip() else ""   # (the posterior's numbers are in it too)
        rows.append({"parameter": name, "base": run.cal.base_values[name], "prior": prior, "mean": m, "sd": sd,
                     "median": wquantile(x, w, 0.5), "lower_95": wquantile(x, w, 0.025),
                     "upper_95": wquantile(x, w, 0.975)})
    return pd.DataFrame(rows)


def fit_table(run: CalibrationRun) -> pd.DataFrame:
    """Each target against the final population's simulated values (weighted)."""
    gen, cal = run.final, run.cal
    rows = []
    for key, target in cal.spec.targets.items():
        sims = np.array([_num(simulated(cal, target, k)) for k in gen.kpis])
        ok = np.isfinite(sims)
        lo, hi = target.interval
        before = _num(simulated(cal, target, run.base_kpis)) if getattr(run, "base_kpis", None) else math.nan
        row = {"target": key, "kpi": target.kpi, "held_out": target.held_out, "published": target.value,
               "interval_low": lo, "interval_high": hi, "source": target.source}
        if ok.any():
            x, w = sims[ok], gen.weights[ok]
            row.update(fitted_median=wquantile(x, w, 0.5), fitted_low=wquantile(x, w, 0.025),
                       fitted_high=wquantile(x, w, 0.975), within=bool(lo <= wquantile(x, w, 0.5) <= hi))
        row["base_scenario"] = before
        rows.append(row)
    return pd.DataFrame(rows)


def _num(x: Any) -> float:
    return float("nan") if x is None else float(x)


def psa_yaml(summary: pd.DataFrame, run: CalibrationRun) -> str:
    """Fitted distributions (moment-matched) in the form of a PSA sweep file's ``parameters:``."""
    lines = [f"# posterior of {run.cal.path.name}, moment-matched (icssim calibrate); paste under 'parameters:'",
             "# of a sweep file with 'design: psa' (independent margins), or keep the parameters' correlations",
             "# with 'draws: posterior.csv' in that file (docs/health.md)"]
    for _, r in summary.iterrows():
        p = run.cal.spec.parameters[r["parameter"]]
        lo, hi = run.priors.bounds[run.priors.names.index(r["parameter"])]
        dist = "beta" if 0 <= lo and hi <= 1 and 0 < r["mean"] < 1 else ("gamma" if lo >= 0 else "normal")
        extra = ", integer: true" if p.integer else ""
        extra += f", unit: {p.unit.strip()}" if run.cal.suffixes.get(r["parameter"]) else ""   # (a PSA needs it)
        sd = max(r["sd"], 1e-9)
        if dist == "beta" and sd ** 2 >= r["mean"] * (1 - r["mean"]):
            dist = "gamma"
        lines.append(f"{r['parameter']}: {{dist: {dist}, mean: {r['mean']:.6g}, sd: {sd:.4g}{extra}}}")
    return "\n".join(lines) + "\n"


def write_outputs(run: CalibrationRun, command: str = "") -> dict[str, Any]:
    out = run.out
    (out / "plots").mkdir(parents=True, exist_ok=True)
    posterior = posterior_table(run)
    posterior.to_csv(out / "posterior.csv", index=False)
    summary = summary_table(run)
    summary.to_csv(out / "posterior_summary.csv", index=False)
    (out / "psa_parameters.yaml").write_text(psa_yaml(summary, run))
    fit = fit_table(run)
    fit.to_csv(out / "fit.csv", index=False)
    gens = pd.DataFrame([{"generation": g.t, "threshold": g.epsilon, "simulations": g.simulations,
                          "accepted": len(g.weights), "acceptance": g.acceptance,
                          "best_distance": float(g.distances.min()),
                          "ess": float(1 / np.sum((g.weights / g.weights.sum()) ** 2))} for g in run.generations])
    gens.to_csv(out / "generations.csv", index=False)
    from icssim.calibrate.plots import fit_plots, pairs_plot

    fit_plots(run, out / "plots")
    pairs_plot(run, out / "plots" / "pairs.png")
    meta = {"kind": "calibration", "icssim_version": __version__, "calibration": str(run.cal.path),
            "scenario": str(run.cal.scenario_file), "command": command,
            "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "simulations_stored": run.store.count() if run.store is not None else None,
            "simulations_this_invocation": run.ran_now, "wall_seconds_this_invocation": round(run.wall_seconds, 2),
            "simulations_per_second": (round(run.ran_now / run.wall_seconds, 3)
                                       if run.ran_now and run.wall_seconds else None),
            "cpu_seconds_per_simulation": round(run.sim_seconds / run.ran_now, 3) if run.ran_now else None,
            "executor": run.executor_name, "workers": run.workers, "stop_reason": run.stop_reason,
            "invocations": run.store.get_meta("invocations") if run.store is not None else None,
            "fits": fits(run)}
    (out / "metadata.json").write_text(json.dumps(meta, indent=1, default=str))
    from icssim.calibrate.report import write_report

    write_report(run, summary, fit, gens, meta)
    return meta


def fits(run: CalibrationRun) -> bool:
    """Whether the best parameter set comes within ``fit_distance`` of the fitted targets."""
    return bool(run.final.distances.min() <= run.cal.spec.calibration.fit_distance)


def label_of(target: Any) -> str:
    return target.label or measure_info(target.kpi).label
