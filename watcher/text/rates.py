"""Rates in news text: levels in percent, changes in points, and ranges of levels. Pure.

Three placeholders, each one named group. Its pattern is loose and short (it is compiled into
every rule that uses it): it finds where a reading may be; ``read`` decides what it says, and
``readable`` lets the matcher pass over what is no reading ("70-29", "25 basis points" where a
level is wanted) to the next one.

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

from .numerals import CURRENCY_WORDS, DIGITS, END, FIRST_WORDS, SCALE_SHORT, SCALE_WORDS, START, WORD_RUN, WORDS, \
    compiled_later, value

PERCENT, BP, PP = "percent", "bp", "pp"
RATE_UNITS = (PERCENT, BP, PP)
GROUPS = ("pct", "rng", "chg")

_SIGN = r"(?:(?<![^\s(\[])[-−](?=\d))?"
_PCT = r"(?:\s?%(?![-\s]?points?\b)|[-\s]?(?:percent|per[-\s]?cent|pct)(?![-\s]?points?\b)(?!\w))"
_BP = r"(?:basis[-\s]points?|bps?)"
_PP = r"(?:(?:percentage|percent|%)[-\s]?points?|ppts?|pp|points?)"
_CHG = rf"(?:(?:\s+of\s+an?\s+|\s+an?\s+|[-\s]?)(?:{_BP}|{_PP})(?!\w))"
_UNIT = rf"(?:{_PCT}|{_CHG})"
_DASH, _TO = r"\s?[-–—]\s?", r"\s+to\s+"
_SEP = rf"(?:{_DASH}|{_TO})"

# -- the placeholders' patterns: where a reading may be -----------------------------------------

# number words count only before a unit or the rest of a range ("two percent", "a quarter
# point", "two to three percent"): "a vote", "one official" are no candidates at all
_WORDS_AHEAD = r"(?=[-\s]*(?:%|per|pct|basis|bps?\b|pp|point|of\s+an?\s|an?\s+point|to\s|and\s|[-–—]\s?\d))"
_TOKEN = rf"(?:{_SIGN}{DIGITS}{END}|{WORD_RUN}{_WORDS_AHEAD})"
# not inside a word or number, and only where a number (or "between") starts: that look-ahead
# makes a search over long text several times faster
_START = rf"{START}(?=[-−\d½⅓⅔¼¾⅛⅜⅝⅞]|(?i:{FIRST_WORDS}|between)(?!\w))"
# a level: not after a currency sign, nor after "by" or "from" (a change, an old value); but
# "rates ranging from X to Y" is a range ("the range from X to Y" is a change of it)
_LEVEL_START = _START + (r"(?<![$€£¥])(?<!\b(?i:by)\s)"
                         r"(?:(?<!\b(?i:from)\s)|(?<=(?i:ranges)\sfrom\s)|(?<=(?i:ranging)\sfrom\s))")


def _reading_pattern(group: str, start: str) -> str:
    """One number with its unit, or a range: "X-Y", "X to Y", and "X and Y" after "between"; a
    range that starts with a change in points ends with one ("25 basis points to 4.5%" is no
    range). (Conditional groups keep the pattern short: a number is spelled in it twice only.)"""
    return (rf"(?P<{group}>{start}(?P<{group}_between>(?i:between)\s+)?{_TOKEN}(?:{_PCT}|(?P<{group}_change>{_CHG}))?"
            rf"(?:(?({group}_between)\s+(?i:and)\s+|{_SEP}){_TOKEN}(?({group}_change){_CHG}|{_UNIT}?))?)")


PERCENT_PATTERN = _reading_pattern("pct", _LEVEL_START)
RANGE_PATTERN = _reading_pattern("rng", _LEVEL_START)
CHANGE_PATTERN = _reading_pattern("chg", _START)

# -- reading what they found --------------------------------------------------------------------

_ND = rf"(?:{_SIGN}{DIGITS}{END})"
_N = rf"(?:{_ND}|{WORDS})"
_PARTS = compiled_later(rf"(?:between\s+)?(?P<a>{_N})(?P<ua>{_UNIT})?"
                        rf"(?:(?P<sep>{_SEP}|\s+and\s+)(?P<b>{_N})(?P<ub>{_UNIT})?)?")
_SCALE = rf"(?:{SCALE_WORDS}|{SCALE_SHORT}|[bmk])(?!\w)"
# what may not follow a number with no unit read as a level: a change unit, a scale, a currency
# ("25 basis points", "61 billion", "5 euros"), a hyphenated word ("10-year")
_NOT_A_LEVEL = compiled_later(rf"\s*(?:of\s+an?\s+|an?\s+)?{_UNIT}|[-\s]?{_SCALE}"
                              rf"|\s?(?:{CURRENCY_WORDS})(?!\w)|[-–][^\W\d]")
_CHANGE_VERBS = ("cuts?|cutting|raise[sd]?|raising|lift(?:s|ed)?|hike[sd]?|hiking|lower(?:s|ed)?|trim(?:s|med)?"
                 "|reduce[sd]?|increase[sd]?|rise[sn]?|rose|fall(?:s|en)?|fell|climb(?:s|ed)?|jump(?:s|ed)?"
                 "|drop(?:s|ped)?|slash(?:es|ed)?|add(?:s|ed)?|gain(?:s|ed)?|lose[s]?|lost|decline[sd]?"
                 "|slip(?:s|ped)?|ease[sd]?|boost(?:s|ed)?|soar(?:s|ed)?|plunge[sd]?|tumble[sd]?|grew|grow(?:s|n)?"
                 "|shr[iau]nk|shrinks|dip(?:s|ped)?|up|down|by"
                 "|(?<!ranges\\s)(?<!ranging\\s)from")
_FILLERS = ("its|the|their|a|key|benchmark|main|policy|interest|lending|deposit|cash|overnight|bank|refinancing"
            "|repo|discount|prime|funds|federal|target|rates?|it|them|borrowing|costs?")
_AFTER_CHANGE = compiled_later(rf"(?<!\w)(?:{_CHANGE_VERBS})(?:\s+(?:{_FILLERS})){{0,5}}\s+$")
_RANGE_HEAD = compiled_later(rf"{START}(?P<x>{_N})(?:{_PCT})?(?:{_SEP}|\s+and\s+)$")
_BETWEEN = compiled_later(r"(?<!\w)between\s+$")
_AROUND = 120      # characters looked at before and after a reading

Reading = tuple[Decimal, Decimal | None, str | None]     # low, high (None: one number), unit


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


def readable(found: re.Match[str]) -> bool:
    """Does a match of a rate placeholder read as a value (see ``read``)? The matcher passes
    over those that do not."""
    group = next((g for g in GROUPS if found.groupdict().get(g) is not None), None)
    return group is None or read(group, found) is not None


def read(placeholder: str, found: re.Match[str]) -> Reading | None:
    """What the text a placeholder group (``pct``, ``rng``, ``chg``) matched says: ``(low,
    high, unit)``; ``None`` when it is not a value of that placeholder there (a range where one
    level is wanted, a level after a verb of change, the end of a range, a vote, a year...). See
    the module docstring."""
    start, end = found.span(placeholder)
    before, after = found.string[max(0, start - _AROUND):start], found.string[end:end + _AROUND]
    parts = _PARTS().fullmatch(" ".join(found.group(placeholder).split()))
    reading = _from_news(parts, after) if parts else None
    if reading is not None and placeholder != "chg" and _AFTER_CHANGE().search(before):
        # "cuts rates 0.25%", "rose 0.5 percent": a change; "cuts rates 0.25% to 4.5%": the level is 4.5%
        to = reading[1] is not None and parts is not None and parts["sep"].strip().casefold() == "to"
        level = _PARTS().fullmatch(parts["b"] + (parts["ub"] or "")) if to and parts else None
        reading = _interpret(level) if level else None
    elif reading is not None and reading[1] is None and (_ends_a_range(before) or _BETWEEN().search(before)):
        reading = None         # one end of "3.25% to 3.5%" or of "between 5% and 6%"
    if reading is None:
        return None
    low, high, unit = reading
    if placeholder == "chg":
        return reading if high is None and unit in (BP, PP) else None
    if placeholder == "pct":
        return reading if high is None and unit == PERCENT else None
    return reading if unit in (None, PERCENT) else None


def _from_news(parts: re.Match[str], after: str) -> Reading | None:
    """``parts`` as read in news text, where what could be a vote, a score, a year or half of
    something else is not a reading."""
    reading = _interpret(parts)
    if reading is None:
        return None
    ends = [(parts["a"], parts["ua"]), (parts["b"], parts["ub"])] if parts["b"] else [(parts["a"], parts["ua"])]
    if any(_year(number) and not unit for number, unit in ends):
        return None            # "in 2024", "2023-2024", "4.5% to 2025"
    if not ends[-1][1] and _NOT_A_LEVEL().match(after):
        return None            # "61 billion", "1.5 to 2 billion", "25 basis points", "a 10-year high"
    if reading[2] is None and reading[1] is not None and not any(_decimal(number) for number, _ in ends):
        return None            # "70-29", "voted 10 to 2", "aged 18-24": no range with no unit
    return reading


def parse(text: str) -> Reading | None:
    """A level, a change or a range written out whole: ``"4.5%"``, ``"25bp"``, ``"3.25%-3.5%"``,
    ``"between 3 and 3.25 percent"``, ``"3.25..3.5"`` (the stored form of a range). A range
    has its low end first; number words need a unit."""
    parts = _PARTS().fullmatch(" ".join(text.split()))
    return _interpret(parts) if parts else _stored_range(text)


def _interpret(parts: re.Match[str]) -> Reading | None:
    units = {unit_of(text) for text in (parts["ua"], parts["ub"]) if text}
    if None in units or len(units) > 1:
        return None            # an unknown unit, or two different ones
    unit = next(iter(units), None)
    numbers = [parts["a"], parts["b"]] if parts["b"] else [parts["a"]]
    if unit is None and not all(_in_digits(number) for number in numbers):
        return None            # number words are read with a unit only: "two percent", not "two"
    low, high = (_signed(number) for number in (*numbers, None)[:2])
    if low is None or (parts["b"] and high is None):
        return None
    if high is None:
        return low, None, unit
    if low >= high or (parts["sep"].strip().casefold() == "and") != parts.string.casefold().startswith("between"):
        return None            # the low end first; "between X and Y", and "X and Y" is no range
    return low, high, unit


def _signed(number: str | None) -> Decimal | None:
    if number is None:
        return None
    if number.startswith(("-", "−")):
        amount = value(number[1:])
        return None if amount is None else -amount
    return value(number)


_STORED_RANGE = compiled_later(r"(?P<a>[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?)\.\.(?P<b>[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?)"
                               rf"(?P<u>{_UNIT})?")


def _stored_range(text: str) -> Reading | None:
    found = _STORED_RANGE().fullmatch(text.strip())
    if found is None:
        return None
    a, b = Decimal(found["a"]), Decimal(found["b"])
    return (a, b, unit_of(found["u"])) if a < b else None


def _in_digits(text: str) -> bool:
    return text[0].isdigit() or text[0] in "-−½⅓⅔¼¾⅛⅜⅝⅞"


def _decimal(text: str) -> bool:
    """"3.25", "5½", "5-1/2": a number a count or a score is not."""
    return any(c in text for c in ".½⅓⅔¼¾⅛⅜⅝⅞/⁄")


def _year(text: str) -> bool:
    return bool(re.fullmatch(r"(?:19|20)\d\d", text))


def _ends_a_range(before: str) -> bool:
    """Is the number after ``before`` the second end of a range ("3.25% to |3.5%"), rather than
    a level after a change ("by 0.25% to |4.5%")?"""
    head = _RANGE_HEAD().search(before)
    if head is None:
        return False
    return not _AFTER_CHANGE().search(before[:head.start("x")])
