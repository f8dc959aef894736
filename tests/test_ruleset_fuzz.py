"""Property tests: whatever a rules folder holds, the loader answers with a rule set or with
problems that each have a place (file, line, column) and a message; it never crashes. The term
compiler (the ``Term`` validator, ``words_regex``, the placeholders, ``compile_term`` and
``redos.check``) is fuzzed on its own too, over the regular-expression syntax people write."""

from __future__ import annotations

import io
import re
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings, strategies as st
from ruamel.yaml import YAML

from watcher.errors import RuleError
from watcher.match import Matcher, compile_term, words_regex
from watcher.models import Item
from watcher.ruleset import load_rules
from watcher.ruleset.terms import term_problem
from watcher.text import redos, regexsource
from watcher.text.guards import GUARDS
from watcher.text.quantity import PLACEHOLDERS
from watcher.text.view import ItemView

KEYS = ["settings", "feeds", "facts", "alerts", "channels", "url", "interval", "tags", "describe", "known",
        "values", "ordered", "kind", "unit", "signals", "value", "extract", "match", "all", "any", "none",
        "scope", "within", "guards", "corroborate", "sources", "trusted", "regression", "backwards", "name",
        "on", "fact", "event", "to", "items", "notify", "severity", "title", "body", "words", "regex",
        "case_sensitive", "wire", "aid", "team"]
WORDS = ["status", "number", "text", "title", "sentence", "clause", "all", "operator", "question", "senate",
         "https://x.example/rss", "5m", "24h", "{amount} in aid", "(", ".*", "(a+)+", "${UNSET}", "console",
         "change", "contradiction", "info"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 100), st.floats(allow_nan=False, width=32),
                    st.sampled_from(WORDS), st.text(max_size=12))
keys = st.one_of(st.sampled_from(KEYS), st.text(min_size=1, max_size=8))
documents = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                          st.dictionaries(keys, inner, max_size=5)),
                         max_leaves=30)


def _dump(data, width: int = 80) -> str:
    out = io.StringIO()
    yaml = YAML(typ="rt")
    yaml.width = width
    yaml.dump(data, out)
    return out.getvalue()


def _check(text: str) -> None:
    folder = Path(tempfile.mkdtemp(prefix="rules-"))
    try:
        (folder / "rules.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            load_rules(folder, environ={})
        except RuleError as exc:
            assert exc.problems
            for problem in exc.problems:
                assert problem.file.endswith("rules.yaml")
                assert problem.line >= 1 and problem.col >= 1
                assert problem.message.strip()
    finally:
        shutil.rmtree(folder)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_any_yaml_document_loads_or_reports_located_problems(data):
    _check(_dump({"facts": data} if isinstance(data, list) else data))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["feeds", "facts", "alerts", "channels", "settings"]), documents,
                       min_size=1, max_size=5))
def test_any_sections_load_or_report_located_problems(data):
    _check(_dump(data))


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=200))
def test_any_text_loads_or_reports_located_problems(text):
    _check(text)


def _maybe(strategy):
    """Mostly the well-formed value, sometimes anything at all."""
    return st.one_of(strategy, strategy, strategy, documents)


terms = st.lists(_maybe(st.sampled_from(["senate", "aid", "pass(es|ed)", "{amount} in aid", "(", "a.*b",
                                         "(x+)+y", "{name} named chair"])), max_size=3)
match_blocks = st.fixed_dictionaries({"all": terms}, optional={
    "any": terms, "none": terms, "scope": _maybe(st.just(["title"])),
    "within": _maybe(st.sampled_from(["field", "sentence", "clause"])),
    "guards": _maybe(st.sampled_from(["all", [], ["question", "modal"]]))})
signals = st.fixed_dictionaries({}, optional={
    "value": _maybe(st.sampled_from(["passed", "stalled", "61bn", "Jane Doe"])),
    "extract": _maybe(st.sampled_from(["{amount} in aid", "{name} named", "no capture"])),
    "match": _maybe(match_blocks), "backwards": _maybe(st.booleans())})
facts = st.fixed_dictionaries({"describe": _maybe(st.just("a fact")), "known": _maybe(st.sampled_from(
    ["stalled", "61bn", "Jane Doe", ""]))}, optional={
    "kind": _maybe(st.sampled_from(["status", "number", "text"])),
    "values": _maybe(st.just(["stalled", "passed"])), "ordered": _maybe(st.booleans()),
    "unit": _maybe(st.just("USD")), "signals": st.lists(_maybe(signals), max_size=3),
    "corroborate": _maybe(st.fixed_dictionaries({}, optional={"sources": _maybe(st.integers(0, 4)),
                                                             "within": _maybe(st.just("1d")),
                                                             "trusted": _maybe(st.just(["wire"]))})),
    "regression": _maybe(st.sampled_from(["operator", {"sources": 3}]))})
alerts = st.fixed_dictionaries({"name": _maybe(st.sampled_from(["a", "b", "aid moved"])),
                                "on": _maybe(st.one_of(
                                    st.fixed_dictionaries({"fact": _maybe(st.just("aid"))}, optional={
                                        "event": _maybe(st.sampled_from(["change", ["pending", "review"]])),
                                        "to": _maybe(st.just(["passed"]))}),
                                    st.fixed_dictionaries({"items": _maybe(match_blocks)})))})


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.fixed_dictionaries({}, optional={
    "feeds": st.dictionaries(st.sampled_from(["wire", "other"]), _maybe(st.just({"url": "https://w.example/rss"})),
                             max_size=2),
    "facts": st.dictionaries(st.sampled_from(["aid", "amount", "chair"]), _maybe(facts), max_size=3),
    "alerts": st.lists(_maybe(alerts), max_size=3)}))
def test_rule_shaped_documents_load_or_report_located_problems(data):
    _check(_dump(data))


# -- the term compiler: whatever a term holds, it loads (and then matches without error) or it is
# -- one problem at the term's line and column --------------------------------------------------

EXAMPLES = settings.default.max_examples  # the profile's: 100, or 5000 under HYPOTHESIS_PROFILE=explore
_ATOMS = [
    "senate", "aid", "Ukraine", "a", "x", "0", "61", "é", "e\u0301", "\u0915\u094d", "𝔘", "😀", "中文", "ſ", "ß",
    " ", "  ", "\t", "-", "'", "#", "{", "}", "{}", ")", "(", "|", "]", ",", ".", "^", "$", "\\$", "\\b", "\\B",
    "\\w", "\\W", "\\d", "\\s", "\\S", "\\.", "\\ ", "\\\\", "\\(", "\\x41", "\\x4", "\\u00e9", "\\U0001F600",
    "\\U00110000", "\\N{EM DASH}", "\\N{NO SUCH NAME}", "\\0", "\\1", "\\2", "\\8", "\\q", "\\A", "\\Z", "\\z",
    "[a-z]", "[^,]", "[]a]", "[^]a]", "[[]", "[[:alpha:]]", "[a--b]", "[a&&b]", "[a||b]", "[a~~b]", "[-a]",
    "[a-]", "[z-a]", "[ \t]", "[$]", "[\\w-]", "[\\d.]", "[", "{amount}", "{number}", "{name}", "(?P=g)",
    "(?P=zz)", "(?i)", "(?x)", "(?-i)", "\n",
]
_QUANTIFIERS = ["*", "+", "?", "*?", "+?", "??", "*+", "++", "{2}", "{1,3}", "{,2}", "{2,}", "{3,1}", "{1,3}?",
                "{99999999999}", "{0,80}", " *", " ?", " {2}"]
_WRAPS = ["({})", "(?:{})", "(?P<g>{})", "(?P<num>{})", "(?={})", "(?!{})", "(?<={})", "(?<!{})", "(?>{})",
          "(?i:{})", "(?-i:{})", "(?x:{}\n)", "(?s:{})", "(?a:{})", "(?#{})", "(?(1){}|b)", "(?(g){})",
          "(?(+1){})", "[{}]", "{} ", " {}", "(?i){}", "(?x){}", "(?a){}"]

_pattern = st.recursive(
    st.sampled_from(_ATOMS),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(_QUANTIFIERS)).map("".join),
        st.tuples(st.sampled_from(_WRAPS), inner).map(lambda t: t[0].replace("{}", t[1], 1)),
        st.lists(inner, min_size=2, max_size=4).map("".join),
        st.lists(inner, min_size=2, max_size=3).map(" ".join),
        st.lists(inner, min_size=2, max_size=3).map("|".join),
    ),
    max_leaves=12,
)
_forms = st.tuples(st.sampled_from(["words", "regex"]), _pattern, st.booleans())


def _term_compiler_answers(form: str, pattern: str, case_sensitive: bool) -> str | None:
    """What the rule model says about one term; a term it accepts must compile and match."""
    problem = term_problem(pattern, words=form == "words")
    if problem is None:
        term = compile_term(pattern, words=form == "words", case_sensitive=case_sensitive)
        redos.check(term.pattern.pattern)
        view = ItemView(Item(key="k", title=f"Senate passes $61bn aid {pattern[:40]}", link=None,
                             summary="Its key rate now sits between 3 and 3.25 percent. Jane Doe named chair."))
        Matcher((term,), (), (), ("title", "summary"), "sentence", frozenset(GUARDS)).find(view)
    return problem


@settings(max_examples=4 * EXAMPLES, deadline=None)
@given(_forms)
def test_every_term_compiles_or_is_refused_in_words(form_pattern_case):
    """Warnings are errors here: a pattern ``re`` would only warn about must be refused too."""
    problem = _term_compiler_answers(*form_pattern_case)
    assert problem is None or problem.strip()


@settings(max_examples=3 * EXAMPLES, deadline=None)
@given(_pattern)
def test_a_valid_regex_stays_valid_as_a_pattern_of_words(pattern):
    """``words_regex`` never breaks what ``re`` accepts: spaces in a look-behind, leading flags,
    comments, classes and escapes survive the rewriting."""
    assume(not any(token in pattern for token in PLACEHOLDERS) and pattern.strip())
    assume(regexsource.ambiguity(pattern) is None)
    try:
        re.compile(pattern)
    except (re.error, OverflowError):
        assume(False)
    assume(not pattern[:1].isspace() or not pattern.lstrip().startswith("(?"))
    re.compile(words_regex(pattern), re.IGNORECASE)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_forms, min_size=1, max_size=3), st.sampled_from(["all", "any", "none", "about", "extract"]))
def test_every_term_in_a_rule_file_loads_or_is_one_located_problem(forms, place):
    """Through the loader, as `watcher validate`, a reload and `watcher explain` run it: each
    broken term is exactly one problem, at the term's own line and column."""
    terms = [{form: pattern, "case_sensitive": case} for form, pattern, case in forms]
    if place == "extract":
        doc = {"facts": {"amount": {"describe": "d", "kind": "number", "known": "1", "signals": [
            {"extract": term, "match": {"all": ["aid"], "within": "sentence"}} for term in terms]}}}
    else:
        match = {"all": ["aid"], place: terms, "within": "sentence"}
        doc = {"alerts": [{"name": "a", "on": {"items": match}}]}
    text = _dump(doc, width=100_000)  # each term on the line of its key
    folder = Path(tempfile.mkdtemp(prefix="rules-"))
    try:
        (folder / "rules.yaml").write_text(text, encoding="utf-8")
        try:
            load_rules(folder, environ={})
            broken = []
        except RuleError as exc:
            broken = exc.problems
        lines = text.splitlines()
        term_lines = [n for n, line in enumerate(lines, 1) if line.lstrip(" -").startswith(("words:", "regex:"))]
        assert len(term_lines) == len(forms), text
        wrong = {line for line, (form, pattern, _) in zip(term_lines, forms, strict=True)
                 if term_problem(pattern, words=form == "words")}
        for problem in broken:
            assert problem.file.endswith("rules.yaml") and problem.line >= 1 and problem.col >= 1
            assert problem.message.strip()
        located = [p.line for p in broken if p.line in term_lines]
        assert sorted(located) == sorted(wrong), (text, [str(p) for p in broken])
        if place != "extract":  # an extract also needs exactly one capture, reported at `extract:`
            assert len(broken) == len(wrong), (text, [str(p) for p in broken])
    finally:
        shutil.rmtree(folder)
