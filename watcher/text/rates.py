"""Rates in news text: levels in percent, changes in points, and ranges of levels. Pure.

Three placeholders, each one named group whose text ``read`` interprets:

- ``{percent}`` (group ``pct``): one level in percent: "3.5%", "3.5 percent", "3.5 per cent",
  "3.5 pct", "5-1/2 percent", "2¼%", "two and a half percent";
- ``{range}`` (group ``rng``): a level or a range of levels, in percent or with no unit:
  "3.25%-3.5%", "3.25-3.5%", "1.50 to 1.75 percent", "2-1/4 to 2-1/2 percent", "2¼%-2½%",
  "between 3 and 3.25 percent" (and "4.5%" or "4.5" alone);
- ``{change}`` (group ``chg``): a change in points: "25 basis points", "25bp", "25 bps",
  "0.25 percentage point", "a quarter point", "quarter-point", "half a point",
  "three-quarters of a point", "twenty-five basis points"; "point(s)" alone is a percentage point.

How a level is told from a change, and a range from two numbers:

- "%", "percent", "per cent", "pct" make a level; "percentage point(s)", "% point(s)", "pp",
  "point(s)" and "basis point(s)", "bp", "bps" make a change (100 bp = 1 pp). A level never
  reads a number followed by a change unit: in "by 25 basis points to 4.5%" the level is 4.5.
- A number right after "by" or "from" is a change or an old value, never the level; so is a
  number right after a verb of change ("cuts rates 0.25%", "rose 0.5 percent"). "X to Y" after
  such a verb is a change and then the level Y ("cuts rates 0.25% to 4.5%" is 4.5%), and
  "from X to Y" is a change from X to Y, not a range: the level is Y ("ranges from X to Y" and
  "ranging from X to Y" are ranges).
- "X-Y", "X to Y" and "between X and Y" are ranges only with X < Y; "70-29" is a vote and
  "2024-25" a season. "X-Y" and "X to Y" between two whole numbers with no unit ("45-55",
  "18-24", "voted 10 to 2") are not ranges (votes, scores, ages), and a whole number from 1900
  to 2100 with no unit is a year, not a level ("2023-2024", "in 2024"). The end of a range is
  not read as a level of its own.
"""

from __future__ import annotations

import re
from decimal import Decimal

from .numerals import CURRENCY_WORDS, DIGITS, END, FIRST_WORDS, SCALE_SHORT, SCALE_WORDS, START, WORDS, value

PERCENT, BP, PP = "percent", "bp", "pp"
RATE_UNITS = (PERCENT, BP, PP)

_SIGN = r"(?:(?<![^\s(\[])[-−](?=\d))?"
_ND = rf"(?:{_SIGN}{DIGITS}{END})"                 # a number in digits
_N = rf"(?:{_ND}|{WORDS})"                          # ... or in words
_PCT = r"(?:\s?%(?![-\s]?points?\b)|[-\s]?(?:percent|per[-\s]?cent|pct)(?![-\s]?points?\b)(?!\w))"
_BP = r"(?:basis[-\s]points?|bps?)"
_PP = r"(?:(?:percentage|percent|%)[-\s]?points?|ppts?|pp|points?)"
_CHG = rf"(?:(?:\s+of\s+an?\s+|\s+an?\s+|[-\s]?)(?:{_BP}|{_PP})(?!\w))"
_SCALE = rf"(?:{SCALE_WORDS}|{SCALE_SHORT}|[bmk])(?!\w)"
_MONEY = rf"(?:{CURRENCY_WORDS})(?!\w)"
# what may not follow a number with no unit that is read as a level: a change unit, a scale,
# a currency ("25 basis points", "61 billion", "5 euros"), or a hyphenated word ("10-year")
_BARE = (rf"(?!\s*(?:of\s+an?\s+|an?\s+)?(?:{_BP}|{_PP})(?!\w)|[-\s]?{_SCALE}|\s?{_MONEY}"
         r"|[-–][^\W\d])")
_DASH, _TO = r"\s?[-–—]\s?", r"\s+to\s+"
_SEP = rf"(?:{_DASH}|{_TO})"
# a number with a decimal point or a fraction ("3.25", "5½", "5-1/2"), unlike a count or a score
_DECIMAL = rf"(?=[-−]?(?:\d*[.½⅓⅔¼¾⅛⅜⅝⅞]|\d+[-\s]?\d{{1,2}}[/⁄]|\d[/⁄])){_ND}"
# where a reading may start: not inside a word or number, and only where a number (or "between")
# does: that look-ahead makes a search over long text several times faster
_START = rf"{START}(?=[-−\d½⅓⅔¼¾⅛⅜⅝⅞]|(?i:{FIRST_WORDS}|between)(?!\w))"
# a level: not after a currency sign, nor after "by" or "from" (a change, an old value)
_LEVEL_START = _START + (r"(?<![$€£¥])(?<!\b(?i:by)\s)"
                         r"(?:(?<!\b(?i:from)\s)|(?<=(?i:ranges)\sfrom\s)|(?<=(?i:ranging)\sfrom\s))")
# ("rates ranging from X to Y" is a range; "the range from X to Y" a change of it)

# a number with no unit read as a level is not a year ("in 2024", "2023-2024")
_YEAR = r"(?:19|20)\d\d(?![\d½⅓⅔¼¾⅛⅜⅝⅞]|[.,/⁄]\d)"
_BARE_ND = rf"(?!{_YEAR}){_ND}{_BARE}"
_LEVEL_ND = rf"(?:{_ND}{_PCT}|{_BARE_ND})"
_RANGE_OF_LEVELS = (rf"(?:(?i:between)\s+{_LEVEL_ND}\s+(?i:and)\s+{_LEVEL_ND}"
                    rf"|(?i:between)\s+{_N}{_PCT}?\s+(?i:and)\s+{_N}{_PCT}"
                    rf"|{_N}{_PCT}?{_SEP}{_N}{_PCT}|{_ND}{_PCT}{_SEP}{_LEVEL_ND}"
                    # with no unit, a decimal or a fraction at one end: "70-29" and "10 to 2" are votes
                    rf"|{_DECIMAL}{_BARE}{_SEP}{_BARE_ND}|{_BARE_ND}{_SEP}{_DECIMAL}{_BARE})")
# one number with no unit is neither half of something that is no range ("1.5 to 2 billion",
# "voted 10 to 2")
_LEVEL = (rf"(?:{_ND}{_PCT}|(?<!\d\sto\s)(?<!\d\sand\s){_BARE_ND}(?!{_SEP}\d|\s+and\s+\d)"
          rf"|{_N}{_PCT})")
_PERCENT_RANGE = (rf"(?:(?i:between)\s+{_N}{_PCT}?\s+(?i:and)\s+{_N}{_PCT}|{_N}{_PCT}?{_SEP}{_N}{_PCT})")
_CHANGE_RANGE = (rf"(?:(?i:between)\s+{_N}{_CHG}?\s+(?i:and)\s+{_N}{_CHG}|{_N}{_CHG}?{_SEP}{_N}{_CHG})")

# a range is tried first, so that the ends of "3.25%-3.5%" are never read alone
PERCENT_PATTERN = rf"(?P<pct>{_LEVEL_START}(?:{_PERCENT_RANGE}|{_N}{_PCT}))"
RANGE_PATTERN = rf"(?P<rng>{_LEVEL_START}(?:{_RANGE_OF_LEVELS}|{_LEVEL}))"
CHANGE_PATTERN = rf"(?P<chg>{_START}(?:{_CHANGE_RANGE}|{_N}{_CHG}))"
GROUPS = ("pct", "rng", "chg")

_PARTS = re.compile(rf"(?:between\s+)?(?P<a>{_N})(?P<ua>{_PCT}|{_CHG})?"
                    rf"(?:(?P<sep>{_SEP}|\s+and\s+)(?P<b>{_N})(?P<ub>{_PCT}|{_CHG})?)?", re.IGNORECASE)
_CHANGE_VERBS = ("cuts?|cutting|raise[sd]?|raising|lift(?:s|ed)?|hike[sd]?|hiking|lower(?:s|ed)?|trim(?:s|med)?"
                 "|reduce[sd]?|increase[sd]?|rise[sn]?|rose|fall(?:s|en)?|fell|climb(?:s|ed)?|jump(?:s|ed)?"
                 "|drop(?:s|ped)?|slash(?:es|ed)?|add(?:s|ed)?|gain(?:s|ed)?|lose[s]?|lost|decline[sd]?"
                 "|slip(?:s|ped)?|ease[sd]?|boost(?:s|ed)?|soar(?:s|ed)?|plunge[sd]?|tumble[sd]?|grew|grow(?:s|n)?"
                 "|shr[iau]nk|shrinks|dip(?:s|ped)?|up|down|by"
                 "|(?<!ranges\\s)(?<!ranging\\s)from")
_FILLERS = ("its|the|their|a|key|benchmark|main|policy|interest|lending|deposit|cash|overnight|bank|refinancing"
            "|repo|discount|prime|funds|federal|target|rates?|it|them|borrowing|costs?")
_AFTER_CHANGE = re.compile(rf"(?<!\w)(?:{_CHANGE_VERBS})(?:\s+(?:{_FILLERS})){{0,5}}\s+$", re.IGNORECASE)
_RANGE_HEAD = re.compile(rf"{START}(?P<x>{_N})(?:{_PCT})?(?:{_SEP}|\s+and\s+)$", re.IGNORECASE)
_LOOK_BACK = 120


def unit_of(text: str | None) -> str | None:
    """``"%"``, ``" per cent"`` -> ``"percent"``; ``"bps"``, ``"basis points"`` -> ``"bp"``;
    ``"percentage points"``, ``" of a point"`` -> ``"pp"``; other text -> ``None``."""
    if not text:
        return None
    words = " ".join(text.replace("-", " ").casefold().split())
    words = words.removeprefix("of ").removeprefix("an ").removeprefix("a ")
    if re.fullmatch(r"(?:%|percent|per ?cent|pct)", words):
        return PERCENT
    if re.fullmatch(_BP, words.replace(" ", "-"), re.IGNORECASE):
        return BP
    if re.fullmatch(r"(?:(?:percentage|percent|%) ?points?|ppts?|pp|points?)", words):
        return PP
    return None


def read(placeholder: str, found: re.Match[str]) -> tuple[Decimal, Decimal | None, str | None] | None:
    """What the text a placeholder group (``pct``, ``rng``, ``chg``) matched says: ``(low,
    high, unit)``, ``high`` ``None`` for one number; ``None`` when it is not a value of that
    placeholder here (a range where one level is wanted, a level after a verb of change, the end
    of a range, a year...). See the module docstring."""
    text = found.group(placeholder)
    before = found.string[max(0, found.start(placeholder) - _LOOK_BACK):found.start(placeholder)]
    reading = parse(text)
    if reading is not None and placeholder != "chg" and _AFTER_CHANGE.search(before):
        # "cuts rates 0.25%", "rose 0.5 percent": a change; "cuts rates 0.25% to 4.5%": the level is 4.5%
        parts = _PARTS.fullmatch(" ".join(text.split()))
        to = reading[1] is not None and parts is not None and parts["sep"].strip().casefold() == "to"
        reading = parse(parts["b"] + (parts["ub"] or "")) if to and parts else None
    elif reading is not None and reading[1] is None and _ends_a_range(before):
        reading = None
    if reading is None:
        return None
    low, high, unit = reading
    if placeholder == "chg":
        return reading if high is None and unit in (BP, PP) else None
    if placeholder == "pct":
        return reading if high is None and unit == PERCENT else None
    return reading if unit in (None, PERCENT) else None


def parse(text: str) -> tuple[Decimal, Decimal | None, str | None] | None:
    """A level, a change or a range written out whole: ``"4.5%"``, ``"25bp"``, ``"3.25%-3.5%"``,
    ``"between 3 and 3.25 percent"``, ``"3.25..3.5"`` (the stored form of a range). A range
    has its low end first; number words need a unit."""
    parts = _PARTS.fullmatch(" ".join(text.split()))
    if parts is None:
        return _stored_range(text)
    a, b = _signed(parts["a"]), _signed(parts["b"]) if parts["b"] else None
    if a is None or (parts["b"] and b is None):
        return None
    ua, ub = unit_of(parts["ua"]), unit_of(parts["ub"])
    if (parts["ua"] and ua is None) or (parts["ub"] and ub is None) or (ua and ub and ua != ub):
        return None
    unit = ub or ua
    if unit is None and not all(_in_digits(part) for part in (parts["a"], parts["b"] or "0")):
        return None            # number words are read with a unit only: "two percent", not "two"
    if b is None:
        return a, None, unit
    if a >= b or (parts["sep"].strip() == "and") != text.casefold().lstrip().startswith("between"):
        return None
    return a, b, unit


_STORED_RANGE = re.compile(r"(?P<a>[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?)\.\.(?P<b>[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?)"
                           rf"(?P<u>{_PCT}|{_CHG})?", re.IGNORECASE)


def _stored_range(text: str) -> tuple[Decimal, Decimal | None, str | None] | None:
    found = _STORED_RANGE.fullmatch(text.strip())
    if found is None:
        return None
    a, b = Decimal(found["a"]), Decimal(found["b"])
    return (a, b, unit_of(found["u"])) if a < b else None


def _signed(text: str) -> Decimal | None:
    if text.startswith(("-", "−")):
        number = value(text[1:])
        return None if number is None else -number
    return value(text)


def _in_digits(text: str) -> bool:
    return text[0].isdigit() or text[0] in "-−½⅓⅔¼¾⅛⅜⅝⅞"


def _ends_a_range(before: str) -> bool:
    """Is the number after ``before`` the second end of a range ("3.25% to |3.5%"), rather than
    a level after a change ("by 0.25% to |4.5%")?"""
    head = _RANGE_HEAD.search(before)
    if head is None:
        return False
    return not _AFTER_CHANGE.search(before[:head.start("x")])
