"""Property tests: whatever a rules folder holds, the loader answers with a rule set or with
problems that each have a place (file, line, column) and a message; it never crashes."""

from __future__ import annotations

import io
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st
from ruamel.yaml import YAML

from watcher.errors import RuleError
from watcher.ruleset import load_rules

KEYS = ["settings", "feeds", "facts", "alerts", "channels", "url", "interval", "tags", "describe", "known",
        "values", "ordered", "kind", "unit", "signals", "value", "extract", "match", "all", "any", "none",
        "scope", "within", "guards", "corroborate", "sources", "trusted", "regression", "backwards", "name",
        "on", "fact", "event", "to", "items", "notify", "severity", "title", "body", "words", "regex",
        "case_sensitive", "wire", "aid", "team", "terms", "facts", "ignore", "confirm_only"]
WORDS = ["status", "number", "text", "title", "sentence", "clause", "all", "operator", "question", "senate",
         "https://x.example/rss", "5m", "24h", "{amount} in aid", "(", ".*", "(a+)+", "${UNSET}", "console",
         "change", "contradiction", "info"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 100), st.floats(allow_nan=False, width=32),
                    st.sampled_from(WORDS), st.text(max_size=12))
keys = st.one_of(st.sampled_from(KEYS), st.text(min_size=1, max_size=8))
documents = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                          st.dictionaries(keys, inner, max_size=5)),
                         max_leaves=30)


def _dump(data) -> str:
    out = io.StringIO()
    YAML(typ="rt").dump(data, out)
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


_lists = st.sampled_from(["a", "b", "c", "d"])
_entries = st.one_of(st.sampled_from(["x", "(", "y z", 5]), _lists.map(lambda name: {"terms": name}))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_lists, st.lists(_entries, max_size=4), max_size=4), st.lists(_entries, min_size=1, max_size=3))
def test_term_lists_using_each_other_in_any_shape_load_or_report_located_problems(lists, used):
    """Named lists that use each other (in circles, through unknown or broken lists) never crash
    the loader and never stall it."""
    _check(_dump({"terms": lists, "alerts": [{"name": "x", "on": {"items": {"any": used}}}]}))


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
