"""Fit plots (each target against its simulated distribution, with the target's interval) and the
pairwise posterior plot."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from icssim.calibrate.measures import measure_info
from icssim.calibrate.runner import CalibrationRun, simulated


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def fit_plots(run: CalibrationRun, folder: Path) -> list[Path]:
    """One plot per target: its interval and published value against the simulated values of the
    prior (generation 0) and the posterior, and the scenario as it stood. The axis spans the target
    and the posterior (prior draws far outside are counted in the legend, not drawn)."""
    plt = _plt()
    from icssim.calibrate.outputs import label_of

    cal, gen = run.cal, run.final
    paths = []
    for key, target in cal.spec.targets.items():
        prior = np.array([v for v in (simulated(cal, target, k) for k in run.prior_kpis) if v is not None],
                         dtype=float)
        prior = prior[np.isfinite(prior)]
        post = np.array([_nan(simulated(cal, target, k)) for k in gen.kpis], dtype=float)
        ok = np.isfinite(post)
        base = _nan(simulated(cal, target, run.base_kpis)) if run.base_kpis else float("nan")
        lo, hi = target.interval
        left, right = _focus([lo, hi, target.value, base, *post[ok]])
        bins = np.linspace(left, right, 31)
        fig, ax = plt.subplots(figsize=(6.4, 3.8))
        ax.axvspan(lo, hi, color="#f4a261", alpha=0.3, label="target interval (95%)")
        ax.axvline(target.value, color="#e76f51", lw=2, label=f"published {target.value:g}")
        shown = prior[(prior >= left) & (prior <= right)]
        if len(prior):
            beyond = f"; {len(prior) - len(shown)} of {len(prior)} beyond the axis" if len(shown) < len(prior) else ""
            ax.hist(shown, bins=bins, color="#bbbbbb", alpha=0.7, weights=np.full(len(shown), 1 / len(prior)),
                    label=f"prior (generation 0{beyond})")
        if ok.any():
            w = gen.weights[ok] / gen.weights[ok].sum()
            ax.hist(post[ok], bins=bins, weights=w, color="#2a9d8f", alpha=0.75,
                    label=f"posterior (generation {gen.t})")
        if np.isfinite(base):
            ax.axvline(base, color="#264653", ls="--", lw=1.5, label=f"scenario when the run started {base:.3g}")
        ax.set_xlim(left, right)
        title = f"{label_of(target)}{' (held out)' if target.held_out else ''}"
        ax.set_title("\n".join(textwrap.wrap(title, 72)), fontsize=10)
        ax.set_xlabel(_axis_label(target))
        ax.set_ylabel("share of simulations")
        ax.legend(fontsize=7, frameon=False)
        fig.tight_layout()
        path = folder / f"fit_{key}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def _focus(values: list[float]) -> tuple[float, float]:
    """An axis range around ``values`` (the target and the posterior), with a margin."""
    x = np.array([v for v in values if np.isfinite(v)], dtype=float)
    a, b = float(x.min()), float(x.max())
    pad = 0.1 * (b - a) if b > a else max(abs(a) * 0.1, 1e-3)
    return a - pad, b + pad


def _axis_label(target: object) -> str:
    """The target's measure in words, with its unit."""
    info = measure_info(target.kpi)  # type: ignore[attr-defined]
    unit = {"share": "share, 0 to 1"}.get(info.unit, info.unit)
    if getattr(target, "per_100k", False):
        unit = ("a year" if unit == "per year" else unit) + " per 100,000 people"
    return f"{target.kpi} ({unit})" if unit else target.kpi  # type: ignore[attr-defined]


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
