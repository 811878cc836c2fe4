"""The sweep file's schema: base scenario(s), parameters by key path, design, replications, KPIs.

A sweep file is YAML read with the scenario loader's safe reader (tags refused, lines
kept for error messages) and validated here with pydantic models that refuse unknown
keys. See ``docs/sweeps.md`` for the format.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from icssim.errors import IcssimError, Problem, ScenarioError
from icssim.scenario import load_scenario
from icssim.scenario.messages import KeyValueError
from icssim.scenario.yaml_reader import Provenance
from icssim.scenario.schema import MAX_SEED, FolderName
from icssim.sweep.areas import Area, Areas, load_areas
from icssim.sweep.draw_table import DrawTable, read_draw_table
from icssim.sweep.key_levels import read_spec
from icssim.sweep.spec_checks import check_labels, check_targets, check_ties

DEFAULT_KPIS = ["wait_to_assessment_mean", "wait_to_treatment_mean", "wait_to_treatment_p90",
                "share_treated", "cost_per_year"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Parameter(Strict):
    """One swept setting: a list of ``values``, or a numeric range ``low``..``high``.

    Grid designs take every value (a range needs ``step`` or ``points``); Latin
    hypercube designs sample the range (or pick among the values); one-at-a-time
    designs use ``low``/``high`` (or the first and last value) around ``base``
    (default: the base scenario's own value).

    A drawn (PSA) parameter may list in ``also`` further key paths that receive the same drawn
    value: scenario values taken from the same source number, which drawing one alone would
    separate. Each must hold the same base value as the drawn key path in every base scenario
    (checked by :func:`icssim.sweep.ties.parameter_targets`); they are not parameters of their
    own (no column of their own in the tables).
    """

    values: list[Any] | None = None
    dist: Literal["beta", "gamma", "lognormal", "normal", "uniform"] | None = None
    mean: float | None = None
    sd: float | None = Field(default=None, gt=0)
    low: float | None = None
    high: float | None = None
    step: float | None = Field(default=None, gt=0)
    points: int | None = Field(default=None, ge=1)
    base: Any = None
    integer: bool = False
    label: str = ""
    unit: str = ""
    also: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, raw: Any) -> Any:
        if isinstance(raw, list):
            return {"values": raw}
        if not isinstance(raw, dict):
            raise ValueError(f"give a list of values or a range (low, high), found {raw!r}")
        return raw

    @model_validator(mode="after")
    def _check(self) -> Parameter:
        if self.also and self.dist is None:
            raise KeyValueError("also", "'also' gives further key paths the value drawn for this parameter in a "
                                "probabilistic sensitivity analysis: it needs a distribution ('dist')")
        repeated = listed_twice(self.also)
        if repeated:
            raise KeyValueError("also", repeated)
        if self.dist is not None and self.dist != "uniform":
            return self._check_distribution()
        has_range = self.low is not None or self.high is not None
        if self.values is not None and has_range:
            raise ValueError("give either 'values' or a range ('low', 'high'), not both")
        if self.values is None and not has_range:
            raise ValueError("give a list of 'values' or a range ('low' and 'high')")
        if self.values is not None and len(self.values) == 0:
            raise KeyValueError("values", "the list of values is empty: nothing to sweep")
        if has_range:
            if self.low is None or self.high is None:
                raise ValueError("a range needs both 'low' and 'high'")
            if self.low > self.high:
                raise KeyValueError("low", f"'low' ({self.low:g}) is above 'high' ({self.high:g}): the range is empty")
            if self.step is not None and self.points is not None:
                raise KeyValueError("points", "give either 'step' or 'points' for a range, not both")
        elif self.step is not None or self.points is not None:
            raise KeyValueError("step" if self.step is not None else "points",
                                "'step' and 'points' belong to a range ('low', 'high')")
        elif self.integer:
            raise KeyValueError("integer", "'integer' rounds the points of a range ('low', 'high'); a list of "
                                "'values' is swept as written: write whole numbers there instead")
        return self

    def _check_distribution(self) -> Parameter:
        """A probabilistic (PSA) parameter: ``dist`` with ``mean`` and ``sd`` that it can have."""
        if self.mean is None or self.sd is None:
            raise ValueError(f"a {self.dist} distribution needs 'mean' and 'sd'")
        bounded = self.dist == "beta" and (self.low is not None or self.high is not None)
        if self.values is not None or ((self.low is not None or self.high is not None) and not bounded):
            raise KeyValueError("values" if self.values is not None else "low" if self.low is not None else "high",
                                f"a {self.dist} distribution takes 'mean' and 'sd', not 'values' or a range")
        if bounded:
            return self._check_bounded_beta(self.mean, self.sd)
        if self.dist == "beta":
            if not 0 < self.mean < 1:
                raise KeyValueError("mean", "a beta distribution (a probability or utility) needs a mean between 0 "
                                    f"and 1, found {self.mean:g}")
            if self.sd ** 2 >= self.mean * (1 - self.mean):
                raise KeyValueError("sd", f"a beta distribution with mean {self.mean:g} needs sd below "
                                    f"{(self.mean * (1 - self.mean)) ** 0.5:.4g}, found {self.sd:g}")
        elif self.dist in ("gamma", "lognormal") and not self.mean > 0:
            raise KeyValueError("mean", f"a {self.dist} distribution (a cost, rate or duration) needs a mean above 0, "
                                f"found {self.mean:g}")
        return self

    def _check_bounded_beta(self, mean: float, sd: float) -> Parameter:
        """A beta on [low, high] (a value a source gives with its range, e.g. a rate ratio of 10.7,
        3.5 to 14, whose range a lognormal around the mean would not keep)."""
        low, high = self.low, self.high
        if low is None or high is None:
            raise KeyValueError("low" if low is not None else "high",
                                "a beta distribution on a range needs both 'low' and 'high'")
        if not low < mean < high:
            raise KeyValueError("mean", f"a beta distribution on {low:g} to {high:g} needs a mean between them, "
                                f"found {mean:g}")
        if sd ** 2 >= (mean - low) * (high - mean):
            raise KeyValueError("sd", f"a beta distribution on {low:g} to {high:g} with mean {mean:g} needs sd below "
                                f"{((mean - low) * (high - mean)) ** 0.5:.4g}, found {sd:g}")
        return self


def listed_twice(paths: list[str], whose: str = "") -> str:
    """What is wrong with a list of key paths under ``also`` that names one more than once (a
    parameter's, or ``whose``: a column's under ``draws.also``), or empty if none is."""
    repeated = sorted({t for t in paths if paths.count(t) > 1})
    return f"'also'{whose} lists {', '.join(map(repr, repeated))} more than once" if repeated else ""


class Draws(Strict):
    """A CSV table of parameter sets drawn jointly (``design: psa``): a header of key paths, then
    one row per equally likely parameter set, such as ``icssim calibrate``'s ``posterior.csv``.

    Row i is one parameter set, so correlations between the columns are kept. ``file`` is relative
    to the sweep file; ``columns`` picks some of its columns (default: all but the bookkeeping
    columns :data:`icssim.sweep.draw_table.DRAWS_BOOKKEEPING`); ``labels`` names columns for the
    tables and plots (as a parameter's ``label`` does; a column without one shows its key path);
    ``also`` gives a column further key paths that take its value, row by row, as a drawn
    parameter's ``also`` does (the same scenario value at other key paths, such as another
    pathway's: checked by :func:`icssim.sweep.spec_checks.check_ties` and
    :func:`icssim.sweep.ties.parameter_targets`; not columns of their own in the tables).
    """

    file: str = Field(min_length=1)
    columns: list[str] | None = Field(default=None, min_length=1)
    labels: dict[str, str] = Field(default_factory=dict)
    also: dict[str, list[Annotated[str, Field(min_length=1)]]] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, raw: Any) -> Any:
        return {"file": raw} if isinstance(raw, str) else raw

    @model_validator(mode="after")
    def _check(self) -> Draws:
        for column, paths in self.also.items():
            repeated = listed_twice(paths, f" of column {column!r}")
            if repeated:
                raise KeyValueError("also", repeated)
        return self


class SweepInfo(Strict):
    name: FolderName
    description: str = ""
    seed: int = Field(default=1, ge=0, le=MAX_SEED)
    replications: int = Field(default=5, ge=1)
    level: float = Field(default=0.95, gt=0, lt=1)
    common_random_numbers: bool = True


class Frontier(Strict):
    """The two KPIs of the cost-against-wait plot (both minimised for the frontier)."""

    cost: str = "cost_per_year"
    wait: str = "wait_to_treatment_mean"


class Population(Strict):
    """Who a PSA's decision affects, for the population EVPI (the per-person EVPI times the people
    it concerns, discounted): ``people_per_year`` (default: the baseline scenario's help-seekers a
    year, its cohorts' rates) for ``years`` (how long the decision stands; 10 by default, a
    common choice for a service's lifetime)."""

    people_per_year: float | None = Field(default=None, gt=0, le=1e9)
    years: int = Field(default=10, ge=1, le=100)


class Optimise(Strict):
    """Defaults for ``icssim optimise``: standards to meet and what to minimise."""

    target: list[str] = Field(default_factory=list)
    minimise: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_target(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and isinstance(raw.get("target"), str):
            return {**raw, "target": [raw["target"]]}
        return raw


#: Designs whose points are parameter draws (each draw its own seed under common random numbers).
PSA_DESIGNS = ("psa", "sobol")


class SweepSpec(Strict):
    sweep: SweepInfo
    base: str | list[str] | dict[str, str]
    design: Literal["grid", "lhs", "oat", "psa", "sobol"] = "grid"
    samples: int | None = Field(default=None, ge=1)
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    draws: Draws | None = None
    areas: Areas | None = None
    kpis: list[str] = Field(default_factory=lambda: list(DEFAULT_KPIS), min_length=1)
    frontier: Frontier = Field(default_factory=Frontier)
    optimise: Optimise = Field(default_factory=Optimise)
    population: Population | None = None
    #: the bases (labels) whose points this file runs, when not all: the others are there so that a
    #: parameter or column only they have is drawn, and set, as in the whole sweep (the national
    #: run's file per base: icssim.national.split_sweep)
    run_only: list[str] | None = Field(default=None, min_length=1)

    @property
    def is_psa(self) -> bool:
        """Whether the points are parameter draws (``design: psa`` or ``sobol``)."""
        return self.design in PSA_DESIGNS

    @model_validator(mode="after")
    def _check(self) -> SweepSpec:
        if self.draws is not None and self.design == "sobol":
            raise ValueError("a Sobol design cannot use a table of draws ('draws'): Sobol indices need "
                             "parameters drawn independently of each other, and a table's columns are drawn "
                             "jointly (correlated); use 'design: psa' for the table")
        if self.draws is not None and self.design != "psa":
            raise ValueError("a table of draws ('draws') gives the parameter sets of a probabilistic "
                             "sensitivity analysis: use 'design: psa'")
        if self.is_psa:
            return self._check_psa()
        if self.population is not None:
            raise ValueError("'population' (who the decision affects, for the population EVPI) is for a "
                             "probabilistic sensitivity analysis: use 'design: psa'")
        if any(p.dist is not None for p in self.parameters.values()):
            raise ValueError("parameters with a 'dist' are drawn in a probabilistic sensitivity analysis: "
                             "use 'design: psa'")
        if self.design == "lhs":
            if self.samples is None:
                raise ValueError("a Latin hypercube design ('design: lhs') needs 'samples' (how many points)")
            if not self.parameters:
                raise ValueError("a Latin hypercube design needs at least one parameter")
        elif self.samples is not None:
            raise ValueError(f"'samples' is for Latin hypercube and PSA designs, not '{self.design}'")
        if self.design == "oat" and not self.parameters:
            raise ValueError("a one-at-a-time design ('design: oat') needs at least one parameter")
        if self.design == "grid":
            for path, p in self.parameters.items():
                if p.values is None and p.step is None and p.points is None and p.low != p.high:
                    raise ValueError(f"parameter {path!r}: a grid over a range needs 'step' or 'points'")
        if isinstance(self.base, (list, dict)) and not self.base:
            raise ValueError("'base' lists no scenario")
        return self

    def _check_psa(self) -> SweepSpec:
        if self.samples is None and self.draws is None:
            raise ValueError("a probabilistic sensitivity analysis ('design: psa') needs 'samples' (how many "
                             "parameter sets to draw)")
        plain = [path for path, p in self.parameters.items() if p.dist is None]
        if (not self.parameters and self.draws is None) or plain:
            missing = f"; missing for {', '.join(plain)}" if plain else ""
            raise ValueError("every parameter of a PSA needs a distribution ('dist' with 'mean' and 'sd', or "
                             f"'dist: uniform' with 'low' and 'high'){missing}")
        if self.design == "sobol" and (self.samples or 0) & ((self.samples or 0) - 1):
            raise ValueError(f"a Sobol design's 'samples' (its base points; it runs samples x (parameters + 2) "
                             f"parameter sets) must be a power of 2 such as 32, 64 or 128, found {self.samples}")
        return self


@dataclass
class Sweep:
    """A loaded sweep: the validated spec, where it came from, and its base scenarios."""

    spec: SweepSpec
    path: Path
    sha256: str
    bases: dict[str, Any]           # label -> Scenario
    base_files: dict[str, Path]
    areas: list[Area] | None
    areas_sha256: str | None
    draws: DrawTable | None = None
    #: where each key of the sweep file is (file and line), for messages about it after validation
    provenance: Provenance | None = None

    @property
    def name(self) -> str:
        return self.spec.sweep.name

    @property
    def running(self) -> dict[str, Any]:
        """The bases whose points run (label -> Scenario): all, or those ``run_only`` names."""
        only = self.spec.run_only
        return self.bases if only is None else {label: s for label, s in self.bases.items() if label in only}

    @property
    def samples(self) -> int:
        """How many parameter sets a PSA runs: ``samples``, or every row of its table of draws."""
        if self.spec.samples is not None:
            return self.spec.samples
        return len(self.draws.rows) if self.draws is not None else 0

    def drawn(self) -> dict[str, str]:
        """Every parameter a PSA draws, key path -> label: the ``parameters`` with a distribution,
        then the columns of the table of draws (the key paths a parameter sets ``also`` are not
        parameters of their own)."""
        out = {path: str(p.label or path) for path, p in self.spec.parameters.items()}
        labels = self.spec.draws.labels if self.spec.draws is not None else {}
        columns = self.draws.columns if self.draws is not None else []
        out.update({column: labels.get(column, column) for column in columns})
        return out

    def tied(self, path: str) -> list[str]:
        """The further key paths that take the value of PSA parameter (or column of the table of
        draws) ``path``: its ``also`` (a column's under ``draws.also``)."""
        p = self.spec.parameters.get(path)
        if p is not None:
            return list(p.also)
        return list(self.spec.draws.also.get(path, [])) if self.spec.draws is not None else []


def load_sweep(path: str | Path) -> Sweep:
    """Read, validate and resolve a sweep file (base scenarios loaded and checked)."""
    path = Path(path)
    spec, prov = read_spec(path, SweepSpec, (SweepSpec, SweepInfo, Parameter, Draws, Area, Areas, Frontier,
                                             Optimise))
    if isinstance(spec.base, str):
        files = {Path(spec.base).stem: spec.base}
        base_keys: dict[str, tuple[Any, ...]] = {Path(spec.base).stem: ("base",)}
    elif isinstance(spec.base, list):
        files = {Path(b).stem: b for b in spec.base}
        base_keys = {Path(b).stem: ("base", i) for i, b in enumerate(spec.base)}
        if len(files) < len(spec.base):
            raise IcssimError(f"{path}: base: two base scenarios share a file name; "
                              "give them labels (base: {{label: file, ...}})")
    else:
        files = dict(spec.base)
        base_keys = {label: ("base", label) for label in files}
    base_files = {label: path.parent / f for label, f in files.items()}
    unknown = [label for label in spec.run_only or [] if label not in base_files]
    if unknown:
        raise IcssimError(f"{path}: run_only: {unknown[0]!r} is not a base of this sweep (its bases: "
                          f"{', '.join(base_files)})")
    bases = {}
    for label, f in base_files.items():
        if not f.is_file():
            raise _missing_file(prov, base_keys[label], f, "scenario file ")
        bases[label] = load_scenario(f)
    areas, areas_sha = None, None
    if spec.areas is not None:
        if spec.areas.table is not None and not (path.parent / spec.areas.table).is_file():
            raise _missing_file(prov, ("areas", "table"), path.parent / spec.areas.table)
        areas, areas_sha = load_areas(spec.areas, path)
    if spec.draws is not None and not (path.parent / spec.draws.file).is_file():
        key = ("draws", "file") if ("draws", "file") in prov.lines else ("draws",)
        raise _missing_file(prov, key, path.parent / spec.draws.file)
    draws = (read_draw_table(spec.draws, path, list(spec.parameters), spec.samples)
             if spec.draws is not None else None)
    check_ties(spec, prov, draws)
    check_labels(spec, prov, draws)
    check_targets(spec, prov)
    return Sweep(spec, path, hashlib.sha256(path.read_bytes()).hexdigest(), bases, base_files, areas, areas_sha,
                 draws, prov)


def _missing_file(prov: Provenance, key: tuple[Any, ...], file: Path, what: str = "") -> ScenarioError:
    """A file the sweep file names that is not there, named by the sweep file's line of it and its key."""
    message = f"{what}{str(file)!r} does not exist (paths are relative to the sweep file)"
    return ScenarioError([Problem(*prov.where(key), ".".join(map(str, key)), message)])
