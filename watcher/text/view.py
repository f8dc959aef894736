"""``ItemView``: one item's text as the matchers read it, split and scanned once. Pure.

Every matcher of every rule and signal looks at the same item; the view computes each field's
text, sentences, clauses and guard cues (with the text each reaches) the first time one of them
needs it, and hands the
same answers to the rest. Only the first ``MAX_FIELD_CHARS`` characters of a field are read:
matching cost stays bounded whatever a feed sends.
"""

from __future__ import annotations


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
        self._cues: dict[tuple[str, Span], list[g.Reach]] = {}   # (field, sentence) -> its cues
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

    def _reaching(self, field: str, start: int, end: int, guards: frozenset[str],
                  protected: list[Span]) -> list[g.Cue]:
        """The cues of ``guards`` whose scope reaches the text at ``start:end``: a question first.
        A sentence's cues are read the first time a hit in it asks."""
        sentence = self.sentence_of(field, start)
        reaches = self._cues.get((field, sentence))
        if reaches is None:
            reaches = self._cues[(field, sentence)] = g.sentence_cues(self.text(field), *sentence,
                                                                      headline=field == "title")
        found = [r.cue for r in reaches if r.cue.guard in guards and r.reaches(start, end, protected)]
        return sorted(found, key=lambda c: c.guard != "question")

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
        reaching = self._reaching(field, start, end, guards, protected)
        return next((cue for cue in reaching if not _overlaps(cue, protected)), None)

    def cancelled(self, field: str, start: int, end: int, guards: frozenset[str],
                  protected: list[Span]) -> list[g.Cue]:
        """The cues that reach the text at ``start:end`` but are ignored: inside a ``protected`` span."""
        return [cue for cue in self._reaching(field, start, end, guards, protected) if _overlaps(cue, protected)] \
            if guards else []

    def context(self, field: str, start: int, limit: int = 300) -> str:
        """The sentence around a position, for quotes: what a reader needs to judge the claim."""
        s, e = self.sentence_of(field, start)
        text = self.text(field)[s:e] if e > s else ""
        return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _overlaps(cue: g.Cue, spans: list[Span]) -> bool:
    return any(cue.start < end and start < cue.end for start, end in spans)
