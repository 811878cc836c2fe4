"""A self-contained HTML report for a results folder: a run, a comparison or a sweep.

``report.html`` is built only from the files stored in the folder (``metadata.json``,
``scenario.json``, ``parameters.csv``, ``kpis.csv``, ``plots/*.png``, the patients,
visits and timeseries tables, and for comparisons ``summary.csv`` and
``differences.csv``), so ``icssim report RESULTS_DIR`` rebuilds it at any time without
re-running anything. Images are embedded as base64 data URIs and the CSS is inline: the
file opens offline, on a phone, and prints cleanly.

The page follows the STRESS-DES reporting checklist (Monks et al. 2019) for the model
description; the words are generated in :mod:`icssim.report_text`.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from icssim.errors import IcssimError
from icssim.lazy import load_lazily

__all__ = ["REPORT_NAME", "RunData", "build_report", "compare_report", "generic_report", "parameter_rows",
           "register", "run_report", "write_parameters", "write_report"]

# The pieces import pandas; they load when first used, so that registering ``icssim report``
# on the command line (every command, ``--help`` too) costs nothing.
_LAZY = {"REPORT_NAME": "pieces", "RunData": "pieces", "compare_report": "compare",
         "generic_report": "generic", "parameter_rows": "parameters", "run_report": "run",
         "write_parameters": "parameters"}


def __getattr__(name: str) -> Any:
    return load_lazily(__name__, _LAZY, name)


# ----------------------------------------------------------------------------- entry points
def write_report(folder: Path | str, out: Path | str | None = None,
                 plots_ready: Callable[[], object] | None = None, tables: dict[str, Any] | None = None) -> Path:
    """Build the report of the results ``folder`` and write it (default ``folder/report.html``).

    ``plots_ready``, when given, waits until the folder's plots are drawn: a run's report calls
    it only where it embeds them, so the rest is built while they are drawn elsewhere. ``tables``
    are a run's tables already in memory (by name, as written to the folder), used in place of
    their files."""
    from icssim.report.pieces import REPORT_NAME

    folder = Path(folder)
    html = build_report(folder, plots_ready, tables)
    target = Path(out) if out is not None else folder / REPORT_NAME
    if out is not None:
        target.parent.mkdir(parents=True, exist_ok=True)   # (--out in a folder not made yet)
    target.write_text(html, encoding="utf-8")
    return target


def build_report(folder: Path, plots_ready: Callable[[], object] | None = None,
                 tables: dict[str, Any] | None = None) -> str:
    """The report's HTML for a run, compare or sweep folder (from its metadata.json ``kind``);
    ``plots_ready`` and a run's ``tables`` as for :func:`write_report`."""
    from icssim.report.compare import compare_report
    from icssim.report.generic import generic_report
    from icssim.report.numbers import waits_in
    from icssim.report.run import run_report
    from icssim.report.stored import read_object

    meta = read_object(folder / "metadata.json")
    if meta is None:
        raise IcssimError(f"{folder} is not a results folder: metadata.json is missing")
    kind = meta.get("kind", "run")
    if kind == "run":
        with waits_in(meta.get("time_unit")):
            return run_report(folder, meta, plots_ready, tables)
    if plots_ready is not None:
        plots_ready()
    if kind == "compare":
        with waits_in(meta.get("time_unit")):
            return compare_report(folder, meta)
    if kind == "sweep":
        from icssim.report.sweep import sweep_report

        return sweep_report(folder, meta)
    return generic_report(folder, meta)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``icssim report RESULTS_DIR`` to the command line."""
    p = subparsers.add_parser(
        "report", help="(re)build report.html of a results folder without re-running",
        description="Build the HTML report of a folder that icssim run, compare, sweep or psa wrote, from the "
                    "tables and plots in it, without running anything again.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  icssim report results/ed_integrated\n\nwrites:\n  <folder>/report.html (or --out)")
    p.add_argument("folder", type=Path, help="a folder written by icssim run, compare or sweep")
    p.add_argument("--out", default=None,
                   help="where to write: a file, or a folder to write report.html in (default: FOLDER/report.html)")
    p.set_defaults(handler=_cmd_report)


def _cmd_report(args: argparse.Namespace) -> int:
    if not args.folder.is_dir():
        raise IcssimError(f"{args.folder} is not a folder")
    target, note = _report_target(args.out)
    path = write_report(args.folder, target)
    print(f"wrote {path}{note}")
    return 0


def _report_target(out: str | None) -> tuple[Path | None, str]:
    """Where ``report --out`` writes, and what to add to "wrote ..." about it: an existing folder
    (or a name ending in a slash) gets ``report.html`` inside it; a folder along the way that does
    not exist yet is made when the report is written (:func:`write_report`); a path inside a file
    is refused (exit 2) before the report is built."""
    from icssim.output_folder import check_holder
    from icssim.report.pieces import REPORT_NAME

    if out is None:
        return None, ""
    target, note = Path(out), ""
    if target.is_dir() or out.endswith(("/", os.sep)):
        target, note = target / REPORT_NAME, f" (--out {out} is a folder: the report is {REPORT_NAME} in it)"
    check_holder(target, target.name)
    return target, note
