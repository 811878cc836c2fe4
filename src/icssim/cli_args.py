"""The command line's shared pieces: how a subcommand's --help is laid out, the options every
command that runs simulations takes, and the argument types that refuse a bad value with a
message saying what was expected (a seed, a count, an output folder)."""

from __future__ import annotations

import argparse
from pathlib import Path


def about(description: str, example: str, outputs: str) -> dict:
    """``add_parser`` arguments that make a subcommand's --help say what it does, show an example
    and name its outputs."""
    return {"description": description, "formatter_class": argparse.RawDescriptionHelpFormatter,
            "epilog": f"example:\n  {example}\n\nwrites:\n  {outputs}"}


def add_run_options(p: argparse.ArgumentParser, out: str = "results/<name>") -> None:
    """Options shared by commands that run simulations (``out``: the default folder, in words)."""
    p.add_argument("--seed", type=seed_value, default=None, help="seed (default: the scenario's)")
    p.add_argument("--replications", "-n", type=whole_number, default=1, help="number of replications")
    p.add_argument("--workers", "-w", type=positive_number, default=None,
                   help="worker processes (default: all cores); with --dask local, the number of Dask workers")
    p.add_argument("--dask", metavar="ADDRESS|local", default=None,
                   help="run on a Dask distributed scheduler (e.g. tcp://host:8786), or 'local' for a "
                        "LocalCluster (needs: pip install 'icssim[dask]')")
    p.add_argument("--out", type=output_path, default=None, help=f"output folder (default: {out})")
    p.add_argument("--force", action="store_true", help="replace an existing output folder")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar or table")
    p.add_argument("--yes", "-y", action="store_true",
                   help="run even if the estimated time or memory is over the limits (15 minutes, half "
                        "the machine's memory)")


def add_precision_options(p: argparse.ArgumentParser, of: str, default_kpis: str) -> None:
    """``--precision``, ``--kpi`` and ``--max-replications``: add replications until each KPI's
    interval is narrow enough (``of``: what its half-width is measured against, in words)."""
    p.add_argument("--precision", type=float, default=None,
                   help=f"add replications until each --kpi's 95%% CI half-width is within this share (e.g. "
                        f"0.05) of {of}")
    p.add_argument("--kpi", action="append", default=None, help=f"KPI(s) for --precision (default: {default_kpis})")
    p.add_argument("--max-replications", type=positive_number, default=None,
                   help="cap for --precision (default: 100)")


#: Largest seed numpy's SeedSequence takes as one 64-bit word (so a seed fits every store).
MAX_SEED = 2**63 - 1


def seed_value(text: str) -> int:
    """A seed on the command line: a whole number from 0 to 2**63 - 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number from 0 to {MAX_SEED}, found {text!r}") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"expected a whole number from 0 to {MAX_SEED}, found {value}")
    return value


def whole_number(text: str) -> int:
    """A count on the command line (replications): a whole number (checked >= 1 by the command)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, found {text!r}") from None


def positive_number(text: str) -> int:
    """A whole number of at least 1 (workers)."""
    value = whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, found {value}")
    return value


def output_path(text: str) -> Path:
    """An output folder: a path this system can encode as UTF-8 text (it is written into the
    metadata and the report), not an existing file."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        shown = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        raise argparse.ArgumentTypeError(f"expected a folder name in UTF-8 text, found {shown!r} "
                                         f"(it holds bytes that are not UTF-8)") from None
    path = Path(text)
    if path.name in ("", ".", ".."):
        raise argparse.ArgumentTypeError(f"{text} does not name a results folder: give --out a folder name")
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file, not a folder; choose a folder for the results")
    return path
