"""Guards: cues that a sentence asks, denies, predicts or argues instead of reporting. Pure.

"Will the Senate pass the aid?", "The House has not passed the package", "Congress must pass
the aid", "Opinion: it is time to pass the aid" all contain the words of the news without
being it. A guarded matcher lets a term count only where none of its guards fires:

===========  ================================================================  ==========
guard        fires on                                                          looks at
===========  ================================================================  ==========
question     a sentence ending in "?", or opening with an interrogative        sentence
             (will, does, is, has, why, how, what...)
negation     not, n't, never, no longer, neither/nor, fails/refuses to, yet    clause
             to, denies, rules out, "no vote/deal/sign of"
modal        will, would, could, may, might, must, should, can, set/expected/  clause
             poised/likely/plans/aims/seeks/vows to, if, unless, whether,
             nears, ahead of, about to, on track to
opinion      an opinion label opening the title (Opinion:, Op-ed, Editorial,   item, clause
             Analysis, Commentary, Letters...) or in the categories; urges,
             calls for/on, argues, demands, asks, pleads, "it's time to"
===========  ================================================================  ==========

A cue that overlaps one of the matcher's own terms is not a cue: a signal looking for
"fails to advance" is not spoiled by its own "fails to". "May" followed by a number or after
"in/on/by/since/until/early/late/mid/last/next/this" is the month, not the modal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GUARDS = ("question", "negation", "modal", "opinion")

_NEGATION = re.compile(
    r"(?<!\w)(?:not|never|no longer|neither|nor|cannot|\w+n[’']t|fail(?:s|ed|ing)? to|"
    r"refus(?:e|es|ed|ing) to|yet to|den(?:y|ies|ied|ying)|rul(?:e|es|ed|ing) out|"
    r"no (?:vote|deal|agreement|decision|plans?|sign|progress|breakthrough))(?!\w)", re.IGNORECASE)

_MODAL = re.compile(
    r"(?<!\w)(?:will|would|could|might|must|should|shall|can|may|ought to|needs? to|has to|have to|"
    r"(?:is |are )?set to|expected to|poised to|likely|unlikely|plans? to|planning to|aims? to|seeks? to|"
    r"hopes? to|wants? to|vows? to|pledges? to|promises? to|threatens? to|prepares? to|moves? to|"
    r"if|unless|whether|nears?|nearing|ahead of|about to|on track to|tries to|trying to|attempts? to)(?!\w)",
    re.IGNORECASE)
_MONTH_BEFORE = re.compile(r"(?:in|on|by|since|until|till|early|late|mid|last|next|this|of)\s+$", re.IGNORECASE)
_MONTH_AFTER = re.compile(r"\s+\d")

_OPINION = re.compile(
    r"(?<!\w)(?:urg(?:e|es|ed|ing)|calls? (?:for|on)|called (?:for|on)|calling (?:for|on)|argu(?:e|es|ed|ing)|"
    r"demand(?:s|ed|ing)?|asks?|asked|asking|plead(?:s|ed|ing)?|appeals? (?:for|to)|it[’']?s time to|"
    r"time to|the case for|we need to|lobb(?:y|ies|ied|ying))(?!\w)", re.IGNORECASE)
_OPINION_LABEL = re.compile(
    r"^\s*(?:opinion|op-?ed|editorial|analysis|commentary|column|letters?(?: to the editor)?|perspective|"
    r"viewpoint|the view|comment)\s*(?:[:|\-–—]|$)", re.IGNORECASE)
_OPINION_CATEGORY = re.compile(r"(?<!\w)(?:opinion|op-?eds?|editorials?|commentary|letters|columns?)(?!\w)",
                               re.IGNORECASE)

_QUESTION_END = re.compile(r"\?[\"'”’»)\]]*\s*$")
_QUESTION_START = re.compile(
    r"^[\"'“‘(\[]*(?:(?:analysis|opinion|explainer)\s*:\s*)?(will|would|could|can|should|shall|does|do|did|is|"
    r"are|was|were|has|have|had|may|might|must|why|how|what|when|where|which|who|whom|whose|whether)(?!\w)",
    re.IGNORECASE)


@dataclass(frozen=True)
class Cue:
    """One place where a guard fires: the guard, the span in the field's text, the words."""

    guard: str
    start: int
    end: int
    text: str


def _is_month(text: str, found: re.Match[str]) -> bool:
    word = found.group()
    if word != "May":
        return False
    return bool(_MONTH_BEFORE.search(text, 0, found.start()) or _MONTH_AFTER.match(text, found.end()))


def clause_cues(text: str) -> list[Cue]:
    """Every negation, modal and opinion cue in ``text`` (checked per clause by the caller)."""
    cues = [Cue("negation", m.start(), m.end(), m.group()) for m in _NEGATION.finditer(text)]
    cues += [Cue("modal", m.start(), m.end(), m.group()) for m in _MODAL.finditer(text)
             if not _is_month(text, m)]
    cues += [Cue("opinion", m.start(), m.end(), m.group()) for m in _OPINION.finditer(text)]
    return sorted(cues, key=lambda c: (c.start, c.end))


def question_cue(text: str, start: int, end: int) -> Cue | None:
    """The cue that makes the sentence ``text[start:end]`` a question, if any."""
    sentence = text[start:end]
    ends = _QUESTION_END.search(sentence)
    if ends:
        return Cue("question", start + ends.start(), start + ends.start() + 1, "?")
    opens = _QUESTION_START.match(sentence)
    if opens:
        word = opens.group(1)
        if word.isupper() and len(word) > 1:  # "WHO says ..." is an organisation, not a question
            return None
        return Cue("question", start + opens.start(1), start + opens.end(1), word)
    return None


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
