"""The rule index: what it extracts from regexes, and that matching with it gives exactly the
results of the plain loop over every rule (differential tests, with hypothesis)."""

from __future__ import annotations

import re
import sys
from datetime import datetime, UTC

import pytest
from hypothesis import HealthCheck, assume, event, given, settings, strategies as st

from conftest import write_rules
from watcher.facts import observe
from watcher.match import ItemRule, Matcher, compile_term, match_items
from watcher.matchindex import MatchIndex, Prefilter
from watcher.matchindex.literals import fold, fold_char, term_requirements
from watcher.models import Item, StoredItem
from watcher.ruleset import load_rules
from watcher.ruleset.compiled import Fact, Signal

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _lits(source: str, *, words: bool = True, case_sensitive: bool = False) -> list[set[str]]:
    term = compile_term(source, words=words, case_sensitive=case_sensitive)
    return [{text for text, _ in req} for req in term_requirements(term.pattern)]


def test_required_literals_of_common_term_shapes():
    assert _lits("senate") == [{"senate"}]
    assert _lits("foreign aid") == [{"foreign"}, {"aid"}]
    assert _lits("ukraine|foreign aid|supplemental") == [{"ukraine", "foreign", "supplemental"}]
    assert _lits("drones?") == [{"drone"}]
    assert _lits("passe[sd]") == [{"passe"}]
    assert _lits("ukrain\\w*") == [{"ukrain"}]
    assert _lits("$61bn") == [{"$61bn"}]
    assert _lits("Kyiv") == [{"kyiv"}]                                   # folded
    assert _lits("Kyiv", case_sensitive=True) == [{"Kyiv"}]              # as written
    assert _lits("(?i:Kyiv)", words=False, case_sensitive=True) == [{"kyiv"}]
    assert _lits("(?-i:Kyiv)", words=False) == [{"Kyiv"}]


def test_terms_without_a_certain_literal_require_nothing():
    assert _lits("us") == []                     # too short to filter anything
    assert _lits("(aid)?", words=False) == []
    assert _lits("senate|\\w+", words=False) == []   # one branch has no literal
    assert _lits("\\d{4}", words=False) == []
    assert _lits("[^a]bcd?", words=False) == []


def test_fold_agrees_with_re_case_folding_for_every_character():
    wrong = [cp for cp in range(sys.maxunicode + 1)
             if not 0xD800 <= cp <= 0xDFFF and fold(chr(cp)) != fold_char(cp)]
    assert wrong == []
    assert fold("ſenate İSTANBUL Ωμέγα") == "senate istanbul " + "".join(fold_char(ord(c)) for c in "Ωμέγα")


def test_the_bundled_rules_are_indexed_and_every_matcher_is_prefiltered():
    ruleset = load_rules("rules")
    assert ruleset.index is not None
    assert ruleset.index.serves_rules(ruleset.item_rules) and ruleset.index.serves_facts(ruleset.facts)
    total = len(ruleset.item_rules) + sum(len(f.signals) for f in ruleset.facts.values())
    assert ruleset.index.describe() == f"{total} of {total} matchers prefiltered"


def test_an_index_built_for_other_rules_is_ignored(rules_dir):
    write_rules(rules_dir, """
        alerts:
          - name: a
            on: {items: {all: [senate]}}
    """)
    ruleset = load_rules(rules_dir)
    other = MatchIndex([], {})
    items = [_stored("The Senate votes", 1)]
    assert match_items(ruleset.item_rules, items, other) == match_items(ruleset.item_rules, items)
    assert len(match_items(ruleset.item_rules, items, ruleset.index)) == 1


def _stored(text: str, n: int, summary: str = "") -> StoredItem:
    item = Item(key=f"k{n}", title=text, link=f"http://127.0.0.1/{n}", summary=summary)
    return StoredItem(n, f"feed{n % 3}", item, NOW)


# -- differential tests against the plain loop ---------------------------------------------------

WORDS = ["aid", "senate", "Senate", "ukraine", "Ukrainian", "foreign aid", "pass", "passes", "passed",
         "kyiv", "ſenate", "İstanbul", "ıstanbul", "µg", "μg", "Straße", "co-production", "coproduction",
         "$61bn", "σίσυφος", "ΣΊΣΥΦΟΣ", "drone", "drones", "vote", "will", "house", "K", "said", "x"]
FRAGMENTS = st.sampled_from([
    "{a}", "{a}s?", "({a}|{b})", "{a} {b}", "{a}.{{0,20}}{b}", "{a}\\w*", "(?i:{a})", "(?-i:{a})",
    "{a}[sd]", "(?:{a})+", "\\b{a}\\b", "^{a}", "{a}|\\w+", "[{c}]{a}", "(?=\\w){a}", "{a}(?!{b})",
    "(?P<g>{a}) (?P=g)", "(?>{a})", "{a}{{2}}", "({a})?{b}",
])


@st.composite
def terms(draw):
    a, b = draw(st.sampled_from(WORDS)), draw(st.sampled_from(WORDS))
    source = draw(FRAGMENTS).format(a=a, b=b, c=a[:1] or "x")
    words = draw(st.booleans())
    try:
        return compile_term(source, words=words, case_sensitive=draw(st.booleans()))
    except re.error:
        assume(False)


SCOPES = st.sampled_from([("title",), ("title", "summary"), ("summary",), ("title", "summary", "content"),
                          ("feed",), ("title", "categories")])


@st.composite
def matchers(draw):
    all_terms = tuple(draw(st.lists(terms(), max_size=3)))
    any_terms = tuple(draw(st.lists(terms(), min_size=0 if all_terms else 1, max_size=3)))
    none_terms = tuple(draw(st.lists(terms(), max_size=2)))
    about = tuple(draw(st.lists(terms(), max_size=2)))
    within = draw(st.sampled_from(["field", "field", "sentence"]))
    return Matcher(all_terms, any_terms, none_terms, draw(SCOPES), within, about=about)


@st.composite
def texts(draw):
    parts = draw(st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=6)), max_size=12))
    styled = [draw(st.sampled_from([str, str.upper, str.title, str.swapcase]))(p) for p in parts]
    return draw(st.sampled_from([" ", "\n", "-", ", ", ""])).join(styled)


@st.composite
def items(draw):
    found = []
    for n in range(draw(st.integers(1, 6))):
        item = Item(key=f"k{n}", title=draw(texts()), link=None, summary=draw(texts()), content=draw(texts()),
                    categories=tuple(draw(st.lists(texts(), max_size=2))))
        found.append(StoredItem(n, draw(st.sampled_from(["feed-a", "Senate watch", "kyiv"])), item, NOW))
    return found


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(matchers(), min_size=1, max_size=8), items(), st.data())
def test_item_rules_with_the_index_match_exactly_what_the_plain_loop_matches(found_matchers, stored, data):
    feeds = data.draw(st.sampled_from([None, frozenset({"feed-a"}), frozenset({"kyiv", "Senate watch"})]))
    rules = tuple(ItemRule(f"r{i}", m, feeds if i % 2 else None) for i, m in enumerate(found_matchers))
    index = MatchIndex(rules, {})
    expected = match_items(rules, stored)
    event(f"matches: {min(len(expected), 3)}")
    assert match_items(rules, stored, index) == expected


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(matchers(), min_size=1, max_size=3), min_size=1, max_size=3), items())
def test_fact_signals_with_the_index_observe_exactly_what_the_plain_loop_observes(groups, stored):
    facts = {f"f{i}": Fact(f"f{i}", "d", "v0", None, False,
                           tuple(Signal(j, f"v{j + 1}", m) for j, m in enumerate(group)))
             for i, group in enumerate(groups)}
    index = MatchIndex((), facts)
    expected = observe(facts, stored)
    event(f"observations: {min(len(expected), 3)}")
    assert observe(facts, stored, index) == expected


@settings(max_examples=500, deadline=None)
@given(terms(), texts())
def test_a_text_without_a_literal_of_some_requirement_never_matches(term, text):
    for req in term_requirements(term.pattern):
        if not any((lit in fold(text)) if ci else (lit in text) for lit, ci in req):
            assert term.pattern.search(text) is None, (term.source, text, req)


class _Unknown:
    """A matcher of a shape the index does not know: it must always be a candidate."""

    scope = ("title",)

    def match(self, item, feed=""):
        return None


def test_matchers_the_index_cannot_read_are_always_candidates():
    prefilter = Prefilter([_Unknown(), Matcher((compile_term("senate", words=True),), (), (), ("title",))])
    item = Item(key="k", title="nothing here", link=None, summary="")
    assert prefilter.candidates(item) == [0]
    assert prefilter.candidates(Item(key="k", title="the SENATE", link=None, summary="")) == [0, 1]


@pytest.mark.parametrize("title", ["Senate passes Ukraine aid package", "ſenate passes UKRAİNE aid",
                                   "House passes Ukraine aid", "Will the Senate pass Ukraine aid?"])
def test_bundled_rules_give_the_same_observations_with_and_without_the_index(title):
    ruleset = load_rules("rules")
    stored = [_stored(title, 1, summary="Ukraine co-production of drones signed")]
    assert observe(ruleset.facts, stored, ruleset.index) == observe(ruleset.facts, stored)
    assert match_items(ruleset.item_rules, stored, ruleset.index) == match_items(ruleset.item_rules, stored)
