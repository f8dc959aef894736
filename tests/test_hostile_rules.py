"""Rule patterns against hostile text: the engine bounds matching time itself.

A bounded nested repeat, ``(a{1,30}){1,30}b``, passes the pattern check and once took 18 s on
one title (28 a's and a "!"), freezing the whole daemon. Now RE2 runs every pattern it can, in
linear time, with ``re``'s exact results (the differential tests below), and the rest run with
a time limit per item, releasing the GIL, flagged when they run out of it.
"""

from __future__ import annotations

import itertools
import re
import signal
import time
from datetime import datetime, UTC

import pytest
from hypothesis import given, settings, strategies as st

from bench import micro, rulesgen
from conftest import ROOT, rfc822, run_cli, write_rules
from daemon import DaemonProcess
from servers import rss
from watcher.explain import explain_item
from watcher.facts import observe
from watcher.match import compile_term, match_items
from watcher.models import Item, StoredItem
from watcher.ruleset import load_rules
from watcher.text import redos
from watcher.text.patterns import SlowPattern

HOSTILE = "a" * 28 + "!"
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _reference(term, text: str) -> list[tuple]:
    """What Python's ``re`` finds: the engine every rule was written and tested against."""
    return [(m.span(), m.group(0), m.groupdict()) for m in itertools.islice(term.pattern.finditer(text), 50)]


def _engine(term, text: str) -> list[tuple]:
    return [(m.span(), m.group(0), m.groupdict()) for m in term.finditer(text, 50)]


def _same(term, text: str) -> None:
    assert _engine(term, text) == _reference(term, text), (term.source, term.engine, text)
    first, expected = term.search(text), term.pattern.search(text)
    assert (first.span() if first else None) == (expected.span() if expected else None), (term.source, text)


def test_the_nested_repeat_that_froze_the_daemon_runs_on_the_linear_engine():
    term = compile_term("(a{1,30}){1,30}b", words=True)
    assert redos.check(term.pattern.pattern) is None              # the pattern check lets it through
    assert term.engine == "re2", term.why_budget
    assert term.search(HOSTILE) is None and term.finditer(HOSTILE * 100, 50) == []
    assert term.search("x " + "a" * 40 + "b y").span() == (2, 43)


@pytest.mark.parametrize("source,words,why", [
    ("(a{1,30}){1,30}(?!c)b", True, "a lookaround"),
    (r"(\w+) and \1", False, "a back-reference"),
    ("a++b", False, "a possessive repeat"),
    ("naïve", True, "characters beyond ASCII"),
    ("end$", False, "$"),
])
def test_what_re2_cannot_run_says_why_and_gets_a_time_limit(source, words, why):
    term = compile_term(source, words=words)
    assert term.engine == "budget" and why in term.why_budget, term.why_budget


def test_a_slow_pattern_costs_one_item_its_match_and_is_flagged(tmp_path):
    write_rules(tmp_path, """\
feeds:
  wire: {url: "http://127.0.0.1:9/feed"}
facts:
  aid:
    describe: aid
    values: [stalled, passed]
    known: stalled
    signals:
      - value: passed
        match: {all: ["(a{1,30}){1,30}(?!c)b"], guards: []}
alerts:
  - name: slow
    on: {items: {all: ["(a{1,30}){1,30}(?!c)b"]}}
  - name: linear
    on: {items: {all: ["(a{1,30}){1,30}b"]}}
  - name: plain
    on: {items: {all: [aaaa]}}
""")
    ruleset = load_rules(tmp_path, channels=False)
    def item(n: int, title: str) -> StoredItem:
        return StoredItem(n, "wire", Item(key=str(n), title=title, link=None, summary=""), NOW)

    fine, hostile, later, more = item(1, "aaab and aaaa"), item(2, HOSTILE), item(3, "aaab again"), item(4, HOSTILE)
    slow: list = []
    matches = match_items(ruleset.item_rules, [fine, hostile, later, more], ruleset.index, slow=slow)
    assert [(m.rule, m.item.id) for m in matches] == [("slow", 1), ("linear", 1), ("plain", 1), ("linear", 3)]
    # out of time on the hostile item: not matched, and given up for the rest of the poll's items
    pattern = "(a{1,30}){1,30}(?!c)b"
    assert slow == [("slow", hostile, pattern), ("slow", later, pattern), ("slow", more, pattern)]
    observed: list = []
    found = observe(ruleset.facts, [fine, hostile, later, more], ruleset.index, slow=observed)
    assert [o.item.id for o in found] == [1]
    assert observed == [("aid signal 0", s, pattern) for s in (hostile, later, more)]
    # one time limit spent per rule and poll, however many hostile items it carries
    assert [(s["rule"], s["timeouts"]) for s in ruleset.slow_terms()] == [('alert "slow"', 1),
                                                                          ('fact "aid" signal 0', 1)]
    explained = explain_item(ruleset, hostile)
    assert explained.rules[0].report.reason.startswith("slow: the pattern '(a{1,30}){1,30}(?!c)b' took longer")
    assert explained.rules[1].report.reason != explained.rules[0].report.reason   # the linear one just says why not
    done = run_cli("--rules", str(tmp_path), "validate")
    assert done.returncode == 1
    assert "alert \"slow\": the pattern '(a{1,30}){1,30}(?!c)b' is slow: it uses a lookaround" in done.stderr
    assert '"linear"' not in done.stderr                          # on RE2: nothing to report


# -- the same results as re: differential tests ------------------------------------------------

TEXTS = ["Senate passes $61bn Ukraine aid; House next", "U.S. Sen. Roger Wicker was named chair of armed services",
         "Zelenskyy’s “drone” co-production deal — $60.8-billion package", "ſenate ſays the K-9 İstanbul ıs here",
         "Ukrainé naïve café, 5,000 troops, ٣٤ drones and ２０２４", "foreign\n aid\u00a0bill\u2009passed\tTODAY",
         "H.R. 815 and H.R.8035, S. 2226: air-defence systems", "a" * 40 + "!" + " aid " * 3, ""]
ALPHABET = st.sampled_from(list("aAbBcdeEisSkKrtnoUu019 -.,;:'$€_\n\t") + ["\u00a0", "é", "É", "ü", "ß", "ſ", "K",
                                                                         "İ", "ı", "’", "“", "—", "٣", "中", "\u0301"])


def _words(sources: list[str]) -> list[str]:
    """Words the patterns name, so generated text matches them now and then."""
    return sorted({w for s in sources for w in re.findall(r"[A-Za-z]{3,}", s)})[:200] or ["aid"]


def _bundled_and_bench_terms(tmp_path_factory) -> list:
    bench_rules = rulesgen.write(tmp_path_factory.mktemp("bench") / "rules", feeds=1,
                                 base_url="http://127.0.0.1:9/v", rules=200)
    terms = [t for _, t in load_rules(ROOT / "rules", channels=False).terms()]
    terms += [t for _, t in load_rules(bench_rules, channels=False).terms()]
    return list({(t.source, t.pattern.pattern, t.pattern.flags): t for t in terms}.values())


@pytest.fixture(scope="module")
def rule_terms(tmp_path_factory) -> list:
    return _bundled_and_bench_terms(tmp_path_factory)


def test_bundled_and_benchmark_rules_match_as_re_does_on_fixed_texts(rule_terms):
    assert sum(t.engine == "re2" for t in rule_terms) >= 0.9 * len(rule_terms)   # almost all in linear time
    for term in rule_terms:
        for text in TEXTS:
            _same(term, text)


def test_bundled_and_benchmark_rules_match_as_re_does_on_the_farms_items(rule_terms):
    items = micro.farm_items(4)                                   # 200 news-like items of the benchmark farm
    for term in rule_terms:
        for stored in items:
            for field in ("title", "summary"):
                _same(term, stored.item.text(field, stored.feed))


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_bundled_and_benchmark_rules_match_as_re_does_on_generated_text(rule_terms, data):
    words = _words([t.source for t in rule_terms])
    pieces = st.one_of(st.sampled_from(words), st.text(ALPHABET, max_size=4), st.sampled_from([" ", ", ", ". "]))
    text = "".join(data.draw(st.lists(pieces, max_size=40)))
    for term in rule_terms:
        _same(term, text)


def _atoms() -> st.SearchStrategy[str]:
    return st.sampled_from(["a", "b", "ab", "aid", "s", "K", r"\w", r"\d", r"\s", r"\W", ".", "[a-c]", "[^a ]",
                            r"[\w-]", r"\$", "-", " ", r"\b", "[0-9]", "(?i:b)", "(?-i:S)"])


def _patterns() -> st.SearchStrategy[str]:
    def grow(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(inner, inner).map("".join),
            st.tuples(inner, inner).map(lambda p: f"(?:{p[0]}|{p[1]})"),
            st.tuples(inner, st.sampled_from(["?", "*", "+", "{1,3}", "{2}", "??", "*?", "+?"]))
              .map(lambda p: f"(?:{p[0]}){p[1]}"),
            inner.map(lambda p: f"(?P<value>{p})"),
        )
    return st.recursive(_atoms(), grow, max_leaves=6)


@settings(max_examples=400, deadline=None)
@given(_patterns(), st.booleans(), st.booleans(), st.text(ALPHABET, max_size=30))
def test_generated_patterns_match_as_re_does(pattern, words, case_sensitive, text):
    if pattern.count("(?P<value>") > 1 or redos.check(pattern) is not None:
        return                                                    # invalid, or refused when the rules load
    try:
        term = compile_term(pattern, words=words, case_sensitive=case_sensitive)
    except re.error:
        return
    try:
        _same(term, text)
    except SlowPattern:
        pass                                                      # the time limit at work, not a difference


# -- the daemon keeps going while a pattern runs out of time ------------------------------------

@pytest.mark.slow
def test_a_slow_pattern_never_stalls_health_checks_or_polls(tmp_path, rules_dir, feed_server):
    now = rfc822(datetime.now(UTC))
    feed_server.set("/hostile.xml", rss([{"title": HOSTILE, "guid": f"h{n}", "pubDate": now,
                                          "description": HOSTILE} for n in range(40)]))
    feed_server.set("/healthy.xml", rss([{"title": "Healthy story", "guid": "ok", "pubDate": now}]))
    write_rules(rules_dir, f"""\
settings: {{interval: 1s, backlog: {{alerts: 1d}}}}
feeds:
  hostile: {{url: "{feed_server.url('/hostile.xml')}"}}
  healthy: {{url: "{feed_server.url('/healthy.xml')}"}}
alerts:
  - name: slow
    on: {{items: {{all: ["(a{{1,30}}){{1,30}}(?!c)b"]}}}}
  - name: linear
    on: {{items: {{all: ["(a{{1,30}}){{1,30}}b"]}}}}
""")
    daemon = DaemonProcess(tmp_path, {"WATCHER_RULES": str(rules_dir), "WATCHER_DB": str(tmp_path / "w.db")})
    try:
        daemon.wait_for(r"rule too slow; the items are recorded as not matched by it rule=slow feed=hostile "
                        r"items=40 first_item=\d+")
        healthy_before = feed_server.count("/healthy.xml")
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:                        # while the hostile items are matched
            code, _ = daemon.get("/healthz")
            assert code == 200
            time.sleep(0.2)
        assert feed_server.count("/healthy.xml") >= healthy_before + 3
        status = daemon.json("/api/status")[1]
        assert any(s["rule"] == 'alert "slow"' and s["timeouts"] >= 1 for s in status["slow_rules"]), status
        assert "Slow rules" in daemon.get("/")[1]
        assert not any(s["rule"] == 'alert "linear"' for s in status["slow_rules"])
        daemon.signal(signal.SIGTERM)
        assert daemon.wait() == 0
    finally:
        daemon.kill()
    assert "Traceback" not in daemon.log()
