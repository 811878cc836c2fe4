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
    path = _psa_path(sweeps, name)
    return _draw_table(path, _round_trip(path).get("draws"))


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
    tmp = target.with_name(f".{target.name}.partial-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    try:
        os.link(tmp, target)   # never replaces a file that appeared meanwhile
    except FileExistsError:
        if target.read_text(encoding="utf-8") != text:
            raise IcssimError(f"scenarios/sweeps/{new}.yaml appeared meanwhile and says something else") from None
    finally:
        tmp.unlink()
    return target


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


# ---------------------------------------------------------------- a PSA's distributions, edited

#: The distributions a PSA parameter may have (``icssim.sweep.spec.Parameter.dist``).
DISTRIBUTIONS = ("beta", "gamma", "lognormal", "normal", "uniform")
#: A parameter's numbers on the form, in order.
NUMBERS = ("mean", "sd", "low", "high")


@dataclass
class PsaRow:
    """One parameter of a PSA on the edit form: its key path and distribution, as typed."""

    index: int
    key: str
    dist: str
    values: dict[str, str]    # mean, sd, low, high as text ("" when not given)
    label: str = ""
    new: bool = False         # the empty row for adding a parameter
    remove: bool = False


def psa_rows(sweeps: Path, name: str) -> list[PsaRow]:
    """The parameters of ``scenarios/sweeps/<name>.yaml`` as rows of the edit form, and an empty
    row to add one."""
    doc = _round_trip(_psa_path(sweeps, name))
    rows = []
    for i, (key, spec) in enumerate((doc.get("parameters") or {}).items()):
        spec = spec if isinstance(spec, dict) else {}
        rows.append(PsaRow(i, str(key), str(spec.get("dist", "")),
                           {n: _text(spec.get(n)) for n in NUMBERS}, str(spec.get("label", ""))))
    rows.append(PsaRow(len(rows), "", "gamma", {n: "" for n in NUMBERS}, new=True))
    return rows


def rows_from_form(form: dict[str, str], count: int) -> list[PsaRow]:
    """The rows as typed (``p<i>.key``, ``p<i>.dist``, ``p<i>.mean`` ... ``p<i>.remove``)."""
    rows = []
    for i in range(count):
        get = lambda n: form.get(f"p{i}.{n}", "").strip()   # noqa: E731
        rows.append(PsaRow(i, get("key"), get("dist"), {n: get(n) for n in NUMBERS}, get("label"),
                           new=i == count - 1, remove=get("remove") == "1"))
    return rows


def edit_psa(sweeps: Path, name: str, rows: list[PsaRow], new_name: str = ""
             ) -> tuple[str, dict[str, list[str]], list[str]]:
    """The PSA file ``name`` with its parameters' distributions as in ``rows``, checked as ``icssim
    psa`` checks a file (:func:`icssim.sweep.spec.load_sweep`, then every draw's key paths by
    :func:`icssim.sweep.design.build_points`). Return the new file's text, the messages by
    parameter key, and the other messages (none: it may be saved)."""
    from icssim.errors import IcssimError, ScenarioError
    from icssim.sweep.design import build_points
    from icssim.sweep.spec import load_sweep

    source = _psa_path(sweeps, name)
    text = _edited_text(source, rows, new_name)
    inline: dict[str, list[str]] = {}
    other: list[str] = []
    shown = f"scenarios/sweeps/{(new_name or name)}.yaml"
    root = f"{sweeps.parent.parent}{os.sep}"

    def said(message: str) -> str:   # files named as the command line run in the folder would name them
        return message.replace(str(tmp), shown).replace(root, "").replace("scenarios/sweeps/../", "scenarios/")
    keys = [r.key for r in rows if r.key and not r.remove]
    tmp = sweeps / f".{name}.check-{os.getpid()}-{threading.get_ident()}.yaml"
    tmp.write_text(text, encoding="utf-8")
    try:
        try:
            build_points(load_sweep(tmp))
        except ScenarioError as exc:
            for p in exc.problems:
                message = said(str(p))
                key = next((k for k in keys if p.path == f"parameters.{k}" or p.path.startswith(f"parameters.{k}.")),
                           None)
                (inline.setdefault(key, []) if key else other).append(message)
        except IcssimError as exc:
            message = said(str(exc))
            key = next((k for k in keys if f"parameters: {k!r}" in message), None)
            (inline.setdefault(key, []) if key else other).append(message)
    finally:
        tmp.unlink(missing_ok=True)
    return text, inline, other


def check_new_name(sweeps: Path, new_name: str) -> Path:
    """The path of a new PSA file ``scenarios/sweeps/<new_name>.yaml``: a plain name, not taken."""
    from icssim.app.workspace import NAME
    from icssim.errors import IcssimError

    if not NAME.match(new_name or "") or new_name.endswith(".yaml"):
        raise IcssimError(f"give the new PSA file a plain name (letters, digits, _ . -), found {new_name!r}")
    target = inside(sweeps, new_name + ".yaml")
    if target.exists():
        raise IcssimError(f"scenarios/sweeps/{new_name}.yaml exists: choose another name")
    return target


def write_new(target: Path, text: str) -> Path:
    """Write ``text`` (checked by :func:`edit_psa`) as ``target``, never replacing a file."""
    from icssim.errors import IcssimError

    tmp = target.with_name(f".{target.name}.partial-{os.getpid()}-{threading.get_ident()}")
    tmp.write_text(text, encoding="utf-8")
    try:
        os.link(tmp, target)   # fails if the name was taken meanwhile
    except FileExistsError:
        raise IcssimError(f"scenarios/sweeps/{target.name} appeared meanwhile: choose another name") from None
    finally:
        tmp.unlink()
    return target


def _psa_path(sweeps: Path, name: str) -> Path:
    from icssim.app.workspace import NAME
    from icssim.errors import IcssimError

    by_name = {f.name: f for f in psa_files(sweeps)}
    if not NAME.match(name) or name not in by_name:
        raise IcssimError(f"{name!r} is not a PSA sweep file in scenarios/sweeps/ (a file with 'design: psa')")
    return inside(sweeps, name + ".yaml")


def _round_trip(path: Path) -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    return yaml.load(path.read_text(encoding="utf-8"))


def _text(value: Any) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _number(text: str) -> Any:
    """A typed number as a number (an int if whole), else the text itself, for the schema to refuse."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _edited_text(source: Path, rows: list[PsaRow], new_name: str) -> str:
    """``source`` with its parameters as ``rows`` (comments kept; a changed parameter says what it
    was), renamed ``new_name`` if given, with a header saying what changed."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

    yaml = YAML(typ="rt")
    yaml.width = 4096
    doc: Any = yaml.load(source.read_text(encoding="utf-8"))
    params = doc.get("parameters")
    if params is None:
        params = doc["parameters"] = CommentedMap()
    changes = []
    for row in rows:
        if row.new and not row.key:
            continue
        if row.remove:
            if row.key in params:
                del params[row.key]
                changes.append(f"removed {row.key}")
            continue
        old = params.get(row.key)
        spec = old if isinstance(old, CommentedMap) else CommentedMap()
        was = _describe(spec) if old is not None else ""
        spec["dist"] = row.dist
        for n in NUMBERS:
            if row.values.get(n, "") == "":
                spec.pop(n, None)
            else:
                spec[n] = _number(row.values[n])
        if row.label and not spec.get("label"):
            spec["label"] = row.label
        now = _describe(spec)
        if old is None:
            params[row.key] = spec
            spec.fa.set_flow_style()
            changes.append(f"added {row.key}: {now}")
        elif now != was:
            changes.append(f"{row.key}: {now} (was {was})")
    if new_name:
        doc["sweep"]["name"] = new_name
    buf = io.StringIO()
    yaml.dump(doc, buf)
    header = (f"# Made by `icssim app` from {source.name}: the same PSA with these distributions changed"
              + (":\n" + "".join(f"#   {c}\n" for c in changes) if changes else " (none).\n")
              + f"# Run it with: icssim psa scenarios/sweeps/{(new_name or source.stem)}.yaml\n")
    return header + buf.getvalue()


def _describe(spec: Any) -> str:
    """A parameter's distribution in words: ``gamma(mean 68, sd 7)``."""
    parts = [f"{n} {_text(spec[n])}" for n in NUMBERS if n in spec]
    return f"{spec.get('dist', '?')}({', '.join(parts)})"


def psa_answer(folder: Path) -> str:
    """A PSA folder's answer in words (from its psa.json), or "" for any other folder."""
    import json

    from icssim.health.psa_outputs import answer_text

    try:
        return answer_text(json.loads((folder / "psa.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return ""
