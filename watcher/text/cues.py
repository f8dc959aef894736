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
number; ``<aux>`` and ``<verb>`` are any word of ``WORDS``. ``n't`` is a word of its own
("hasn't" is read "has n't"); a word in capitals in a sentence that is not ("WHO", "US") is a
name, never a cue. The longest phrase starting at a word wins; at equal length a pseudo-cue
beats a cue, and a cue beats a terminator.

A parenthetical attribution ("A walkout, the union confirmed on Tuesday, will not take place")
does not end a scope: the source is not part of the claim (FactBank's sources).
"""

from __future__ import annotations

from dataclasses import dataclass

DIRECTIONS = ("forward", "backward", "both")
OPENING = "opening"          # ``when``: only as the first word of a sentence (or after a heading's colon)
ASKING = "asking"            # ``when``: opening, and an auxiliary within two words ("Why did", "Who will")
NOT_MONTH = "not-month"      # ``when``: not "May" the month (before a number, after "in", "on", "by", "its"...)
HEADLINE_VERB = "headline-verb"  # ``when``: in a title, and the next word is a ``<verb>``: headlines say what is to
                                # come as "M5 to close overnight" (the cue is "to" alone, so a term that starts
                                # with the verb does not hold it); in prose "to" + verb is mostly a purpose

def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Word classes a phrase may name as ``<class>``.
WORDS: dict[str, frozenset[str]] = {
    "aux": _words("is are was were has have had will would did does do could should must may might wo ca shall"),
    # verbs a headline puts after "to" for what is yet to happen ("M5 to close overnight")
    "verb": _words("""
        acquire act adopt allow announce appeal appoint approve axe ban become begin bid block boost buy call
        cap change charge close cut decide delay drop end enter expand extend face fall file freeze go halt
        hand hear hike hire hit hold impose introduce investigate join keep launch lay leave lift limit lower
        meet merge move name open order pass pay pull quit raise reach reform reject release reopen replace
        resign resume return review rise rule scrap seek sell send set shut sign slash split stage stand start
        step stop strike sue take tighten unveil visit vote walk widen win withdraw
        """),
    # verbs after which "to" + verb in a title is a decision taken, not one to come ("votes to cut")
    "decide": _words("vote votes voted agree agrees agreed decide decides decided opt opts opted choose chooses chose "
                     "elect elects elected"),
}


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
    *_rules("forward", "will|would|could|can|should|shall|does|do|did|is|are|was|were|has|have|had|who|whom|whose",
            scope=None, when=OPENING),
    # an indirect question: "debating whether to appoint an outsider"
    *_rules("forward", "whether", scope=None),
    # "Why did the Senate pass it" asks; "Why the Senate passed it" explains what happened
    *_rules("forward", "why|how|what|when|where|which", scope=None, when=ASKING),
)

NEGATION = (
    *_rules("forward", "not", "n't", "never", "no", "none of", "nobody", "nothing", "neither", "nor",
            "no longer", "not yet", "yet to", "without", "lack of", "lacks", "lacked",
            "fail|fails|failed|failing to", "refuse|refuses|refused|refusing to",
            "decline|declines|declined|declining to", "stop|stops|stopped short of",
            "deny|denies|denying", "rule|rules|ruling out", "dismiss|dismisses|dismissed|dismissing"),
    # a denied verb denies its subject's event too: "Human-to-human transmission has not been detected"
    *_rules("both", "<aux> not|n't|never", "cannot", "denied", "ruled out", "not true"),
    *_rules("backward", "is|are|was|were false", "is|are|was|were untrue", "off the table"),
    # what is stopped did not happen: "Regulator blocks takeover", "Strike called off"
    *_rules("forward", "block|blocks|blocking", "reject|rejects|rejecting", "veto|vetoes|vetoing", "spared",
            "call|calls|calling off", "scrap|scraps|scrapping", "shelve|shelves|shelving",
            "abandon|abandons|abandoning", "cancel|cancels|cancelling|canceling", "halt|halts|halting",
            "axe|axes|axing", "overturn|overturns|overturning", "quash|quashes|quashing",
            "strike|strikes|striking down", "throw|throws|throwing out", "withdraw|withdraws|withdrawing",
            "walk|walks|walked|walking away from", "pull|pulls|pulled|pulling out of",
            "back|backs|backed|backing away from", "back|backs|backed|backing down on|from", scope=3),
    *_rules("both", "blocked", "rejected", "vetoed", "called off", "scrapped", "shelved", "abandoned",
            "cancelled|canceled", "halted", "postponed", "axed", "overturned", "quashed", "struck down",
            "thrown out", "threw out", "withdrawn", "withdrew", scope=3),
)

MODAL = (
    *_rules("forward", "would", "could", "might", scope=None),
    *_rules("forward", "will", "must", "should", "shall", "ought to",
            "need|needs to", "has|have to", "if", "unless", "even if", "in case",
            "set to", "expected to", "poised to", "likely to", "unlikely to", "about to", "ready to",
            "on track to", "on course to", "slated to", "scheduled to",
            "plan|plans|planned|planning to", "aim|aims|aimed|aiming to", "seek|seeks|sought|seeking to",
            "hope|hopes|hoped|hoping to", "want|wants|wanted|wanting to", "vow|vows|vowed|vowing to",
            "pledge|pledges|pledged|pledging to", "promise|promises|promised|promising to",
            "threaten|threatens|threatened|threatening", "prepare|prepares|prepared|preparing to",
            "move|moves to", "try|tries|trying to", "attempt|attempts|attempting to",
            "nears", "nearing", "closer to", "on the verge of", "on the brink of", "ahead of",
            "weighs", "weighing", "mulls", "mulling", "considers", "considering", "eye", "eyes", "eyeing",
            "is|are to", "in talks", "in advanced|early|final|exclusive|formal talks",
            "expect|expects|expecting", "forecast|forecasts|forecasting", "predict|predicts|predicted|predicting",
            "anticipate|anticipates|anticipating", "bet|bets|betting on", "bet|bets|betting that", "traders|investors|markets|punters bet|bets|betting", "price|prices|pricing|priced in",
            "fully price|prices|pricing|priced", "favourite|favourites|favorite|favorites to", "tipped to",
            "odds-on to", "odds of", "brace|braces|braced|bracing for", "gear|gears|geared|gearing up for"),
    *_rules("forward", "may", when=NOT_MONTH),
    *_rules("forward", "to", when=HEADLINE_VERB),
    *_rules("backward", "expected", "likely", "unlikely", "possible", "looms", "looming", "in doubt",
            "in the works", "in sight", "on the cards", "imminent", "set|scheduled|slated|planned for", scope=4),
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
    "negation": ("not only", "not just", "not least", "<aux> not only|just|least", "no doubt", "no matter",
                 "no later than", "no sooner", "no less than", "no more than", "no fewer than", "no . #",
                 "whether or not", "if not", "nothing but", "without delay", "block|blocks of"),
    "modal": ("than expected", "as expected", "than likely", "if any", "as if", "the will of", "political will",
              "free will", "good will", "ahead of schedule", "set to #", "an eye", "the eye", "eye on",
              # a verb before "to" says what was done: "votes to strike" is the vote
              "vote|votes|voted|agree|agrees|agreed|decide|decides|decided|opt|opts|opted|choose|chooses|chose|"
              "elect|elects|elected|begin|begins|began|start|starts|started|continue|continues|continued|"
              "manage|manages|managed|return|returns|returned|go|goes|went|come|comes|came|used to",
              "pleased|delighted|proud|happy|glad to"),
    "opinion": ("budget demands", "wage demands", "pay demands", "ransom demands", "the demands", "demands of",
                "in time to", "at the time", "by the time", "first time", "time to market"),
}

TERMINATORS: tuple[str, ...] = (
    "but", "however", "although", "though", "while", "whereas", "except", "after", "until", "over",
    "amid", "amidst", "because", "as", "despite", "following", "since", "once", "which", "who", "even as",
)
# Words that end a backward reach only: the subject of a denied verb is the noun phrase just
# before it ("the House voted to approve the package and the White House did not comment").
BACKWARD_TERMINATORS: tuple[str, ...] = ("and", "or")
# Phrases that hold a terminator's word and end nothing: "as much as $61 billion" is the amount.
NOT_TERMINATORS: tuple[str, ...] = (
    "as much as", "as many as", "as well as", "such as", "as of", "as part of", "as high as", "as low as",
    "as little as", "as soon as", "as long as", "after all", "over #",
)

# Words that make a parenthetical between commas an attribution, which no scope ends at.
ATTRIBUTION = _words("""
    said says say confirmed confirms stressed stresses showed shows told added adds reported reports announced
    according noted notes insisted insists warned warns acknowledged conceded explained explains claimed claims
    stated states wrote writes argued argues believes believed suggested suggests
    """)

# Marks that end a clause, and with it every scope.
CLAUSE_MARKS = frozenset(",;:()[]\u2013\u2014-")
