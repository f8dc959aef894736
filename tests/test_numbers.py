"""Reading numbers a newcomer writes no regex for: ranges, percentages, changes in points,
fractions and number words; how facts take, store, compare and show them; the labelled set and
its negative corpus; and numbers read back from every way watcher writes them."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from bench.extraction import load_cases, same, watcher_reading
from conftest import doc_section, run_cli, write_rules
from facts_harness import Ledger, hours
from watcher.match import compile_term
from watcher.ruleset import load_rules
from watcher.text import quantity
from watcher.text.quantity import Quantity


def read(term: str, text: str, *, words: bool = True) -> Quantity | None:
    """What an extract pattern ``term`` reads from ``text`` (its first match)."""
    found = compile_term(term, words=words).search(text)
    return quantity.from_match(found) if found else None


# -- every spelling the rate rules missed ------------------------------------------------------

@pytest.mark.parametrize("term,text,expected", [
    ("{range}", "Central bank cuts rates to 3.25%-3.5%", Quantity(3.25, "percent", 3.5)),
    ("{range}", "a target range of 1.50 to 1.75 percent", Quantity(1.5, "percent", 1.75)),
    ("{range}", "2-1/4 to 2-1/2 percent", Quantity(2.25, "percent", 2.5)),
    ("{range}", "2¼%-2½%", Quantity(2.25, "percent", 2.5)),
    ("{range}", "between 3 and 3.25 percent", Quantity(3, "percent", 3.25)),
    ("{range}", "rates now 5-1/2 percent", Quantity(5.5, "percent")),
    ("{percent}", "lifts it by a quarter point to 2.5%", Quantity(2.5, "percent")),
    ("{change}", "lifts it by a quarter point to 2.5%", Quantity(0.25, "pp")),
    ("{percent}", "cut by 25 basis points to 4.5%", Quantity(4.5, "percent")),
    ("{change}", "cut by 25 basis points to 4.5%", Quantity(25, "bp")),
    ("{percent}", "rates now 5-1/2 percent", Quantity(5.5, "percent")),
    ("{change}", "three-quarters of a point", Quantity(0.75, "pp")),
    ("{percent}", "3.5 per cent", Quantity(3.5, "percent")),
    ("{percent}", "3.5 pct", Quantity(3.5, "percent")),
    ("{change}", "25bp", Quantity(25, "bp")),
    ("{change}", "25 bps", Quantity(25, "bp")),
    ("{change}", "0.25 percentage points", Quantity(0.25, "pp")),
])
def test_the_spellings_of_rates(term, text, expected):
    assert read(term, text) == expected


@pytest.mark.parametrize("term,text,value", [
    ("{percent}", "5-1/2%", 5.5), ("{percent}", "5 1/2 percent", 5.5), ("{percent}", "½%", 0.5),
    ("{percent}", "5½%", 5.5), ("{percent}", "2¼%", 2.25), ("{percent}", "7⅞ per cent", 7.875),
    ("{change}", "three-quarters of a point", 0.75), ("{change}", "a quarter point", 0.25),
    ("{change}", "half a point", 0.5), ("{change}", "half a percentage point", 0.5),
    ("{percent}", "one and a half percent", 1.5), ("{change}", "twenty-five basis points", 25),
    ("{percent}", "two percent", 2), ("{change}", "a quarter-point cut", 0.25), ("{change}", "a half-point", 0.5),
    ("{change}", "an eighth of a point", 0.125), ("{percent}", "two and three-quarters percent", 2.75),
    ("{number}", "5-1/2 weeks", 5.5), ("{number}", "5 1/2 weeks", 5.5),
])
def test_fractions_and_numbers_in_words(term, text, value):
    found = read(term, text)
    assert found is not None and found.value == value and found.high is None


def test_number_words_are_read_with_a_unit_only():
    assert read("{range}", "two members dissented") is None
    assert read("{range}", "one official said") is None
    assert quantity.parse("sixty-one") is None            # known: sixty-one stays a mistake
    assert read("{range}", "between two and three percent") == Quantity(2, "percent", 3)


@pytest.mark.parametrize("term,text,hit", [
    (r"{number} percent", "rates now 5-1/2 percent", "5-1/2 percent"),   # not "2 percent"
    (r"{number}", "a figure of 5,2024", None),                           # not "5,202"
    (r"{number}", "bill H.R.815", None),                                 # not "815"
    (r"{number}", "F-16 jets", None),                                    # not "16"
    (r"{number}", "voted 70-29", None),                                  # a vote count, not 70
    (r"{number}", "on 2024-05-01", None),                                # a date
    (r"{number}", "rates ended 2.25 higher", "2.25"),
    (r"{amount}", "a $61bn package", "$61bn"),
])
def test_a_number_never_starts_or_stops_inside_another(term, text, hit):
    found = compile_term(term, words=False).pattern.search(text)    # raw regexes get no word boundaries
    assert (found.group(0) if found else None) == hit


@pytest.mark.parametrize("text", [
    "cut by 25 basis points to 4.5%", "by 0.25% to 4.5%", "cuts rates 0.25% to 4.5%", "from 4.75% to 4.5%",
    "raised 0.5 percentage point to 4.5%",
])
def test_a_change_is_never_taken_for_the_level(text):
    assert read("{percent}", text) == Quantity(4.5, "percent")
    assert read("{range}", text) == Quantity(4.5, "percent")


@pytest.mark.parametrize("term,text,expected", [
    ("to {percent}", "kept in a range of 3.25% to 3.5%", None),           # the end of a range ...
    ("to {range}", "kept in a range of 1.50 to 1.75 percent", None),
    ("to {percent}", "cut by 0.25% to 4.5%", Quantity(4.5, "percent")),     # ... but not the level after a change
    ("to {percent}", "cuts rates 0.25% to 4.5%", Quantity(4.5, "percent")),
    ("{percent}", "cut by 0.25%, to 4.5%", Quantity(4.5, "percent")),      # a change is skipped, not a dead end
    ("{percent}", "moved from 4.75%, to 4.5%", Quantity(4.5, "percent")),
])
def test_the_end_of_a_range_is_not_a_level(term, text, expected):
    assert read(term, text) == expected


def test_the_matcher_passes_over_a_match_that_does_not_read():
    term = compile_term("{range}", words=True)
    text = "The Senate voted 70-29 in 2024, and the Fed cut rates to 3.25%-3.5%"
    assert term.pattern.search(text).group(0) == "70-29"                  # where a reading may be ...
    assert [m.group(0) for m in term.finditer(text, 10)] == ["3.25%-3.5%"]  # ... and where one is
    assert compile_term("senate", words=True).accept is None and term.accept is not None


def test_passing_over_is_bounded_on_hostile_text():
    from watcher.text.patterns import MAX_PASSED

    term = compile_term("{range}", words=True)
    assert term.search("voted 70-29, " * (MAX_PASSED - 1) + "rates at 4%-4.25%").group(0) == "4%-4.25%"
    assert term.search("voted 70-29, " * MAX_PASSED + "rates at 4%-4.25%") is None


# -- the labelled set and its negative corpus (tests/data/numbers.yaml) ------------------------

CASES = load_cases()


@pytest.mark.parametrize("case", [
    pytest.param(c, id=f"{c.cat}-{c.read}-{c.text[:48]}",
                 marks=[pytest.mark.xfail(strict=True, reason=c.gap)] if c.gap else [])
    for c in CASES])
def test_the_labelled_set(case):
    assert same(watcher_reading(case.read, case.text), case.expect)


def test_the_labelled_set_is_large_enough_and_has_a_negative_corpus():
    assert len(CASES) >= 150 and sum(c.expect is None for c in CASES) >= 40
    assert {c.cat for c in CASES} == {"range", "percent", "change", "fraction", "words", "number", "negative"}


# -- units, take, and the stored form ----------------------------------------------------------

@pytest.mark.parametrize("written,unit", [
    ("%", "percent"), ("Percent", "percent"), ("per cent", "percent"), ("pct", "percent"), ("bps", "bp"),
    ("basis points", "bp"), ("percentage points", "pp"), ("ppt", "pp"), ("USD", "USD"), ("troops", "troops"),
])
def test_unit_spellings(written, unit):
    assert quantity.unit_name(written) == unit


@pytest.mark.parametrize("found,unit,take,stored", [
    (Quantity(25, "bp"), "pp", None, "0.25"), (Quantity(0.25, "pp"), "bp", None, "25"),
    (Quantity(25, "bp"), "percent", None, None), (Quantity(4.5, "percent"), "bp", None, None),
    (Quantity(4.5, "percent"), "USD", None, None), (Quantity(61e9, "USD"), "percent", None, None),
    (Quantity(4.5, None), "percent", None, "4.5"), (Quantity(61e9, "USD"), "usd", None, "61000000000"),
    (Quantity(3.25, "percent", 3.5), "percent", "both", "3.25..3.5"),
    (Quantity(3.25, "percent", 3.5), "percent", "lower", "3.25"),
    (Quantity(3.25, "percent", 3.5), "percent", "upper", "3.5"),
    (Quantity(3.25, "percent", 3.5), "percent", None, None),     # a range where one number is wanted
    (Quantity(3.5, "percent"), "percent", "both", None),         # one number where a range is wanted
    (Quantity(3.5, "percent"), "percent", "upper", "3.5"),
    (Quantity(-0.5, "percent", -0.25), "percent", "both", "-0.5..-0.25"),
])
def test_value_for_checks_the_unit_and_takes_an_end(found, unit, take, stored):
    assert quantity.value_for(found, unit, take) == stored


@pytest.mark.parametrize("stored,unit,shown", [
    ("3.25..3.5", "percent", "3.25–3.5 %"), ("4.5", "%", "4.5 %"), ("25", "bp", "25 bp"), ("0.25", "pp", "0.25 pp"),
    ("-0.5..-0.25", "percent", "-0.5 to -0.25 %"), ("3.25..3.5", None, "3.25–3.5"),
    ("61000000000", "USD", "61 billion USD"),
])
def test_display_and_read_back(stored, unit, shown):
    assert quantity.display(stored, unit) == shown
    again = quantity.parse(shown)
    low, _, high = stored.partition("..")
    assert (again.value, again.high) == (float(low), float(high) if high else None)


_places = st.decimals(min_value=Decimal("-1000"), max_value=Decimal("100000"), places=3, allow_nan=False)


@given(_places)
@settings(max_examples=300, deadline=None)
def test_a_stored_number_reads_back_as_itself(number):
    """What the ledger holds is read back unchanged by every number fact, whatever its unit: a
    ledger written before ranges existed reads the same."""
    stored = quantity.canonical(float(number))
    assert quantity.parse(stored) == Quantity(float(number), None)
    for unit in (None, "USD", "percent", "bp"):
        assert quantity.value_for(quantity.parse(stored), unit) == stored


@given(_places, _places, st.sampled_from([None, "percent", "bp", "pp"]))
@settings(max_examples=300, deadline=None)
def test_a_shown_value_reads_back_as_the_stored_one(a, b, unit):
    low, high = sorted((float(a), float(b)))
    stored = quantity.canonical(low) if low == high else f"{quantity.canonical(low)}..{quantity.canonical(high)}"
    if abs(high) >= 1000:  # large numbers are shown rounded ("1.5 million"): the canonical form is exact
        shown = stored
    else:
        shown = quantity.display(stored, unit)
    again = quantity.parse(shown)
    assert again is not None and (again.value, again.high) == (low, None if low == high else high)


_WHOLE = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
          "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_QUARTERS = {1: ("1/4", "¼", "a quarter"), 2: ("1/2", "½", "a half"), 3: ("3/4", "¾", "three-quarters")}


def _in_words(n: int) -> str:
    if n < 20:
        return _WHOLE[n]
    return _TENS[n // 10] + ("-" + _WHOLE[n % 10] if n % 10 else "")


def _written(whole: int, quarters: int, style: str) -> str:
    if quarters == 0:
        return _in_words(whole) if style == "words" else str(whole)
    fraction, vulgar, worded = _QUARTERS[quarters]
    return {"hyphen": f"{whole}-{fraction}", "space": f"{whole} {fraction}", "vulgar": f"{whole}{vulgar}",
            "words": f"{_in_words(whole)} and {worded}" if quarters != 3 else f"{_in_words(whole)} and three-quarters",
            "decimal": f"{whole + quarters / 4:g}"}[style]


@given(st.integers(0, 99), st.integers(0, 3), st.sampled_from(["hyphen", "space", "vulgar", "words", "decimal"]),
       st.sampled_from(["%", " percent", " per cent", " pct"]))
@settings(max_examples=400, deadline=None)
def test_a_level_written_as_news_writes_it_reads_back(whole, quarters, style, unit):
    text = f"The bank set its rate at {_written(whole, quarters, style)}{unit} on Thursday"
    assert read("{percent}", text) == Quantity(whole + quarters / 4, "percent")


@given(st.integers(0, 40), st.integers(0, 3), st.integers(1, 8), st.sampled_from(["-", "–", " to "]),
       st.sampled_from(["hyphen", "vulgar", "decimal"]))
@settings(max_examples=300, deadline=None)
def test_a_range_written_as_news_writes_it_reads_back(whole, quarters, steps, dash, style):
    low = whole + quarters / 4
    high = low + steps / 4
    upper = _written(int(high), round((high % 1) * 4), style)
    text = f"Fed moves its target range to {_written(whole, quarters, style)}%{dash}{upper}% after the meeting"
    assert read("{range}", text) == Quantity(low, "percent", high)


# -- the rule language: take, units, ranges held by facts ---------------------------------------

FED = """\
settings:
  corroborate: {sources: 2, within: 24h}
feeds:
  ap: {url: "https://ap.example/rss"}
  reuters: {url: "https://reuters.example/rss"}
  npr: {url: "https://npr.example/rss"}
facts:
  fed-target:
    describe: the Federal Reserve's target range for the federal funds rate
    kind: number
    unit: percent
    known: 4.25%-4.5%
    signals:
      - extract: "(?:to|at) {range}"
        match: {all: ["fed|federal reserve|fomc"], within: sentence}
  fed-upper:
    describe: the top of the Fed's target range
    kind: number
    unit: "%"
    known: 4.5
    signals:
      - extract: "(?:to|at) {range}"
        take: upper
        match: {all: ["fed|federal reserve|fomc"], within: sentence}
  fed-move:
    describe: the Fed's last move, in basis points
    kind: number
    unit: bp
    known: 25bp
    signals:
      - extract: "by {change}"
        match: {all: ["fed|federal reserve|fomc"], within: sentence}
"""


def test_signals_take_ranges_ends_or_changes(tmp_path):
    rules = load_rules(write_rules(tmp_path, FED).parent, environ={})
    target, upper, move = (rules.facts[n] for n in ("fed-target", "fed-upper", "fed-move"))
    assert (target.interval, target.known, target.signals[0].take) == (True, "4.25..4.5", "both")
    assert (upper.interval, upper.known, upper.unit, upper.signals[0].take) == (False, "4.5", "percent", "upper")
    assert (move.interval, move.known, move.signals[0].take) == (False, "25", None)
    assert target.display(target.known) == "4.25–4.5 %" and move.display("50") == "50 bp"


def test_a_range_fact_moves_end_to_end(tmp_path):
    ledger = Ledger(tmp_path / "rules", FED, ("ap", "reuters", "npr"))
    assert ledger.value("fed-target") == "4.25..4.5"
    first = ledger.poll("ap", "Fed cuts rates by a quarter point to 4%-4.25%", hours(0))
    assert first.changes == {} and ledger.states("fed-target") == [("4..4.25", "pending")]
    step = ledger.poll("reuters", "Federal Reserve lowers target range by 25 basis points to 4.00 to 4.25 percent",
                       hours(1))
    changes = {c.fact: (c.old, c.new, c.sources) for c in step.changes.values()}
    assert changes == {"fed-target": ("4.25..4.5", "4..4.25", 2), "fed-upper": ("4.5", "4.25", 2)}
    assert ledger.rules.facts["fed-target"].display(ledger.value("fed-target")) == "4–4.25 %"
    # both spellings of a quarter point are one claim (0.25 pp = 25 bp), which confirms 25 bp
    assert ledger.states("fed-move") == [("25", "confirmed"), ("25", "confirmed")]


def test_one_number_is_not_evidence_for_a_range(tmp_path):
    ledger = Ledger(tmp_path / "rules", FED, ("ap", "reuters", "npr"))
    ledger.poll("ap", "Fed cuts rates to 4.25%", hours(0))
    ledger.poll("reuters", "Fed cuts rates to 4.25 percent", hours(1))
    assert ledger.states("fed-target") == []
    assert ledger.value("fed-upper") == "4.25"                # the upper end: one number is that end


def test_a_value_in_another_unit_is_not_evidence(tmp_path):
    ledger = Ledger(tmp_path / "rules", FED, ("ap", "reuters", "npr"))
    ledger.poll("ap", "Fed lifts rates by 50 basis points to 4.75", hours(0))
    ledger.poll("reuters", "Fed lifts rates by 0.5 percentage point", hours(1))
    assert ledger.moves("fed-move") == [("25", "50")]           # 0.5 pp read for a fact in bp: 50
    ledger.poll("npr", "Fed seen at $4.75 billion", hours(2))
    assert [v for v, _ in ledger.states("fed-upper")] == ["4.75"]  # the unitless level; not the dollars


def test_precision_applies_to_both_ends_of_a_range(tmp_path):
    rules = FED.replace("    known: 4.25%-4.5%\n", "    known: 4.25%-4.5%\n    precision: 2\n")
    fact = load_rules(write_rules(tmp_path, rules).parent, environ={}).facts["fed-target"]
    assert fact.key("4.21..4.5") == fact.key("4.2..4.5") != fact.key("4.2..4.75")


def test_facts_set_takes_a_range_and_refuses_one_number(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    write_rules(rules, FED)
    env = {"WATCHER_RULES": str(rules), "WATCHER_DB": str(tmp_path / "w.db")}
    done = run_cli("facts", "set", "fed-target", "between 4 and 4.25 percent", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "fed-target: 4.25–4.5 % -> 4–4.25 % (recorded)"
    again = run_cli("facts", "set", "fed-target", "4..4.25", env=env)
    assert again.stdout.strip() == "fed-target is already 4–4.25 %; nothing recorded"
    single = run_cli("facts", "set", "fed-target", "4.25%", env=env)
    assert single.returncode == 1 and '"4.25%" is one number, and this fact holds a range' in single.stderr
    wrong_unit = run_cli("facts", "set", "fed-move", "0.5%", env=env)
    assert wrong_unit.returncode == 1 and '"0.5%" is in percent, not in bp' in wrong_unit.stderr


def test_the_facts_doc_example_reads_what_the_doc_says(tmp_path):
    section = doc_section("facts.md", "## Numbers, rates and ranges")
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    ledger = Ledger(tmp_path / "rules", "settings: {corroborate: {sources: 1}}\n" + example, ("ap", "reuters", "npr"))
    facts = ledger.rules.facts
    step = ledger.poll("ap", "Fed cuts rates by 25 basis points to 4%-4.25%", hours(0))
    moved = {c.fact: facts[c.fact].display(c.new) for c in step.changes.values()}
    assert moved == {"fed-top": "4.25 %"} and ledger.states("fed-move") == [("25", "confirmed")]
    assert ledger.states("fed-target") == [("4..4.25", "pending")]            # it asks for two sources
    ledger.poll("reuters", "The FOMC voted 10 to 2 to cut rates to 4%-4.25%", hours(1))
    assert facts["fed-target"].display(ledger.value("fed-target")) == "4–4.25 %"
    later = ledger.poll("npr", "Fed cuts rates to 3.75%", hours(30))   # after the day's reports left the window
    assert [c.fact for c in later.changes.values()] == ["fed-top"] and ledger.value("fed-top") == "3.75"
    assert [v for v, _ in ledger.states("fed-target")] == ["4..4.25", "4..4.25"]   # one number: no evidence


def test_explain_says_why_a_number_read_is_not_a_value(tmp_path):
    from datetime import UTC, datetime

    from watcher.explain import explain_item
    from watcher.models import Item, StoredItem

    rules = load_rules(write_rules(tmp_path, FED).parent, environ={})
    item = StoredItem(1, "ap", Item(key="k", title="Fed cuts rates to 4.25%", link=None, summary=""),
                      datetime(2024, 4, 20, tzinfo=UTC))
    outcomes = {s.fact: (s.value, s.outcome) for s in explain_item(rules, item).signals}
    assert outcomes["fed-target"] == (None, "read 'to 4.25%', which is not a value of this fact (one number, and "
                                            "this fact holds a range)")
    assert outcomes["fed-upper"][0] == "4.25 %"


# -- a unit of the fact's own: {quantity} ------------------------------------------------------

OPEC = """
feeds:
  wire: {url: "https://wire.example/rss"}
  trade: {url: "https://trade.example/rss"}
facts:
  opec-cut:
    describe: the OPEC+ group's collective output cut
    kind: number
    unit: {name: b/d, words: [bpd, barrels per day, barrels a day]}
    known: 2 million b/d
    precision: 3
    corroborate: {sources: 2, within: 1d}
    signals:
      - extract: "to {quantity}"
        match: {about: ["opec\\\\+?"], any: [cuts, curbs], within: sentence}
"""


@pytest.mark.parametrize("text,value", [
    ("cuts to 3.66 million barrels per day", 3.66e6),
    ("cuts to 3.66mn b/d", 3.66e6),
    ("cuts to 3.66 mb/d", 3.66e6),                  # a scale letter stuck to the unit
    ("cuts to 3.66mb/d", 3.66e6),
    ("cuts to 3,660,000 bpd", 3.66e6),
    ("cuts to 5.86m barrels a day", 5.86e6),
    ("cuts to 500 thousand b/d", 5e5),
    ("cuts to 500 kb/d", 5e5),
    ("cuts to 2-1/2 million barrels per day", 2.5e6),
    ("cuts to 3.66 million BARRELS  PER DAY", 3.66e6),   # any case, any white space
])
def test_quantity_reads_a_number_in_the_facts_unit(text, value):
    term = compile_term("to {quantity}", words=False,
                        placeholders={"{quantity}": quantity.quantity_pattern(("b/d", "bpd", "barrels per day",
                                                                                "barrels a day"))})
    found = term.search(text)
    assert found is not None and quantity.from_match(found) == Quantity(value, None)


@pytest.mark.parametrize("text", ["extends cuts to 2026", "cuts to 3.66 million tonnes", "to 3.66 million",
                                  "to 3 barrels per dayshift", "to F-16 bpd"])
def test_quantity_needs_the_unit_right_after_the_number(text):
    term = compile_term("to {quantity}", words=False,
                        placeholders={"{quantity}": quantity.quantity_pattern(("b/d", "bpd", "barrels per day"))})
    assert term.search(text) is None


def test_a_quantity_fact_loads_takes_its_spellings_and_shows_its_unit(tmp_path):
    fact = load_rules(write_rules(tmp_path, OPEC).parent, environ={}).facts["opec-cut"]
    assert (fact.known, fact.unit) == ("2000000", "b/d")
    assert fact.display("3660000") == "3.66 million b/d"
    for written in ("3.66 million b/d", "3.66mb/d", "3.66 mb/d", "3,660,000 bpd", "3.66e6", "3.66 million"):
        assert fact.normalise(written) == "3660000", written


def test_a_quantity_fact_moves_on_the_new_level_not_on_the_step(tmp_path):
    ledger = Ledger(tmp_path / "rules", OPEC, ("wire", "trade"))
    ledger.poll("wire", "OPEC+ agrees deeper cuts", hours(0),
                "Members pledged a further 2.2 million bpd, lifting total cuts to 5.86 million bpd.")
    step = ledger.poll("trade", "OPEC+ deepens cuts to 5.86mb/d", hours(1))
    assert [(c.old, c.new, c.sources) for c in step.changes.values()] == [("2000000", "5860000", 2)]
    ledger.poll("wire", "OPEC+ extends curbs to 2027", hours(2))                      # a year, no unit
    ledger.poll("trade", "Analysts say OPEC+ could take cuts to 7 million bpd", hours(3))   # a prediction
    assert ledger.value("opec-cut") == "5860000"
    assert [value for value, _ in ledger.states("opec-cut")] == ["5860000", "5860000"]


@pytest.mark.parametrize("unit,message", [
    ("b/d", "{quantity} reads a number followed by the fact's own unit: give the fact `unit: {name: ..., words: "),
    ("{name: b/d, words: [million barrels per day]}", '"million barrels per day" starts with the scale "million": '
                                                      'write the unit without it ("barrels per day")'),
    ("{name: percent, words: [pct]}", '"percent" is a rate: give it as `unit: percent`'),
])
def test_validate_says_how_to_give_quantity_a_unit(tmp_path, unit, message):
    rules = tmp_path / "rules"
    rules.mkdir()
    write_rules(rules, OPEC.replace("unit: {name: b/d, words: [bpd, barrels per day, barrels a day]}", f"unit: {unit}"))
    done = run_cli("--rules", str(rules), "validate")
    assert done.returncode == 1 and message in done.stderr, done.stderr
    assert re.search(r"\.yaml:\d+:\d+: ", done.stderr)
