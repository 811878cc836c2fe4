"""Times and rates with units: parsing, conversion, round trips."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icssim.units import (
    TIME_UNITS,
    UNIT_DAYS,
    Rate,
    Span,
    canonical_unit,
    parse_rate,
    parse_span,
    years_per_unit,
)

ALIASES = {
    "minute": ["min", "mins", "minute", "minutes"],
    "hour": ["h", "hr", "hrs", "hour", "hours"],
    "day": ["d", "day", "days"],
    "week": ["w", "wk", "wks", "week", "weeks"],
    "month": ["month", "months"],
    "year": ["y", "yr", "yrs", "year", "years"],
}
values = st.floats(min_value=1e-6, max_value=1e6, allow_nan=False, allow_infinity=False)
units = st.sampled_from(list(UNIT_DAYS))
aliases = st.sampled_from([(u, a) for u, names in ALIASES.items() for a in names])


@pytest.mark.parametrize("text, value, days", [
    ("3 days", 3, 3), ("2 weeks", 2, 14), ("1.5 hours", 1.5, 1.5 / 24), ("30 minutes", 30, 30 / 1440),
    ("6 months", 6, 365.25 / 2), ("1 year", 1, 365.25), ("2w", 2, 14), ("  4 d ", 4, 4), ("1e1 days", 10, 10),
])
def test_parse_span(text, value, days):
    span = parse_span(text)
    assert span.value == value
    assert span.to("days") == pytest.approx(days)


def test_bare_numbers_are_in_the_scenario_time_unit():
    assert parse_span(5) == Span(5.0)
    assert parse_span("5") == Span(5.0)
    assert parse_span(5).to("hours") == 5.0
    assert parse_rate(2).to("weeks") == 2.0


@pytest.mark.parametrize("raw", ["3 fortnights", "days", "three days", "", [3], {"d": 1}, True, None, "3 days ago"])
def test_parse_span_refuses_with_the_expected_form(raw):
    with pytest.raises(ValueError) as info:
        parse_span(raw)
    message = str(info.value)
    assert "expected" in message
    assert "found" in message or "unknown time unit" in message


@pytest.mark.parametrize("text, per_day", [("5 per week", 5 / 7), ("0.2/day", 0.2), ("2 per hour", 48),
                                            ("365.25 per year", 1.0), ("12 per month", 12 / (365.25 / 12))])
def test_parse_rate(text, per_day):
    assert parse_rate(text).to("days") == pytest.approx(per_day)


@pytest.mark.parametrize("raw", ["5 a week", "per week", "5 per fortnight", False, [1]])
def test_parse_rate_refuses(raw):
    with pytest.raises(ValueError, match="expected|unknown time unit"):
        parse_rate(raw)


def test_canonical_unit_and_years_per_unit():
    assert canonical_unit("Weeks") == "week"
    with pytest.raises(ValueError, match="unknown time unit"):
        canonical_unit("fortnight")
    assert years_per_unit("days") == pytest.approx(1 / 365.25)
    assert set(TIME_UNITS) <= {u + "s" for u in UNIT_DAYS}


@settings(max_examples=200, deadline=None)
@given(value=values, unit=units, a=st.sampled_from(TIME_UNITS), b=st.sampled_from(TIME_UNITS))
def test_span_conversion_round_trips(value, unit, a, b):
    span = Span(value, unit)
    in_a = span.to(a)
    back = Span(in_a, canonical_unit(a)).to(b)
    assert back == pytest.approx(span.to(b), rel=1e-12)
    assert Span(in_a, canonical_unit(a)).to(unit + "s") == pytest.approx(value, rel=1e-12)


@settings(max_examples=200, deadline=None)
@given(value=values, unit=units, a=st.sampled_from(TIME_UNITS))
def test_rate_times_span_is_unit_free(value, unit, a):
    # events per unit x a span of one unit = the same count whatever the time unit
    rate, span = Rate(value, unit), Span(1.0, unit)
    assert rate.to(a) * span.to(a) == pytest.approx(value, rel=1e-12)


@settings(max_examples=300, deadline=None)
@given(value=values, alias=aliases, space=st.sampled_from(["", " ", "  "]))
def test_parse_span_on_generated_text(value, alias, space):
    unit, name = alias
    text = f"{value!r}{space}{name}"
    span = parse_span(text)
    assert span.unit == unit
    assert span.value == value
    assert parse_span(str(span)) == span  # written back as text without losing precision


@settings(max_examples=200, deadline=None)
@given(value=values, alias=aliases, sep=st.sampled_from([" per ", "/", " / ", "per"]))
def test_parse_rate_on_generated_text(value, alias, sep):
    unit, name = alias
    rate = parse_rate(f"{value!r}{sep}{name}")
    assert rate.unit == unit and rate.value == value
    assert parse_rate(str(rate)) == rate


def test_a_scenario_number_s_unit_comes_from_its_key():
    """One table of units for a plain number's key: the app's fields, a sweep's and a what-if's axes."""
    from icssim.units import key_unit

    assert key_unit("services.ed_service.staff.therapist.cost_per_hour") == "£ an hour"
    assert key_unit(("services", "a", "staff", "b", "wte")) == "WTE"
    assert key_unit("cohorts.cyp.attributes.risk.weights.1") == "relative weight"      # a list item: its list
    assert key_unit("health.states.ill_moderate.utility.anorexia") == "utility, 1 = full health"
    assert key_unit("health.discount.costs") == "discount rate a year, 0 to 0.2"
    assert key_unit("pathway.steps.p.duration") == ""           # a step named p is not a probability
