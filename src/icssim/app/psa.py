"""Probabilistic sensitivity analysis from the app: the ``design: psa`` sweep files of
``scenarios/sweeps/``, run as ``icssim psa`` runs them, with fewer draws if asked.

A PSA with other draws or replications than its file is another sweep, so it gets a file of its
own: ``scenarios/sweeps/<name>_<draws>_draws.yaml`` (``_<r>_reps`` added when the replications
differ), the original with ``samples``, ``replications`` and ``sweep.name`` changed and its
comments kept. The command line then runs, resumes or repeats exactly what the app ran
(``icssim psa scenarios/sweeps/ed_psa_20_draws.yaml``), into the same ``results/`` folder; a
stopped PSA keeps its finished runs there, and starting it again runs only the rest.
"""

from __future__ import annotations

import csv
import io
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from icssim.errors import IcssimError
from icssim.output_folder import inside

#: Most draws and most runs (draws x strategies x replications) one request may ask for.
MAX_DRAWS = 1000
MAX_RUNS = 4000


@dataclass
class PsaFile:
    """A ``design: psa`` sweep file, as listed on the PSA page."""

    name: str                 # file name without .yaml
    title: str                # sweep.name
    description: str
    samples: int
    replications: int
    strategies: list[str]
    parameters: int
    areas: bool = False       # run across areas (ICSs): that is `python -m icssim.national`'s, not the app's


#: Each sweep file's entry (or None: not a PSA), kept while the file is unchanged (path -> (stamp, entry)).
_READ: dict[Path, tuple[tuple[int, int], PsaFile | None]] = {}


def psa_files(sweeps: Path) -> list[PsaFile]:
    """The ``design: psa`` files in ``sweeps`` (read as plain YAML; validated when one is started)."""
    if not sweeps.is_dir():
        return []
    out = []
    for path in sorted(sweeps.glob("*.yaml")):
        try:
            st = path.stat()
        except OSError:
            continue
        stamp = (st.st_mtime_ns, st.st_size)
        if path not in _READ or _READ[path][0] != stamp:
            _READ[path] = (stamp, _read_psa_file(path))
        entry = _READ[path][1]
        if entry is not None:
            out.append(entry)
    return out


@dataclass
class FormStart:
    """What the PSA form starts at for one file: its own draws and replications, so that pressing
    Run runs the file itself rather than a copy with other draws; fewer only where the app's
    limits need it, with ``limit`` saying so ("" when not)."""

    draws: int
    replications: int
    limit: str = ""


def form_start(spec: PsaFile) -> FormStart:
    """The form's draws and replications for ``spec``: the file's own, within :data:`MAX_DRAWS`,
    :data:`MAX_RUNS` and the app's most replications (as :func:`sweep_file_for` checks them)."""
    from icssim.app.jobs import MAX_REPLICATIONS

    reps = min(max(spec.replications, 1), MAX_REPLICATIONS)
    strategies = max(len(spec.strategies), 1)
    draws = max(2, min(spec.samples, MAX_DRAWS, MAX_RUNS // (strategies * reps)))
    if draws >= spec.samples and reps == spec.replications:
        return FormStart(draws, reps)
    limit = (f"scenarios/sweeps/{spec.name}.yaml's own {spec.samples:,} draws x {spec.replications} "
             f"replication(s) is more than the app starts at once (at most {MAX_DRAWS:,} draws, "
             f"{MAX_REPLICATIONS} replications and {MAX_RUNS:,} runs): the form starts at {draws:,} x {reps}. "
             f"Run the whole PSA with `icssim psa scenarios/sweeps/{spec.name}.yaml`.")
    return FormStart(draws, reps, limit)


def _read_psa_file(path: Path) -> PsaFile | None:
    from ruamel.yaml import YAML

    try:
        doc = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    except Exception:   # noqa: BLE001 (an unreadable file is not offered; `icssim psa` names its mistake)
        return None
    if not isinstance(doc, dict) or doc.get("design") != "psa" or not isinstance(doc.get("sweep"), dict):
        return None
    info, base = doc["sweep"], doc.get("base")
    strategies = list(base) if isinstance(base, (dict, list)) else [Path(str(base)).stem]
    table = _draw_table(path, doc.get("draws"))
    try:
        return PsaFile(path.stem, str(info.get("name", path.stem)), str(info.get("description", "")),
                       int(doc.get("samples") or (table.rows if table is not None else 0)),
                       int(info.get("replications", 5)),
                       [Path(str(s)).stem for s in strategies],
                       len(doc.get("parameters") or {}) + (len(table.columns) if table is not None else 0),
                       doc.get("areas") is not None)
    except (TypeError, ValueError):
        return None


@dataclass
class TableOfDraws:
    """What a PSA file's table of draws (``draws:``) gives, as the app shows it: the file as the
    sweep names it, its rows, and the (key path, label) of each column the PSA takes from it."""

    file: str
    rows: int
    columns: list[tuple[str, str]]


def _draw_table(path: Path, draws: Any) -> TableOfDraws | None:
    """The table of draws of the sweep file ``path`` (its ``draws`` entry, ``FILE`` or ``{file:
    FILE}``, relative to the sweep file, read as plain YAML): a PSA without ``samples`` runs every
    row. None when it has none or it cannot be read (``icssim psa`` names that mistake when run)."""
    name = draws.get("file") if isinstance(draws, dict) else draws
    if not isinstance(name, str):
        return None
    try:
        with (path.parent / name).open(encoding="utf-8", newline="") as f:
            lines = [row for row in csv.reader(f) if row]
    except OSError:
        return None
    if not lines:
        return None
    from icssim.sweep.draw_table import parameter_columns

    chosen = draws.get("columns") if isinstance(draws, dict) else None
    keys = [str(c) for c in chosen] if isinstance(chosen, list) else parameter_columns([h.strip() for h in lines[0]])
    given = draws.get("labels") if isinstance(draws, dict) else None
    labels: dict[Any, Any] = given if isinstance(given, dict) else {}
    return TableOfDraws(name, len(lines) - 1, [(k, str(labels.get(k, ""))) for k in keys])


def psa_table(sweeps: Path, name: str) -> TableOfDraws | None:
    """The table of draws of ``scenarios/sweeps/<name>.yaml``, if it takes parameters from one."""
    path = psa_path(sweeps, name)
    return _draw_table(path, round_trip(path).get("draws"))


def sweep_file_for(sweeps: Path, name: str, draws: int, replications: int) -> Path:
    """The sweep file to run: ``scenarios/sweeps/<name>.yaml`` itself when ``draws`` and
    ``replications`` are its own, else a file of their own beside it (made once; an existing one
    is used only if it says the same). A PSA of scenarios without a course of illness is refused
    before any file is made."""
    from icssim.health.psa_outputs import refuse_without_health
    from icssim.sweep.spec import load_sweep

    by_name = {f.name: f for f in psa_files(sweeps)}
    if name not in by_name:
        raise IcssimError(f"{name!r} is not a PSA sweep file in scenarios/sweeps/ (a file with 'design: psa')")
    spec = by_name[name]
    if spec.areas:
        raise IcssimError(f"scenarios/sweeps/{name}.yaml runs across areas (ICSs): run it with "
                          f"`python -m icssim.national run scenarios/sweeps/{name}.yaml` (docs/national.md)")
    if not 2 <= draws <= MAX_DRAWS:
        raise IcssimError(f"draws must be a whole number from 2 to {MAX_DRAWS}, found {draws}")
    if not 1 <= replications <= 200:
        raise IcssimError(f"replications per draw must be a whole number from 1 to 200, found {replications}")
    runs = draws * len(spec.strategies) * replications
    if runs > MAX_RUNS:
        raise IcssimError(f"{draws} draws x {len(spec.strategies)} strategies x {replications} replication(s) "
                          f"is {runs:,} runs, more than the app starts at once ({MAX_RUNS:,}): use "
                          f"`icssim psa` on the command line for a PSA this size")
    source = inside(sweeps, name + ".yaml")
    refuse_without_health(load_sweep(source), f"scenarios/sweeps/{name}.yaml")
    if draws == spec.samples and replications == spec.replications:
        return source
    new = f"{name}_{draws}_draws" + (f"_{replications}_reps" if replications != spec.replications else "")
    target = inside(sweeps, new + ".yaml")
    text = _derived_text(source, new, draws, replications)
    if target.exists():
        if target.read_text(encoding="utf-8") != text:
            raise IcssimError(f"scenarios/sweeps/{new}.yaml exists and says something else: delete or rename it "
                              "to run this PSA from the app")
        return target
    if not link_new(target, text) and target.read_text(encoding="utf-8") != text:
        raise IcssimError(f"scenarios/sweeps/{new}.yaml appeared meanwhile and says something else")
    return target


def link_new(target: Path, text: str) -> bool:
    """Write ``text`` as ``target`` whole (a reader never sees half of it), never replacing a file:
    False, and nothing written, if ``target`` exists or appeared meanwhile."""
    tmp = target.with_name(f".{target.name}.partial-{os.getpid()}-{threading.get_ident()}")
    tmp.write_text(text, encoding="utf-8")
    try:
        os.link(tmp, target)   # fails if the name is taken
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink()


def _derived_text(source: Path, new: str, draws: int, replications: int) -> str:
    """``source`` with its draws, replications and name changed, comments kept, and a header saying so."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.width = 4096   # no line is re-wrapped: each keeps its comment
    doc: Any = yaml.load(source.read_text(encoding="utf-8"))
    doc["sweep"]["name"] = new
    doc["sweep"]["replications"] = replications
    doc["samples"] = draws
    buf = io.StringIO()
    yaml.dump(doc, buf)
    header = (f"# Made by `icssim app` from {source.name}: the same PSA with {draws} draws and {replications} "
              f"replication(s) per draw.\n# Run, resume or repeat it with: icssim psa scenarios/sweeps/{new}.yaml\n")
    return header + buf.getvalue()


class Ticking:
    """A sweep executor that counts each finished run on an app job (and stops when it is cancelled)."""

    def __init__(self, inner, tick) -> None:
        self.inner, self.tick = inner, tick
        self.name, self.workers = inner.name, inner.workers

    def run(self, tasks):
        stream = self.inner.run(tasks)
        try:
            for result in stream:
                self.tick()
                yield result
        finally:
            stream.close()

    def close(self) -> None:
        self.inner.close()


def psa_path(sweeps: Path, name: str) -> Path:
    """The path of ``scenarios/sweeps/<name>.yaml``, refused unless it is a PSA sweep file."""
    from icssim.app.workspace import NAME

    by_name = {f.name: f for f in psa_files(sweeps)}
    if not NAME.match(name) or name not in by_name:
        raise IcssimError(f"{name!r} is not a PSA sweep file in scenarios/sweeps/ (a file with 'design: psa')")
    return inside(sweeps, name + ".yaml")


def round_trip(path: Path) -> Any:
    """A YAML file read to be written again with its comments (ruamel's round trip)."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    return yaml.load(path.read_text(encoding="utf-8"))


def psa_answer(folder: Path) -> str:
    """A PSA folder's answer in words (from its psa.json), or "" for any other folder."""
    import json

    from icssim.health.psa_outputs import answer_text

    try:
        return answer_text(json.loads((folder / "psa.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return ""
