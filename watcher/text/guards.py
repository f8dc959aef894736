"""Guards: cues that a sentence asks, denies, predicts or argues instead of reporting. Pure.

"Will the Senate pass the aid?", "The House has not passed the package", "Senate expected to
pass aid bill", "Opinion: it is time to pass the aid" all contain the words of the news without
being it. A guarded matcher lets a term's hit count only where no cue of its guards reaches it.

A cue is read the way clinical NLP reads negation (NegEx, ConText): it has a guard, a direction
and a scope, and acts only on the words its scope reaches, within its sentence. The cues,
pseudo-cues and terminators are data, in ``cues``; this module reads a sentence with them:

1. the sentence is cut into words (``n't`` is a word of its own) and marks;
2. left to right, the longest phrase of the inventory starting at each word is taken (a
   pseudo-cue beats a cue of the same length, a cue a terminator); the words it covers are not
   read again, so "than expected to 3.5%" holds no "expected to";
3. each cue reaches, in its direction, at most its scope in words, and stops before a clause
   mark, a terminator or the next cue of its own guard.

"Bank cuts rates by more than expected to 3.5%" is plain news; "Senate expected to pass aid
bill" is a prediction about "pass aid bill" but not about "Senate"; in "No deal on tariffs yet,
but Senate passes stopgap" the "but" keeps the "No" away from the Senate.

Besides the cues: an opinion label opening the title (Opinion:, Op-ed, Editorial, Analysis...)
or an opinion category makes the whole item opinion. A cue inside one of the matcher's own
terms is not a cue (a signal looking for "fails to advance" is not refused by its own "fails
to"); ``inventory.cancelled_by`` finds the terms that can do that without meaning to.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from . import cues as data

GUARDS = ("question", "negation", "modal", "opinion")

Span = tuple[int, int]


@dataclass(frozen=True)
class Cue:
    """One place where a guard fires: the guard, the span in the field's text, the words."""

    guard: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Reach:
    """A cue and the text it acts on, ``lo:hi`` (within its sentence; it may hold the cue).

    Where the next cue of the same guard ended the scope, ``cuts`` holds that cue's span and
    ``wide`` the text reached without it: if a matcher's own term holds the cutting cue, that cue
    is not a cue, and the scope goes on ("does not fail to advance" stays a denial for a signal
    looking for "fails to advance")."""

    cue: Cue
    lo: int
    hi: int
    cuts: tuple[Span, ...] = ()
    wide: Span = (0, 0)

    def reaches(self, start: int, end: int, ignored: Iterable[Span] = ()) -> bool:
        if start < self.hi and self.lo < end:
            return True
        lo, hi = self.wide
        return bool(self.cuts) and start < hi and lo < end and any(
            s < e2 and s2 < e for s, e in self.cuts for s2, e2 in ignored)


# -- the inventory, indexed by first word -------------------------------------------------

@dataclass(frozen=True)
class _Entry:
    kind: str                                   # cue, pseudo, terminator (a pseudo-terminator is a pseudo)
    guard: str                                  # "" for terminators and pseudo-terminators
    slots: tuple[frozenset[str] | None, ...]    # the words each position may hold; None: a number
    rule: data.CueRule | None = None

    @property
    def rank(self) -> int:  # at equal length a pseudo-cue beats a cue, and a cue a terminator
        return {"pseudo": 2, "cue": 1}.get(self.kind, 0)


def _slot(word: str) -> frozenset[str] | None:
    if word == "#":
        return None
    return data.WORDS[word[1:-1]] if word.startswith("<") else frozenset(word.split("|"))


def _slots(phrase: str) -> tuple[frozenset[str] | None, ...]:
    return tuple(_slot(word) for word in phrase.split())


def _inventory() -> dict[str, list[_Entry]]:
    entries = [_Entry("cue", guard, _slots(rule.phrase), rule) for guard, rules in data.CUES.items() for rule in rules]
    entries += [_Entry("pseudo", guard, _slots(p)) for guard, phrases in data.PSEUDO.items() for p in phrases]
    entries += [_Entry("terminator", "", _slots(p)) for p in data.TERMINATORS]
    entries += [_Entry("pseudo", "", _slots(p)) for p in data.NOT_TERMINATORS]
    index: dict[str, list[_Entry]] = {}
    for entry in entries:
        first = entry.slots[0]
        if first is None:
            raise ValueError(f"a phrase cannot start with a number: {entry}")
        for word in first:
            index.setdefault(word, []).append(entry)
    return index


_INDEX = _inventory()

# -- reading a sentence -------------------------------------------------------------------

_TOKEN = re.compile(r"\d+(?:[.,]\d+)+|\w+(?:[-'’.]\w+)*|[^\w\s]")
_MONTH_BEFORE = frozenset(("in", "on", "by", "since", "until", "till", "early", "late", "mid", "last", "next",
                           "this", "of", "from", "through", "the", "a", "its", "their", "his", "her", "our", "'"))
_SPACED_DASHES = frozenset("-\u2013")  # a hyphen or en dash is a clause mark only with a space before it


class _Token(NamedTuple):
    start: int
    end: int
    norm: str      # lower case, typographic apostrophe made plain
    word: bool     # a word or number (counts towards a scope), not a mark


def tokens(text: str, start: int, end: int) -> list[_Token]:
    """The words and marks of ``text[start:end]``; "hasn't" is two words, "has" and "n't". A word
    in capitals in a sentence that is not all capitals ("WHO", "US") keeps them: it is a name,
    and no phrase of the inventory (all lower case) matches it."""
    found = []
    mixed = not text[start:end].isupper()
    for m in _TOKEN.finditer(text, start, end):
        word = m.group()
        norm = word if mixed and len(word) > 1 and word.isupper() else word.lower()
        if "’" in norm:
            norm = norm.replace("’", "'")
        s, e = m.span()
        if len(norm) > 3 and norm.endswith("n't"):
            found.append(_Token(s, e - 3, norm[:-3], True))
            found.append(_Token(e - 3, e, "n't", True))
        else:
            found.append(_Token(s, e, norm, norm[0].isalnum() or norm[0] == "_"))
    return found


def _fits(entry: _Entry, toks: list[_Token], i: int) -> bool:
    if i + len(entry.slots) > len(toks):
        return False
    for slot, tok in zip(entry.slots, toks[i:], strict=False):
        if slot is None:
            if not tok.norm[0].isdigit():
                return False
        elif tok.norm not in slot:
            return False
    return True


def _condition(entry: _Entry, text: str, toks: list[_Token], i: int, headline: bool) -> bool:
    when = entry.rule.when if entry.rule is not None else None
    if when in (data.OPENING, data.ASKING):
        opening = all(not t.word for t in toks[:i]) or toks[i - 1].norm == ":"
        return opening and (when == data.OPENING or any(t.norm in data.WORDS["aux"] for t in toks[i + 1:i + 3]))
    if when == data.HEADLINE_VERB:
        return (headline and i + 1 < len(toks) and toks[i + 1].norm in data.WORDS["verb"]
                and not (i > 0 and _decided(toks[i - 1].norm)))
    if when == data.NOT_MONTH:
        if text[toks[i].start:toks[i].end] != "May":
            return True
        after = toks[i + 1].norm if i + 1 < len(toks) else ""
        before = toks[i - 1].norm if i > 0 else ""
        return not (after[:1].isdigit() or before in _MONTH_BEFORE or before.endswith("'s"))
    return True


def _decided(word: str) -> bool:
    """A word before "to" that makes "to" + verb a decision already taken, not one to come:
    "voted to cut", "Fed votes to cut", "agrees to end", "voted 10 to 2 to cut"."""
    return word in data.WORDS["decide"] or word[:1].isdigit()


def _longest(text: str, toks: list[_Token], i: int, headline: bool) -> _Entry | None:
    best: _Entry | None = None
    for entry in _INDEX.get(toks[i].norm, ()):
        if not _fits(entry, toks, i) or not _condition(entry, text, toks, i, headline):
            continue
        if best is None or (len(entry.slots), entry.rank) > (len(best.slots), best.rank):
            best = entry
    return best


@dataclass(frozen=True)
class _Found:
    """An inventory phrase found at tokens ``i:j`` of a sentence."""

    entry: _Entry
    i: int
    j: int


def _is_mark(text: str, tok: _Token) -> bool:
    if tok.norm not in data.CLAUSE_MARKS:
        return False
    return tok.norm not in _SPACED_DASHES or (tok.start > 0 and text[tok.start - 1].isspace())


def sentence_cues(text: str, start: int, end: int, *, headline: bool = False) -> list[Reach]:
    """Every cue of the sentence ``text[start:end]`` with the text it reaches, by position
    (``headline``: the sentence is a title, which says some things its own way)."""
    toks = tokens(text, start, end)
    found: list[_Found] = []
    owner: list[_Found | None] = [None] * len(toks)   # the phrase each token is part of
    i = 0
    while i < len(toks):
        entry = _longest(text, toks, i, headline)
        if entry is None:
            i += 1
            continue
        j = i + len(entry.slots)
        phrase = _Found(entry, i, j)
        found.append(phrase)
        owner[i:j] = [phrase] * (j - i)
        i = j
    reaches = []
    for phrase in found:
        if phrase.entry.kind == "cue":
            reaches.append(_reach(text, toks, owner, phrase))
    return reaches


def _reach(text: str, toks: list[_Token], owner: list[_Found | None], phrase: _Found) -> Reach:
    """What a cue reaches: in its direction, up to its scope or a stop."""
    entry, i, j = phrase.entry, phrase.i, phrase.j
    assert entry.rule is not None
    rule = entry.rule
    scope = data.DEFAULT_SCOPE[entry.guard] if rule.scope == -1 else rule.scope
    cuts: list[Span] = []

    def stops(k: int, *, same_guard: bool = True) -> bool:
        other = owner[k]
        if _is_mark(text, toks[k]) or (other is not None and other.entry.kind == "terminator"):
            return True
        if k < i and toks[k].norm in data.BACKWARD_TERMINATORS:
            return True
        if other is not None and other.entry.kind == "cue" and other.entry.guard == entry.guard:
            if same_guard:
                cuts.append((toks[other.i].start, toks[other.j - 1].end))
            return same_guard
        return False

    def region(stop) -> Span:  # type: ignore[no-untyped-def]
        lo, hi = toks[i].start, toks[j - 1].end
        if rule.direction in ("backward", "both"):
            lo = _walk(toks, range(i - 1, -1, -1), scope, stop, lo, back=True)
        if rule.direction in ("forward", "both"):
            if rule.through is not None:
                hi = _through(toks, j, rule.through, scope, stop)
            else:
                hi = _walk(toks, range(j, len(toks)), scope, stop, hi, back=False)
        return lo, hi

    lo, hi = region(stops)
    wide = region(lambda k: stops(k, same_guard=False)) if cuts else (lo, hi)
    cue = Cue(entry.guard, toks[i].start, toks[j - 1].end, text[toks[i].start:toks[j - 1].end])
    return Reach(cue, lo, hi, tuple(dict.fromkeys(cuts)), wide)


def _walk(toks: list[_Token], order: range, scope: int | None, stops, edge: int, *, back: bool) -> int:  # type: ignore[no-untyped-def]
    """How far a cue reaches from ``edge`` walking ``order``: at most ``scope`` words, up to a
    stop; a parenthetical attribution between commas is stepped over."""
    words = 0
    step = order.step
    k = order.start
    while k != order.stop:
        if stops(k):
            past = _past_attribution(toks, k, step)
            if past is None:
                break
            k = past
            continue
        edge = toks[k].start if back else toks[k].end
        if toks[k].word:
            words += 1
            if scope is not None and words >= scope:
                break
        k += step
    return edge


_ATTRIBUTION_WORDS = 8  # the longest parenthetical attribution stepped over


def _past_attribution(toks: list[_Token], k: int, step: int) -> int | None:
    """Where to go on after the comma at ``k`` if ``, the union confirmed on Tuesday,`` follows
    it (in the walk's direction); None if it does not."""
    if toks[k].norm != ",":
        return None
    saw_source = False
    j = k + step
    while 0 <= j < len(toks) and abs(j - k) <= _ATTRIBUTION_WORDS + 1:
        norm = toks[j].norm
        if norm == ",":
            after = j + step
            return after if saw_source and 0 <= after < len(toks) else None
        if not toks[j].word and norm not in ("'", "’"):
            return None
        saw_source = saw_source or norm in data.ATTRIBUTION
        j += step
    return None


def _through(toks: list[_Token], j: int, word: str, scope: int | None, stops) -> int:  # type: ignore[no-untyped-def]
    """The end of a forward reach that starts only past ``word`` ("asks Congress to pass ...")."""
    limit = scope if scope is not None else len(toks)
    for k in range(j, min(len(toks), j + limit)):
        if stops(k):
            break
        if toks[k].norm == word:
            return _walk(toks, range(k + 1, len(toks)), scope, stops, toks[k].end, back=False)
    return toks[j - 1].end  # no "to": the cue reaches nothing but itself


def read(text: str, sentences: Iterable[Span], *, headline: bool = False) -> list[Reach]:
    """Every cue of ``text`` (split into ``sentences``) with what it reaches, by position."""
    return [reach for start, end in sentences for reach in sentence_cues(text, start, end, headline=headline)]


# -- opinion as a property of the whole item ----------------------------------------------

_OPINION_LABEL = re.compile(
    r"^\s*(?:(?:opinion|op-?ed|editorial|analysis|commentary|column|letters?(?: to the editor)?|perspective|"
    r"viewpoint|the view|comment)\s*(?:[:|\-–—]|$)"
    r"|(?-i:The (?:[A-Z][\w.-]* ){0,2}?[A-Z][\w.-]*?(?:['’]s)? view on)\b)",   # "The Guardian view on ...": a name
    re.IGNORECASE)
_OPINION_CATEGORY = re.compile(r"(?<!\w)(?:opinion|op-?eds?|editorials?|commentary|letters|columns?)(?!\w)",
                               re.IGNORECASE)


def opinion_label(title: str, categories: tuple[str, ...]) -> str | None:
    """Why a whole item is opinion (a label opening its title, or a category), if it is."""
    label = _OPINION_LABEL.match(title)
    if label:
        return label.group().strip(" :|-–—")
    for category in categories:
        found = _OPINION_CATEGORY.search(category)
        if found:
            return f"category {category!r}"
    return None
