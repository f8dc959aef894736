"""The labelled headline set (tests/data/headlines/) that ``python -m bench.guards`` measures the
guards on: every entry well formed, the mix as promised.

Read here without the bench code, so a broken entry fails the suite even where nobody runs the
benchmark. ``problems`` says what is wrong with a folder of topic files; the set itself must
have none, and a copy with one entry broken must be caught.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from conftest import ROOT
from watcher.identity import html_to_text

HEADLINES = ROOT / "tests" / "data" / "headlines"

REQUIRED = ("id", "title", "summary", "evidence", "in", "label")
OPTIONAL = ("note", "held_out")
LABELS = ("report", "question", "negation", "prediction", "opinion", "rumour")
TRAPS = ("question", "negation", "prediction", "opinion")
FIELDS = ("title", "summary")
ID = re.compile(r"[a-z]+-\d{3}")

# the mix the set promises (see docs/facts.md, "How the guards are measured")
MIN_ENTRIES, MIN_TOPICS = 420, 8
MIN_REPORT_SHARE, MIN_TRAP, MIN_RUMOUR = 0.45, 40, 20
MIN_SUMMARY_SHARE = 0.30
HELD_OUT_SHARE = (0.28, 0.40)   # "about a third"


def load(folder: Path) -> dict[str, list]:
    """Topic (file stem) -> its entries, as YAML gives them."""
    yaml = YAML(typ="safe")
    return {path.stem: yaml.load(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.yaml"))}


def entry_problems(where: str, entry: object) -> list[str]:
    if not isinstance(entry, dict):
        return [f"{where}: not a mapping"]
    found = []
    missing = [k for k in REQUIRED if k not in entry]
    unknown = sorted(set(entry) - set(REQUIRED) - set(OPTIONAL))
    if missing:
        found.append(f"{where}: missing {', '.join(missing)}")
    if unknown:
        found.append(f"{where}: unknown key {', '.join(unknown)}")
    if missing:
        return found
    if not all(isinstance(entry[k], str) and entry[k].strip() for k in REQUIRED):
        return [*found, f"{where}: {', '.join(REQUIRED)} must be non-empty strings"]
    if not ID.fullmatch(entry["id"]):
        found.append(f"{where}: id {entry['id']!r} is not like 'rates-014'")
    if entry["label"] not in LABELS:
        found.append(f"{where}: label {entry['label']!r} is not one of {', '.join(LABELS)}")
    if entry.get("held_out", False) not in (True, False):
        found.append(f"{where}: held_out must be true or false")
    for field in FIELDS:
        if html_to_text(entry[field]) != entry[field]:
            found.append(f"{where}: the pipeline would rewrite the {field} (markup, an entity, extra spaces)")
    if entry["in"] not in FIELDS:
        found.append(f"{where}: in {entry['in']!r} is not one of {', '.join(FIELDS)}")
        return found
    text, evidence = entry[entry["in"]], entry["evidence"]
    at = text.find(evidence)
    if at < 0:
        found.append(f"{where}: evidence {evidence!r} is not in the {entry['in']}")
    elif (at > 0 and text[at - 1].isalnum()) or (at + len(evidence) < len(text) and text[at + len(evidence)].isalnum()):
        found.append(f"{where}: evidence {evidence!r} starts or ends inside a word of the {entry['in']}")
    return found


def problems(topics: dict[str, list]) -> list[str]:
    """Everything wrong with a set of topic files: entries, ids, then the mix."""
    found: list[str] = []
    entries = []
    for topic, listed in topics.items():
        if not isinstance(listed, list) or not listed:
            found.append(f"{topic}: not a list of entries")
            continue
        for i, entry in enumerate(listed):
            where = f"{topic}[{i}]" + (f" {entry['id']}" if isinstance(entry, dict) and "id" in entry else "")
            wrong = entry_problems(where, entry)
            found += wrong
            if not wrong:
                entries.append((topic, entry))
    ids = Counter(entry["id"] for _, entry in entries)
    found += [f"id {name} is used {n} times" for name, n in sorted(ids.items()) if n > 1]
    if found:
        return found   # the mix of a broken set means little

    total = len(entries)
    labels = Counter(entry["label"] for _, entry in entries)
    if total < MIN_ENTRIES:
        found.append(f"{total} entries, fewer than {MIN_ENTRIES}")
    if len(topics) < MIN_TOPICS:
        found.append(f"{len(topics)} topics, fewer than {MIN_TOPICS}")
    if labels["report"] < MIN_REPORT_SHARE * total:
        found.append(f"reports are {labels['report'] / total:.0%} of the set, under {MIN_REPORT_SHARE:.0%}")
    found += [f"{labels[label]} {label} entries, fewer than {MIN_TRAP}" for label in TRAPS if labels[label] < MIN_TRAP]
    if labels["rumour"] < MIN_RUMOUR:
        found.append(f"{labels['rumour']} rumour entries, fewer than {MIN_RUMOUR}")
    in_summary = sum(entry["in"] == "summary" for _, entry in entries)
    if in_summary < MIN_SUMMARY_SHARE * total:
        found.append(f"{in_summary / total:.0%} of the evidence is in summaries, under {MIN_SUMMARY_SHARE:.0%}")
    held = [(topic, entry) for topic, entry in entries if entry.get("held_out")]
    low, high = HELD_OUT_SHARE
    if not low * total <= len(held) <= high * total:
        found.append(f"{len(held) / total:.0%} of the set is held out, not about a third")
    for topic in topics:
        have = {entry["label"] for t, entry in entries if t == topic}
        found += [f"{topic}: no {label} entry" for label in LABELS if label not in have]
        if not any(t == topic for t, _ in held):
            found.append(f"{topic}: nothing held out")
    for part, chosen in (("held-out", held), ("tuning", [e for e in entries if not e[1].get("held_out")])):
        have = {entry["label"] for _, entry in chosen}
        found += [f"the {part} part has no {label} entry" for label in LABELS if label not in have]
    return found


@pytest.fixture(scope="module")
def headline_set() -> dict[str, list]:
    return load(HEADLINES)


def test_the_headline_set_is_well_formed_and_has_the_promised_mix(headline_set):
    assert problems(headline_set) == []
    entries = [entry for listed in headline_set.values() for entry in listed]
    labels = Counter(entry["label"] for entry in entries)
    # what docs/facts.md's section on the set says it holds
    assert len(entries) >= MIN_ENTRIES and len(headline_set) >= MIN_TOPICS
    assert labels["report"] >= MIN_REPORT_SHARE * len(entries)


def _broken_copy(headline_set: dict[str, list], edit) -> dict[str, list]:
    topics = copy.deepcopy(headline_set)
    edit(topics)
    return topics


def _first(topics: dict[str, list], label: str = "report") -> dict:
    return next(e for entries in topics.values() for e in entries if e["label"] == label)


def _set(key, value, label="report"):
    return lambda topics: _first(topics, label).__setitem__(key, value)


def _drop_label(topics):
    topic = next(iter(topics))
    topics[topic] = [e for e in topics[topic] if e["label"] != "rumour"]


BROKEN = {
    "evidence not in its field": (_set("evidence", "words nowhere in the text"), "is not in the title"),
    "evidence inside a word": (lambda t: _first(t).__setitem__("evidence", _first(t)["evidence"][1:]),
                               "starts or ends inside a word"),
    "evidence in the other field": (_set("in", "summary"), "is not in the summary"),
    "unknown label": (_set("label", "satire"), "label 'satire' is not one of"),
    "unknown field": (_set("in", "content"), "in 'content' is not one of"),
    "missing key": (lambda t: _first(t).pop("evidence"), "missing evidence"),
    "unknown key": (_set("source", "Reuters"), "unknown key source"),
    "markup the pipeline rewrites": (_set("summary", "Fed cuts rates &amp; signals more"), "would rewrite the summary"),
    "duplicate id": (lambda t: _first(t, "question").__setitem__("id", _first(t)["id"]), "is used 2 times"),
    "held_out not a boolean": (_set("held_out", "yes"), "held_out must be true or false"),
    "a topic without a label": (_drop_label, "no rumour entry"),
}


@pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
def test_a_broken_entry_is_caught(headline_set, case):
    edit, expected = BROKEN[case]
    found = problems(_broken_copy(headline_set, edit))
    assert any(expected in problem for problem in found), found


def test_a_thinner_set_is_caught(headline_set):
    """The mix is checked, not only the entries: too few traps, too few held out."""
    def thin(topics):
        for topic in topics:
            topics[topic] = [e for e in topics[topic] if e["label"] != "negation" or e["id"].endswith(("7", "8"))]
            for e in topics[topic]:
                e.pop("held_out", None)
    found = problems(_broken_copy(headline_set, thin))
    assert any("negation entries, fewer than" in p for p in found), found
    assert any("held out, not about a third" in p for p in found), found
