"""The national view: a pathway pair in every ICS of England, ranked.

An area sweep (``docs/sweeps.md``, "Areas") runs the same pathway in many ICSs. Two pathways
with different teams cannot share one sweep file's ``areas.scale`` list, because ``icssim sweep``
checks every path against every base; :func:`run_national` therefore runs one area sweep per
base (each scale path applied where the base has it; same seed, so replication *r* of an area
sees the same people under both pathways), each resumable in ``OUT/<base>/``. :func:`write_national`
reads those folders (or one ordinary sweep folder) and writes:

- ``national.csv``: per ICS, each pathway's wait and cost per head with CIs, the paired difference
  of the other pathways to the first, and the net monetary benefit of changing per help-seeker
  (``wtp`` × ΔQALYs − Δcost per person) with its paired CI; ranks by net benefit and by wait;
- ``national_totals.csv``: England's totals (help-seekers and cost a year, cost per head, the net
  benefit a year of changing) with CIs from per-replication sums over the ICSs;
- ``plots/ranked_wait.png``, ``plots/ranked_cost_per_head.png``, ``plots/ranked_net_benefit.png``:
  the ICSs ranked, each with its 95% CI.

Command line (docs/national.md)::

    python -m icssim.national run scenarios/sweeps/england_42_ics.yaml --workers 2 [--dask ADDRESS]
    python -m icssim.national report results/england_42_ics
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from ruamel.yaml import YAML

from icssim.errors import IcssimError
from icssim.intervals import half_width

WAIT_KPI = "wait_to_treatment_mean"
COST_KPI = "cost_per_year"
WTP = 20000.0


def _load_yaml(path: Path) -> Any:
    """The plain data of a YAML file (safe loader: no tags, no code)."""
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def _dump_yaml(data: Any) -> str:
    """``data`` as block-style YAML text, keys in their given order."""
    yaml = YAML(typ="safe")
    yaml.default_flow_style = False
    yaml.allow_unicode = True
    text = StringIO()
    yaml.dump(data, text)
    return text.getvalue()


# -- running ------------------------------------------------------------------------------------

def split_sweep(path: Path, specs: Path) -> dict[str, Path]:
    """Write one single-base sweep file per base of the sweep file ``path`` into ``specs``; each
    keeps only the ``areas.scale`` paths its base has. Returns {base label: file}."""
    from icssim.scenario import provenance
    from icssim.sweep.design import MISSING, get_path
    from icssim.sweep.spec import load_sweep

    path = Path(path).resolve()
    sweep = load_sweep(path)
    if sweep.areas is None or sweep.spec.areas is None:
        raise IcssimError(f"{path}: a national run needs 'areas' (docs/sweeps.md, Areas)")
    scale = sweep.spec.areas.scale
    raw = _load_yaml(path)
    specs.mkdir(parents=True, exist_ok=True)
    files = {}
    for label, scenario in sweep.bases.items():
        base_raw = provenance(scenario).raw
        one = dict(raw)
        one["sweep"] = {**raw["sweep"], "name": f"{raw['sweep']['name']}_{label}"}
        one["base"] = {label: str(Path(sweep.base_files[label]).resolve())}
        areas = dict(raw["areas"]) if isinstance(raw["areas"], dict) else {"rows": raw["areas"]}
        if areas.get("table"):
            areas["table"] = str((path.parent / areas["table"]).resolve())
        areas["scale"] = [p for p in scale if get_path(base_raw, p) is not MISSING]
        one["areas"] = areas
        file = specs / f"{label}.yaml"
        text = _dump_yaml(one)
        if not file.is_file() or file.read_text(encoding="utf-8") != text:
            file.write_text(text, encoding="utf-8")
        files[label] = file
    return files


def run_national(path: Path, out: Path | None = None, workers: int | None = None, dask: str | None = None,
                 restart: bool = False, quiet: bool = True, **report: Any) -> Path:
    """Run (or resume) every base's area sweep into ``out/<base>/`` and write the national outputs."""
    from icssim.sweep import sweep

    path = Path(path)
    name = _load_yaml(path)["sweep"]["name"]
    out = Path(out) if out is not None else Path("results") / name
    files = split_sweep(path, out / "specs")
    for label, file in files.items():
        if not quiet:
            print(f"{label}: running {file}", file=sys.stderr)
        sweep(file, out=out / label, workers=workers, dask=dask, restart=restart, quiet=quiet, yes=True)
    write_national(out, **report)
    return out


# -- capacity rounding ----------------------------------------------------------------------------------

def capacity_rounding(specs: Path) -> pd.DataFrame:
    """Per base, area and scaled staff WTE path of the single-base sweep files in ``specs``: the
    WTE scaled exactly by population, the WTE (whole servers) and clinical hours per week per
    server the area's scenario gets, and the capacity as run against exact scaling
    (``capacity_change``: 0 where the hours make up for the rounding, else the WTE's change)."""
    from icssim.scenario import provenance
    from icssim.sweep.design import MISSING, get_path, hours_path, scaled_value
    from icssim.sweep.spec import load_sweep

    rows = []
    for file in sorted(Path(specs).glob("*.yaml")):
        sweep = load_sweep(file)
        if sweep.areas is None or sweep.spec.areas is None:
            continue
        whole = sweep.spec.areas.whole_servers
        for label, scenario in sweep.bases.items():
            raw = provenance(scenario).raw
            reference = raw["scenario"]["population"]
            for path in (p for p in sweep.spec.areas.scale if p.endswith(".wte")):
                base_hours = get_path(raw, hours_path(path) or "")
                for area in sweep.areas:
                    exact = get_path(raw, path) * area.population / reference
                    wte = float(scaled_value(path, exact, whole))
                    hours = np.nan if base_hours is MISSING else (base_hours * exact / wte if whole else base_hours)
                    capacity = 1.0 if not np.isnan(hours) else wte / exact
                    rows.append({"base": label, "area": area.name, "population": area.population, "path": path,
                                 "exact_wte": round(exact, 3), "wte": wte, "change_wte": round(wte - exact, 3),
                                 "clinical_hours_per_week": round(hours, 3), "capacity_change": capacity - 1.0})
    return pd.DataFrame(rows, columns=["base", "area", "population", "path", "exact_wte", "wte", "change_wte",
                                       "clinical_hours_per_week", "capacity_change"])


def rounding_by_area(rounding: pd.DataFrame) -> pd.DataFrame:
    """Per area and base: the staff capacity as run against exact scaling, the roles weighted by
    their exact WTE (``wte_change_<base>``: +0.05 means 5% more staff time than capacity per head
    would give); 0 when every role's clinical hours make up for its rounding."""
    if rounding.empty:
        return pd.DataFrame(columns=["area"])
    r = rounding.assign(weighted=rounding["capacity_change"] * rounding["exact_wte"])
    sums = r.groupby(["area", "base"], sort=False)[["weighted", "exact_wte"]].sum()
    change = (sums["weighted"] / sums["exact_wte"]).unstack("base")
    change.columns = [f"wte_change_{b}" for b in change.columns]
    return change.reset_index()


# -- reading and summarising ------------------------------------------------------------------------

def load_runs(folder: Path) -> pd.DataFrame:
    """The tidy runs of a sweep folder, or of every sweep folder directly under it (one per base)."""
    folder = Path(folder)
    files = [folder / "runs.parquet"] if (folder / "runs.parquet").is_file() else sorted(folder.glob("*/runs.parquet"))
    if not files:
        raise IcssimError(f"{folder}: no runs.parquet here or in its sub-folders: is it a finished sweep?")
    runs = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    if "area" not in runs or runs["area"].isna().all():
        raise IcssimError(f"{folder}: these sweeps have no areas (docs/sweeps.md, Areas)")
    return runs


def _wide(runs: pd.DataFrame) -> pd.DataFrame:
    """(base, area, population, replication) x KPI."""
    return runs.pivot_table(index=["base", "area", "population", "replication"], columns="kpi",
                            values="value", aggfunc="first").reset_index()


def _ci(x: np.ndarray, level: float) -> tuple[float, float, float]:
    x = np.asarray(x, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return (np.nan, np.nan, np.nan)
    mean = float(x.mean())
    if len(x) < 2:
        return (mean, np.nan, np.nan)
    h = float(half_width(float(x.std(ddof=1)), len(x), level))
    return (mean, mean - h, mean + h)


def _put(row: dict[str, Any], name: str, x: np.ndarray, level: float) -> None:
    row[name], row[f"{name}_lower"], row[f"{name}_upper"] = _ci(x, level)


def national_table(runs: pd.DataFrame, wait: str = WAIT_KPI, cost: str = COST_KPI, wtp: float = WTP,
                   level: float = 0.95) -> pd.DataFrame:
    """Per area: each base's wait and cost per head (mean, CI); against the first base, paired
    differences and the net monetary benefit per help-seeker; ranks."""
    wide = _wide(runs)
    for kpi in (wait, cost):
        if kpi not in wide:
            raise IcssimError(f"KPI {kpi!r} is not in these runs; measured: {', '.join(sorted(runs['kpi'].unique()))}")
    wide["cost_per_head"] = wide[cost] / wide["population"]
    bases = list(dict.fromkeys(runs["base"]))
    first = bases[0]
    has_qalys = {"qalys_per_person", "cost_per_person"} <= set(wide.columns)
    rows = []
    for (area, population), group in wide.groupby(["area", "population"], sort=False):
        by = {b: g.set_index("replication").sort_index() for b, g in group.groupby("base")}
        row: dict[str, Any] = {"area": area, "population": int(population)}
        for b in bases:
            if b in by:
                _put(row, f"{wait}_{b}", by[b][wait].to_numpy(), level)
                _put(row, f"cost_per_head_{b}", by[b]["cost_per_head"].to_numpy(), level)
        for b in bases[1:]:
            if b not in by or first not in by:
                continue
            reps = by[first].index.intersection(by[b].index)
            one, other = by[first].loc[reps], by[b].loc[reps]
            _put(row, f"{wait}_change_{b}", (other[wait] - one[wait]).to_numpy(), level)
            _put(row, f"cost_per_head_change_{b}", (other["cost_per_head"] - one["cost_per_head"]).to_numpy(), level)
            if has_qalys:
                nmb = wtp * (other["qalys_per_person"] - one["qalys_per_person"]) \
                    - (other["cost_per_person"] - one["cost_per_person"])
                _put(row, f"net_benefit_per_person_{b}", nmb.to_numpy(), level)
        rows.append(row)
    table = pd.DataFrame(rows)
    table.insert(2, f"rank_{wait}_{first}", table[f"{wait}_{first}"].rank(method="min").astype("Int64"))
    if len(bases) > 1 and f"net_benefit_per_person_{bases[1]}" in table:
        col = f"net_benefit_per_person_{bases[1]}"
        table.insert(2, "rank_net_benefit", table[col].rank(ascending=False, method="min").astype("Int64"))
        table = table.sort_values(col, ascending=False, kind="stable")
    else:
        table = table.sort_values(f"{wait}_{first}", kind="stable")
    return table.reset_index(drop=True)


def national_totals(runs: pd.DataFrame, cost: str = COST_KPI, wtp: float = WTP, level: float = 0.95) -> pd.DataFrame:
    """England's totals per base, and changes against the first base, from per-replication sums over
    the areas (replication r of every area is one draw of the national total)."""
    wide = _wide(runs)
    bases = list(dict.fromkeys(runs["base"]))
    population = float(wide.drop_duplicates("area")["population"].sum())
    rows = []
    sums = {}
    for b in bases:
        g = wide[wide["base"] == b]
        s = g.groupby("replication")[[k for k in ("referrals_per_year", cost) if k in g]].sum()
        sums[b] = s
        row: dict[str, Any] = {"base": b, "areas": int(g["area"].nunique()), "population": int(population)}
        if "referrals_per_year" in s:
            _put(row, "referrals_per_year", s["referrals_per_year"].to_numpy(), level)
        _put(row, cost, s[cost].to_numpy(), level)
        _put(row, "cost_per_head", (s[cost] / population).to_numpy(), level)
        if b != bases[0]:
            reps = sums[bases[0]].index.intersection(s.index)
            _put(row, f"{cost}_change", (s.loc[reps, cost] - sums[bases[0]].loc[reps, cost]).to_numpy(), level)
            if {"qalys_per_person", "cost_per_person", "referrals_per_year"} <= set(wide.columns):
                a = wide[wide["base"] == bases[0]].set_index(["area", "replication"]).sort_index()
                v = g.set_index(["area", "replication"]).sort_index()
                idx = a.index.intersection(v.index)
                per_person = (wtp * (v.loc[idx, "qalys_per_person"] - a.loc[idx, "qalys_per_person"])
                              - (v.loc[idx, "cost_per_person"] - a.loc[idx, "cost_per_person"]))
                nmb = per_person * a.loc[idx, "referrals_per_year"]
                _put(row, "net_benefit_per_year", nmb.groupby(level="replication").sum().to_numpy(), level)
        rows.append(row)
    return pd.DataFrame(rows)


# -- a national PSA ------------------------------------------------------------------------------------

def is_psa(runs: pd.DataFrame) -> bool:
    """Whether these runs are a probabilistic sensitivity analysis (``design: psa``)."""
    return "role" in runs and bool((runs["role"] == "psa").any())


def _draws(runs: pd.DataFrame) -> pd.DataFrame:
    """(base, area, draw, replication) x KPI for a PSA: ``draw`` numbers each area's points in
    the order the sweep drew them, so draw *k* is the same parameter set in every area and base
    (each base's sweep draws from the same seed)."""
    wide = runs.pivot_table(index=["base", "area", "population", "point", "replication"], columns="kpi",
                            values="value", aggfunc="first").reset_index()
    wide["draw"] = wide.groupby(["base", "area"])["point"].rank(method="dense").astype(int) - 1
    return wide.groupby(["base", "area", "population", "draw"], sort=False).mean(numeric_only=True).reset_index()


def _spread(row: dict[str, Any], name: str, x: np.ndarray) -> None:
    """Mean and the 2.5th and 97.5th percentiles over the parameter draws."""
    x = np.asarray(x, dtype=float)
    x = x[~np.isnan(x)]
    row[name] = float(x.mean()) if len(x) else np.nan
    row[f"{name}_p2_5"], row[f"{name}_p97_5"] = (np.percentile(x, [2.5, 97.5]) if len(x) else (np.nan, np.nan))


def psa_table(runs: pd.DataFrame, cost: str = COST_KPI, wtp: float = WTP) -> pd.DataFrame:
    """Per area, over the PSA's parameter draws (replications averaged within a draw): each base's
    cost per resident and the second base's net monetary benefit per help-seeker, each as a mean
    with its 95% range over the draws, and the probability that the second base is cost-effective
    at ``wtp`` (the share of draws with a positive net benefit)."""
    wide = _draws(runs)
    wide["cost_per_head"] = wide[cost] / wide["population"]
    bases = list(dict.fromkeys(runs["base"]))
    rows = []
    for (area, population), group in wide.groupby(["area", "population"], sort=False):
        by = {b: g.set_index("draw").sort_index() for b, g in group.groupby("base")}
        row: dict[str, Any] = {"area": area, "population": int(population), "draws": int(group["draw"].nunique())}
        for b in bases:
            if b in by:
                _spread(row, f"cost_per_head_{b}", by[b]["cost_per_head"].to_numpy())
        if len(bases) > 1 and all(b in by for b in bases[:2]):
            one, other = by[bases[0]], by[bases[1]]
            draws = one.index.intersection(other.index)
            nmb = (wtp * (other.loc[draws, "qalys_per_person"] - one.loc[draws, "qalys_per_person"])
                   - (other.loc[draws, "cost_per_person"] - one.loc[draws, "cost_per_person"])).to_numpy()
            _spread(row, f"net_benefit_per_person_{bases[1]}", nmb)
            row[f"p_cost_effective_{bases[1]}"] = float((nmb > 0).mean()) if len(nmb) else np.nan
        rows.append(row)
    table = pd.DataFrame(rows)
    if len(bases) > 1 and f"net_benefit_per_person_{bases[1]}" in table:
        table = table.sort_values(f"net_benefit_per_person_{bases[1]}", ascending=False, kind="stable")
    return table.reset_index(drop=True)


def psa_totals(runs: pd.DataFrame, cost: str = COST_KPI, wtp: float = WTP) -> pd.DataFrame:
    """England over the PSA's draws: per draw, the sum over the areas of each base's cost a year
    and of the second base's net benefit a year (per help-seeker x help-seekers); their means, 95%
    ranges over the draws, and the probability that changing is cost-effective nationally."""
    wide = _draws(runs)
    bases = list(dict.fromkeys(runs["base"]))
    row: dict[str, Any] = {"areas": int(wide["area"].nunique()), "draws": int(wide["draw"].nunique()),
                           "population": int(wide.drop_duplicates("area")["population"].sum())}
    sums = {b: wide[wide["base"] == b].groupby("draw")[cost].sum() for b in bases}
    for b in bases:
        _spread(row, f"{cost}_{b}", sums[b].to_numpy())
    if len(bases) > 1:
        a = wide[wide["base"] == bases[0]].set_index(["area", "draw"]).sort_index()
        v = wide[wide["base"] == bases[1]].set_index(["area", "draw"]).sort_index()
        idx = a.index.intersection(v.index)
        per_person = (wtp * (v.loc[idx, "qalys_per_person"] - a.loc[idx, "qalys_per_person"])
                      - (v.loc[idx, "cost_per_person"] - a.loc[idx, "cost_per_person"]))
        nmb = (per_person * a.loc[idx, "referrals_per_year"]).groupby(level="draw").sum().to_numpy()
        _spread(row, f"net_benefit_per_year_{bases[1]}", nmb)
        row[f"p_cost_effective_{bases[1]}"] = float((nmb > 0).mean()) if len(nmb) else np.nan
    return pd.DataFrame([row])


# -- plots --------------------------------------------------------------------------------------

def ranked_plot(table: pd.DataFrame, column: str, title: str, xlabel: str, file: Path,
                ascending: bool = True) -> Path:
    """A dot per area with its CI, areas ranked by ``column`` (best at the top)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = table.dropna(subset=[column]).sort_values(column, ascending=not ascending, kind="stable")
    y = np.arange(len(t))
    fig, ax = plt.subplots(figsize=(9, 1.7 + 0.2 * len(t)))
    lower, upper = t.get(f"{column}_lower"), t.get(f"{column}_upper")
    if lower is not None and upper is not None:
        err = np.vstack([(t[column] - lower).to_numpy(), (upper - t[column]).to_numpy()])
        ax.errorbar(t[column], y, xerr=np.nan_to_num(err), fmt="o", color="#005EB8", ecolor="#768692",
                    capsize=2, markersize=4)
    else:
        ax.plot(t[column], y, "o", color="#005EB8")
    ax.set_yticks(y, [f"{i}. {a}" for i, a in zip(range(len(t), 0, -1), t["area"])], fontsize=7)
    if t[column].min() < 0 < t[column].max() or column.startswith("net_benefit"):
        ax.axvline(0, color="black", linewidth=0.8)
    ax.set_title("\n".join(textwrap.wrap(title, 80)), fontsize=10)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    file.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(file, dpi=110)
    plt.close(fig)
    return file


def write_national(folder: Path, wait: str = WAIT_KPI, cost: str = COST_KPI, wtp: float = WTP,
                   level: float = 0.95) -> list[Path]:
    """Write national.csv, national_totals.csv and the ranked plots into ``folder``."""
    folder = Path(folder)
    runs = load_runs(folder)
    if is_psa(runs):
        return _write_psa(folder, runs, cost, wtp)
    table = national_table(runs, wait, cost, wtp, level)
    totals = national_totals(runs, cost, wtp, level)
    bases = list(dict.fromkeys(runs["base"]))
    written = [folder / "national.csv", folder / "national_totals.csv"]
    if (folder / "specs").is_dir():
        rounding = capacity_rounding(folder / "specs")
        if not rounding.empty:
            rounding.to_csv(folder / "capacity_rounding.csv", index=False)
            written.append(folder / "capacity_rounding.csv")
            table = table.merge(rounding_by_area(rounding), on="area", how="left")
    table.to_csv(written[0], index=False)
    totals.to_csv(written[1], index=False)
    plots = folder / "plots"
    written.append(ranked_plot(table, f"{wait}_{bases[0]}", f"{wait} ({bases[0]}), mean and 95% CI; shortest first",
                               "days", plots / "ranked_wait.png"))
    written.append(ranked_plot(table, f"cost_per_head_{bases[0]}",
                               f"{cost} per resident ({bases[0]}), mean and 95% CI; lowest first",
                               "£ per resident a year", plots / "ranked_cost_per_head.png"))
    if len(bases) > 1 and f"net_benefit_per_person_{bases[1]}" in table:
        written.append(ranked_plot(table, f"net_benefit_per_person_{bases[1]}",
                                   f"Net monetary benefit of {bases[1]} over {bases[0]} at £{wtp:,.0f}/QALY, "
                                   "per help-seeker (paired 95% CI); largest first",
                                   "£ per help-seeker", plots / "ranked_net_benefit.png", ascending=False))
    return written


def _write_psa(folder: Path, runs: pd.DataFrame, cost: str, wtp: float) -> list[Path]:
    """A national PSA's outputs: national_psa.csv, national_psa_totals.csv and the ranked plot."""
    table, totals = psa_table(runs, cost, wtp), psa_totals(runs, cost, wtp)
    written = [folder / "national_psa.csv", folder / "national_psa_totals.csv"]
    table.to_csv(written[0], index=False)
    totals.to_csv(written[1], index=False)
    bases = list(dict.fromkeys(runs["base"]))
    column = f"net_benefit_per_person_{bases[1]}" if len(bases) > 1 else ""
    if column in table:
        plot = table.rename(columns={f"{column}_p2_5": f"{column}_lower", f"{column}_p97_5": f"{column}_upper"})
        written.append(ranked_plot(plot, column, f"Net monetary benefit of {bases[1]} over {bases[0]} at "
                                   f"£{wtp:,.0f}/QALY, per help-seeker: mean and 95% range over "
                                   f"{int(table['draws'].max())} parameter draws; largest first",
                                   "£ per help-seeker", folder / "plots" / "psa_ranked_net_benefit.png",
                                   ascending=False))
    return written


# -- command line -------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m icssim.national",
                                     description="A pathway pair in every ICS: run the area sweeps and rank the ICSs.")
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run (or resume) one area sweep per base, then write the national outputs")
    r.add_argument("file", type=Path, help="a sweep file with 'areas' and several bases")
    r.add_argument("--out", type=Path, default=None, help="output folder (default: results/<sweep name>)")
    r.add_argument("--workers", "-w", type=int, default=None, help="local worker processes (default: all cores)")
    r.add_argument("--dask", metavar="ADDRESS|local", default=None, help="a Dask scheduler address, or 'local'")
    r.add_argument("--restart", action="store_true", help="discard stored runs and start again")
    r.add_argument("--quiet", "-q", action="store_true")
    p = sub.add_parser("report", help="write national.csv, totals and ranked plots from finished sweep folder(s)")
    p.add_argument("folder", type=Path, help="a finished area sweep, or a folder of them (one per base)")
    for q in (r, p):
        q.add_argument("--wait", default=WAIT_KPI, help=f"the wait KPI to rank by (default {WAIT_KPI})")
        q.add_argument("--cost", default=COST_KPI, help=f"the cost KPI, per resident (default {COST_KPI})")
        q.add_argument("--wtp", type=float, default=WTP, help="willingness to pay per QALY (default 20000)")
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            out = run_national(args.file, args.out, args.workers, args.dask, args.restart, args.quiet,
                               wait=args.wait, cost=args.cost, wtp=args.wtp)
        else:
            out = args.folder
            write_national(out, args.wait, args.cost, args.wtp)
    except IcssimError as exc:
        print(f"icssim.national: error: {exc}", file=sys.stderr)
        return 2
    print(f"national table, totals and ranked plots in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
