"""Probability distributions: their YAML schema and their fast samplers.

Each schema class (``Exponential``, ``Lognormal`` …) validates its parameters and
compiles, once the scenario's time unit is known, into a :class:`Sampler`: a
plain numeric object that draws blocks of variates from a numpy ``Generator``.
The engine pulls single values from it in blocks (:mod:`icssim.sampling`, whose names are
re-exported here for the engine), so each draw costs one list index, not a numpy call.
"""

from __future__ import annotations

import math
from functools import cache
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationInfo,
    field_validator,
    model_validator,
)

from icssim.errors import as_yaml
from icssim.sampling import FIRST_BLOCK, BlockStream, Sampler, UniformStream, block_draws, uniform_draws
from icssim.units import MAX_MAGNITUDE, Span, parse_span, span_text

# The sampling names are imported from here by the engine (model/), which is not moved with them.
__all__ = ["ANY_SIZE", "DIST_NAMES", "FIRST_BLOCK", "MAX_NUMBER", "BlockStream", "Distribution", "NumbersChecked",
           "Sampler", "SpanValue", "UniformStream", "block_draws", "check_weights", "coerce_distribution",
           "describe_dist", "refuse_booleans", "refuse_huge", "uniform_draws"]

SpanValue = Annotated[Span, PlainValidator(parse_span), PlainSerializer(str)]

#: Marks a number field exempt from :data:`MAX_NUMBER` (``Field(json_schema_extra={ANY_SIZE: True})``),
#: such as the seed, which has its own bounds.
ANY_SIZE = "icssim_any_size"
#: Largest magnitude of any number in a scenario (a count, WTE, cost, weight ...): beyond it a value is
#: a typo, not a plan, and products of such numbers (annual costs ...) would no longer be finite.
MAX_NUMBER = MAX_MAGNITUDE


def refuse_booleans(cls: type[BaseModel], value: Any, info: ValidationInfo) -> Any:
    """Field validator (before): ``true``/``false`` where the field expects a number are refused
    (pydantic would read them as 1 and 0)."""
    for item in _number_items(cls, info.field_name, value):
        if isinstance(item, bool):
            raise ValueError(f"expected a number, found {as_yaml(item)}")
    return value


def refuse_huge(cls: type[BaseModel], value: Any, info: ValidationInfo) -> Any:
    """Field validator (after): a number larger in size than :data:`MAX_NUMBER` is refused."""
    if _number_shape(cls, info.field_name) == "bool-only":
        return value
    for item in _number_items(cls, info.field_name, value):
        if isinstance(item, (int, float)) and not isinstance(item, bool) and abs(item) > MAX_NUMBER:
            raise ValueError(f"expected a number of at most {MAX_NUMBER:g} in size, found {item:g}")
    return value


class NumbersChecked(BaseModel):
    """Base of every scenario model of the schema: the one place where numbers are checked.

    Wherever a field expects a number (``int``, ``float``, a list or mapping of them, or a union
    with them), booleans are refused (:func:`refuse_booleans`) and numbers larger in size than
    :data:`MAX_NUMBER` are refused (:func:`refuse_huge`). Non-finite values are refused by each
    model's ``allow_inf_nan=False``. (Distribution models, whose ``dist`` field is a discriminator
    and so cannot take a ``"*"`` validator, apply the same two functions to their one numeric
    field, ``weights``.)"""

    _no_booleans = field_validator("*", mode="before")(classmethod(refuse_booleans))
    _sane_size = field_validator("*", mode="after")(classmethod(refuse_huge))


def _number_items(cls: type[BaseModel], name: str | None, value: Any) -> Any:
    shape = _number_shape(cls, name)
    if shape is None:
        return ()
    if shape == "list" and isinstance(value, list):
        return value
    if shape == "dict" and isinstance(value, dict):
        return value.values()
    return (value,)


@cache
def _number_shape(model: type[BaseModel], name: str | None) -> str | None:
    """'scalar', 'list' or 'dict' when field ``name`` of ``model`` expects numbers, else None."""
    field = model.model_fields.get(name or "")
    if field is None:
        return None
    if isinstance(field.json_schema_extra, dict) and field.json_schema_extra.get(ANY_SIZE):
        return "bool-only" if _shape(field.annotation) else None
    return _shape(field.annotation)


def _shape(tp: Any) -> str | None:
    origin, args = get_origin(tp), get_args(tp)
    if origin is Annotated:
        return _shape(args[0])
    if origin in (Union, UnionType):
        return next((shape for shape in map(_shape, args) if shape), None)
    if tp in (int, float):
        return "scalar"
    if origin is list and args and _shape(args[0]) == "scalar":
        return "list"
    if origin is dict and len(args) == 2 and _shape(args[1]) == "scalar":
        return "dict"
    return None


def check_weights(weights: list[float], values: list[Any]) -> None:
    """Weights of a discrete choice: one per value, not negative, with a finite, positive sum."""
    if len(weights) != len(values):
        raise ValueError(f"weights has {len(weights)} entries but values has {len(values)}")
    total = math.fsum(weights) if all(math.isfinite(w) for w in weights) else math.inf
    if any(w < 0 for w in weights) or not total > 0:
        raise ValueError("weights must be non-negative and add up to more than 0")
    if not math.isfinite(total):
        raise ValueError(f"weights add up to more than the largest number a computer holds; expected "
                         f"weights of ordinary size (e.g. percentages), found {max(weights):g}")


#: Widest accepted ratio of standard deviation to mean (coefficient of variation), each way.
MIN_CV, MAX_CV = 1e-6, 1e4


def _spread(mean: Span, sd: Span) -> None:
    """A standard deviation that gives finite, positive shape and scale parameters."""
    cv = sd.to("days") / mean.to("days")
    if not MIN_CV <= cv <= MAX_CV:
        raise ValueError(f"sd must be between {MIN_CV:g} and {MAX_CV:g} times the mean (for no spread use a "
                         f"fixed value), found sd {sd} with mean {mean} (sd/mean = {cv:.3g})")


class _DistBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    _no_booleans = field_validator("weights", mode="before", check_fields=False)(classmethod(refuse_booleans))
    _sane_size = field_validator("weights", mode="after", check_fields=False)(classmethod(refuse_huge))

    def compile(self, time_unit: str) -> Sampler:  # pragma: no cover - abstract
        raise NotImplementedError

    def uses_time_units(self) -> bool:
        """True if any parameter was written with an explicit time unit."""
        values = [x for v in self.__dict__.values() for x in (v if isinstance(v, list) else [v])]
        return any(isinstance(v, Span) and v.unit is not None for v in values)


def _positive(name: str, value: Span) -> None:
    if not value.value > 0:
        raise ValueError(f"{name} must be greater than 0, found {value}")


def _non_negative(name: str, value: Span) -> None:
    if value.value < 0:
        raise ValueError(f"{name} must not be negative, found {value}")


class Fixed(_DistBase):
    """Always the same value."""

    dist: Literal["fixed"] = "fixed"
    value: SpanValue

    @model_validator(mode="after")
    def _check(self) -> Fixed:
        _non_negative("value", self.value)
        return self

    def compile(self, time_unit: str) -> Sampler:
        v = self.value.to(time_unit)
        return Sampler(lambda rng, n: np.full(n, v), v, 0.0)


class Exponential(_DistBase):
    """Exponential with the given mean (memoryless: Poisson arrivals, M/M/c service)."""

    dist: Literal["exponential"]
    mean: SpanValue

    @model_validator(mode="after")
    def _check(self) -> Exponential:
        _positive("mean", self.mean)
        return self

    def compile(self, time_unit: str) -> Sampler:
        m = self.mean.to(time_unit)
        return Sampler(lambda rng, n: rng.exponential(m, n), m, m * m)


class _MeanSd(_DistBase):
    """A distribution of positive values given by its mean and standard deviation, with a spread
    that gives finite, positive shape and scale parameters (:func:`_spread`)."""

    dist: str
    mean: SpanValue
    sd: SpanValue

    @model_validator(mode="after")
    def _check(self) -> _MeanSd:
        _positive("mean", self.mean)
        _positive("sd", self.sd)
        _spread(self.mean, self.sd)
        return self


class Gamma(_MeanSd):
    """Gamma parameterised by mean and standard deviation."""

    dist: Literal["gamma"]

    def compile(self, time_unit: str) -> Sampler:
        m, s = self.mean.to(time_unit), self.sd.to(time_unit)
        shape, scale = (m / s) ** 2, s * s / m
        return Sampler(lambda rng, n: rng.gamma(shape, scale, n), m, s * s)


class Lognormal(_MeanSd):
    """Lognormal parameterised by the mean and standard deviation of the variate itself."""

    dist: Literal["lognormal"]

    def compile(self, time_unit: str) -> Sampler:
        m, s = self.mean.to(time_unit), self.sd.to(time_unit)
        ratio = s / m
        sigma2 = math.log1p(ratio * ratio) if ratio < 1e150 else 2 * math.log(ratio)
        mu, sigma = math.log(m) - sigma2 / 2, math.sqrt(sigma2)
        return Sampler(lambda rng, n: rng.lognormal(mu, sigma, n), m, s * s)


class Triangular(_DistBase):
    """Triangular on [low, high] with the given mode."""

    dist: Literal["triangular"]
    low: SpanValue
    mode: SpanValue
    high: SpanValue

    @model_validator(mode="after")
    def _check(self) -> Triangular:
        _non_negative("low", self.low)
        if not self.low.to("days") <= self.mode.to("days") <= self.high.to("days") or (
            self.low.to("days") == self.high.to("days")
        ):
            raise ValueError("triangular needs low <= mode <= high and low < high")
        return self

    def compile(self, time_unit: str) -> Sampler:
        a, c, b = (x.to(time_unit) for x in (self.low, self.mode, self.high))
        var = (a * a + b * b + c * c - a * b - a * c - b * c) / 18
        return Sampler(lambda rng, n: rng.triangular(a, c, b, n), (a + b + c) / 3, var)


class Uniform(_DistBase):
    """Uniform on [low, high]."""

    dist: Literal["uniform"]
    low: SpanValue
    high: SpanValue

    @model_validator(mode="after")
    def _check(self) -> Uniform:
        _non_negative("low", self.low)
        if not self.low.to("days") < self.high.to("days"):
            raise ValueError(f"uniform needs low < high, found low={self.low}, high={self.high}")
        return self

    def compile(self, time_unit: str) -> Sampler:
        a, b = self.low.to(time_unit), self.high.to(time_unit)
        return Sampler(lambda rng, n: rng.uniform(a, b, n), (a + b) / 2, (b - a) ** 2 / 12)


class Empirical(_DistBase):
    """A discrete distribution: ``values`` with optional ``weights`` (normalised)."""

    dist: Literal["empirical"] = "empirical"
    values: list[SpanValue] = Field(min_length=1)
    weights: list[float] | None = None

    @model_validator(mode="after")
    def _check(self) -> Empirical:
        for v in self.values:
            _non_negative("every value", v)
        if self.weights is not None:
            check_weights(self.weights, self.values)
        return self

    def compile(self, time_unit: str) -> Sampler:
        vals = np.array([v.to(time_unit) for v in self.values])
        w = np.ones(len(vals)) if self.weights is None else np.asarray(self.weights, float)
        p = w / w.sum()
        mean = float(p @ vals)
        var = float(p @ (vals - mean) ** 2)
        return Sampler(lambda rng, n: rng.choice(vals, n, p=p), mean, var)


class TruncatedNormal(_DistBase):
    """A normal distribution with ``mean`` and ``sd`` (of the normal before truncation), cut to
    [``low``, ``high``] (``low`` defaults to 0: no negative durations; ``high`` to no bound).

    Drawn exactly by inversion: u uniform on [Phi(a), Phi(b)], x = mean + sd * Phi^-1(u), with a
    and b the bounds in standard units (on the upper tail, by symmetry, for precision). Its
    mean and variance are the truncated ones (Johnson, Kotz & Balakrishnan, *Continuous Univariate
    Distributions* 1, 2nd ed., section 10.1).
    """

    dist: Literal["truncated_normal"]
    mean: SpanValue
    sd: SpanValue
    low: SpanValue = Span(0.0)
    high: SpanValue | None = None

    @model_validator(mode="after")
    def _check(self) -> TruncatedNormal:
        _positive("sd", self.sd)
        _non_negative("low", self.low)
        if self.high is not None and not self.low.to("days") < self.high.to("days"):
            raise ValueError(f"truncated_normal needs low < high, found low={self.low}, high={self.high}")
        a, b = self._bounds("days")
        if _normal_mass(a, b) < 1e-12:
            raise ValueError("truncated_normal: the interval [low, high] holds almost none of the normal "
                             "(more than 7 sd from the mean)")
        return self

    def _bounds(self, unit: str) -> tuple[float, float]:
        m, s = self.mean.to(unit), self.sd.to(unit)
        hi = math.inf if self.high is None else (self.high.to(unit) - m) / s
        return (self.low.to(unit) - m) / s, hi

    def compile(self, time_unit: str) -> Sampler:
        m, s = self.mean.to(time_unit), self.sd.to(time_unit)
        a, b = self._bounds(time_unit)
        flip = a > 0  # draw on the side where Phi keeps its precision
        lo, hi = (-b, -a) if flip else (a, b)
        sign = -1.0 if flip else 1.0

        def draw(rng: np.random.Generator, n: int) -> np.ndarray:
            # scipy is imported at the first draw, not here: validating a scenario compiles its
            # durations for their means and need not import scipy.special (0.2 s)
            from scipy.special import ndtr, ndtri

            z = sign * ndtri(rng.uniform(float(ndtr(lo)), float(ndtr(hi)), n))
            return np.clip(m + s * z, m + s * a, m + s * b)

        mean_z, var_z = _truncated_moments(a, b)
        return Sampler(draw, m + s * mean_z, s * s * var_z)


def _normal_mass(a: float, b: float) -> float:
    """P(a < Z < b) for a standard normal Z, on the side where the tail keeps its precision. With
    the standard library's erfc: validating a scenario need not import scipy (0.2 s)."""
    r = 1 / math.sqrt(2)
    if a > 0:
        return 0.5 * (math.erfc(a * r) - math.erfc(b * r))
    return 0.5 * (math.erfc(-b * r) - math.erfc(-a * r))


def _truncated_moments(a: float, b: float) -> tuple[float, float]:
    """Mean and variance of a standard normal truncated to [a, b]."""
    def phi(x: float) -> float:
        return 0.0 if math.isinf(x) else math.exp(-x * x / 2) / math.sqrt(2 * math.pi)

    z = _normal_mass(a, b)
    pa, pb = phi(a), phi(b)
    mean = (pa - pb) / z
    a_pa = 0.0 if math.isinf(a) else a * pa
    b_pb = 0.0 if math.isinf(b) else b * pb
    var = 1 + (a_pa - b_pb) / z - mean * mean
    return mean, var


#: The registry of distribution families: one class each, tagged by its ``dist`` literal. A new
#: family is added here and nowhere else: the names in messages (:data:`DIST_NAMES`) come from it.
Distribution = Annotated[
    Fixed | Exponential | Gamma | Lognormal | Triangular | Uniform | Empirical | TruncatedNormal,
    Field(discriminator="dist"),
]
#: The ``dist`` names of the registered families, in the registry's order (for messages and docs).
DIST_NAMES: tuple[str, ...] = tuple(
    get_args(family.model_fields["dist"].annotation)[0] for family in get_args(get_args(Distribution)[0]))


def coerce_distribution(raw: Any) -> Any:
    """Let a bare time (``"3 days"``, ``2``) stand for a fixed distribution."""
    if isinstance(raw, (int, float, str)) and not isinstance(raw, bool):
        return {"dist": "fixed", "value": raw}
    if isinstance(raw, dict) and "dist" not in raw and "values" in raw:
        return {"dist": "empirical", **raw}
    return raw


def describe_dist(d: object, unit: str | None = None) -> str:
    """A distribution or span in words: ``exponential, mean 4 days`` (for reports and diagrams)."""
    if d is None:
        return ""
    if isinstance(d, Span):
        return span_text(d, unit)
    kind = getattr(d, "dist", None)
    if kind == "fixed":
        return span_text(d.value, unit)  # type: ignore[attr-defined]
    if kind == "exponential":
        return f"exponential, mean {span_text(d.mean, unit)}"  # type: ignore[attr-defined]
    if kind in ("gamma", "lognormal"):
        return f"{kind}, mean {span_text(d.mean, unit)}, sd {span_text(d.sd, unit)}"  # type: ignore[attr-defined]
    if kind == "triangular":
        low, mode, high = (span_text(getattr(d, k), unit) for k in ("low", "mode", "high"))
        return f"triangular {low} – {mode} – {high}"
    if kind == "uniform":
        return f"uniform {span_text(d.low, unit)} to {span_text(d.high, unit)}"  # type: ignore[attr-defined]
    if isinstance(d, TruncatedNormal):
        upper = span_text(d.high, unit) if d.high is not None else "no bound"
        cut = f"cut to {span_text(d.low, unit)} to {upper}"
        return f"normal, mean {span_text(d.mean, unit)}, sd {span_text(d.sd, unit)}, {cut}"
    if kind == "empirical":
        values = d.values  # type: ignore[attr-defined]
        vals = ", ".join(span_text(v, unit) for v in values[:6]) + (" …" if len(values) > 6 else "")
        return f"empirical ({vals})"
    return str(d)
