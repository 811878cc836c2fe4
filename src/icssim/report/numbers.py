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

    def text(self, with_unit: bool = True, target: float | None = None) -> str:
        """``3.9 days (95% CI 3.0 to 4.8)``, or just the value without a CI. With a share's
        ``target``, as many decimals as show where the interval lies against it
        (:meth:`share_decimals`)."""
        value = self.value_text(with_unit, target)
        if not self.has_ci:
            return value
        return f"{value} (95% CI {self.ci_text(target)})"

    def value_text(self, with_unit: bool = True, target: float | None = None) -> str:
        """The mean alone, with the precision :meth:`text` gives it."""
        if self.unit == "share":
            return share_text(self.mean, self.share_decimals(target))
        return fmt(self.mean, self.unit, with_unit)

    def ci_text(self, target: float | None = None) -> str:
        """The CI's bounds, written with the same precision (number of decimals) as the mean:
        ``12% (10% to 14%)``, ``65 patients (54 to 76)``, never ``12% (10.0% to 14%)``."""
        if not self.has_ci:
            return "–"
        lo, hi = self.bounds()
        if self.unit == "share":
            d = self.share_decimals(target)
            return f"{share_text(lo, d)} to {share_text(hi, d)}"
        return f"{fmt(lo, self.unit, False, self.mean)} to {fmt(hi, self.unit, False, self.mean)}"

    def share_decimals(self, target: float | None = None) -> int:
        """The decimals of a share's percentages: none from 10% up, one below (:func:`share_text`);
        against a ``target``, at least one where the interval as shown would touch or span it
        ("95% (95% to 96%)" of 94.6 to 96.2% reads as if it met a target of 95%: it is
        "95.4% (94.6% to 96.2%)"), and two where one would still put a bound on the wrong side of
        the target (94.97% is "94.97%", not "95.0%", beside "falls short")."""
        d = _share_decimals(self.mean)
        if target is None or not self.has_ci or not math.isfinite(target):
            return d
        lo, hi = self.bounds()
        t = round(target * 100, 6)

        def shown(x: float, d: int) -> float:
            return round(x * 100, d)

        if shown(lo, d) <= t <= shown(hi, d):
            d = max(d, 1)
        while d < 2 and any((x * 100 < t) != (shown(x, d) < t) for x in (lo, hi)):
            d += 1
        return d

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


def money(x: float, like: float | None = None) -> str:
    """A sum of money as the reports write it: millions to two decimals (``£6.49 million``), three
    significant figures from £100 (``£20,400``), whole pounds from £10 (``£36``: pennies do not
    matter at that scale) and pounds and pence below £10 (``£7.59``). With ``like`` (an interval's
    mean), whether pence are shown follows ``like``, so that an interval's bounds are written as
    its mean is (``£9.50 (£8.10 to £11.20)``)."""
    if x is None or math.isnan(x):
        return "n/a"
    if abs(x) >= 1e6:
        return f"£{x / 1e6:,.2f} million"
    if abs(x) >= 100:
        return f"£{sig(x):,.0f}"
    if x == 0:
        return "£0"
    pence = abs(x if like is None or not math.isfinite(like) else like) < 9.995
    return f"£{x:,.2f}" if pence else f"£{x:,.0f}"


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


#: Units of counts of people or events, and of such counts a year: a KPI in one of them is a count
#: or a mean of counts across replications, written by :func:`count`.
COUNT_UNITS = frozenset({"patients", "per year", "lists", "relapses"})


def count(x: float, like: float | None = None) -> str:
    """A count, a mean of counts across replications or such a count a year, as the reports write
    it. The rule: decimals only where they matter at the scale shown. From 10 up, whole numbers
    (three significant figures from 1,000, as :func:`number`): "65 patients", "45 a year", not
    "65.0" or "45.0" (a tenth of a patient does not matter beside 65, and the mean of three
    replications' counts is rarely whole); below 10, two significant figures ("0.67 patients",
    "4.3 patients"), but none when the value is whole ("4 patients"). With ``like`` (an
    interval's mean), the precision follows ``like``: "4 patients (0 to 8)", "65 patients (54 to 76)"."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    a = abs(x if like is None or math.isnan(like) or like == 0 else like)
    if a >= 9.5:
        return number(x, a) if a >= 100 else f"{x:,.0f}"
    if abs(a - round(a)) <= 1e-9 * max(a, 1.0):
        return f"{x:,.0f}"
    return number(x, like)


def _share_decimals(x: float) -> int:
    """Decimals of a share written as a percentage: none from 10% up (or at 0), one below; decided
    on the rounded value, so that 9.98% is "10%", not "10.0%"."""
    p = abs(x) * 100
    return 0 if p == 0 or round(p, 1) >= 10 else 1


def share_text(x: float, decimals: int | None = None) -> str:
    """A share as a percentage: ``12%``, ``8.7%``; with ``decimals``, that many."""
    if x is None or math.isnan(x):
        return "n/a"
    d = _share_decimals(x) if decimals is None else decimals
    return f"{x * 100:.{d}f}%"


#: A time of at least so many of a unit is written in the next longer one (:func:`fmt`): (at least,
#: so many to one of the longer, the longer). "431 minutes" reads "7.2 hours"; 119 minutes stay.
LONG_TIMES = {"minutes": (120.0, 60.0, "hours"), "hours": (48.0, 24.0, "days")}


def in_unit(x: float, unit: str, like: float | None, longer: bool = True) -> tuple[float, float | None, str]:
    """(``x``, ``like``, ``unit``) as :func:`fmt` writes them: a KPI in days in the unit of
    :func:`waits_in`, and, with ``longer``, a time of at least :data:`LONG_TIMES`'s size in its
    unit (``like``'s size where given, so that an interval's bounds are in its mean's unit) in
    the next longer unit. Only here is a time's unit chosen; the KPI's value is not changed (its
    CSV keeps minutes, as its name says)."""
    if unit == "days" and _WAITS_IN.get() != "days":
        unit = _WAITS_IN.get()
        x, like = x * _PER_DAY[unit], (like * _PER_DAY[unit] if like is not None else None)
    size = abs(like if like is not None else x)
    while longer and unit in LONG_TIMES and size >= LONG_TIMES[unit][0]:   # (False for NaN)
        _, per, unit = LONG_TIMES[unit]
        x, like, size = x / per, (like / per if like is not None else None), size / per
    return x, like, unit


def shown_unit(x: float, unit: str) -> str:
    """The unit in which :func:`fmt` writes ``x`` of ``unit`` (``431`` minutes: ``hours``)."""
    return in_unit(x, unit, None)[2]


def change_text(before: float, after: float, unit: str, with_unit: bool = True) -> str:
    """A change of a mean, ``before → after``, as every view of a comparison writes it: the unit
    once where both are written in one ("7.2 → 8.1 hours", "13% → 41%"), and each value with its
    own where a long time is written in a longer unit than the other ("7.2 hours → 14.7 minutes":
    never "7.2 → 14.7 minutes"). ``with_unit=False`` leaves the unit off the second (a tile whose
    label says "per year") where both are in one."""
    same = shown_unit(before, unit) == shown_unit(after, unit)
    return f"{fmt(before, unit, not same, before)} → {fmt(after, unit, with_unit or not same)}"


def fmt(x: float, unit: str, with_unit: bool = True, like: float | None = None) -> str:
    """``x`` formatted for its unit: shares as percentages, GBP with a pound sign, days with 'days'
    (or minutes or hours, :func:`waits_in`), counts as :func:`count` writes them; a long time in a
    longer unit (:data:`LONG_TIMES`: 431 minutes as "7.2 hours"). With ``like`` (an interval's
    mean), ``x`` takes the precision and the unit ``like`` would have, so an interval's bounds have
    as many decimals as its mean, in its unit; a number without its unit (``with_unit=False``) and
    without ``like`` stays in ``unit`` (the unit of a column's header), as a bare number must."""
    if x is None or math.isnan(x):
        return "n/a"
    x, like, unit = in_unit(x, unit, like, with_unit or like is not None)
    if unit == "share":
        return share_text(x, None if like is None or math.isnan(like) else _share_decimals(like))
    if unit.startswith("GBP"):
        text = money(x, like)
        return text + (" a year" if with_unit and unit == "GBP per year" else "")
    if unit == "QALYs" and abs(x) < 100:
        text = f"{x:,.2f}"   # small differences matter
    elif unit in COUNT_UNITS:
        text = count(x, like)
    else:
        text = number(x, like)
    if not with_unit or not unit:
        return text
    if unit == "per year":
        return f"{text} a year"
    if text == "1" and unit in _SINGULAR:
        return f"1 {_SINGULAR[unit]}"
    return f"{text} {unit}"


#: units written in the singular after exactly 1 ("1 day", "1 patient")
_SINGULAR = {"days": "day", "patients": "patient", "lists": "list", "relapses": "relapse"}


def fmt_diff(x: float, unit: str, with_unit: bool = True, like: float | None = None) -> str:
    """A signed difference: percentage points for shares, otherwise the unit's own format. A
    difference that rounds to zero is written without a sign (``0.0 points``, not ``−0.0``)."""
    if x is None or math.isnan(x):
        return "n/a"
    if unit == "share":
        p = abs(x) * 100
        text = f"{p:.{_points_decimals(abs(like * 100) if like is not None else p)}f}"
        text = "0.0" if _rounds_to_zero(text) else text
        text += " points" if with_unit else ""
    else:
        text = fmt(abs(x), unit, with_unit, abs(like) if like is not None else None)
    return _signed(x, text)


def _points_decimals(p: float) -> int:
    """Decimals of a difference of shares in percentage points of size ``p``: none from 10, one
    from 0.1, then enough for two significant figures, at most three ("+0.016 points", not "0.0")."""
    if p >= 9.95:
        return 0
    if p >= 0.095 or p == 0:
        return 1
    return min(3, 1 - math.floor(math.log10(p)))


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
    """``−10.4 to +116 days``: a difference's CI with the unit written once. Prefer
    :func:`diff_ci_words`, which says when there is no interval to speak of."""
    if pd.isna(lower) or pd.isna(upper):
        return "–"
    like = max(abs(lower), abs(upper))
    return f"{fmt_diff(lower, unit, False, like)} to {fmt_diff(upper, unit, True, like)}"


def diff_ci_words(lower: float, upper: float, unit: str) -> str:
    """``95% CI −10.4 to +116 days``, or, for a difference that is the same in every replication
    (a staff establishment: set by the scenarios, not drawn), ``the same in every replication``
    rather than an interval from a value to itself; "" when there is no interval. The one rule
    of every view of a comparison (the report's sentences, tiles and table, and the terminal's);
    an interval whose width is rounding noise has been closed before it gets here
    (:func:`settled_differences`)."""
    if pd.isna(lower) or pd.isna(upper):
        return ""
    if lower == upper:
        return "the same in every replication"
    return f"95% CI {diff_ci_text(lower, upper, unit)}"


#: A paired difference (or an interval's width) within this fraction of the values compared is the
#: rounding of floating-point sums (a fixed 240-minute step's mean differs by 5e-14 minutes between
#: two scenarios that add its times in another order), not a difference.
NOISE = 1e-9


def settled(mean: float, lower: float, upper: float, scale: float) -> tuple[float, float, float]:
    """A paired difference (mean and 95% CI) with floating-point noise taken out, ``scale`` being
    the size of the values compared (the larger of the two scenarios' means): a difference whose
    mean and bounds are all within :data:`NOISE` × ``scale`` of zero is 0 in every replication
    (0, 0, 0); an interval narrower than that (a staff establishment summed in another order,
    "−£3.66 million to −£3.66 million") is the same in every replication (its mean at both ends)."""
    if any(not math.isfinite(v) for v in (mean, lower, upper)):
        return mean, lower, upper
    scale = max(abs(scale) if math.isfinite(scale) else 0.0, abs(lower), abs(upper))
    tol = NOISE * scale
    if max(abs(mean), abs(lower), abs(upper)) <= tol:
        return 0.0, 0.0, 0.0
    if upper - lower <= tol:
        return mean, mean, mean
    return mean, lower, upper


def settled_differences(diffs: pd.DataFrame | None) -> pd.DataFrame | None:
    """``differences.csv`` (or :meth:`~icssim.experiments.Comparison.differences`) with each
    difference :func:`settled` against the larger of the two means it compares (``baseline_mean``
    and ``baseline_mean + diff_mean``; the bounds themselves where there is no ``baseline_mean``),
    and its percentages with it: every view of a comparison reads the differences through here,
    so none writes "−0.000000000000047 minutes" or an interval from a value to itself."""
    need = {"diff_mean", "diff_lower", "diff_upper"}
    if diffs is None or not need <= set(diffs.columns) or diffs.empty:
        return diffs
    out = diffs.copy()
    base = (pd.to_numeric(out["baseline_mean"], errors="coerce") if "baseline_mean" in out
            else pd.Series(0.0, index=out.index))
    pct = [c for c in ("pct_mean", "pct_lower", "pct_upper") if c in out]
    for i in out.index:
        m, lo, hi = (float(out.at[i, c]) for c in ("diff_mean", "diff_lower", "diff_upper"))
        b = float(base.at[i]) if pd.notna(base.at[i]) else 0.0
        scale = max(abs(b), abs(b + m)) if math.isfinite(m) else abs(b)
        new = settled(m, lo, hi, scale)
        if new == (m, lo, hi):
            continue
        out.loc[i, ["diff_mean", "diff_lower", "diff_upper"]] = new
        if "diff_half_width" in out:
            out.at[i, "diff_half_width"] = (new[2] - new[1]) / 2
        if pct and new[0] == 0.0 and new[1] == new[2] == 0.0:
            out.loc[i, pct] = 0.0
        elif pct and "pct_mean" in out:
            out.loc[i, [c for c in pct if c != "pct_mean"]] = out.at[i, "pct_mean"]
    return out


def signed_pct(p: float) -> str:
    """A percentage change with its sign: ``+5%``, ``−33%``; one decimal below 0.5% (``+0.1%``, a
    clear but small change), and ``0%`` without a sign for what rounds to nothing; "" for none."""
    if p is None or not math.isfinite(p):
        return ""
    text = f"{abs(p):.0f}" if abs(p) >= 0.5 else f"{abs(p):.1f}"
    return "0%" if _rounds_to_zero(text) else _signed(p, text + "%")
