"""``ItemView``: one item's text as the matchers read it, split and scanned once. Pure.

Every matcher of every rule and signal looks at the same item; the view computes each field's
text, sentences, clauses and guard cues the first time one of them needs it, and hands the
same answers to the rest. Only the first ``MAX_FIELD_CHARS`` characters of a field are read:
matching cost stays bounded whatever a feed sends.
"""

from __future__ import annotations

import bisect

from ..models import Item
from . import guards as g
from .sentences import Span, clauses, containing, sentences

MAX_FIELD_CHARS = 20_000
WITHIN = ("field", "sentence", "clause")


class ItemView:
    def __init__(self, item: Item, feed: str = ""):
        self.item = item
        self.feed = feed
        self._text: dict[str, str] = {}
        self._sentences: dict[str, tuple[list[Span], list[int]]] = {}
        self._clauses: dict[str, tuple[list[Span], list[int]]] = {}
        self._cues: dict[str, tuple[list[g.Cue], list[int]]] = {}
        self._opinion: str | None | bool = False

    def text(self, field: str) -> str:
        text = self._text.get(field)
        if text is None:
            text = self._text[field] = self.item.text(field, self.feed)[:MAX_FIELD_CHARS]
        return text

    def sentences(self, field: str) -> list[Span]:
        return self._sentence_index(field)[0]

    def _sentence_index(self, field: str) -> tuple[list[Span], list[int]]:
        found = self._sentences.get(field)
        if found is None:
            spans = sentences(self.text(field))
            found = self._sentences[field] = (spans, [s for s, _ in spans])
        return found

    def _clause_index(self, field: str) -> tuple[list[Span], list[int]]:
        found = self._clauses.get(field)
        if found is None:
            text = self.text(field)
            spans = [c for s in self.sentences(field) for c in clauses(text, s)]
            found = self._clauses[field] = (spans, [s for s, _ in spans])
        return found

    def units(self, field: str, within: str) -> list[Span]:
        """Where terms must meet: the whole field, each sentence, or each clause."""
        if within == "sentence":
            return self.sentences(field)
        if within == "clause":
            return self._clause_index(field)[0]
        text = self.text(field)
        return [(0, len(text))] if text else []

    def sentence_of(self, field: str, position: int) -> Span:
        spans, starts = self._sentence_index(field)
        return containing(spans, starts, position) or (position, position)

    def clause_of(self, field: str, position: int) -> Span:
        spans, starts = self._clause_index(field)
        return containing(spans, starts, position) or self.sentence_of(field, position)

    def opinion(self) -> str | None:
        """Why the whole item is opinion (title label or category), if it is."""
        if self._opinion is False:
            self._opinion = g.opinion_label(self.item.title, self.item.categories)
        return self._opinion  # type: ignore[return-value]

    def _clause_cues(self, field: str) -> tuple[list[g.Cue], list[int]]:
        found = self._cues.get(field)
        if found is None:
            cues = g.clause_cues(self.text(field))
            found = self._cues[field] = (cues, [c.start for c in cues])
        return found

    def blocked(self, field: str, start: int, end: int, guards: frozenset[str],
                protected: list[Span]) -> g.Cue | None:
        """The guard cue that keeps the text at ``start:end`` from counting, if any.

        ``protected`` are the spans of the matcher's own terms: a cue inside one of them is
        part of what the rule author asked for, not a reason to refuse it.
        """
        if not guards:
            return None
        if "opinion" in guards and self.opinion():
            return g.Cue("opinion", 0, 0, str(self.opinion()))
        if "question" in guards:
            sentence = self.sentence_of(field, start)
            cue = g.question_cue(self.text(field), *sentence)
            if cue is not None and not _overlaps(cue, protected):
                return cue
        clause_start, clause_end = self.clause_of(field, start)
        cues, starts = self._clause_cues(field)
        for cue in cues[bisect.bisect_left(starts, clause_start):]:
            if cue.start >= max(clause_end, end):
                break
            if cue.guard in guards and not _overlaps(cue, protected):
                return cue
        return None

    def context(self, field: str, start: int, limit: int = 300) -> str:
        """The sentence around a position, for quotes: what a reader needs to judge the claim."""
        s, e = self.sentence_of(field, start)
        text = self.text(field)[s:e] if e > s else ""
        return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _overlaps(cue: g.Cue, spans: list[Span]) -> bool:
    return any(cue.start < end and start < cue.end for start, end in spans)
