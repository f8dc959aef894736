"""Guards, NegEx-style: each cue class, direction, scope end, terminator and pseudo-cue has a
sentence it refuses and one it accepts; and a list of plain news that must never be refused."""

from __future__ import annotations

import re

import pytest

from conftest import doc_text, run_cli
from watcher.models import Item
from watcher.ruleset.load import compile_matcher
from watcher.ruleset.schema import MatchSpec
from watcher.text import cues, guards, inventory
from watcher.text.view import ItemView


def refused_by(title: str, term: str, summary: str = "", categories: tuple[str, ...] = ()) -> str | None:
    """The guard that refuses every occurrence of ``term`` in ``title`` (None: some occurrence counts)."""
    matcher = compile_matcher(MatchSpec.model_validate({"all": [term], "scope": ["title", "summary"],
                                                        "guards": "all"}))
    view = ItemView(Item(key="k", title=title, link=None, summary=summary, categories=categories))
    occurrences = matcher.scan(view)[matcher.all[0]]
    assert occurrences, f"{term!r} is not in {title!r}"
    cues_found = [cue for _, _, cue in occurrences]
    return None if None in cues_found else cues_found[0].guard


def reach(text: str, cue: str) -> str:
    """The text the cue ``cue`` of ``text`` reaches."""
    found = [r for r in guards.read(text, [(0, len(text))]) if r.cue.text == cue]
    assert len(found) == 1, (cue, [r.cue.text for r in guards.read(text, [(0, len(text))])])
    return text[found[0].lo:found[0].hi]


# (sentence, term, the guard that refuses it or None), two a rule: refused, then accepted
PAIRS = [
    # question: "?" reaches back, an interrogative opening forward, each to the end of its clause
    ("Will the Senate pass the aid?", "pass", "question"),
    ("Senate passes aid, but will the House follow?", "passes", None),           # clause mark and 'but'
    ("Why did the Senate pass the Ukraine aid", "pass", "question"),              # an auxiliary: it asks
    ("Why the Senate passed the Ukraine aid", "passed", None),                   # none: it explains
    ("Will the WHO declare a pandemic", "declare", "question"),
    ("WHO declares the outbreak over", "declares", None),                        # an acronym, not "who"
    ("Ukraine aid: will Congress pass it", "pass", "question"),                  # opening after a heading
    ("Congress passes aid; what comes next?", "passes", None),                   # another sentence
    ("Ministers are weighing whether to raise the fuel tax", "raise the fuel tax", "question"),  # indirect
    ("Ministers raise the fuel tax, whether drivers like it or not", "raise the fuel tax", None),
    # negation, forward
    ("Watchdog blocks the merger of two banks", "merger", "negation"),
    ("Watchdog blocks the merger of two banks", "watchdog", None),               # before a forward cue
    ("Senate hasn't passed Ukraine aid", "passed", "negation"),                  # n't is a word
    ("Senate fails to pass the aid bill", "pass", "negation"),
    ("Never before had a single Senate session approved so much aid", "approved", None),  # 5 words
    ("Never has the Senate approved so much aid", "approved", "negation"),
    # a denied verb reaches back to its subject, over a parenthetical attribution
    ("Human trials, the company said on Monday, have not begun", "human trials", "negation"),
    ("Human trials began and the company has not commented", "human trials began", None),  # "and" ends it
    ("Human trials, which began in May, have not been halted", "human trials", None),     # not an attribution
    ("Strike called off after last-minute deal", "strike", "negation"),
    ("Strike goes ahead after talks called off", "strike goes ahead", None),
    ("Court overturns ban on street protests", "ban on street protests", "negation"),
    ("Ban on street protests upheld by court", "ban on street protests", None),
    # negation, backward and both
    ("Reports that the Senate passed the aid were denied", "passed", "negation"),
    ("Kremlin denied the troops crossed the border", "crossed", "negation"),     # "denied" both ways
    ("Rate cut ruled out by the central bank", "rate cut", "negation"),
    ("Claims that the bank cut rates are false", "cut rates", "negation"),
    ("Bank cut rates after claims of a leak proved false", "cut rates", None),   # 'after' ends it
    # negation: terminators and clause marks end the scope
    ("No deal on tariffs yet, but Senate passes stopgap", "passes", None),
    ("No deal on tariffs, Senate passes stopgap", "passes", None),
    ("No deal on tariffs and no stopgap passes", "passes", "negation"),
    ("Talks fail to yield a deal as Senate approves aid", "approves", None),
    ("Talks fail to yield a deal", "yield", "negation"),
    # negation: pseudo-cues
    ("Senate passes not only Ukraine aid but border funds", "ukraine aid", None),
    ("Senate passes no Ukraine aid", "ukraine aid", "negation"),
    ("No. 2 Senate Republican backs the aid bill", "backs", None),
    ("No Senate Republican backs the aid bill", "backs", "negation"),
    ("Rates rise by no more than 25 basis points", "25 basis points", None),
    ("Senate passes aid without delay", "passes", None),
    ("Senate adjourns without passing aid", "passing", "negation"),
    # modal, forward
    ("Senate expected to pass aid bill", "pass", "modal"),
    ("Senate expected to pass aid bill", "senate", None),                        # before the cue
    ("Bank set to raise rates to 5.5%", "raise rates", "modal"),
    ("Rate set to 5.5% after central bank vote", "5.5%", None),                  # 'set to' a number
    ("Senate may pass Ukraine aid", "pass", "modal"),
    ("Senate passes Ukraine aid in May vote", "passes", None),                   # May the month
    ("Senate passes Ukraine aid ahead of recess", "passes", None),
    ("Markets rally ahead of a rate cut", "rate cut", "modal"),
    ("Senate would pass aid if the House agreed", "pass", "modal"),
    ("Senate passes aid amid fears the House will block it", "passes", None),   # 'amid'
    ("Analysts say shares will rally on the back of the record growth figures", "growth figures", None),  # 6 words
    ("Analysts say shares will rally on growth figures", "growth figures", "modal"),
    # a hypothetical (would, could, might) reaches to the end of its clause, as ConText's do
    ("That would bring the group's total cuts back to 3.66 million bpd", "3.66 million bpd", "modal"),
    ("Such a move could help exporters, but the bank cut rates to 3%", "cut rates to 3%", None),   # 'but'
    ("Traders bet the WHO declares an emergency this month", "declares an emergency", "modal"),
    ("Investors are betting that the bank cuts rates in June", "cuts rates", "modal"),
    ("Traders cut their bets as the bank raised rates to 5%", "raised rates", None),   # bets: a noun here
    ("M5 to close overnight for resurfacing", "close overnight", "modal"),       # headline "to" + verb
    ("M5 votes to close overnight for resurfacing", "close overnight", None),    # a verb before "to"
    ("The FOMC voted 10 to 2 to cut rates to 4%-4.25%", "cut rates", None),     # a decision taken
    ("Union agreed to end the strike", "end the strike", None),
    ("Traders bet on a September rate cut", "rate cut", "modal"),
    ("Rail strike set for Friday", "rail strike", "modal"),
    ("Markets brace for a rate hike", "rate hike", "modal"),
    ("Markets rally after a rate hike", "rate hike", None),
    ("Acme in talks to buy a rival", "buy a rival", "modal"),
    ("Markets price in a rate cut", "rate cut", "modal"),
    ("Union threatens a strike", "strike", "modal"),
    ("Economists expect the bank to cut rates", "cut rates", "modal"),
    ("Greens favourites to win the seat", "win the seat", "modal"),
    ("Greens eye a majority", "majority", "modal"),
    ("Regulator keeps an eye on the merger", "merger", None),                  # "an eye": a noun
    ("Acme's May sales beat forecasts", "sales beat", None),                     # May after a possessive
    ("Acme is pleased to announce the appointment of a new chief", "appointment", None),
    ("Canada spared from new lumber tariffs", "lumber tariffs", "negation"),
    # modal, backward
    ("Senate vote on Ukraine aid expected", "vote", "modal"),
    ("Senate passage of the aid unlikely", "passage", "modal"),
    # modal: pseudo-cues
    ("Bank cuts rates by more than expected to 3.5%", "3.5%", None),
    ("Bank cuts rates by more than expected to 3.5%", "cuts rates", None),
    ("Bank expected to cut rates to 3.5%", "3.5%", "modal"),
    ("Fed raises rates, as expected, to 5.5%", "5.5%", None),
    ("Putin says the will of the people is clear", "clear", None),
    ("Putin says the people will decide", "decide", "modal"),
    # opinion
    ("Zelensky urges Senate to pass Ukraine aid", "pass", "opinion"),
    ("President asks Congress for $40 billion in disaster aid", "$40 billion", None),  # no "to": a request
    ("President asks Congress to approve $40 billion in disaster aid", "approve", "opinion"),
    ("Senators stall relief bill over budget demands", "stall", None),
    ("Union demands a 5% pay rise", "5% pay rise", "opinion"),
    ("Strikers win wage demands for a 5% pay rise", "5% pay rise", None),
    ("It's time to pass the aid, senators say", "pass", "opinion"),
    ("Congress passes stopgap in time to avert shutdown", "avert", None),
    ("Editorial board calls for rate cut", "rate cut", "opinion"),
    ("Opinion: it is time to pass the aid", "pass", "opinion"),                  # the whole item
    ("The Guardian view on the budget: a missed chance", "budget", "opinion"),   # an editorial's title
    ("The market view on rate hikes shifts", "rate hikes shifts", None),
]


@pytest.mark.parametrize("text,term,guard", PAIRS, ids=[f"{t[:40]}|{term}" for t, term, _ in PAIRS])
def test_each_cue_refuses_only_what_it_reaches(text, term, guard):
    assert refused_by(text, term) == guard


@pytest.mark.parametrize("text,term,guard", [
    ("Senate expected to pass aid bill", "pass", "modal"),
    ("Bank set to raise rates to 5.5%", "raise", "modal"),
    ("Will the Senate pass the aid?", "senate", "question"),
    ("The House has not passed the package", "passed", "negation"),
    ("Opinion: it is time to pass the aid", "pass", "opinion"),
    ("No deal on tariffs yet, but Senate passes stopgap", "senate passes stopgap", None),
    ("Senators stall relief bill over budget demands", "relief bill", None),
    ("President asks Congress for $40 billion in disaster aid", "disaster aid", None),
    ("Bank cuts rates by more than expected to 3.5%", "rates", None),
])
def test_the_examples_of_the_issue(text, term, guard):
    assert refused_by(text, term) == guard


# Duckling-style negative corpus: plain news that no guard may refuse (the term is the news).
NEVER_REFUSED = [
    ("Senators stall relief bill over budget demands", "stall"),
    ("President asks Congress for $40 billion in disaster aid", "\\$40 billion"),
    ("Bank cuts rates by more than expected to 3.5%", "3.5%"),
    ("No deal on tariffs yet, but Senate passes stopgap", "passes"),
    ("Senate passes Ukraine aid in May vote", "passes"),
    ("Fed raises rates as expected", "raises"),
    ("Unemployment falls to 3.9%, lower than expected", "falls"),
    ("Senate passes aid after House fails to act", "passes"),
    ("House passes aid, Senate vote expected next week", "house passes"),
    ("Senate passes bill that would fund Ukraine aid", "passes"),
    ("Rate set to 5.5% after central bank vote", "5.5%"),
    ("No. 2 Senate Republican backs aid bill", "backs"),
    ("Congress passes stopgap in time to avert shutdown", "passes"),
    ("Oil prices climb on strong demand", "climb"),
    ("Strikers win wage demands as company raises pay", "raises pay"),
    ("Senate approves aid without amendments", "approves"),
    ("Bank raises rates to 5.5%, highest since 2001", "5.5%"),
    ("Parliament approves budget, ending months of deadlock", "approves"),
    ("WHO declares mpox emergency over", "declares"),
    ("Senate passes not only Ukraine aid but border funds", "border funds"),
    ("Government raises fuel tax, which critics say will hurt drivers", "raises fuel tax"),
    ("Shares fall as investors weigh rate outlook", "shares fall"),
    ("Senate passes $95 billion aid package as House prepares to vote", "\\$95 billion"),
    ("Senate passes aid; House will not vote before May", "senate passes"),
    ("Congress approves as much as $60 billion in aid", "\\$60 billion"),
    ("Fed holds rates steady, says it will watch data", "holds rates"),
    ("Why the Senate passed the farm bill so quickly", "passed the farm bill"),
    ("How the union won a 5% pay rise", "won a 5% pay rise"),
    ("Acme is pleased to announce the appointment of Jane Doe as chief executive", "appointment"),
    ("Acme's May sales beat forecasts", "sales beat"),
    ("Senate votes to approve the aid package", "approve the aid package"),
]


@pytest.mark.parametrize("text,term", NEVER_REFUSED, ids=[t[:40] for t, _ in NEVER_REFUSED])
def test_plain_news_is_never_refused(text, term):
    assert refused_by(text, term) is None


def test_to_before_a_verb_is_what_is_to_come_only_in_a_title():
    assert refused_by("House to approve the package", "approve the package") == "modal"
    assert refused_by("Border package", "approve the package",
                      summary="The House voted on Wednesday to approve the package.") is None


def test_a_summary_sentence_does_not_refuse_the_headline():
    assert refused_by("Senate passes Ukraine aid", "passes", summary="The House will not pass it soon.") is None


def test_opinion_by_category_refuses_the_whole_item():
    assert refused_by("Senate passes Ukraine aid", "passes", categories=("Opinion",)) == "opinion"


@pytest.mark.parametrize("text,cue,reached", [
    ("Senate expected to pass aid bill", "expected to", "expected to pass aid bill"),     # forward
    ("Senate vote on Ukraine aid expected", "expected", "vote on Ukraine aid expected"),  # backward, 4 words
    ("Reports of a deal on the aid were denied by officials", "denied",
     "deal on the aid were denied by officials"),                                          # both, 5 words
    ("No deal on tariffs yet, but Senate passes stopgap", "No", "No deal on tariffs yet"),  # clause mark
    ("No deal on tariffs yet but Senate passes stopgap", "No", "No deal on tariffs yet"),   # terminator
    ("Officials fail to agree over rates", "fail to", "fail to agree"),                    # 'over'
    ("The House has not passed the package and never will", "has not",
     "The House has not passed the package and"),                                # same guard; both ways
    ("President asks Congress to approve $40 billion in aid", "asks", "asks Congress to approve $40 billion in aid"),
    ("President asks Congress for $40 billion in aid", "asks", "asks"),                     # no 'to'
    ("Will the Senate, at last, pass the aid?", "?", "pass the aid?"),
    ("Will the Senate, at last, pass the aid?", "Will", "Will the Senate"),
])
def test_what_a_cue_reaches(text, cue, reached):
    assert reach(text, cue) == reached


def test_a_pseudo_cue_at_the_same_place_beats_the_cue_and_the_longest_phrase_wins():
    found = [r.cue.text for r in guards.read("Budget demands grow", [(0, 19)])]
    assert found == []
    text = "Senate no longer opposes aid"
    assert [r.cue.text for r in guards.read(text, [(0, len(text))])] == ["no longer"]


def test_the_inventory_is_well_formed():
    for guard, rules in cues.CUES.items():
        assert guard in guards.GUARDS and guard in cues.DEFAULT_SCOPE and guard in cues.PSEUDO
        for rule in rules:
            assert rule.direction in cues.DIRECTIONS, rule
            assert rule.phrase == rule.phrase.lower() or rule.phrase == "?", rule
            assert "#" not in rule.phrase.split(), rule            # numbers only in pseudo-cues
            assert rule.through is None or rule.direction == "forward", rule
    phrases = [r.phrase for rules in cues.CUES.values() for r in rules]
    assert len(phrases) == len(set(phrases)), "a cue is listed twice"


@pytest.mark.parametrize("term,expected", [
    ("sets?", [("modal", "set to", "set"), ("modal", "set for", "set")]),
    ("expected", [("modal", "expected to", "expected")]),
    ("fails? to advance", []),                  # holds the whole cue: meant
    ("rules out", []),                          # is the whole cue: meant
    ("raises?", []),
    ("time", [("opinion", "it's time to", "time"), ("opinion", "it is time to", "time"),
              ("opinion", "time to", "time")]),
])
def test_terms_that_can_switch_a_cue_off(term, expected):
    pattern = re.compile(r"(?<!\w)(?:" + term.replace(" ", r"\s+") + r")(?!\w)", re.IGNORECASE)
    found = [(c.guard, c.cue, c.matched) for c in inventory.cancelled_by(pattern, guards.GUARDS)]
    assert found == expected


def test_a_term_that_starts_or_ends_inside_a_cue_switches_it_off_and_is_found():
    def cancels(term: str) -> set[tuple[str, str]]:
        pattern = re.compile(r"(?<!\w)(?:" + term.replace(" ", r"\s+") + r")(?!\w)", re.IGNORECASE)
        return {(c.cue, c.matched) for c in inventory.cancelled_by(pattern, guards.GUARDS, term)}
    assert {("likely to", "to"), ("expected to", "to")} <= cancels("to convene")
    assert ("likely to", "likely") in cancels("most likely")
    assert not any(cue == "likely to" for cue, _ in cancels("convene"))
    # the engine does ignore such a cue: the term is what the rule asks for
    assert refused_by("WHO likely to convene committee", "convene") == "modal"
    assert refused_by("WHO likely to convene committee", "to convene") is None


def test_validate_warns_about_a_term_that_starts_inside_a_cue(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "r.yaml").write_text("feeds:\n  f: {url: 'https://f.example/rss'}\nfacts:\n  who:\n"
                                  "    describe: d\n    values: [a, b]\n    known: a\n    signals:\n"
                                  "      - value: b\n        match: {all: [to convene]}\n")
    done = run_cli("--rules", str(rules), "validate", "--strict")
    assert done.returncode == 1 and "r.yaml:10:" in done.stderr, done.stderr
    assert "the term 'to convene' can match 'to' of the " in done.stderr
    assert "write 'convene' to leave the cue alone" in done.stderr


def test_forms_spell_out_every_wording():
    assert inventory.forms(cues.CueRule("fail|fails to")) == ["fail to", "fails to"]


def test_the_cue_table_of_the_facts_doc_is_the_inventory():
    facts_doc = doc_text("facts.md")
    start = facts_doc.index("<!-- cue table: generated from watcher/text/cues.py -->\n")
    end = facts_doc.index("\n<!-- end of cue table -->", start)
    shown = facts_doc[facts_doc.index("\n", start) + 1:end]
    assert shown == inventory.cue_table(), "docs/facts.md's cue table is out of date: paste the output of " \
        "python -c 'from watcher.text.inventory import cue_table; print(cue_table())'"
