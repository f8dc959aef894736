"""One number as news text writes it: "4.25", "61,000", "5-1/2", "5 1/2", "½", "2¼", "a quarter",
"three-quarters", "one and a half", "twenty-five". Pure.

``DIGITS`` and ``WORDS`` (and ``WORD_RUN``, a short and loose ``WORDS`` for patterns compiled
into rules) are regex pieces with no groups and no guards of their own: whoever
builds a pattern from them decides where a number may start and end (``START`` and ``END``
below keep a number from starting or stopping in the middle of another). ``value`` turns the
text they matched into an exact ``Decimal``.

Fractions are the ones rates and points are written in: halves, thirds, quarters and eighths
(``1/2``, ``3/4``, ``7/8``, ``½`` ... ``⅞``); "24/7", "9/11" and "1/20" are not fractions, and a
date such as "5/12/2024" is no number at all.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

_VULGAR = {"½": "1/2", "⅓": "1/3", "⅔": "2/3", "¼": "1/4", "¾": "3/4", "⅛": "1/8", "⅜": "3/8", "⅝": "5/8",
           "⅞": "7/8"}
_VULGAR_CLASS = "[" + "".join(_VULGAR) + "]"
_SLASH = "[/⁄]"   # the solidus and the fraction slash
_FRACTION = (rf"(?:{_VULGAR_CLASS}|(?:1{_SLASH}[2348]|2{_SLASH}3|3{_SLASH}[48]|[57]{_SLASH}8)"
             rf"(?![\d/⁄]))")
_PLAIN = r"(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
# "5-1/2", "5 1/2", "5½", "5 ½"; a plain number; a fraction alone
DIGITS = rf"(?:\d+(?:[-\s]?{_FRACTION})|{_PLAIN}|{_FRACTION})"

_ONES = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_TEENS = ("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
          "nineteen")
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_CARDINALS = {w: i for i, w in enumerate(("zero", *_ONES, *_TEENS), start=0)} | {
    w: 20 + 10 * i for i, w in enumerate(_TENS)}
_PARTS = {"half": 2, "halves": 2, "third": 3, "thirds": 3, "quarter": 4, "quarters": 4, "eighth": 8,
          "eighths": 8}
_NUMERATORS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "five": 5, "seven": 7}

_CARDINAL = (rf"(?:(?:a|one)\s+hundred|(?:{'|'.join(_TENS)})(?:[-\s](?:{'|'.join(_ONES)}))?|{'|'.join(_TEENS)}"
             rf"|{'|'.join(_ONES)}|zero)(?![\w-])")
_PART = r"(?:halves|half|thirds?|quarters?|eighths?)(?!\w)"
_NUMERATOR = r"(?:an?|one|two|three|five|seven)[-\s]"


def _trie(words: list[str]) -> str:
    """A regex matching exactly ``words``, as a tree of their common prefixes ("t(?:en|w(?:o|elve))"):
    at a word that starts no number it fails on the first or second letter, not after trying
    every word in turn."""
    heads: dict[str, list[str]] = {}
    for word in sorted(set(words)):
        heads.setdefault(word[:1], []).append(word[1:])
    branches = []
    for head, tails in heads.items():
        if head == "":
            continue
        rest = _trie(tails) if any(tails) else ""
        optional = "" in tails and any(tails)
        branches.append(re.escape(head) + (f"{rest}?" if optional else rest))
    return branches[0] if len(branches) == 1 and "" not in heads else "(?:" + "|".join(branches) + ")"


# the words a number in words starts with, as a trie: cheap to refuse on the words that start none
FIRST_WORDS = _trie(["a", "an", "zero", *_ONES, *_TEENS, *_TENS, *_PARTS])
_FIRST_WORD = rf"(?={FIRST_WORDS}(?!\w))"
# "one and a half", "two and three-quarters"; "three-quarters", "a quarter", "half"; "twenty-five"
WORDS = (rf"(?:{_FIRST_WORD}(?:{_CARDINAL}\s+and\s+{_NUMERATOR}{_PART}|(?:{_NUMERATOR})?{_PART}|{_CARDINAL}))")
# the same, loosely and in few characters (for patterns compiled into every rule that uses
# them): up to four number words in a row; ``value`` says whether they make a number
_NUMBER_WORD = _trie(["a", "an", "zero", *_ONES, *_TEENS, *_TENS, *_PARTS, "hundred"])
WORD_RUN = rf"(?:(?={_NUMBER_WORD}(?!\w))[^\W\d_]+(?:[-\s]|\s+and\s+)?){{1,4}}"


def compiled_later(pattern: str, flags: int = re.IGNORECASE) -> Callable[[], re.Pattern[str]]:
    """``pattern``, compiled when it is first used: importing these modules stays cheap for the
    processes that never read a number (a daemon's start, a parse worker)."""
    return functools.cache(lambda: re.compile(pattern, flags))


_WORDS = compiled_later(WORDS)

# what may follow a number: a scale ("61 billion", "61bn", "61m") and a currency ("61 dollars")
SCALE_WORDS = r"trillions?|billions?|millions?|thousands?"
SCALE_SHORT = r"tn|trn|bn|bln|mn|mln"
CURRENCY_WORDS = r"(?:US |U\.S\. )?dollars?|USD|euros?|EUR|pounds(?: sterling)?|GBP|yen|JPY"

# a number does not start inside a word or another number ("2.25" is not "25", "F-16" not "16",
# the "1/2" of "5-1/2" is not a number of its own) ...
START = r"(?<![\w.,/⁄])(?<![\w%][-–−])"
# ... nor stop inside one ("5,2024" is not "5,202"; "2024" is not "202"; "5-1/2" is not "5")
END = rf"(?![\d½⅓⅔¼¾⅛⅜⅝⅞]|[.,/⁄]\d|[-\s]\d{_SLASH}|\s{_VULGAR_CLASS})"

_MIXED = re.compile(rf"(?P<whole>\d+)[-\s]?(?P<fraction>{_FRACTION})")
_WORDS_MIXED = compiled_later(rf"(?P<whole>{_CARDINAL})\s+and\s+(?P<fraction>{_NUMERATOR}{_PART})")


def value(text: str) -> Decimal | None:
    """The number ``text`` spells (as ``DIGITS`` or ``WORDS`` matched it), exactly; ``None`` if
    it is not one."""
    text = " ".join(text.split()).casefold()
    if not text:
        return None
    if text[0].isdigit() or text[0] in _VULGAR:
        return _digits(text)
    return _words(text)


def _digits(text: str) -> Decimal | None:
    mixed = _MIXED.fullmatch(text)
    if mixed:
        return Decimal(mixed["whole"]) + _fraction(mixed["fraction"])
    if text in _VULGAR or "/" in text or "⁄" in text:
        return _fraction(text)
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None


def _fraction(text: str) -> Decimal:
    top, bottom = _VULGAR.get(text, text).replace("⁄", "/").split("/")
    return Decimal(top) / Decimal(bottom)


def _words(text: str) -> Decimal | None:
    if not _WORDS().fullmatch(text):
        return None            # "one two", "two hundred", "a": no number this module reads
    mixed = _WORDS_MIXED().fullmatch(text)
    if mixed:
        whole, part = _cardinal(mixed["whole"]), _part(mixed["fraction"])
        return None if whole is None or part is None else whole + part
    return _part(text) if text.split("-")[-1].split()[-1] in _PARTS else _cardinal(text)


def _cardinal(text: str) -> Decimal | None:
    words = text.replace("-", " ").split()
    if words[-1] == "hundred":
        return Decimal(100)
    total = 0
    for word in words:
        if word not in _CARDINALS:
            return None
        total += _CARDINALS[word]
    return Decimal(total)


def _part(text: str) -> Decimal | None:
    words = text.replace("-", " ").split()
    numerator = _NUMERATORS.get(words[0]) if len(words) == 2 else 1
    if numerator is None or words[-1] not in _PARTS:
        return None
    return Decimal(numerator) / Decimal(_PARTS[words[-1]])
