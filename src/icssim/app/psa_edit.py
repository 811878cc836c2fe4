"""A PSA's distributions edited in the app: the parameters of a ``design: psa`` sweep file as rows
of a form, checked as ``icssim psa`` checks a file, and saved as a new sweep file beside it (comments
kept, a header saying what changed); the original is never replaced."""

from __future__ import annotations

import io
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from icssim.app.psa import link_new, psa_path, round_trip
from icssim.output_folder import inside

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
    unit: str = ""            # the unit of the numbers (a time or rate is converted; else an axis label)


def psa_rows(sweeps: Path, name: str) -> list[PsaRow]:
    """The parameters of ``scenarios/sweeps/<name>.yaml`` as rows of the edit form, and an empty
    row to add one."""
    doc = round_trip(psa_path(sweeps, name))
    rows = []
    for i, (key, spec) in enumerate((doc.get("parameters") or {}).items()):
        spec = spec if isinstance(spec, dict) else {}
        rows.append(PsaRow(i, str(key), str(spec.get("dist", "")),
                           {n: _text(spec.get(n)) for n in NUMBERS}, str(spec.get("label", "")),
                           unit=_text(spec.get("unit"))))
    rows.append(PsaRow(len(rows), "", "gamma", {n: "" for n in NUMBERS}, new=True))
    return rows


def rows_from_form(form: dict[str, str], count: int) -> list[PsaRow]:
    """The rows as typed (``p<i>.key``, ``p<i>.dist``, ``p<i>.mean`` ... ``p<i>.remove``)."""
    rows = []
    for i in range(count):
        get = lambda n: form.get(f"p{i}.{n}", "").strip()   # noqa: E731
        rows.append(PsaRow(i, get("key"), get("dist"), {n: get(n) for n in NUMBERS}, get("label"),
                           new=i == count - 1, remove=get("remove") == "1", unit=get("unit")))
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

    source = psa_path(sweeps, name)
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

    if not link_new(target, text):
        raise IcssimError(f"scenarios/sweeps/{target.name} appeared meanwhile: choose another name")
    return target


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
        if row.unit:
            spec["unit"] = row.unit
        else:
            spec.pop("unit", None)
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
    unit = f" {spec['unit']}" if spec.get("unit") else ""
    return f"{spec.get('dist', '?')}({', '.join(parts)}){unit}"
