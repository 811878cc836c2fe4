"""The calibration file: the scenario, the free parameters with their priors, the targets with their
published values and uncertainty, and the budget of the sequential Monte Carlo (ABC-SMC) run.

Read with the scenario loader's safe YAML reader (tags refused, lines kept), validated by pydantic
models that refuse unknown keys; every mistake is reported with file, line and key. See
``docs/calibration.md`` for the format.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from icssim.errors import IcssimError, Problem, ScenarioError
from icssim.scenario import Scenario, load_scenario, provenance, scenario_from_dict
from icssim.scenario.initial_state import anchored_raw
from icssim.scenario.loader import Provenance
from icssim.scenario.schema import MAX_SEED, FolderName
from icssim.sweep.key_levels import read_spec
from icssim.sweep.paths import MISSING, check_path, get_path, set_path
from icssim.sweep.value_units import BaseValue, base_value, named_unit, unit_suffix, unit_words


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Prior(Strict):
    """A free parameter's prior: ``uniform`` or ``loguniform`` on [low, high], or ``normal``,
    ``lognormal``, ``gamma``, ``beta`` by mean and sd (truncated to ``low``/``high`` if given).
    ``unit``: the time or rate its numbers are in (``days``, ``per week``), by the rule sweeps and
    PSAs follow (:mod:`icssim.sweep.value_units`); needed where the base writes its value with a unit."""

    dist: Literal["uniform", "loguniform", "normal", "lognormal", "gamma", "beta"] = "uniform"
    low: float | None = None
    high: float | None = None
    mean: float | None = None
    sd: float | None = Field(default=None, gt=0)
    integer: bool = False
    unit: str = ""
    #: a key path set to 1 - the value (the other branch of a two-way split, so that the two sum to 1)
    complement: str | None = None
    label: str = ""
    source: str = ""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, raw: Any) -> Any:
        if isinstance(raw, list) and len(raw) == 2:
            return {"low": raw[0], "high": raw[1]}
        if not isinstance(raw, dict):
            raise ValueError(f"give a prior: a range {{low: x, high: y}} or a distribution "
                             f"{{dist: gamma, mean: m, sd: s}}, found {raw!r}")
        return raw

    @model_validator(mode="after")
    def _check(self) -> Prior:
        if self.dist in ("uniform", "loguniform"):
            if self.low is None or self.high is None:
                raise ValueError(f"a {self.dist} prior needs 'low' and 'high'")
            if self.mean is not None or self.sd is not None:
                raise ValueError(f"a {self.dist} prior takes 'low' and 'high', not 'mean' or 'sd'")
        elif self.mean is None or self.sd is None:
            raise ValueError(f"a {self.dist} prior needs 'mean' and 'sd'")
        for name in ("low", "high", "mean"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise ValueError(f"'{name}' must be a finite number, found {value}")
        if self.low is not None and self.high is not None and not self.low < self.high:
            raise ValueError(f"'low' ({self.low:g}) must be below 'high' ({self.high:g}): the prior is empty")
        if self.dist == "loguniform" and self.low is not None and self.low <= 0:
            raise ValueError(f"a loguniform prior needs 'low' above 0, found {self.low:g}")
        if self.dist in ("lognormal", "gamma") and self.mean is not None and self.mean <= 0:
            raise ValueError(f"a {self.dist} prior needs a mean above 0, found {self.mean:g}")
        if self.dist == "beta" and self.mean is not None and self.sd is not None:
            if not 0 < self.mean < 1:
                raise ValueError(f"a beta prior needs a mean between 0 and 1, found {self.mean:g}")
            if self.sd ** 2 >= self.mean * (1 - self.mean):
                raise ValueError(f"a beta prior with mean {self.mean:g} needs sd below "
                                 f"{(self.mean * (1 - self.mean)) ** 0.5:.4g}, found {self.sd:g}")
        if self.integer and self.low is not None and self.high is not None \
                and math.floor(self.high) < math.ceil(self.low):
            raise ValueError(f"an integer prior on [{self.low:g}, {self.high:g}] holds no whole number")
        return self


class Target(Strict):
    """A published figure the model must reproduce: a KPI (or measure) name, the value, its
    uncertainty (``sd``, a ``tolerance`` or a 95% interval ``low``..``high``) and its source."""

    kpi: str = Field(min_length=1)
    value: float
    sd: float | None = Field(default=None, gt=0)
    tolerance: float | None = Field(default=None, gt=0)
    low: float | None = None
    high: float | None = None
    per_100k: bool = False          # divide the simulated value by the scenario's population / 100,000
    held_out: bool = False          # not fitted: reported against the posterior only
    label: str = ""
    unit: str = ""
    source: str = Field(min_length=1)
    definition: str = ""

    @model_validator(mode="after")
    def _check(self) -> Target:
        given = [n for n in ("sd", "tolerance") if getattr(self, n) is not None]
        interval = self.low is not None or self.high is not None
        if len(given) + interval != 1:
            raise ValueError("give the target's uncertainty as exactly one of 'sd', 'tolerance' or a 95% "
                             "interval 'low' and 'high'")
        if interval:
            if self.low is None or self.high is None:
                raise ValueError("a 95% interval needs both 'low' and 'high'")
            if not self.low <= self.value <= self.high:
                raise ValueError(f"the value ({self.value:g}) lies outside its own interval "
                                 f"[{self.low:g}, {self.high:g}]")
            if not self.low < self.high:
                raise ValueError(f"'low' ({self.low:g}) must be below 'high' ({self.high:g})")
        return self

    @property
    def scale(self) -> float:
        """The distance unit: the sd, the tolerance, or the 95% interval's half-width / 1.96."""
        if self.sd is not None:
            return self.sd
        if self.tolerance is not None:
            return self.tolerance
        assert self.low is not None and self.high is not None
        return (self.high - self.low) / (2 * 1.959964)

    @property
    def interval(self) -> tuple[float, float]:
        """The range drawn on the fit plots: value ± 1.96 sd, ± the tolerance, or low..high."""
        if self.low is not None and self.high is not None:
            return self.low, self.high
        half = 1.959964 * self.sd if self.sd is not None else float(self.tolerance or 0)
        return self.value - half, self.value + half


class Settings(Strict):
    name: FolderName
    description: str = ""
    seed: int = Field(default=1, ge=0, le=MAX_SEED)
    population: int = Field(default=100, ge=10, le=100_000)      # particles per generation
    generations: int = Field(default=8, ge=1, le=100)            # at most
    initial_factor: float = Field(default=2.0, ge=1, le=100)     # prior draws in generation 0 per particle
    quantile: float = Field(default=0.5, gt=0, lt=1)             # next threshold: this quantile of distances
    stop_distance: float = Field(default=1.0, gt=0)              # stop when the threshold gets this low
    min_acceptance: float = Field(default=0.02, gt=0, lt=1)      # ... or the acceptance rate this low
    max_simulations: int = Field(default=5000, ge=10)            # ... or this many simulations are run
    fit_distance: float = Field(default=2.0, gt=0)               # "nothing fits" above this best distance
    posterior_draws: int | None = Field(default=None, ge=1, le=1_000_000)   # posterior.csv rows (default: population)


class CalibrationSpec(Strict):
    calibration: Settings
    scenario: str = Field(min_length=1)
    parameters: dict[str, Prior] = Field(min_length=1)
    targets: dict[str, Target] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> CalibrationSpec:
        if all(t.held_out for t in self.targets.values()):
            raise ValueError("every target is held out: at least one must be fitted")
        return self


@dataclass
class Calibration:
    """A loaded calibration file: the spec, where it came from, the base scenario and its data."""

    spec: CalibrationSpec
    path: Path
    prov: Provenance
    scenario: Scenario
    scenario_file: Path
    base_raw: dict[str, Any]
    base_values: dict[str, Any]
    #: what the base scenario holds at each parameter's key path (its kind, unit and line)
    bases: dict[str, BaseValue] = field(default_factory=dict)
    #: what each parameter writes after its numbers (``" per week"``, or ``""``: :func:`unit_suffix`)
    suffixes: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.calibration.name

    @property
    def fitted(self) -> dict[str, Target]:
        return {k: t for k, t in self.spec.targets.items() if not t.held_out}

    @property
    def held_out(self) -> dict[str, Target]:
        return {k: t for k, t in self.spec.targets.items() if t.held_out}

    def where(self, *keys: str) -> str:
        """``file:line: key`` of a key of the calibration file."""
        file, line = self.prov.where(tuple(keys))
        return f"{file}:{line}: {'.'.join(keys)}" if line else f"{file}: {'.'.join(keys)}"

    def written(self, key: str, x: float) -> Any:
        """Parameter ``key`` at ``x`` (a number in its prior's unit) as the scenario is given it:
        rounded (to a whole number for an ``integer`` prior) and followed by the prior's time or rate
        unit (``"0.03 per week"``), or a bare number where it has none."""
        number: float | int = int(round(x)) if self.spec.parameters[key].integer else round(float(x), 8)
        suffix = self.suffixes.get(key, "")
        return f"{number:g}{suffix}" if suffix else number

    def fingerprint(self) -> str:
        """Hash of what decides the simulations and which are accepted (not labels, sources, the
        budget's ceilings or the rows of ``posterior.csv``, so that a run can be resumed with more
        generations or simulations, or its posterior written again with more rows). A prior's
        ``unit`` counts only where it is not the unit the base writes its value in: before priors had
        a ``unit``, their numbers were read in that one, so a folder of that time still resumes."""
        s = self.spec.calibration
        data = {"scenario": provenance(self.scenario).sha256,
                "seed": s.seed, "population": s.population, "initial_factor": s.initial_factor,
                "quantile": s.quantile,
                "parameters": {k: self._prior_data(k, p) for k, p in self.spec.parameters.items()},
                "targets": {k: t.model_dump(exclude={"label", "unit", "source", "definition"})
                            for k, t in self.spec.targets.items()}}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()

    def _prior_data(self, key: str, prior: Prior) -> dict[str, Any]:
        data = prior.model_dump(exclude={"label", "source", "unit"})
        named = named_unit(prior.unit) if self.suffixes.get(key) else None
        base = self.bases.get(key)
        if named is not None and (base is None or named != (base.kind, base.unit)):
            data["unit"] = unit_words(*named)
        return data


def load_calibration(path: str | Path) -> Calibration:
    """Read and validate a calibration file; check every parameter path against its scenario and
    that the scenario is valid at the ends of every prior range."""
    path = Path(path)
    spec, prov = read_spec(path, CalibrationSpec, (CalibrationSpec, Settings, Prior, Target))
    scenario_file = path.parent / spec.scenario
    if not scenario_file.is_file():
        file, line = prov.where(("scenario",))
        raise IcssimError(f"{file}:{line}: scenario: {str(scenario_file)!r} does not exist "
                          "(paths are relative to the calibration file)")
    scenario = load_scenario(scenario_file)
    base_raw = anchored_raw(scenario)
    cal = Calibration(spec, path, prov, scenario, scenario_file, base_raw, {})
    for key, prior in spec.parameters.items():
        check_path(provenance(scenario).raw, key, scenario_file, cal.where("parameters", key))
        if prior.complement is not None:
            check_path(provenance(scenario).raw, prior.complement, scenario_file,
                       cal.where("parameters", key, "complement"))
        value = get_path(base_raw, key)
        cal.base_values[key] = None if value is MISSING else value
    _read_units(cal)
    for key, prior in spec.parameters.items():
        _check_ends(cal, key, prior)
    return cal


def _read_units(cal: Calibration) -> None:
    """Each prior's unit by the rule of sweeps and PSAs (:func:`icssim.sweep.value_units.unit_suffix`):
    a time or rate ``unit:`` is the unit of its numbers; without one, where the base writes its value
    with a unit (``27 days``), the prior is refused, naming where. Every refusal at once."""
    problems = []
    for key, prior in cal.spec.parameters.items():
        cal.bases[key] = base = base_value(cal.scenario, key)
        numbers = "low and high" if prior.dist in ("uniform", "loguniform") else "mean, sd, low and high"
        try:
            cal.suffixes[key] = unit_suffix(key, prior.unit, [base], True, numbers)
            if cal.suffixes[key] and prior.complement is not None:
                raise ValueError(f"'complement' sets the other branch of a split to 1 - the value, but "
                                 f"{key!r} is a {base.kind} ({prior.unit}): a complement is for a probability")
        except ValueError as exc:
            path = ("parameters", key, "unit") if prior.unit else ("parameters", key)
            file, line = cal.prov.where(path)
            problems.append(Problem(file, line, ".".join(path), str(exc)))
    if problems:
        raise ScenarioError(problems)


def _check_ends(cal: Calibration, key: str, prior: Prior) -> None:
    """The scenario must be valid with the parameter at each end of its prior's range."""
    from icssim.calibrate.priors import support

    for end in support(prior):
        try:
            scenario_from_dict(end_raw(cal, key, end), name=str(cal.scenario_file))
        except ScenarioError as exc:
            lines = "; ".join(f"{p.path}: {p.message}" for p in exc.problems)
            raise IcssimError(f"{cal.where('parameters', key)}: the prior reaches {end:g}{cal.suffixes[key]}, where "
                              f"the scenario is not valid ({lines}); narrow the prior") from None


def end_raw(cal: Calibration, key: str, x: float) -> dict[str, Any]:
    """The base scenario's data with parameter ``key`` at ``x`` (and its complement at 1 - x)."""
    raw = copy.deepcopy(cal.base_raw)
    set_path(raw, key, cal.written(key, x))
    if cal.spec.parameters[key].complement is not None:
        set_path(raw, str(cal.spec.parameters[key].complement), round(1 - x, 10))
    return raw
