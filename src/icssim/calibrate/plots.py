"""Fit plots (each target against its simulated distribution, with the target's interval) and the
pairwise posterior plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from icssim.calibrate.runner import CalibrationRun, simulated


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def fit_plots(run: CalibrationRun, folder: Path) -> list[Path]:
    plt = _plt()
    from icssim.calibrate.outputs import label_of

    cal, gen = run.cal, run.final
    paths = []
    for key, target in cal.spec.targets.items():
        prior = np.array([v for v in (simulated(cal, target, k) for k in run.prior_kpis) if v is not None],
                         dtype=float)
        post = np.array([_nan(simulated(cal, target, k)) for k in gen.kpis], dtype=float)
        ok = np.isfinite(post)
        fig, ax = plt.subplots(figsize=(6, 3.6))
        lo, hi = target.interval
        ax.axvspan(lo, hi, color="#f4a261", alpha=0.3, label="target interval")
        ax.axvline(target.value, color="#e76f51", lw=2, label=f"published {target.value:g}")
        data = [x for x in (prior[np.isfinite(prior)], post[ok]) if len(x)]
        bins = np.histogram_bin_edges(np.concatenate(data), bins=30) if data else 10
        if len(prior):
            ax.hist(prior[np.isfinite(prior)], bins=bins, color="#bbbbbb", alpha=0.7, density=True,
                    label="prior (generation 0)")
        if ok.any():
            ax.hist(post[ok], bins=bins, weights=gen.weights[ok], color="#2a9d8f", alpha=0.75, density=True,
                    label=f"posterior (generation {gen.t})")
        if run.base_kpis:
            base = simulated(cal, target, run.base_kpis)
            if base is not None and np.isfinite(base):
                ax.axvline(base, color="#264653", ls="--", lw=1.5, label=f"scenario as shipped {base:.3g}")
        ax.set_title(f"{label_of(target)}{' (held out)' if target.held_out else ''}", fontsize=10)
        ax.set_xlabel(target.kpi + (" per 100k" if target.per_100k else ""))
        ax.set_yticks([])
        ax.legend(fontsize=7, frameon=False)
        fig.tight_layout()
        path = folder / f"fit_{key}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def pairs_plot(run: CalibrationRun, path: Path) -> Path:
    plt = _plt()
    gen, names = run.final, run.priors.names
    k = len(names)
    fig, axes = plt.subplots(k, k, figsize=(2.2 * k + 1, 2.2 * k + 1), squeeze=False)
    w = gen.weights / gen.weights.max()
    for r in range(k):
        for c in range(k):
            ax = axes[r][c]
            lo_c, hi_c = run.priors.bounds[c]
            if r == c:
                ax.hist(gen.theta[:, c], bins=20, weights=gen.weights, color="#2a9d8f")
                ax.set_yticks([])
            elif r > c:
                ax.scatter(gen.theta[:, c], gen.theta[:, r], s=8, alpha=0.2 + 0.6 * w, color="#264653",
                           edgecolors="none")
            else:
                ax.axis("off")
                continue
            if np.isfinite(lo_c) and np.isfinite(hi_c):
                ax.set_xlim(lo_c, hi_c)
            if r == k - 1:
                ax.set_xlabel(_short(names[c]), fontsize=7)
            if c == 0 and r > 0:
                ax.set_ylabel(_short(names[r]), fontsize=7)
            ax.tick_params(labelsize=6)
    fig.suptitle(f"{run.cal.name}: posterior (generation {gen.t}, {len(gen.weights)} particles)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _nan(x: float | None) -> float:
    return float("nan") if x is None else x


def _short(name: str) -> str:
    parts = name.split(".")
    return ".".join(parts[-3:]) if len(parts) > 3 else name
