"""How well the guards tell news from text that only asks, denies, predicts or argues.

    .venv/bin/python -m bench.guards                # measure, print, keep as run "current"
    .venv/bin/python -m bench.guards --errors       # ... and list every wrong decision
    .venv/bin/python -m bench.guards --run before   # keep the figures under another name

The yardstick is the labelled headline set in tests/data/headlines/: one YAML file per topic,
each entry a headline and summary as an outlet wrote them, the words of its event (`evidence`),
the field they are in, and what the text says about that event (`label`: report, question,
negation, prediction, opinion, rumour). For each entry the real matcher is asked whether the
evidence counts where it stands: a ``Matcher`` whose only ``all`` term is the evidence as an
escaped regex, scope title + summary, ``within: field``, scanned over an ``ItemView`` of the
item, once with every guard and once with each guard alone. Only the public surface is used
(``compile_term``, ``Matcher.scan``, ``ItemView``, ``GUARDS``, a cue's ``guard`` and ``text``),
so the same command measures any implementation of the guards without change.

The figures go to bench/results/guards.md, one section per run name (other runs are kept, and
a table at the top compares them). Entries marked ``held_out`` are for judging a change, never
for tuning one: every figure is given for the whole set, the tuning part and the held-out part.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, UTC
from pathlib import Path

from ruamel.yaml import YAML

from watcher.identity import content_hash, html_to_text, item_key, item_sketch, story_key
from watcher.match import Matcher, compile_term
from watcher.models import Item
from watcher.text.guards import GUARDS
from watcher.text.view import ItemView

from .report import commit

ROOT = Path(__file__).resolve().parent.parent
HEADLINES = ROOT / "tests" / "data" / "headlines"
OUT = ROOT / "bench" / "results" / "guards.md"
SCOPE = ("title", "summary")
# the label each guard is there to catch; a guard not named here is counted only against reports
CLASS_OF = {"question": "question", "negation": "negation", "modal": "prediction", "opinion": "opinion"}
TRAPS = ("question", "negation", "prediction", "opinion")


@dataclass(frozen=True)
class Entry:
    id: str
    topic: str
    title: str
    summary: str
    evidence: str
    field: str          # title | summary: where `evidence` is (its first occurrence)
    label: str
    held_out: bool = False


@dataclass(frozen=True)
class Decision:
    entry: Entry
    cue: object | None                                # what refused the evidence with every guard on
    alone: dict[str, object | None]     # guard -> the cue that refused it with that guard alone

    @property
    def refused(self) -> bool:
        return self.cue is not None


def load(folder: Path = HEADLINES) -> list[Entry]:
    yaml = YAML(typ="safe")
    entries = []
    for path in sorted(folder.glob("*.yaml")):
        for raw in yaml.load(path.read_text(encoding="utf-8")):
            entries.append(Entry(raw["id"], path.stem, raw["title"], raw["summary"], raw["evidence"], raw["in"],
                                 raw["label"], bool(raw.get("held_out", False))))
    return entries


def set_digest(folder: Path = HEADLINES) -> str:
    """Which version of the set a run measured (the files' bytes)."""
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.yaml")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def item_of(entry: Entry) -> Item:
    """The entry as the parser would hand it on: plain text, identity, hash, story and sketch."""
    title, summary = html_to_text(entry.title), html_to_text(entry.summary)
    link = f"https://headlines.example/{entry.topic}/{entry.id}"
    return Item(key=item_key(entry.id, link, title, summary), title=title, link=link, summary=summary,
                guid=entry.id, content_hash=content_hash(title, summary, ""), story=story_key(link, title),
                sketch=item_sketch(title, summary, ""))


def refusal(entry: Entry, guards: frozenset[str], view: ItemView | None = None) -> object | None:
    """The cue that keeps the evidence from counting where it stands (None: it counts)."""
    view = view or ItemView(item_of(entry))
    term = compile_term(re.escape(entry.evidence), words=False)
    matcher = Matcher(all=(term,), any=(), none=(), scope=SCOPE, within="field", guards=guards)
    at = view.text(entry.field).find(entry.evidence)
    for field_name, found, cue in matcher.scan(view)[term]:
        if field_name == entry.field and found.start() == at:
            return cue
    raise ValueError(f"{entry.id}: {entry.evidence!r} is not in the {entry.field} as the matcher reads it")


def decide(entry: Entry) -> Decision:
    view = ItemView(item_of(entry))
    return Decision(entry, refusal(entry, frozenset(GUARDS), view),
                    {guard: refusal(entry, frozenset((guard,)), view) for guard in GUARDS})


def _share(n: int, of: int) -> str:
    return f"{n}/{of} ({n / of:.0%})" if of else "-"


def _ratio(n: int, of: int) -> str:
    return f"{n / of:.2f}" if of else "-"


PARTS: dict[str, Callable[[Decision], bool]] = {
    "all": lambda d: True, "tuning": lambda d: not d.entry.held_out, "held out": lambda d: d.entry.held_out}


def end_to_end(decisions: list[Decision]) -> dict[str, tuple[int, int]]:
    """Row name -> (count, out of)."""
    def of(label: str) -> list[Decision]:
        return [d for d in decisions if d.entry.label == label]
    rows = {"reports accepted": (sum(not d.refused for d in of("report")), len(of("report")))}
    for label in TRAPS:
        rows[f"`{label}` refused"] = (sum(d.refused for d in of(label)), len(of(label)))
    traps = [d for d in decisions if d.entry.label in TRAPS]
    rows["all traps refused"] = (sum(d.refused for d in traps), len(traps))
    rows["rumours accepted"] = (sum(not d.refused for d in of("rumour")), len(of("rumour")))
    return rows


def per_guard(decisions: list[Decision], guard: str) -> dict[str, object]:
    wanted = CLASS_OF.get(guard)
    fired = [d for d in decisions if d.alone.get(guard) is not None]
    mine = [d for d in decisions if d.entry.label == wanted]
    tp = sum(d.entry.label == wanted for d in fired)
    fp = sum(d.entry.label == "report" for d in fired)
    return {"class": wanted or "-", "entries": len(mine), "tp": tp, "fp": fp,
            "others": len(fired) - tp - fp,
            "by another": sum(d.alone.get(guard) is None and d.refused for d in mine),
            "fn": sum(not d.refused for d in mine),
            "precision": _ratio(tp, tp + fp), "recall": _ratio(tp, len(mine)) if wanted else "-"}


GUARD_TABLE_NOTE = """Each guard is measured **alone** (a matcher with only that guard), so one guard's misfires are
not hidden behind another's. **TP**: it refuses an entry of its class. **FP**: it refuses a
`report`. **others**: it refuses an entry of another trap class or a rumour (in neither
precision nor recall). **FN**: an entry of its class that *no* guard refuses (the matcher with
all four accepts it). **by another**: an entry of its class this guard lets through but another
refuses, so entries = TP + by another + FN. Precision = TP / (TP + FP); recall = TP / entries."""


def render(decisions: list[Decision], run: str, command: str, digest: str, commit: str) -> tuple[str, dict]:
    """One run's section of guards.md, and its headline figures for the comparison table."""
    parts = {name: [d for d in decisions if keep(d)] for name, keep in PARTS.items()}
    held = len(parts["held out"])
    topics = len({d.entry.topic for d in decisions})
    lines = [f"## Run `{run}`", "",
             f"Guards at commit {commit}, measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with "
             f"`{command}`.", "",
             f"Set: {len(decisions)} entries in {topics} topics ({held} held out), files digest `{digest}`.", "",
             "### End to end (all four guards, as fact signals run by default)", "",
             "| | " + " | ".join(f"{name} ({len(ds)})" for name, ds in parts.items()) + " |",
             "|---|" + "---:|" * len(parts)]
    tables = {name: end_to_end(ds) for name, ds in parts.items()}
    for row in tables["all"]:
        lines.append(f"| {row} | " + " | ".join(_share(*tables[name][row]) for name in parts) + " |")
    for name, ds in parts.items():
        lines += ["", f"### Per guard, {name} ({len(ds)} entries)", ""]
        if name == "all":
            lines += [GUARD_TABLE_NOTE, ""]
        lines += ["| guard | class | entries | TP | FP (reports) | others | FN | by another | precision | recall |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for guard in GUARDS:
            g = per_guard(ds, guard)
            lines.append(f"| {guard} | {g['class']} | {g['entries']} | {g['tp']} | {g['fp']} | {g['others']} | "
                         f"{g['fn']} | {g['by another']} | {g['precision']} | {g['recall']} |")
    headline = {"commit": commit, "entries": len(decisions), "set": digest}
    for name in ("all", "held out"):
        for row in ("reports accepted", "all traps refused", "rumours accepted"):
            headline[f"{name}: {row}"] = list(tables[name][row])
    for label in TRAPS:
        headline[f"all: {label} refused"] = list(tables["all"][f"`{label}` refused"])
    return "\n".join(lines), headline


def commit_label() -> str:
    """The commit, and whether the guards measured differ from it (a rewrite in progress)."""
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "watcher"], capture_output=True, text=True,
                           cwd=ROOT).stdout.strip()
    return commit() + (" + uncommitted changes in watcher/" if dirty else "")


def _marked(text: str, spans: list[tuple[int, int, str, str]]) -> str:
    out, last = [], 0
    for start, end, before, after in sorted(spans):
        if start < last:
            continue
        out += [text[last:start], before, text[start:end], after]
        last = end
    return "".join(out + [text[last:]])


def wrong(decision: Decision) -> bool:
    label = decision.entry.label
    return (label == "report" and decision.refused) or (label in TRAPS and not decision.refused)


def error_line(d: Decision) -> str:
    """One wrong decision: id, label, what refused it (or that nothing did), the text with the
    evidence in bold and the cue in brackets."""
    e = d.entry
    text = ItemView(item_of(e)).text(e.field)
    at = text.find(e.evidence)
    spans = [(at, at + len(e.evidence), "**", "**")]
    cue_words = getattr(d.cue, "text", None)
    start, end = getattr(d.cue, "start", 0), getattr(d.cue, "end", 0)
    if cue_words and end > start and text[start:end].casefold() == str(cue_words).casefold():
        spans.append((start, end, "⟦", "⟧"))
    why = f"refused by {d.cue.guard} '{cue_words}'" if d.refused else "accepted"  # type: ignore[attr-defined]
    return f"- `{e.id}` {e.label}, {why}: {e.field}: {_marked(text, spans)}"


def errors(decisions: list[Decision]) -> str:
    lines = ["## Wrong decisions", "",
             "Reports a guard refused, and traps no guard refused; rumours are not counted either way. "
             "**Evidence** in bold, ⟦the cue⟧ in brackets (a cue for the whole item, such as an opinion "
             "label, is only named).", ""]
    for name in ("tuning", "held out"):
        chosen = sorted((d for d in decisions if PARTS[name](d) and wrong(d)), key=lambda d: d.entry.id)
        lines += [f"### {name.capitalize()} part: {len(chosen)}", ""]
        if name == "held out":
            lines += ["These judge a change; tune on the tuning part only.", ""]
        for title, label_test in (("Reports refused", lambda d: d.entry.label == "report"),
                                  ("Traps accepted", lambda d: d.entry.label != "report")):
            rows = [error_line(d) for d in chosen if label_test(d)]
            lines += [f"{title} ({len(rows)}):", "", *rows, ""]
    return "\n".join(lines)


_SECTION = re.compile(r"<!-- run (?P<name>\S+) (?P<figures>\{.*?\}) -->\n(?P<body>.*?)<!-- end run (?P=name) -->\n",
                      re.DOTALL)
HEADER = """# Guards on the labelled headline set

Written by `.venv/bin/python -m bench.guards` (see the module's docstring and docs/facts.md, "How the
guards are measured"): how often fact signals with their default guards accept the words of a
reported event, and refuse the same words in a question, a denial, a prediction or opinion.
Each run keeps its own section; rerunning a name replaces it.
"""


def update(path: Path, run: str, section: str, headline: dict) -> str:
    """guards.md with this run's section put in (other runs kept) and the comparison redrawn."""
    runs = {m["name"]: (json.loads(m["figures"]), m["body"]) for m in _SECTION.finditer(
        path.read_text(encoding="utf-8") if path.exists() else "")}
    runs[run] = (headline, section + "\n\n")
    rows = ["| run | commit | set (entries, digest) | reports accepted | traps refused | " + " | ".join(TRAPS)
            + " | rumours accepted | held out: reports accepted | held out: traps refused |",
            "|---|---|---:|" + "---:|" * (len(TRAPS) + 5)]
    for name, (fig, _) in runs.items():
        cells = ["all: reports accepted", "all: all traps refused", *(f"all: {label} refused" for label in TRAPS),
                 "all: rumours accepted", "held out: reports accepted", "held out: all traps refused"]
        rows.append(f"| `{name}` | {fig['commit']} | {fig['entries']}, `{fig.get('set', '?')}` | "
                    + " | ".join(_share(*fig[c]) for c in cells) + " |")
    body = "".join(f"<!-- run {name} {json.dumps(fig, sort_keys=True)} -->\n{text}<!-- end run {name} -->\n"
                   for name, (fig, text) in runs.items())
    return "\n".join([HEADER, *rows, "", body])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.guards", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", default="current", help="name these figures (kept in guards.md under it)")
    parser.add_argument("--errors", action="store_true", help="also list every wrong decision (printed only)")
    parser.add_argument("--set", type=Path, default=HEADLINES, help="the folder of topic files")
    parser.add_argument("--out", type=Path, default=OUT, help="the results file to update")
    args = parser.parse_args(argv)
    if not re.fullmatch(r"[\w.-]+", args.run):
        parser.error("--run: letters, digits, '.', '-' and '_' only")
    decisions = [decide(entry) for entry in load(args.set)]
    command = " ".join([".venv/bin/python -m bench.guards", *(argv if argv is not None else sys.argv[1:])])
    section, headline = render(decisions, args.run, command, set_digest(args.set), commit_label())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(update(args.out, args.run, section, headline), encoding="utf-8")
    print(section)
    if args.errors:
        print("\n" + errors(decisions))
    print(f"\n(written to {args.out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
