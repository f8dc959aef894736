"""Reading numbers out of news text: watcher's own reader against the libraries, on one labelled
set (tests/data/numbers.yaml: levels, ranges, changes in points, fractions, number words, plain
numbers, and a negative corpus that must yield nothing).

    .venv/bin/pip install -e '.[bench]'          # the libraries, for this measurement only
    .venv/bin/python -m bench.extraction          # writes bench/results/extraction.md

Each case names the placeholder that reads it (``read``: percent, range, change, number) and
what must come out: low, high, unit (percent, bp, pp, none), or nothing. Every reader answers
the same question, "what would a bare ``extract: "{read}"`` take from this text": its first
reading of that kind.

- ``watcher``: the placeholder's pattern, searched as a rule's extract is, read by
  ``quantity.from_match`` (watcher/text/rates.py, numerals.py, quantity.py);
- ``today's {number}``: what a rule could do before: the ``{number}`` pattern of the previous
  version with the unit words written after it, as rule authors wrote them;
- ``quantulum3``: its quantities (value +- uncertainty for ranges), the first whose unit fits
  (percentage; basis point or percentage point; dimensionless);
- ``number-parser`` and ``text2num``: they turn number words into digits, not text into
  quantities, so each feeds today's ``{number}`` rules; ``text2num + watcher`` feeds watcher's.

Exact match: low, high and unit all equal (to 1e-9), or nothing read where nothing is expected.
Time: the mean of a pass over every string after one warm-up pass (a library's first call loads
its tables), in microseconds per string.
"""

from __future__ import annotations

import argparse
import importlib
import re
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML

from watcher.match import compile_term
from watcher.text import quantity

HERE = Path(__file__).resolve().parent
CASES = HERE.parent / "tests" / "data" / "numbers.yaml"
OUT = HERE / "results" / "extraction.md"
READS = ("percent", "range", "change", "number")
CATEGORIES = ("range", "percent", "change", "fraction", "words", "number", "negative")

Reading = tuple[float, float, str]          # low, high, unit ("none" when the text names none)


@dataclass(frozen=True)
class Case:
    cat: str
    read: str
    text: str
    expect: Reading | None                   # None: nothing may be read
    gap: str | None = None                   # a known miss of watcher's reader, and why


def load_cases(path: Path = CASES) -> list[Case]:
    cases = []
    for raw in YAML(typ="safe").load(path.read_text(encoding="utf-8"))["cases"]:
        expect = None if raw.get("nothing") else (float(raw["low"]), float(raw["high"]), str(raw["unit"]))
        if expect is not None and raw["kind"] != ("change" if expect[2] in ("bp", "pp") else "level"):
            raise ValueError(f"{raw['text']!r}: kind {raw['kind']} does not fit unit {expect[2]}")
        cases.append(Case(raw["cat"], raw["read"], raw["text"], expect, raw.get("gap")))
    return cases


def same(got: Reading | None, expect: Reading | None) -> bool:
    if got is None or expect is None:
        return got is expect
    close = all(abs(a - b) <= 1e-9 * max(1.0, abs(b)) for a, b in zip(got[:2], expect[:2], strict=True))
    return close and got[2] == expect[2]


# -- watcher's reader --------------------------------------------------------------------------

_TERMS = {read: compile_term(f"{{{read}}}", words=True) for read in READS}


def watcher_reading(read: str, text: str) -> Reading | None:
    """What ``extract: "{read}"`` takes from ``text``: the first match, read."""
    found = _TERMS[read].search(text)
    got = quantity.from_match(found) if found else None
    if got is None:
        return None
    return got.value, got.value if got.high is None else got.high, got.unit or "none"


# -- today's {number}, as rules used it ---------------------------------------------------------

_OLD_NUMBER = (r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?:[\s-]?(?P<scale>trillions?|billions?"
               r"|millions?|thousands?)|\s?(?P<short>tn|trn|bn|bln|mn|mln)|(?P<letter>[bmk]))?(?!\w)")
_OLD_UNITS = {"percent": (r"\s?(?:%|percent|per cent|pct)", "percent"),
              "change": (r"\s?(?:basis points?|bps?)", "bp"), "number": ("", "none")}
_OLD_SCALES = {"trillion": 1e12, "billion": 1e9, "million": 1e6, "thousand": 1e3, "tn": 1e12, "trn": 1e12,
               "bn": 1e9, "bln": 1e9, "mn": 1e6, "mln": 1e6, "b": 1e9, "m": 1e6, "k": 1e3}
_OLD = {read: re.compile(rf"(?<!\w)(?:{_OLD_NUMBER}{suffix})(?!\w)" if suffix else _OLD_NUMBER, re.IGNORECASE)
        for read, (suffix, _) in _OLD_UNITS.items()}
_OLD_RANGE = re.compile(rf"(?<!\w)(?:{_OLD_NUMBER.replace('?P<', '?P<a_')})%?\s?(?:-|–|to)\s?"
                        rf"(?:{_OLD_NUMBER})\s?(?:%|percent|per cent)?", re.IGNORECASE)
_OLD_PP = re.compile(rf"(?<!\w)(?:{_OLD_NUMBER})\s(?:percentage points?|points?)(?!\w)", re.IGNORECASE)


def _old_number(found: re.Match[str], prefix: str = "") -> float:
    scale = found[f"{prefix}scale"] or found[f"{prefix}short"] or found[f"{prefix}letter"]
    base = float(found[f"{prefix}num"].replace(",", ""))
    return base * _OLD_SCALES[scale.casefold().rstrip("s")] if scale else base


def baseline_reading(read: str, text: str) -> Reading | None:
    """The previous version's ``{number}`` with the unit spelled after it."""
    if read == "range":
        found = _OLD_RANGE.search(text)
        if found:
            return _old_number(found, "a_"), _old_number(found), "percent"
        read = "percent"
    if read == "change":
        found = _OLD_PP.search(text)
        if found and (not _OLD["change"].search(text) or found.start() < _OLD["change"].search(text).start()):
            return _old_number(found), _old_number(found), "pp"
    found = _OLD[read].search(text)
    if found is None:
        return None
    number = _old_number(found)
    return number, number, _OLD_UNITS[read][1]


# -- the libraries -----------------------------------------------------------------------------

def _quantulum() -> Callable[[str, str], Reading | None] | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # it warns that its optional classifier is missing
            parser = importlib.import_module("quantulum3.parser")
    except ImportError:
        return None
    units = {"percentage": "percent", "basis point": "bp", "percentage point": "pp", "dimensionless": "none"}
    wanted = {"percent": {"percent"}, "range": {"percent", "none"}, "change": {"bp", "pp"}, "number": {"none"}}

    def read(what: str, text: str) -> Reading | None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = parser.parse(text)
        for q in found:
            unit = units.get(q.unit.name)
            if unit in wanted[what]:
                spread = q.uncertainty or 0.0
                if what == "percent" and spread:
                    return None  # a range where one level is wanted
                return q.value - spread, q.value + spread, unit
        return None
    return read


def _words_then(convert: Callable[[str], str], reader: Callable[[str, str], Reading | None]):
    return lambda read, text: reader(read, convert(text))


def _number_parser() -> Callable[[str, str], Reading | None] | None:
    try:
        parse = importlib.import_module("number_parser").parse
    except ImportError:
        return None
    return _words_then(parse, baseline_reading)


def _text2num(reader: Callable[[str, str], Reading | None]) -> Callable[[str, str], Reading | None] | None:
    try:
        alpha2digit = importlib.import_module("text_to_num").alpha2digit
    except ImportError:
        return None
    return _words_then(lambda text: alpha2digit(text, "en"), reader)


def readers() -> dict[str, Callable[[str, str], Reading | None] | None]:
    """Every reader measured; ``None`` for a library that is not installed."""
    return {"watcher": watcher_reading, "today's {number}": baseline_reading, "quantulum3": _quantulum(),
            "number-parser + {number}": _number_parser(), "text2num + {number}": _text2num(baseline_reading),
            "text2num + watcher": _text2num(watcher_reading)}


# -- scoring -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Score:
    reader: str
    right: dict[str, tuple[int, int]]        # category -> (right, cases)
    micros: float                            # per string, after a warm-up pass
    misses: tuple[tuple[Case, Reading | None], ...]


def score(name: str, reader: Callable[[str, str], Reading | None], cases: list[Case], reps: int = 3) -> Score:
    got = [reader(c.read, c.text) for c in cases]          # the warm-up pass
    started = time.perf_counter()
    for _ in range(reps):
        for c in cases:
            reader(c.read, c.text)
    micros = (time.perf_counter() - started) / (reps * len(cases)) * 1e6
    right: dict[str, tuple[int, int]] = {}
    misses = []
    for case, reading in zip(cases, got, strict=True):
        ok = same(reading, case.expect)
        r, n = right.get(case.cat, (0, 0))
        right[case.cat] = (r + ok, n + 1)
        if not ok:
            misses.append((case, reading))
    return Score(name, right, micros, tuple(misses))


def search_cost(reps: int = 5) -> dict[str, tuple[float, float]]:
    """Milliseconds to search 20,000 characters of news-like text, per placeholder: text with no
    number, and text with a number that is no reading every few words (years, counts, votes,
    money): what a signal costs on a long article where its other terms are found."""
    words = re.findall(r"\w+", "the senate said on monday that aid to ukraine would pass after weeks of talks in "
                                "the house and a vote is expected rates inflation bank central officials markets")
    plain = " ".join(words[(i * 7919) % len(words)] for i in range(3500))[:20_000]
    numbers = ("in 2024", "5,000 troops", "voted 70-29", "$61bn", "one official", "a 10-year high", "F-16")
    noisy = " ".join(words[(i * 7919) % len(words)] if i % 6 else numbers[i % 7] for i in range(3500))[:20_000]
    costs = {}
    for read in ("number", "amount", "percent", "range", "change"):
        term = compile_term(f"{{{read}}}", words=True)
        best = [float("inf"), float("inf")]
        for _ in range(reps):
            for k, text in enumerate((plain, noisy)):
                started = time.perf_counter()
                for _found in term.finditer(text):
                    pass
                best[k] = min(best[k], time.perf_counter() - started)
        costs[read] = (best[0] * 1000, best[1] * 1000)
    return costs


def load_cost(facts: int = 200) -> dict[str, float]:
    """Seconds to load a rule folder of ``facts`` number facts, each with one signal reading its
    value with the placeholder: what compiling the pattern and indexing its literals cost."""
    from tempfile import TemporaryDirectory

    from watcher.ruleset import load_rules

    kinds = {"amount": ("USD", "1"), "percent": ("percent", "1%"), "range": ("percent", "1%-2%"),
             "change": ("bp", "25bp")}
    costs = {}
    for read, (unit, known) in kinds.items():
        with TemporaryDirectory() as folder:
            (Path(folder) / "rules.yaml").write_text("facts:\n" + "".join(
                f"  f{i}:\n    describe: rate {i}\n    kind: number\n    unit: {unit}\n    known: {known}\n"
                f'    signals:\n      - extract: "rate{i} (to|at|by) {{{read}}}"\n'
                f"        match: {{all: [bank{i}], within: sentence}}\n" for i in range(facts)))
            started = time.perf_counter()
            load_rules(Path(folder), environ={})
            costs[read] = time.perf_counter() - started
    return costs


def table(scores: list[Score], missing: list[str], cases: list[Case]) -> str:
    cats = [c for c in CATEGORIES if any(case.cat == c for case in cases)]
    head = "| reader | " + " | ".join(f"{c} ({sum(case.cat == c for case in cases)})" for c in cats)
    lines = [head + " | all | µs per string |", "|" + " --- |" * (len(cats) + 3)]
    for s in scores:
        total = sum(r for r, _ in s.right.values()), sum(n for _, n in s.right.values())
        cells = [f"{100 * s.right[c][0] / s.right[c][1]:.0f} %" for c in cats]
        lines.append(f"| {s.reader} | " + " | ".join(cells) + f" | **{100 * total[0] / total[1]:.1f} %** "
                     f"({total[0]}/{total[1]}) | {s.micros:.0f} |")
    lines += [f"| {name} | not installed |" + " |" * (len(cats) + 1) for name in missing]
    return "\n".join(lines)


def _shown(reading: Reading | None) -> str:
    if reading is None:
        return "nothing"
    low, high, unit = reading
    return (f"{low:g}" if low == high else f"{low:g}..{high:g}") + ("" if unit == "none" else f" {unit}")


def report(scores: list[Score], missing: list[str], cases: list[Case], versions: dict[str, str],
           costs: dict[str, tuple[float, float]], loads: dict[str, float] | None = None) -> str:
    mine = next(s for s in scores if s.reader == "watcher")
    lines = ["# Reading numbers: watcher's reader against the libraries", "",
             f"`python -m bench.extraction` on {len(cases)} labelled strings (`tests/data/numbers.yaml`: "
             f"{sum(c.expect is not None for c in cases)} to read, {sum(c.expect is None for c in cases)} that must "
             "yield nothing). Exact-match accuracy per category (low, high and unit all right, or nothing where "
             "nothing is expected) and the time per string after a warm-up pass.", "",
             "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".", "",
             table(scores, missing, cases), "",
             "Finding every match in 20,000 characters of text (the best of 5, in ms), without a number / with "
             "a number that is no reading every six words: "
             + ", ".join(f"`{{{k}}}` {a:.2f} / {b:.2f}" for k, (a, b) in costs.items()) + ".", "",
             *(["Loading 200 number facts whose signal reads its value with the placeholder (compiling and "
                "indexing the patterns), in s: " + ", ".join(f"`{{{k}}}` {v:.1f}" for k, v in loads.items())
                + ".", ""] if loads else []),
             "## What watcher's reader gets wrong", ""]
    lines += [f"- `{case.text}` ({case.read}): read {_shown(got)}, expected {_shown(case.expect)}"
              + (f" — {case.gap}" if case.gap else "") for case, got in mine.misses] or ["- nothing"]
    for s in scores:
        if s.reader == "watcher":
            continue
        lines += ["", f"## {s.reader}: the first misses of {len(s.misses)}", ""]
        lines += [f"- `{case.text}` ({case.read}): read {_shown(got)}, expected {_shown(case.expect)}"
                  for case, got in s.misses[:12]]
    return "\n".join(lines) + "\n"


def _versions() -> dict[str, str]:
    from importlib import metadata

    found = {}
    for dist in ("quantulum3", "number-parser", "text2num"):
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return found


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.extraction", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=OUT, help="where to write the table (markdown)")
    parser.add_argument("--reps", type=int, default=3, help="timed passes over the set")
    args = parser.parse_args()
    cases = load_cases()
    scores, missing = [], []
    for name, reader in readers().items():
        if reader is None:
            missing.append(name)
        else:
            scores.append(score(name, reader, cases, args.reps))
    costs, loads = search_cost(), load_cost()
    text = report(scores, missing, cases, _versions(), costs, loads)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(table(scores, missing, cases))
    print("ms per 20,000 characters, without a number / with numbers that are no reading: "
          + ", ".join(f"{k} {a:.2f} / {b:.2f}" for k, (a, b) in costs.items()))
    print("s to load 200 facts: " + ", ".join(f"{k} {v:.1f}" for k, v in loads.items()))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
