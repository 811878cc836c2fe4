"""Conditions (``accept``, a branch's ``when``) written as in another language are refused with
what to change (audit of 6 December 2026: each got only the generic 'cannot read condition')."""

from __future__ import annotations

import pytest

from icssim.scenario.conditions import parse_condition


@pytest.mark.parametrize("text, hint", [
    ("urgency == 'urgent'", "levels are written without quotes: 'urgency == urgent'"),
    ('risk >= "amber"', "levels are written without quotes: 'risk >= amber'"),
    ("risk = amber", "compare with '==', not '=': 'risk == amber'"),
    ("age < 18 or risk >= red", "only 'and' joins clauses"),
    ("severity >= 15%", "write a share as a number without % (0.15 for 15%)"),
])
def test_a_condition_in_another_languages_words_says_what_to_change(text, hint):
    with pytest.raises(ValueError, match="cannot read condition") as caught:
        parse_condition(text)
    assert hint in str(caught.value)


def test_conditions_that_read_are_unchanged():
    assert [(c.attribute, c.op, c.value) for c in parse_condition("age < 18 and risk >= amber")] == [
        ("age", "<", "18"), ("risk", ">=", "amber")]
    with pytest.raises(ValueError) as caught:   # no hint invented where none applies
        parse_condition("age less 18")
    assert str(caught.value).endswith("joined by 'and'")
