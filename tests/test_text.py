"""Reading text: sentences and clauses, amounts, and patterns refused because they could stall."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from watcher.match import words_regex
from watcher.text import quantity, redos
from watcher.text.sentences import clauses, sentences


def _split(text: str) -> list[str]:
    return [text[s:e] for s, e in sentences(text)]


@pytest.mark.parametrize("text,expected", [
    ("The U.S. Senate passed it. Sen. Schumer spoke!", ["The U.S. Senate passed it.", "Sen. Schumer spoke!"]),
    ("Will it pass? Nobody knows.", ["Will it pass?", "Nobody knows."]),
    ("Farm bill passes; Ukraine aid next", ["Farm bill passes;", "Ukraine aid next"]),
    ("J. Doe said so. Then he left", ["J. Doe said so.", "Then he left"]),
    ("It passed 70 to 29 vs. the odds. Done", ["It passed 70 to 29 vs. the odds.", "Done"]),
    ("Line one\nLine two", ["Line one", "Line two"]),
    ("It costs 1.5 billion. Done.", ["It costs 1.5 billion.", "Done."]),
    ("", []),
])
def test_sentences(text, expected):
    assert _split(text) == expected


def test_clauses_keep_the_word_that_opens_them():
    text = "The House has not passed the package that the Senate passed, officials said"
    assert [text[s:e] for s, e in clauses(text, (0, len(text)))] == [
        "The House has not passed the package", "that the Senate passed", "officials said"]


@pytest.mark.parametrize("text,value,unit", [
    ("$61 billion", 61e9, "USD"), ("$61bn", 61e9, "USD"), ("61 billion dollars", 61e9, "USD"),
    ("US$61.5bn", 61.5e9, "USD"), ("$60.8-billion", 60.8e9, "USD"), ("€50 billion", 50e9, "EUR"),
    ("£3m", 3e6, "GBP"), ("61,000,000,000 USD", 61e9, "USD"), ("1.2 million", 1.2e6, None),
    ("61e9", 61e9, None), ("5,000", 5000, None),
])
def test_amounts(text, value, unit):
    assert quantity.parse(text) == quantity.Quantity(value, unit)


@pytest.mark.parametrize("value,unit,shown", [
    ("61000000000", "USD", "61 billion USD"), ("60800000000", "USD", "60.8 billion USD"),
    ("1200000", None, "1.2 million"), ("5000", "troops", "5,000 troops"), ("2.5", "USD", "2.5 USD"),
    ("not a number", "USD", "not a number"),
])
def test_display(value, unit, shown):
    assert quantity.display(value, unit) == shown


def test_canonical_numbers_are_exact():
    assert quantity.canonical(quantity.parse("$60.8 billion").value) == "60800000000"


@pytest.mark.parametrize("pattern", [
    r"(a+)+$", r"(\w+\s?)+$", r"(a|a)+b", r"(?:\wx|\dx)+!", r"(x|xy|y)+!", r"a.*b", r"[^,]+x", r"(?:\s|\w)+!",
    r".{0,200}x.{0,200}",
])
def test_patterns_that_could_stall_are_refused(pattern):
    assert redos.check(pattern) is not None


@pytest.mark.parametrize("pattern", [
    r"senate", r"pass(es|ed)", r"drones?", r"\d{1,3}(?:,\d{3})+", r"(?>a+)+", r"a++", r"(ab)*", r".{0,80}",
    words_regex("sends? .{0,40} to (biden|the president)"), quantity.AMOUNT, quantity.NUMBER, quantity.NAME,
])
def test_safe_patterns_are_accepted(pattern):
    assert redos.check(pattern) is None


_PIECES = ("U.S.", "Sen.", "a.", "..........................................", "e.g.", "word", "Word", " ", "  ",
           ". ", "? ", "; ", "\n", "x" * 45 + ".", "1.5", "approx.", "é.", "_.", "”", ")")


@given(st.lists(st.sampled_from(_PIECES), max_size=40).map("".join))
@settings(max_examples=400, deadline=None)
def test_sentences_look_back_a_bounded_distance_with_the_same_result(text):
    from watcher.text import sentences as module

    bounded = module.sentences(text)
    original = module._word_before
    try:
        module._word_before = lambda t, end: module._WORD_BEFORE.search(t, 0, end)   # from the start, as before
        assert bounded == module.sentences(text)
    finally:
        module._word_before = original
