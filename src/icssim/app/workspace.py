"""The app's files and forms, without any web framework: the scenarios and results of one
working directory, the editable numbers of a scenario (each a :class:`~icssim.app.fields.Field`,
named in the file's words there), and saving an edit as a file that ``extends`` the original with
only what changed.

Every path comes through :meth:`Workspace.scenario_path` or :meth:`Workspace.result_path`,
which refuse anything outside the working directory's ``scenarios/`` and ``results/``.
Edits are validated by the loader the command line uses (:func:`icssim.scenario.scenario_from_dict`),
so the app shows the same messages; a value typed in a form is only ever parsed as a number
or kept as text, never evaluated.
"""

from __future__ import annotations

import copy
import json
import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from icssim.errors import IcssimError, Problem, ScenarioError
from icssim.app.fields import Field, item_name, standard_words
from icssim.app.scenario_file import differences, overrides_yaml, value_text
from icssim.output_folder import inside
from icssim.units import key_unit

#: A scenario's or results folder's name: one plain path component.
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
#: A new scenario's name, as it will be written into ``scenario.name`` and the file name.
NEW_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_NUMBER = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")
_SPAN = re.compile(r"^\s*[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?\s*(?:/|per\s+)?\s*[A-Za-z]+\s*$")
#: A number with its thousands grouped by commas (``1,500,000``, ``1,500 days``): nothing else to read.
_GROUPED = re.compile(r"^\s*([-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?)(\s*[A-Za-z/].*)?$")
_PERCENT = re.compile(r"^\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+))\s*%\s*$")
#: Units of numbers that are shares of 1, where ``95%`` can only mean 0.95 (:data:`icssim.units.KEY_UNITS`).
SHARE_UNITS = ("probability, 0 to 1", "share, 0 to 1", "discount rate a year, 0 to 0.2")
#: Sections whose numbers the forms offer, in the order shown.
SECTIONS = ("scenario", "cohorts", "services", "pathway", "health", "calendar")
#: Keys never offered for editing (identity of a run, not a number of the pathway).
SKIP = {("scenario", "seed")}


class Workspace:
    """The ``scenarios/`` and ``results/`` folders of one working directory."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).resolve()
        self.scenarios = self.root / "scenarios"
        self.results = self.root / "results"
        self.sweeps = self.scenarios / "sweeps"
        self._loaded: dict[Path, tuple[tuple, Any, list[str]]] = {}

    # ------------------------------------------------------------------ paths
    def scenario_names(self) -> list[str]:
        """The scenario files in ``scenarios/`` (not its subfolders), by name without ``.yaml``."""
        if not self.scenarios.is_dir():
            return []
        return sorted(p.stem for p in self.scenarios.glob("*.yaml") if p.is_file() and NAME.match(p.stem))

    def scenario_path(self, name: str) -> Path:
        """``scenarios/<name>.yaml``, refused unless it is a plain name of a file inside ``scenarios/``."""
        if not isinstance(name, str) or not NAME.match(name):
            raise IcssimError(f"{name!r} is not a scenario name: expected the name of a file in scenarios/ "
                              "(letters, digits, '_', '-', '.')")
        path = inside(self.scenarios, name + ".yaml")
        self._within(path)
        if not path.is_file():
            raise IcssimError(f"scenarios/{name}.yaml does not exist")
        return path

    def result_path(self, rel: str) -> Path:
        """A file or folder under ``results/``, refused unless each part is a plain name and the
        path, links resolved, stays inside ``results/`` (and so inside the working directory)."""
        parts = [p for p in str(rel).split("/") if p != ""]
        if not parts:
            return self.results
        for part in parts:
            if part in (".", "..") or "\\" in part or "\0" in part:
                raise IcssimError(f"{rel!r} is not inside results/: refusing to read it")
        path = inside(self.results, *parts)
        self._within(path)
        return path

    def _within(self, path: Path) -> None:
        resolved = path.resolve()
        if resolved != self.root and self.root not in resolved.parents:
            raise IcssimError(f"{path} is not inside the working directory {self.root}: refusing it")

    def result_folders(self) -> list[dict[str, Any]]:
        """Past results: each folder in ``results/`` holding a metadata.json, newest first."""

        out: list[dict[str, Any]] = []
        if not self.results.is_dir():
            return out
        for folder in self.results.iterdir():
            meta_file = folder / "metadata.json"
            if folder.name.startswith(".") or not folder.is_dir() or folder.is_symlink() or not meta_file.is_file():
                continue
            try:
                meta = json.loads(meta_file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                meta = {}
            meta = meta if isinstance(meta, dict) else {}
            out.append({"name": folder.name, "kind": meta.get("kind", "?"),
                        "date": str(meta.get("date", meta.get("created", "")))[:19],
                        "scenarios": meta.get("scenarios") or [meta.get("scenario", folder.name)],
                        "report": (folder / "report.html").is_file(),
                        "mtime": meta_file.stat().st_mtime})
        return sorted(out, key=lambda r: -r["mtime"])

    # ------------------------------------------------------------------ scenarios
    def load(self, name: str):
        """The scenario ``scenarios/<name>.yaml``, validated as the command line does (kept while
        none of the files it was read from has changed: reading a scenario takes about 0.3 s)."""
        from icssim.scenario import load_scenario, provenance

        path = self.scenario_path(name)
        cached = self._loaded.get(path)
        if cached is not None and cached[0] == _stamp(cached[2]):
            return cached[1]
        scenario = load_scenario(path)
        files = list(provenance(scenario).files)
        self._loaded[path] = (_stamp(files), scenario, files)
        return scenario

    def read_all(self) -> None:
        """Read every scenario once (about 0.3 to 1.5 s each), so that the first visit to a scenario's
        page is as quick as the next; a file that cannot be read is left for its page to explain."""
        for name in self.scenario_names():
            try:
                self.load(name)
            except Exception:  # noqa: BLE001 (its page shows the loader's message)
                continue

    def numbers(self, scenario) -> list[Field]:
        """The numbers among :meth:`fields` (what a what-if may vary)."""
        return [f for f in self.fields(scenario) if not f.choices]

    def fields(self, scenario) -> list[Field]:
        """Every value of ``scenario`` a planner may change, with the comment that cites its source
        and the file and line it was read from: its numbers (spans such as ``2 weeks`` and rates
        included), and where each routing branch of the pathway goes (``next: [{to: treat, p: 0.8},
        ...]``, ``next: recovered``, ``on_reject: {to: gp}``), one of the pathway's steps."""
        from icssim.scenario import provenance

        prov = provenance(scenario)
        found: list[Field] = []
        steps = tuple(str(k) for k, v in ((prov.raw.get("pathway") or {}).get("steps") or {}).items() if v is not None)

        words = standard_words(scenario)

        def walk(node: Any, path: tuple[Any, ...], names: dict[int, str], parent: Any = None) -> None:
            if isinstance(node, dict):
                for k, v in node.items():
                    named = path == ("scenario", "standards") and k in words
                    walk(v, (*path, k), {**names, len(path): words[k]} if named else names, node)
            elif isinstance(node, list):
                for i, v in enumerate(node):
                    name = item_name(node, i, path[-1], parent)
                    walk(v, (*path, i), {**names, len(path): name} if name else names, node)
            elif path in SKIP:
                return
            elif isinstance(node, str) and _is_target(path, steps):
                file, line = prov.where(path)
                where = f"{self.relative(file)}:{line}" if line else self.relative(file)
                found.append(Field(path, node, _comment_for(prov, path), where, steps, names))
            elif (isinstance(node, (int, float)) and not isinstance(node, bool)) or \
                    (isinstance(node, str) and _SPAN.match(node)):
                file, line = prov.where(path)
                where = f"{self.relative(file)}:{line}" if line else self.relative(file)
                found.append(Field(path, node, _comment_for(prov, path), where, names=names))

        for section in SECTIONS:
            if section in prov.raw:
                walk(prov.raw[section], (section,), {})
        return found

    def relative(self, file: str) -> str:
        try:
            return str(Path(file).resolve().relative_to(self.root))
        except ValueError:
            return Path(file).name

    def edit(self, scenario, values: dict[str, str], file: Path | None = None):
        """Apply the form's ``values`` (dotted key → text) to ``scenario`` and validate the result with
        the command line's code (also the KPI names of its ``report.featured``, placed where the file
        writes them). Return ``(raw, edited scenario or None, problems by key, other problems)``."""
        from icssim.kpi_check import featured_problems
        from icssim.scenario import provenance, scenario_from_dict

        prov = provenance(scenario)
        raw = copy.deepcopy(prov.raw)
        by_key = {f.key: f for f in self.fields(scenario)}
        unread: dict[str, list[str]] = {}
        for key, text in values.items():
            field = by_key.get(key)
            if field is None:
                continue
            value, hint = read_value(text, field.value, "" if field.choices else key_unit(field.path))
            if hint:   # the field keeps the file's value meanwhile, so the other checks still run
                unread[key] = [f"{key}: {hint}"]
                continue
            if value != parse_value(text, field.value):   # 95%, 1,500,000: the form shows what was read
                values[key] = value_text(value)
            _set(raw, field.path, value)
        where = str(file if file is not None else Path(prov.files[-1]))
        try:
            edited = scenario_from_dict(raw, name=where)
        except ScenarioError as exc:
            inline, other = split_problems(exc.problems, by_key)
            return raw, None, {**inline, **{k: [*v, *inline.get(k, [])] for k, v in unread.items()}}, other
        featured = [] if unread else featured_problems(edited, prov.where)   # (not in the form: the file's lines)
        return (raw, None, unread, [str(p) for p in featured]) if unread or featured else (raw, edited, {}, [])

    def warnings(self, scenario, fields: list[Field] | None = None) -> tuple[dict[str, list[str]], list[str]]:
        """The plausibility warnings of ``scenario`` (:mod:`icssim.scenario.plausibility`: values no
        English ICS could have, said but never refused), each under the form field it names (of
        ``fields``, by default the scenario's own), the rest apart, as :func:`split_problems` places
        the loader's problems."""
        from icssim.scenario.plausibility import warnings

        return split_problems(warnings(scenario), {f.key: f for f in fields or self.fields(scenario)})

    def save(self, original: str, new_name: str, base_raw: dict, raw: dict, fields: list[Field]) -> Path:
        """Write ``scenarios/<new_name>.yaml``: ``extends`` the original file and states only the values
        that differ from it (each with the value it replaces and its source as a comment). Never
        replaces an existing file. Validated again, as a file, before it is kept, with the KPI names
        of its ``report.featured`` (a misspelt one is refused as ``icssim validate`` refuses it)."""
        from icssim.kpi_check import featured_problems, refuse
        from icssim.scenario import load_scenario

        if not isinstance(new_name, str) or not NEW_NAME.match(new_name):
            raise IcssimError(f"{new_name!r} cannot name a scenario: expected letters, digits, '_' or '-' "
                              "(up to 64, starting with a letter or digit)")
        base_file = self.scenario_path(original)
        target = inside(self.scenarios, new_name + ".yaml")
        self._within(target)
        if os.path.lexists(target):
            raise IcssimError(f"scenarios/{new_name}.yaml already exists: choose another name")
        changes = differences(base_raw, raw)
        scenario_part = {"name": new_name, **changes.pop("scenario", {})}
        changes = {"scenario": scenario_part, **changes}
        text = overrides_yaml(os.path.relpath(base_file, target.parent), original, changes,
                              {f.key: f for f in fields})
        tmp = target.with_name(f".{target.name}.partial-{os.getpid()}")
        tmp.write_text(text, encoding="utf-8")
        try:
            os.link(tmp, target)  # fails if the name appeared meanwhile: never replaces a file
        except FileExistsError:
            raise IcssimError(f"scenarios/{new_name}.yaml already exists: choose another name") from None
        finally:
            tmp.unlink()
        try:
            refuse(featured_problems(load_scenario(target)))
        except ScenarioError:
            target.unlink()
            raise
        return target


#: Keys under a step that hold routing (a step name, a branch or a list of branches); ``then`` is
#: also found under ``dropout`` and ``missed``.
ROUTING = {"next", "then", "on_reject"}


def _is_target(path: tuple[Any, ...], steps: tuple[str, ...]) -> bool:
    """Whether ``path`` is where a routing branch of a pathway step goes: ``pathway.steps.<step>``,
    then a routing key (and branches, nested lists) ending at ``to``, or the routing key itself
    when it names a step (``next: recovered``)."""
    if len(path) < 4 or path[:2] != ("pathway", "steps") or not steps:
        return False
    keys = [p for p in path[3:] if isinstance(p, str)]
    if not set(keys) & ROUTING or not set(keys) <= ROUTING | {"to", "dropout", "missed"}:
        return False
    return path[-1] == "to" or path[-1] in ROUTING


def _stamp(files: list[str]) -> tuple:
    """When each file was last changed (None if it is gone)."""
    out: list[tuple[str, int | None, int | None]] = []
    for f in files:
        try:
            st = os.stat(f)
            out.append((f, st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((f, None, None))
    return tuple(out)


def _comment_for(prov, path: tuple[Any, ...]) -> str:
    """The comment on ``path``'s own line, else on the nearest key above it (``{wte: 18}  # source``)."""
    for cut in range(len(path), 0, -1):
        text = prov.comments.get(path[:cut])
        if text:
            return text
        if path[:cut] in prov.lines and cut < len(path) and prov.lines.get(path[:cut]) != prov.lines.get(path):
            break
    return ""


def read_value(text: str, old: Any, unit: str = "") -> tuple[Any, str]:
    """What a form's text means (:func:`parse_value`), also in two notations a planner types
    without thinking, each read only where it cannot mean anything else: thousands grouped by
    commas (``1,500,000`` is 1500000, ``1,500 days`` is 1500 days) and a percentage where the
    number is a share of 1 (``95%`` is 0.95 for a probability, :data:`SHARE_UNITS`). Return
    ``(value, "")``, or ``(text, what to type instead)`` for a percentage elsewhere or another
    comma (``2,5``: a decimal comma, or thousands mistyped), which would otherwise be refused
    with the schema's bare "expected a number"."""
    typed = str(text).strip()
    grouped = _GROUPED.match(typed)
    if grouped:
        typed = grouped.group(1).replace(",", "") + (grouped.group(2) or "")
    percent = _PERCENT.match(typed)
    if percent and unit in SHARE_UNITS:
        return float(Decimal(percent.group(1)) / 100), ""
    if percent:
        share = f"{float(Decimal(percent.group(1)) / 100):g}"
        what = f"a number in {unit}" if unit else "not a probability or share"
        return typed, (f"{typed!r} is a percentage, but this is {what}: write the number alone, without % "
                       f"(only a probability or share takes a percentage, {percent.group(1)}% as {share})")
    if "," in typed:
        return typed, (f"{typed!r}: write a number without commas (1500000 for 1,500,000) and with a "
                       "decimal point, not a comma (2.5, not 2,5)")
    return parse_value(typed, old), ""


def parse_value(text: str, old: Any) -> Any:
    """What a form's text means: a number if it reads as one, else the text itself (so that the
    scenario's own validation names what is wrong with it). Nothing is evaluated."""
    text = str(text).strip()
    if _NUMBER.match(text):
        number = float(text)
        if number.is_integer() and "." not in text and "e" not in text.lower() and abs(number) < 2**63:
            return int(text)
        return number
    return text


def _set(raw: dict, path: tuple[Any, ...], value: Any) -> None:
    node: Any = raw
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def split_problems(problems: list[Problem], by_key: dict[str, Field]) -> tuple[dict[str, list[str]], list[str]]:
    """The loader's problems, each under the form field it names (or the nearest one above, or, for
    a problem of a whole list such as a step's branches, its first field), the rest apart."""
    inline: dict[str, list[str]] = {}
    other: list[str] = []
    for p in problems:
        key = p.path
        while key and key not in by_key:
            key = key.rpartition(".")[0]
        if not key and p.path:   # a routing list's probabilities: beside its first probability
            under = [k for k in by_key if k.startswith(p.path + ".")]
            key = next((k for k in under if k.endswith(".p")), under[0] if under else "")
        if key:
            inline.setdefault(key, []).append(f"{p.path}: {p.message}")
        else:
            other.append(f"{p.path + ': ' if p.path else ''}{p.message}")
    return inline, other


def extends_of(path: Path) -> str:
    """The base file a scenario file names in ``extends``, if any (read as text, for the page)."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("extends:"):
            return line.partition(":")[2].split("#")[0].strip().strip("'\"")
    return ""
