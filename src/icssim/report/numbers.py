"""Numbers as a report writes them: a KPI's estimate with its 95% CI, values in their unit (shares as
percentages, money with a pound sign, days), signed differences. No sentences here: those are in
:mod:`~icssim.report.run_text`, :mod:`~icssim.report.compare_text` and
:mod:`~icssim.report.model_text`."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import pandas as pd

from icssim.kpis import kpi_info


#: The minus sign of every signed number the reports and the console write (U+2212, which reads as a
#: minus and is as wide as the plus, not the hyphen "-").
MINUS = "\u2212"

#: Units of quantities that cannot be negative: a KPI's interval in one of them is cut at 0 (deaths per
#: 1,000 over 2 replications read "27.0 (−9.7 to 63.8)" before they were listed here).
NON_NEGATIVE_UNITS = frozenset({"days", "minutes", "months", "years", "per year", "share", "GBP", "GBP per year",
                                "patients", "per 1,000 help-seekers", "relapses", "lists"})


@dataclass(frozen=True)
class Estimate:
    """A KPI's mean with its 95% confidence interval (NaN bounds when there is one replication)."""

    kpi: str
    mean: float
    lower: float
    upper: float
    n: int

    @property
    def has_ci(self) -> bool:
        return self.n > 1 and not (math.isnan(self.lower) or math.isnan(self.upper))

    @property
    def unit(self) -> str:
        return kpi_info(self.kpi).unit

    def bounds(self) -> tuple[float, float]:
        """The CI clipped to the quantity's natural range (never below 0; shares at most 1)."""
        lo, hi = self.lower, self.upper
        if self.unit in NON_NEGATIVE_UNITS:
            lo, hi = max(lo, 0.0), max(hi, 0.0)
        if self.unit == "share":
            lo, hi = min(lo, 1.0), min(hi, 1.0)
        return lo, hi

    def text(self, with_unit: bool = True) -> str:
        """``3.9 days (95% CI 3.0 to 4.8)``, or just the value without a CI."""
        value = fmt(self.mean, self.unit, with_unit)
        if not self.has_ci:
            return value
        return f"{value} (95% CI {self.ci_text()})"

    def ci_text(self) -> str:
        """The CI's bounds, written with the same precision as the mean."""
        if not self.has_ci:
            return "–"
        lo, hi = self.bounds()
        like = self.mean if self.unit not in ("share",) and not self.unit.startswith("GBP") else None
        return f"{fmt(lo, self.unit, False, like)} to {fmt(hi, self.unit, False, like)}"

    @property
    def relative_half_width(self) -> float:
        if not self.has_ci or self.mean == 0:
            return math.nan
        return (self.upper - self.lower) / 2 / abs(self.mean)


def estimates(table: pd.DataFrame) -> dict[str, Estimate]:
    """Estimates keyed by KPI from a kpis.csv-like table (columns kpi, mean, lower, upper, n)."""
    out = {}
    for row in table.itertuples():
        n = int(row.n) if not pd.isna(row.n) else 0
        out[row.kpi] = Estimate(row.kpi, float(row.mean), float(row.lower), float(row.upper), n)
    return out


def sig(x: float, digits: int = 3) -> float:
    """``x`` rounded to ``digits`` significant figures."""
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - int(math.floor(math.log10(abs(x)))))


def number(x: float, like: float | None = None) -> str:
    """A plain number to about three significant figures, with thousands separators. With
    ``like``, the precision suits ``like`` instead (so a CI's bounds match its mean)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    a = abs(x) if like is None or math.isnan(like) else abs(like)
    if a == 0:
        return "0" if x == 0 else f"{sig(x, 2):g}"
    digits = int(math.floor(math.log10(a)))
    if digits >= 2:
        q = 10 ** (digits - 2)
        return f"{round(x / q) * q:,.0f}"
    decimals = 1 if digits >= 0 else 1 - digits
    return f"{x:,.{decimals}f}"


def money(x: float) -> str:
    if math.isnan(x):
        return "n/a"
    if abs(x) >= 1e6:
        return f"£{x / 1e6:,.2f} million"
    return f"£{sig(x):,.0f}" if abs(x) >= 100 else ("£0" if x == 0 else f"£{x:,.2f}")


def pounds(x: float) -> str:
    """Whole pounds below £100 (an EVPI of £0.004 is £0), else as the reports write money (three
    significant figures: £3,840, £58,300). The one rounding of every amount of a PSA's answer, in
    its report and on the console (:func:`icssim.health.psa_outputs.answer_text`), so the two
    never say different figures."""
    return f"£{x:,.0f}" if abs(x) < 100 else money(x)


def signed_money(x: float, rounded: bool = False, plus: bool = True) -> str:
    """A sum of money with its sign, ``+£4,517`` or ``−£6,303``: the one writer of signed sums of money
    (incremental costs, net benefits, ICERs; a KPI's difference in GBP is :func:`fmt_diff`'s), signed
    as :func:`fmt_diff` signs, so the compare report and the PSA's console cannot write "−£" and "-£"
    for the same thing. To the pound (an incremental cost whose interval spans a few hundred pounds);
    ``rounded``: as :func:`pounds` rounds (a PSA's answer, which its report and console must say
    alike). ``plus=False`` writes a positive sum bare (a threshold, an ICER). A sum that rounds to £0
    has no sign, as in :func:`fmt_diff`."""
    if x is None or not math.isfinite(x):
        return "n/a"
    magnitude = pounds(abs(x)) if rounded else f"£{abs(x):,.0f}"
    return magnitude if x > 0 and not plus else _signed(x, magnitude)


def signed_qalys(x: float) -> str:
    """A difference in QALYs per person with its sign, to three decimals: ``+0.047``, ``−0.003``."""
    return _signed(x, f"{abs(x):.3f}") if math.isfinite(x) else "n/a"


#: the unit in which waits measured in days are written (:func:`waits_in`)
_WAITS_IN: ContextVar[str] = ContextVar("waits_in", default="days")
_PER_DAY = {"minutes": 1440.0, "hours": 24.0}


@contextmanager
def waits_in(time_unit: str | None) -> Iterator[None]:
    """Within the block, :func:`fmt` writes KPIs measured in days in ``time_unit`` when it is
    minutes or hours: a scenario timed in minutes (an emergency department) reads "26 minutes",
    not "0.018 days". One unit for a whole report or screen, so that a value, its interval and a
    change "A → B" never mix units."""
    token = _WAITS_IN.set(time_unit if time_unit in _PER_DAY else "days")
    try:
        yield
    finally:
        _WAITS_IN.reset(token)


def fmt(x: float, unit: str, with_unit: bool = True, like: float | None = None) -> str:
    """``x`` formatted for its unit: shares as percentages, GBP with a pound sign, days with 'days'
    (or minutes or hours, :func:`waits_in`)."""
    if x is None or math.isnan(x):
        return "n/a"
    if unit == "days" and _WAITS_IN.get() != "days":
        unit = _WAITS_IN.get()
        x, like = x * _PER_DAY[unit], (like * _PER_DAY[unit] if like is not None else None)
    if unit == "share":
        p = x * 100
        return f"{p:.0f}%" if abs(p) >= 10 or p == 0 else f"{p:.1f}%"
    if unit.startswith("GBP"):
        text = money(x)
        return text + (" a year" if with_unit and unit == "GBP per year" else "")
    text = f"{x:,.2f}" if unit == "QALYs" and abs(x) < 100 else number(x, like)  # small differences matter
    if not with_unit or not unit:
        return text
    if unit == "per year":
        return f"{text} a year"
    if unit == "days" and text == "1":
        return "1 day"
    return f"{text} {unit}"


def fmt_diff(x: float, unit: str, with_unit: bool = True, like: float | None = None) -> str:
    """A signed difference: percentage points for shares, otherwise the unit's own format. A
    difference that rounds to zero is written without a sign (``0.0 points``, not ``−0.0``)."""
    if x is None or math.isnan(x):
        return "n/a"
    if unit == "share":
        p = abs(x) * 100
        text = f"{p:.0f}" if abs(like * 100 if like is not None else p) >= 10 else f"{p:.1f}"
        text += " points" if with_unit else ""
    else:
        if like is not None and not unit.startswith("GBP"):
            like = abs(like)
        text = fmt(abs(x), unit, with_unit, like if not unit.startswith("GBP") else None)
    return _signed(x, text)


def _signed(x: float, text: str) -> str:
    """``text``, the magnitude of ``x`` formatted, with the sign of ``x`` (none if it rounds to zero)."""
    if _rounds_to_zero(text):
        return text
    return ("+" if x > 0 else MINUS) + text


def _rounds_to_zero(text: str) -> bool:
    """Whether a formatted magnitude (``0.0 points``, ``£0``, ``0.00 QALYs``) shows no digit but 0."""
    digits = re.sub(r"[^0-9]", "", text.split(" ")[0])
    return set(digits) <= {"0"}


def diff_ci_text(lower: float, upper: float, unit: str, like: float | None = None) -> str:
    """``−10.4 to +116 days``: a difference's CI with the unit written once."""
    if pd.isna(lower) or pd.isna(upper):
        return "–"
    like = max(abs(lower), abs(upper))
    return f"{fmt_diff(lower, unit, False, like)} to {fmt_diff(upper, unit, True, like)}"


def diff_ci_words(lower: float, upper: float, unit: str) -> str:
    """``95% CI −10.4 to +116 days``, or, for a difference that is the same in every replication
    (a staff establishment: set by the scenarios, not drawn), ``the same in every replication``
    rather than an interval from a value to itself; "" when there is no interval."""
    if pd.isna(lower) or pd.isna(upper):
        return ""
    if lower == upper:
        return "the same in every replication"
    return f"95% CI {diff_ci_text(lower, upper, unit)}"
