"""Matchers, table-driven."""

from __future__ import annotations

import pytest

from watcher.match import compile_term, words_regex
from watcher.models import Item
from watcher.ruleset.load import compile_matcher
from watcher.ruleset.schema import MatchSpec


def item(title: str, summary: str = "", **kw) -> Item:
    return Item(key="k", title=title, link=kw.pop("link", None), summary=summary, **kw)


def matcher(**spec):
    return compile_matcher(MatchSpec.model_validate(spec))


@pytest.mark.parametrize("term,text,hit", [
    ("aid", "The aid package", "aid"),
    ("aid", "He said no", None),                          # whole words only
    ("Senate", "the senate voted", "senate"),             # case-insensitive
    ("foreign aid", "foreign\n  aid bill", "foreign\n  aid"),
    ("passe[sd]", "Senate passed it", "passed"),
    ("ukraine|foreign aid", "more Foreign Aid", "Foreign Aid"),
    ("$61bn", "a $61bn package", "$61bn"),
    ("co-production", "weapons co-production deal", "co-production"),
    ("drones?", "new drone plant", "drone"),
    ("[a b]x", "a x", None),                              # a space inside a class is kept
])
def test_word_terms(term, text, hit):
    found = compile_term(term, words=True).pattern.search(text)
    assert (found.group(0) if found else None) == hit


def test_words_regex_shape():
    assert words_regex("foreign aid") == r"(?<!\w)(?:foreign\s+aid)(?!\w)"


def test_all_any_none():
    m = matcher(all=["senate", "ukraine"], any=["passes", "approves"], none=["will"])
    assert m.match(item("Senate passes Ukraine aid")) is not None
    assert m.match(item("Senate debates Ukraine aid")) is None            # no `any` term
    assert m.match(item("Senate will pass Ukraine aid")) is None         # a `none` term
    assert m.match(item("House passes Ukraine aid")) is None             # an `all` term missing


def test_scope_limits_fields_and_hits_name_them():
    m = matcher(all=["senate"], scope=["summary"])
    assert m.match(item("Senate passes", "nothing here")) is None
    hits = m.match(item("x", "The Senate voted"))
    assert [(h.field, h.text, h.start) for h in hits] == [("summary", "Senate", 4)]


def test_raw_regex_term_is_case_sensitive_on_request():
    m = matcher(all=[{"regex": r"H\.R\. ?815", "case_sensitive": True}])
    assert m.match(item("House passes H.R. 815")) is not None
    assert m.match(item("house passes h.r. 815")) is None


def test_categories_and_feed_fields():
    m = matcher(all=["defense"], scope=["categories"])
    assert m.match(item("x", categories=("Defense", "World"))) is not None
    f = matcher(all=["wire"], scope=["feed"])
    assert f.match(item("x"), feed="wire") is not None
