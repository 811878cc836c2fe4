"""The national view: a pathway pair in every ICS of England, ranked (docs/national.md).

An area sweep (``docs/sweeps.md``, "Areas") runs the same pathway in many ICSs. Two pathways
with different teams cannot share one sweep file's ``areas.scale`` list, because ``icssim sweep``
checks every path against every base; :func:`run_national` therefore runs one area sweep per
base (each scale path applied where the base has it; same seed, so replication *r* of an area
sees the same people under both pathways), each resumable in ``OUT/<base>/``, and then
:func:`icssim.national_outputs.write_national` writes the national tables
(:mod:`icssim.national_tables`), what capacity each ICS got (:mod:`icssim.national_scaling`) and
the ranked plots.

Command line::

    python -m icssim.national run scenarios/sweeps/england_42_ics.yaml --workers 2 [--dask ADDRESS]
    python -m icssim.national report results/england_42_ics
"""

from __future__ import annotations

import argparse
import sys
from io import StringIO
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from icssim.errors import IcssimError
from icssim.national_outputs import ranked_plot, write_national
from icssim.national_scaling import capacity_rounding, joint_capacity, rounding_by_area
from icssim.national_tables import COST_KPI, WAIT_KPI, WTP, load_runs, national_table, national_totals, psa_table

__all__ = ["split_sweep", "run_national", "main", "write_national", "ranked_plot", "capacity_rounding",
           "joint_capacity", "rounding_by_area", "load_runs", "national_table", "national_totals", "psa_table"]


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
    """Write one sweep file per base of the sweep file ``path`` into ``specs``, which runs that base
    only (``run_only``) and keeps only the ``areas.scale`` paths it has. Each lists every base, so
    that a PSA draws the same parameter sets, with the same seeds, in each file: a parameter only
    one pathway has (its own team's cost) is drawn in both and set where it exists. Returns {base
    label: file}."""
    from icssim.scenario import provenance
    from icssim.sweep.paths import MISSING, get_path
    from icssim.sweep.spec import load_sweep

    path = Path(path).resolve()
    sweep = load_sweep(path)
    if sweep.areas is None or sweep.spec.areas is None:
        raise IcssimError(f"{path}: a national run needs 'areas' (docs/sweeps.md, Areas)")
    scale = sweep.spec.areas.scale
    raw = _load_yaml(path)
    specs.mkdir(parents=True, exist_ok=True)
    files = {}
    every_base = {other: str(Path(file).resolve()) for other, file in sweep.base_files.items()}
    for label, scenario in sweep.bases.items():
        base_raw = provenance(scenario).raw
        one = dict(raw)
        one["sweep"] = {**raw["sweep"], "name": f"{raw['sweep']['name']}_{label}"}
        one["base"] = every_base   # so that what one base lacks is drawn as in the whole sweep
        one["run_only"] = [label]
        if sweep.spec.draws is not None and sweep.draws is not None:   # the table, found from any folder
            unset = set() if sweep.spec.draws.also else {"also"}   # (without ties: as written before 'also')
            one["draws"] = {**sweep.spec.draws.model_dump(exclude_none=True, exclude=unset),
                            "file": str(sweep.draws.path.resolve())}
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
