"""What ``icssim validate`` checks in a file, told apart by its top-level keys: a scenario; a sweep or PSA
file (``sweep:``), with its base scenarios and every point; a national file (areas, several bases each
scaling its own teams), split as ``python -m icssim.national run`` splits it; a calibration file
(``calibration:``). Each check is the one the command that runs the file makes before it starts."""

from __future__ import annotations

from pathlib import Path

from icssim.errors import IcssimError, ScenarioError


def validate_file(path: Path) -> str:
    """Validate one file as what its top-level keys say it is; return what it holds, in words."""
    kind = _file_kind(path)
    if kind == "sweep":
        return _validate_sweep(path)
    if kind == "calibration":
        return _validate_calibration(path)
    from icssim.scenario import load_scenario

    s = load_scenario(path)
    return (f"{s.scenario.name}: {len(s.cohorts)} cohorts, {len(s.services)} services, "
            f"{len(s.pathway.steps)} steps")


def _file_kind(path: Path) -> str:
    """``sweep`` or ``calibration`` when the file's mapping has that top-level key, else ``scenario``
    (also for a file that cannot be read: the scenario loader then names what is wrong with it)."""
    from icssim.scenario.yaml_reader import Provenance, read_document

    try:
        data = read_document(path, Provenance(files=[str(path)], sha256="", raw={}))
    except ScenarioError:
        return "scenario"
    return next((kind for kind in ("sweep", "calibration") if kind in data), "scenario")


def _validate_sweep(path: Path) -> str:
    """Check a sweep or PSA file as ``icssim sweep``/``psa`` does before its first run: the file, its
    base scenarios, every point's scenario (and, for a PSA, that its bases measure QALYs). A
    national file (areas, several bases each scaling its own teams) is checked as
    ``python -m icssim.national run`` runs it: one sweep per base."""
    from icssim.sweep.spec import load_sweep

    sweep = load_sweep(path)
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
    """How many points ``sweep`` has, each checked to be a valid scenario."""
    from icssim.sweep.design import design_points, validate_points

    points = design_points(sweep)
    validate_points(sweep, points)
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

    cal = load_calibration(path)
    return (f"{cal.name}: a calibration file, {len(cal.spec.parameters)} parameters fitted to "
            f"{len(cal.fitted)} targets of {cal.scenario_file}")
