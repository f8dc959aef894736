"""Sentences and clauses of a text, as ``(start, end)`` spans into it. Pure.

Good enough for news prose and headlines, on purpose simple and predictable:

- a sentence ends at ``.``, ``!``, ``?`` or ``;`` (with any closing quotes or brackets) followed
  by white space, or at a line break (a headline's semicolon joins two stories). A period
  after a common abbreviation (``Sen.``, ``U.S.``, ``Jan.``), after a single letter (an
  initial) or before a lower-case word does not end one;
- a clause ends at ``, ; :``, a dash or bracket, and before a word that opens a subordinate
  clause (``but``, ``after``, ``which``, ``that``, ``if``...). That word starts the next clause,
  so "... if Congress passes it" keeps its "if" with the verb it conditions.

Spans are trimmed of surrounding white space; empty pieces are dropped.
"""

from __future__ import annotations

import bisect
import re

Span = tuple[int, int]

_ABBREVIATIONS = frozenset((
    "mr", "mrs", "ms", "dr", "sen", "sens", "rep", "reps", "gov", "gen", "lt", "col", "sgt", "capt", "cmdr", "adm",
    "st", "jr", "sr", "no", "nos", "vs", "etc", "inc", "corp", "co", "ltd", "jan", "feb", "mar", "apr", "jun", "jul",
    "aug", "sep", "sept", "oct", "nov", "dec", "approx", "est", "dept", "pres", "prof", "rev", "mt", "ft", "fig",
    "op", "vol", "pp", "u.s", "u.k", "u.n", "e.u", "d.c", "h.r", "s.j", "h.j", "a.m", "p.m", "i.e", "e.g",
))

_END = re.compile(r"[.!?;]+[\"'”’»)\]]*(?=\s|$)|\n")
_WORD_BEFORE = re.compile(r"([\w.]+)\.+$")
_CLAUSE_BREAK = re.compile(
    r"[,;:()\[\]\u2013\u2014]|\s-\s|(?<!\w)(?=(?:but|while|whereas|although|though|after|before|because|as|"
    r"which|who|whom|that|if|unless|when|until|since|once|whether)(?!\w))",
    re.IGNORECASE)


def _trim(text: str, start: int, end: int) -> Span | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if end > start else None


_LOOK_BACK = 40  # characters: far more than the longest abbreviation


def _word_before(text: str, end: int) -> re.Match[str] | None:
    """``_WORD_BEFORE`` ending at ``end``. Searched from a little before ``end``, not from the
    start of the text (which made splitting a long text quadratic), unless the word runs on
    further back than that."""
    start = max(0, end - _LOOK_BACK)
    found = _WORD_BEFORE.search(text, start, end)
    if found is not None and found.start() == start and start > 0 and _WORD_BEFORE.match(text[start - 1] + "."):
        return _WORD_BEFORE.search(text, 0, end)
    return found


def _ends_here(text: str, found: re.Match[str]) -> bool:
    mark = found.group()
    if mark == "\n" or not mark.startswith("."):
        return True
    before = _word_before(text, found.start() + 1)
    if before:
        word = before.group(1).casefold().strip(".")
        if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
            return False
    rest = text[found.end():found.end() + 3].lstrip()
    return not (rest[:1].isalpha() and rest[:1].islower())


def sentences(text: str) -> list[Span]:
    """The sentences of ``text``."""
    spans: list[Span] = []
    start = 0
    for found in _END.finditer(text):
        if not _ends_here(text, found):
            continue
        span = _trim(text, start, found.end())
        if span:
            spans.append(span)
        start = found.end()
    tail = _trim(text, start, len(text))
    if tail:
        spans.append(tail)
    return spans


def clauses(text: str, sentence: Span) -> list[Span]:
    """The clauses of one sentence of ``text``."""
    start, end = sentence
    spans: list[Span] = []
    piece = start
    for found in _CLAUSE_BREAK.finditer(text, start, end):
        span = _trim(text, piece, found.start())
        if span:
            spans.append(span)
        piece = found.end() if found.end() > found.start() else found.start()
    tail = _trim(text, piece, end)
    if tail:
        spans.append(tail)
    return spans or [sentence]


def containing(spans: list[Span], starts: list[int], position: int) -> Span | None:
    """The span that contains ``position`` (``starts`` is ``[s for s, _ in spans]``)."""
    i = bisect.bisect_right(starts, position) - 1
    if i >= 0 and spans[i][0] <= position < max(spans[i][1], spans[i][0] + 1):
        return spans[i]
    return None
