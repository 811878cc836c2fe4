"""What ``icssim validate`` checks in a file, told apart by its top-level keys: a scenario; a sweep or PSA
file (``sweep:``), with its base scenarios and every point; a national file (areas, several bases each
scaling its own teams), split as ``python -m icssim.national run`` splits it; a calibration file
(``calibration:``). Each check is the one the command that runs the file makes before it starts, the
KPI names it gives included (:mod:`icssim.kpi_check`).

:func:`refuse_other_kind` is the first thing each command does with its file: a file of another kind
(a PSA file given to ``icssim run``, a scenario to ``icssim sweep``) is refused in one line naming
the command that runs it, instead of as a dozen unknown and missing keys."""

from __future__ import annotations

from pathlib import Path

from icssim.errors import IcssimError, Problem, ScenarioError


def validate_file(path: Path) -> tuple[str, list[Problem]]:
    """Validate one file as what its top-level keys say it is; return what it holds, in words, and
    a scenario's plausibility warnings (:mod:`icssim.scenario.plausibility`; a sweep's or a
    calibration's base scenarios are files of their own to check)."""
    kind = file_kind(path)
    if kind == "sweep":
        return _validate_sweep(path), []
    if kind == "calibration":
        return _validate_calibration(path), []
    from icssim.kpi_check import featured_problems, refuse
    from icssim.scenario import load_scenario
    from icssim.scenario.plausibility import warnings

    s = load_scenario(path)
    refuse(featured_problems(s))
    parts = ((len(s.cohorts), "cohort"), (len(s.services), "service"), (len(s.pathway.steps), "step"))
    return f"{s.scenario.name}: " + ", ".join(f"{n} {word}{'' if n == 1 else 's'}" for n, word in parts), warnings(s)


def file_kind(path: Path) -> str:
    """``sweep`` or ``calibration`` when the file's mapping has that top-level key, else ``scenario``
    (also for a file that cannot be read: the scenario loader then names what is wrong with it)."""
    data = _top_level(path)
    return next((kind for kind in ("sweep", "calibration") if kind in data), "scenario") if data else "scenario"


def _top_level(path: Path) -> dict | None:
    """The file's mapping, or None when it cannot be read as one (its command's reader says why)."""
    from icssim.scenario.yaml_reader import Provenance, read_document

    try:
        data = read_document(path, Provenance(files=[str(path)], sha256="", raw={}))
    except ScenarioError:
        return None
    return data if isinstance(data, dict) else None


def _validate_sweep(path: Path) -> str:
    """Check a sweep or PSA file as ``icssim sweep``/``psa`` does before its first run: the file, its
    base scenarios, every point's scenario (and, for a PSA, that its bases measure QALYs). A
    national file (areas, several bases each scaling its own teams) is checked as
    ``python -m icssim.national run`` runs it: one sweep per base."""
    from icssim.kpi_check import refuse, sweep_problems
    from icssim.sweep.spec import load_sweep

    sweep = load_sweep(path)
    refuse(sweep_problems(sweep))
    try:
        points = _checked_points(sweep, path)
    except IcssimError:
        if sweep.areas is None or len(sweep.bases) < 2:
            raise
        return _validate_national(path, sweep.name)
    bases = len(sweep.running)
    return (f"{sweep.name}: a sweep file, {points} points on {bases} base scenario{'s' if bases != 1 else ''}, "
            f"design {sweep.spec.design}")


def _checked_points(sweep, path: Path) -> int:
    """How many points ``sweep`` has, each checked to be a valid scenario (as ``icssim sweep``
    validates them before running: :func:`~icssim.sweep.design.check_points`)."""
    from icssim.sweep.design import check_points, design_points

    points = design_points(sweep)
    check_points(sweep, points)
    if sweep.spec.is_psa:
        from icssim.health.psa_outputs import refuse_without_health

        refuse_without_health(sweep, path)
    return len(points)


def _validate_national(path: Path, name: str) -> str:
    """A national sweep file split, as the national run splits it, into one sweep per base, each checked."""
    import tempfile

    from icssim.national import split_sweep
    from icssim.sweep.spec import load_sweep

    with tempfile.TemporaryDirectory(prefix="icssim-validate-") as specs:
        files = split_sweep(path, Path(specs))
        points = sum(_checked_points(load_sweep(file), file) for file in files.values())
    return (f"{name}: a national sweep file for 'python -m icssim.national run', {points} points on "
            f"{len(files)} base scenarios, one sweep each")


def _validate_calibration(path: Path) -> str:
    """Check a calibration file as ``icssim calibrate`` does: the file, its scenario, every
    parameter's key path, and the scenario at both ends of every prior."""
    from icssim.calibrate.spec import load_calibration
    from icssim.kpi_check import calibration_problems, refuse

    cal = load_calibration(path)
    refuse(calibration_problems(cal))
    return (f"{cal.name}: a calibration file, {len(cal.spec.parameters)} parameters fitted to "
            f"{len(cal.fitted)} targets of {cal.scenario_file}")


#: The kinds of file each command runs, and the command that runs each kind.
ACCEPTS = {"run": ("scenario",), "compare": ("scenario",), "warmup": ("scenario",), "sweep": ("sweep", "psa"),
           "psa": ("sweep", "psa"), "optimise": ("sweep", "psa"), "calibrate": ("calibration",)}
RUN_WITH = {"scenario": "icssim run", "sweep": "icssim sweep", "psa": "icssim psa",
            "national": "python -m icssim.national run", "calibration": "icssim calibrate"}
#: Top-level keys only a scenario file has (a calibration file's ``scenario:`` is a file name).
SCENARIO_KEYS = ("cohorts", "pathway", "services", "extends")


def refuse_other_kind(path: Path, command: str) -> None:
    """Refuse, in one line, a file that is not of a kind ``command`` runs, naming what it is and
    the command that runs it. A file whose kind is unclear (unreadable, or a mapping of none of
    the kinds' keys) is left to the command's own reader, which names what is wrong with it."""
    kind, what = _described_kind(path)
    if kind is None or kind in ACCEPTS[command]:
        return
    hint = ""
    if kind == "scenario":
        hint = (" (a calibration file names it under 'scenario:')" if command == "calibrate"
                else " (a sweep file names it under 'base:')")
    raise IcssimError(f"{path} is {what}: run it with `{RUN_WITH[kind]}`{hint}")


def _described_kind(path: Path) -> tuple[str | None, str]:
    """(kind, the kind in words) of the file at ``path``; (None, "") when unclear."""
    data = _top_level(path)
    if data is None:
        return None, ""
    if "calibration" in data:
        return "calibration", "a calibration file (a 'calibration:' block)"
    if "sweep" in data:
        from icssim.sweep.spec import PSA_DESIGNS

        design = data.get("design", "grid")
        kind, words = ("psa", "a PSA file") if design in PSA_DESIGNS else ("sweep", "a sweep file")
        if not _national(path, data):
            return kind, f"{words} (a 'sweep:' with design: {design})"
        return "national", "a national sweep file (areas, and base scenarios with teams of their own)"
    if isinstance(data.get("scenario"), dict) or any(k in data for k in SCENARIO_KEYS):
        return "scenario", "a scenario file"
    return None, ""


def _national(path: Path, data: dict) -> bool:
    """Whether a sweep file is a national one: areas, at least two bases, and a path to scale that
    one of them lacks (``icssim sweep`` refuses it; ``python -m icssim.national run`` runs it as
    one sweep per base, each scaling what it has)."""
    base = data.get("base")
    if "areas" not in data or "run_only" in data or not isinstance(base, (list, dict)) or len(base) < 2:
        return False
    from icssim.scenario.loader import provenance
    from icssim.sweep.paths import MISSING, get_path
    from icssim.sweep.spec import load_sweep

    try:
        sweep = load_sweep(path)
    except IcssimError:   # (the sweep's own mistake: its command names it)
        return False
    if sweep.spec.areas is None:
        return False
    return any(get_path(provenance(s).raw, key) is MISSING
               for key in sweep.spec.areas.scale for s in sweep.bases.values())


def check_before_running(path: Path, command: str) -> None:
    """What ``icssim sweep``, ``psa``, ``optimise`` and ``calibrate`` check of their file first: that
    it is of a kind the command runs, and that each KPI it names (a sweep's ``kpis:``, a
    calibration's targets) is one its scenarios measure, before any point is checked or run."""
    from icssim.kpi_check import calibration_problems, refuse, sweep_problems

    refuse_other_kind(path, command)
    if command == "calibrate":
        from icssim.calibrate.spec import load_calibration

        refuse(calibration_problems(load_calibration(path)))
    else:
        from icssim.sweep.spec import load_sweep

        refuse(sweep_problems(load_sweep(path)))
