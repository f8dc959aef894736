"""Matchers, table-driven."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings, strategies as st
from ruamel.yaml import YAML

from conftest import doc_section
from watcher.match import compile_term, words_regex
from watcher.models import Item
from watcher.text.view import ItemView
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
    (r"(?<!\bto )sign(s|ed)?", "Biden signs the bill", "signs"),   # a look-behind keeps its fixed width
    (r"(?<!\bto )sign(s|ed)?", "Biden is set to sign it", None),
    (r"(?<!\bto )sign(s|ed)?", "set to\tsign it", None),           # its space is any one white space
    ("(?i)eu aid", "new EU aid", "EU aid"),                # leading global flags stay first
    ("(?x) foreign aid  # spaces mean nothing here", "foreignaid", "foreignaid"),
    ("foreign ?aid", "foreignaid", "foreignaid"),          # a space before a quantifier is what it repeats
    ("foreign (?#optional)?aid", "foreignaid", "foreignaid"),   # ...even with a comment between them
    ("(?#EU only)(?-i:EU) aid", "eu aid", None),
    ("(?#EU only)(?i)eu aid", "EU aid", "EU aid"),
    ("(?x)# EU only\n(?-i:EU) aid", "eu aid", None),
    ("[]a b]x", "1 +x", None),                            # a ] first in a class is in the class
    ("[]a b]x", "1 ]x", "]x"),
    (r"\N{EM DASH} aid", "\u2014 aid", "\u2014 aid"),          # named characters keep their spaces
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


# -- guards and sentence scope: text that asks, denies, predicts or argues -------------------

def guarded(**spec):
    spec.setdefault("guards", "all")
    return matcher(**spec)


SENATE_PASSED = {"all": ["senate", "ukraine|aid"], "any": ["pass(es|ed)", "approves"], "within": "sentence"}


@pytest.mark.parametrize("title,fires", [
    ("Senate passes Ukraine aid", True),
    ("SENATE PASSES UKRAINE AID PACKAGE", True),
    ("Senate passes Ukraine aid in May vote", True),                  # May the month
    ("Senate passes Ukraine aid, House has not acted", True),          # the negation is in another clause
    ("Will the Senate pass Ukraine aid?", False),                      # question
    ("Senate passes Ukraine aid?", False),                             # question mark
    ("Why did the Senate pass the Ukraine aid", False),                # interrogative opening that asks
    ("Why the Senate passed the Ukraine aid", True),                   # ... one that explains
    ("The Senate has not passed the Ukraine aid", False),              # negation
    ("Senate hasn't passed Ukraine aid", False),                       # contraction
    ("Senate fails to pass Ukraine aid", False),                       # failure
    ("Senate never passed the Ukraine aid", False),
    ("Senate expected to pass Ukraine aid", False),                    # prediction
    ("Senate poised to pass Ukraine aid", False),
    ("Senate likely to pass Ukraine aid", False),
    ("Senate may pass Ukraine aid", False),                            # modal
    ("Senate must pass the Ukraine aid", False),                       # argument
    ("Senate would pass Ukraine aid if the House agreed", False),      # conditional
    ("Opinion: Senate passes Ukraine aid at last", False),             # opinion label
    ("Zelensky urges Senate to pass Ukraine aid", False),              # advocacy
    ("Senate passes farm bill; Ukraine aid next", False),              # two stories in one headline
    ("Senate debates. Ukraine aid passes the House", False),           # terms in different sentences
])
def test_guards_and_sentences(title, fires):
    m = guarded(scope=["title"], **SENATE_PASSED)
    assert (m.match(item(title)) is not None) is fires


def test_a_cue_inside_the_rules_own_term_is_not_a_cue():
    m = guarded(all=["ukraine aid"], any=["fails? to advance"], scope=["title"])
    assert m.match(item("Ukraine aid fails to advance in Senate")) is not None
    assert m.match(item("Ukraine aid does not fail to advance")) is None


def test_opinion_by_category_and_guards_can_be_chosen():
    text = "Senate passes Ukraine aid"
    assert guarded(scope=["title"], **SENATE_PASSED).match(item(text, categories=("Opinion",))) is None
    only_questions = matcher(scope=["title"], guards=["question"], **SENATE_PASSED)
    assert only_questions.match(item("Senate must have passed Ukraine aid")) is not None
    assert only_questions.match(item("Has the Senate passed Ukraine aid?")) is None
    assert matcher(scope=["title"], guards=[], **SENATE_PASSED).match(item("Has the Senate passed Ukraine aid?"))


def test_a_guarded_hit_elsewhere_in_the_text_still_counts():
    m = guarded(all=["senate"], any=["passes"], scope=["title", "summary"], within="sentence")
    found = m.match(item("Will the Senate act?", "Late on Tuesday the Senate passes the bill. Nobody objected."))
    assert [(h.field, h.text) for h in found] == [("summary", "Senate"), ("summary", "passes")]


def test_clause_scope_is_tighter_than_sentence_scope():
    text = "House passes Ukraine aid, sending it to the Senate"
    assert matcher(all=["senate", "ukraine"], any=["passes"], within="sentence").match(item(text)) is not None
    assert matcher(all=["senate", "ukraine"], any=["passes"], within="clause").match(item(text)) is None


@pytest.mark.parametrize("term,text,hit", [
    ("{amount} in aid", "a bill with $61 billion in aid", "$61 billion in aid"),
    ("{amount} in aid", "a bill with 61 billion dollars in aid", "61 billion dollars in aid"),
    ("{number} troops", "some 5,000 troops arrived", "5,000 troops"),
    ("{name} named chair", "Sen. Roger Wicker named chair", "Sen. Roger Wicker named chair"),
    ("{name} named chair", "roger wicker named chair", None),          # a name is capitalised
])
def test_placeholders(term, text, hit):
    found = compile_term(term, words=True).pattern.search(text)
    assert (found.group(0) if found else None) == hit


# -- the interface the rule index relies on: guards and scope only make matches rarer --------

_WORDS = ["senate", "aid", "passes", "will", "not", "opinion", "house", "ukraine"]
_texts = st.lists(st.sampled_from(_WORDS + ["?", ".", ",", "Senate", "must", "May", "2024"]), max_size=14).map(
    " ".join)


@settings(max_examples=300, deadline=None)
@given(all_terms=st.lists(st.sampled_from(_WORDS), min_size=1, max_size=2),
       any_terms=st.lists(st.sampled_from(_WORDS), max_size=2),
       within=st.sampled_from(["field", "sentence", "clause"]),
       guards=st.sampled_from(["all", ["question"], ["negation", "modal"], []]),
       title=_texts, summary=_texts)
def test_guards_and_scope_never_add_a_match(all_terms, any_terms, within, guards, title, summary):
    plain = matcher(all=all_terms, any=any_terms, scope=["title", "summary"])
    strict = matcher(all=all_terms, any=any_terms, scope=["title", "summary"], within=within, guards=guards)
    one = item(title, summary)
    if strict.match(one) is not None:
        assert plain.match(one) is not None
        assert all(any(t.pattern.search(one.text(f)) for f in ("title", "summary")) for t in strict.all)


# -- `about`: the subject in the headline, the value in the summary ------------------------------

RATE_TITLE = "Central bank lowers rates by half a point"
RATE_SUMMARY = "Its key rate now sits between 3 and 3.25 percent."
KEY_RATE = {"about": ["central bank"], "all": ["key rate", "{number} percent"], "within": "sentence"}


def spans(hits):
    return [(h.term, h.field, h.start, h.end, h.text) for h in hits]


def test_the_title_lends_the_subject_to_a_sentence_of_the_summary():
    hits = matcher(**KEY_RATE).match(item(RATE_TITLE, RATE_SUMMARY))
    assert spans(hits) == [("central bank", "title", 0, 12, "Central bank"),
                           ("key rate", "summary", 4, 12, "key rate"),
                           ("{number} percent", "summary", 36, 48, "3.25 percent")]
    found = matcher(**KEY_RATE).find(ItemView(item(RATE_TITLE, RATE_SUMMARY)))
    assert found.context == f"{RATE_TITLE} … {RATE_SUMMARY}"               # the quote names the subject
    # without `about`, the subject is one more term that must be in the same sentence
    as_all = {"all": ["central bank", "key rate", "{number} percent"], "within": "sentence"}
    assert matcher(**as_all).match(item(RATE_TITLE, RATE_SUMMARY)) is None
    # in the sentence itself, the sentence's own hit is the subject
    own = matcher(**KEY_RATE).match(item("Rates", "The central bank's key rate is 3.25 percent."))
    assert spans(own)[0] == ("central bank", "summary", 4, 16, "central bank")


def test_about_lends_only_the_subject_never_the_claim():
    farm = item("Senate passes farm bill", "Ukraine aid is next.")
    assert matcher(about=["senate"], all=["ukraine aid"], any=["passes"], within="sentence").match(farm) is None
    assert matcher(about=["ukraine aid"], all=["senate"], any=["passes"], within="sentence").match(farm) is None
    # the title's own sentences stand alone: it lends its subject to the summary, not to itself
    two = item("Senate passes farm bill; Ukraine aid next")
    assert matcher(about=["ukraine aid"], all=["senate"], any=["passes"], within="sentence").match(two) is None
    # a title outside the scope lends nothing
    assert matcher(scope=["summary"], **KEY_RATE).match(item(RATE_TITLE, RATE_SUMMARY)) is None
    # with `within: field`, `about` terms are `all` terms
    field = matcher(about=["central bank"], all=["key rate"])
    assert field.match(item("Rates", RATE_SUMMARY)) is None
    assert spans(field.match(item(RATE_TITLE, RATE_SUMMARY)))[0][:2] == ("central bank", "title")


@pytest.mark.parametrize("title,summary,fires", [
    (RATE_TITLE, RATE_SUMMARY, True),
    # a question headline still names the subject: the summary's plain sentence reports
    ("Will the central bank cut rates again?", RATE_SUMMARY, True),
    ("Central bank could cut rates again", RATE_SUMMARY, True),
    # the sentence that makes the claim is guarded whatever the headline says
    (RATE_TITLE, "Could its key rate fall to 3.25 percent?", False),
    (RATE_TITLE, "Its key rate does not sit at 3.25 percent.", False),
    (RATE_TITLE, "Its key rate is expected to reach 3.25 percent.", False),
    # an opinion piece is opinion, subject and all
    ("Opinion: the central bank cut rates too far", RATE_SUMMARY, False),
])
def test_guards_judge_the_claim_not_the_headline_that_lends_the_subject(title, summary, fires):
    m = matcher(guards="all", **KEY_RATE)
    assert (m.match(item(title, summary)) is not None) is fires


def test_an_about_hit_in_the_sentence_itself_is_guarded():
    m = matcher(about=["ukraine aid"], all=["senate"], any=["passes"], within="sentence", guards="all")
    assert m.match(item("Senate passes Ukraine aid")) is not None
    assert m.match(item("Senate passes farm bill, not Ukraine aid")) is None    # no title to lend it


# -- `none` applies where the match is ----------------------------------------------------------

def test_none_refuses_only_the_sentence_where_the_terms_meet():
    spec = dict(KEY_RATE, none=["predicted", "expected"])
    said = item(RATE_TITLE, f"{RATE_SUMMARY} Analysts had predicted a smaller move.")
    assert matcher(**spec).match(said) is not None
    assert matcher(none_within="field", **spec).match(said) is None            # the old behaviour, on request
    assert matcher(**spec).match(item(RATE_TITLE, "Its key rate is now predicted at 3.25 percent.")) is None
    # the title lent the subject, so what it says counts too
    assert matcher(**spec).match(item("Central bank cut expected", RATE_SUMMARY)) is None
    aid = {"all": ["senate", "ukraine"], "any": ["passes"], "none": ["house"]}
    later = item("Senate passes Ukraine aid", "The House votes next week.")
    assert matcher(within="sentence", **aid).match(later) is not None
    assert matcher(within="field", **aid).match(later) is None                 # field: the whole scope, as before


def test_none_tries_the_next_sentence_and_can_be_wider_than_within():
    aid = {"all": ["senate", "ukraine"], "any": ["passes"], "none": ["house"]}
    both = item("x", "Senate passes Ukraine aid, House next. Then the Senate passes Ukraine aid again.")
    hits = matcher(within="sentence", **aid).match(both)
    assert hits is not None and hits[0].start > 40                              # the second sentence
    text = item("Senate passes Ukraine aid, sending it to the House")
    assert matcher(within="clause", **aid).match(text) is not None
    assert matcher(within="clause", none_within="sentence", **aid).match(text) is None


def test_none_within_cannot_be_narrower_than_within():
    with pytest.raises(ValueError, match="`none_within: clause` is narrower than `within: sentence`"):
        MatchSpec.model_validate({"all": ["aid"], "none": ["x"], "within": "sentence", "none_within": "clause"})


@settings(max_examples=300, deadline=None)
@given(about=st.lists(st.sampled_from(_WORDS), max_size=2),
       all_terms=st.lists(st.sampled_from(_WORDS), min_size=1, max_size=2),
       any_terms=st.lists(st.sampled_from(_WORDS), max_size=2),
       none_terms=st.lists(st.sampled_from(_WORDS), min_size=1, max_size=2),
       within=st.sampled_from(["sentence", "clause"]),
       guards=st.sampled_from(["all", ["question"], []]),
       title=_texts, summary=_texts)
def test_about_and_none_narrow_only_as_documented(about, all_terms, any_terms, none_terms, within, guards, title,
                                                 summary):
    """`about` never adds a match over plain `all` terms (the index relies on it); `none` where the
    match is refuses no more than `none` anywhere; and the title lends nothing but `about` hits."""
    spec = {"about": about, "all": all_terms, "any": any_terms, "scope": ["title", "summary"], "within": within,
            "guards": guards}
    one = item(title, summary)
    plain = matcher(all=about + all_terms, any=any_terms, scope=["title", "summary"])
    strict = matcher(none=none_terms, **spec)
    everywhere = matcher(none=none_terms, none_within="field", **spec)
    found = strict.match(one)
    if found is not None:
        assert matcher(**spec).match(one) is not None and plain.match(one) is not None
        claim = [h for h in found if h.term in all_terms + any_terms and h not in found[:len(about)]]
        assert len({h.field for h in claim}) == 1
        lent = [h for h in found[:len(about)] if h.field != claim[0].field]
        assert all(h.field == "title" for h in lent)
    if everywhere.match(one) is not None:
        assert everywhere.match(one) == found


def test_the_match_block_of_the_rules_doc_reads_as_it_says():
    section = doc_section("rules.md", "## Matching items: `match`")
    block = YAML(typ="safe").load(re.search(r"```yaml\n(.*?)```", section, re.DOTALL).group(1))["match"]
    m = matcher(**block)
    title = "Ukraine aid: what is in the bill"
    assert spans(m.match(item(title, "The Senate passed the bill on Tuesday. The House votes next."))) == [
        ("ukraine|foreign aid", "title", 0, 7, "Ukraine"), ("senate", "summary", 4, 10, "Senate"),
        ("pass(es|ed)", "summary", 11, 17, "passed")]
    assert m.match(item(title, "The Senate passed the bill after the House passed it.")) is None
