"""The guards' cue inventory, as data: one table a guard, plus pseudo-cues and terminators. Pure.

How ``guards`` reads a sentence with these tables (NegEx, ConText):

- a **cue** says the text around it asks, denies, predicts or argues. Each has a guard (its
  class), a direction (``forward``: acts on what follows, ``backward``: on what precedes,
  ``both``) and a scope in words (``None``: to the end of the clause);
- a **pseudo-cue** looks like a cue and is not one ("than expected", "not only", "budget
  demands"); it is read like a cue, so where it is the longer match, or starts first, the cue
  inside it is never read;
- a **terminator** ("but", "after", "over", "amid"...) ends every scope it meets, as do a clause
  mark (``, ; : ( ) [ ]``, a dash), the sentence's end and the next cue of the same guard. A
  pseudo-terminator ("as much as", "such as") is read where a terminator would be, and ends
  nothing.

A phrase is its words in lower case separated by spaces; ``a|b`` is either word; ``#`` is a
number. ``n't`` is a word of its own ("hasn't" is read "has n't"). The longest phrase starting
at a word wins; at equal length a pseudo-cue beats a cue, and a cue beats a terminator.
"""

from __future__ import annotations

from dataclasses import dataclass

DIRECTIONS = ("forward", "backward", "both")
OPENING = "opening"          # ``when``: only as the first word of a sentence (or after a heading's colon)
NOT_MONTH = "not-month"      # ``when``: not "May" the month (before a number, after "in", "on", "by"...)


@dataclass(frozen=True)
class CueRule:
    """One cue of a guard."""

    phrase: str
    direction: str = "forward"
    scope: int | None = -1        # words it reaches; None: to the end of the clause; -1: the guard's default
    through: str | None = None    # forward only past this word: "asks Congress to pass" reaches "pass", not "Congress"
    when: str | None = None       # OPENING or NOT_MONTH


def _rules(direction: str, *phrases: str, scope: int | None = -1, through: str | None = None,
           when: str | None = None) -> tuple[CueRule, ...]:
    return tuple(CueRule(p, direction, scope, through, when) for p in phrases)


# Words a guard's cue reaches when the cue does not say otherwise. NegEx's five words for a
# denial; a little more for predictions and advocacy, whose object is often a longer phrase
# ("expected to approve $61 billion in aid"). A question reaches its whole clause.
DEFAULT_SCOPE: dict[str, int | None] = {"question": None, "negation": 5, "modal": 6, "opinion": 6}

QUESTION = (
    *_rules("backward", "?", scope=None),
    *_rules("forward", "will|would|could|can|should|shall|does|do|did|is|are|was|were|has|have|had|why|how|"
                       "what|when|where|which|who|whom|whose|whether", scope=None, when=OPENING),
)

NEGATION = (
    *_rules("forward", "not", "n't", "never", "no", "none of", "nobody", "nothing", "neither", "nor", "cannot",
            "no longer", "not yet", "yet to", "without", "lack of", "lacks", "lacked",
            "fail|fails|failed|failing to", "refuse|refuses|refused|refusing to",
            "decline|declines|declined|declining to", "stop|stops|stopped short of",
            "deny|denies|denying", "rule|rules|ruling out", "dismiss|dismisses|dismissed|dismissing"),
    *_rules("both", "denied", "ruled out", "not true"),
    *_rules("backward", "is|are|was|were false", "is|are|was|were untrue", "off the table"),
)

MODAL = (
    *_rules("forward", "will", "would", "could", "might", "must", "should", "shall", "can", "ought to",
            "need|needs to", "has|have to", "if", "unless", "whether", "even if", "in case",
            "set to", "expected to", "poised to", "likely to", "unlikely to", "about to", "ready to",
            "on track to", "on course to", "slated to", "scheduled to",
            "plan|plans|planned|planning to", "aim|aims|aimed|aiming to", "seek|seeks|sought|seeking to",
            "hope|hopes|hoped|hoping to", "want|wants|wanted|wanting to", "vow|vows|vowed|vowing to",
            "pledge|pledges|pledged|pledging to", "promise|promises|promised|promising to",
            "threaten|threatens|threatened|threatening to", "prepare|prepares|prepared|preparing to",
            "move|moves to", "try|tries|trying to", "attempt|attempts|attempting to",
            "nears", "nearing", "closer to", "on the verge of", "on the brink of", "ahead of",
            "weighs", "weighing", "mulls", "mulling", "considers", "considering", "eyes", "eyeing"),
    *_rules("forward", "may", when=NOT_MONTH),
    *_rules("backward", "expected", "likely", "unlikely", "possible", "looms", "looming", "in doubt",
            "in the works", "in sight", scope=4),
)

OPINION = (
    *_rules("forward", "urge|urges|urged|urging", "call|calls|called|calling for", "call|calls|called|calling on",
            "argue|argues|argued|arguing", "demands|demanded|demanding", "plead|pleads|pleaded|pleading",
            "appeal|appeals|appealed|appealing for", "appeal|appeals|appealed|appealing to",
            "lobby|lobbies|lobbied|lobbying for", "press|presses|pressed|pressing for",
            "push|pushes|pushed|pushing for", "it's time to", "it is time to", "time to", "the case for", "we need to",
            "we must"),
    *_rules("forward", "ask|asks|asked|asking", "press|presses|pressed|pressing",
            "pressure|pressures|pressured|pressuring", through="to"),
)

CUES: dict[str, tuple[CueRule, ...]] = {"question": QUESTION, "negation": NEGATION, "modal": MODAL,
                                        "opinion": OPINION}

# Phrases that hold a cue's words without being the cue.
PSEUDO: dict[str, tuple[str, ...]] = {
    "question": (),
    "negation": ("not only", "not just", "not least", "no doubt", "no matter", "no later than", "no sooner",
                 "no less than", "no more than", "no fewer than", "no . #", "whether or not", "if not",
                 "nothing but", "without delay"),
    "modal": ("than expected", "as expected", "than likely", "if any", "as if", "the will of", "political will",
              "free will", "good will", "ahead of schedule", "set to #"),
    "opinion": ("budget demands", "wage demands", "pay demands", "ransom demands", "the demands", "demands of",
                "in time to", "at the time", "by the time", "first time", "time to market"),
}

TERMINATORS: tuple[str, ...] = (
    "but", "however", "although", "though", "while", "whereas", "except", "after", "before", "until", "over",
    "amid", "amidst", "because", "as", "despite", "following", "since", "once", "which", "who", "even as",
)
# Phrases that hold a terminator's word and end nothing: "as much as $61 billion" is the amount.
NOT_TERMINATORS: tuple[str, ...] = (
    "as much as", "as many as", "as well as", "such as", "as of", "as part of", "as high as", "as low as",
    "as little as", "as soon as", "as long as", "after all", "over #",
)

# Marks that end a clause, and with it every scope.
CLAUSE_MARKS = frozenset(",;:()[]\u2013\u2014-")
