"""Quantities in news text and in the ledger: amounts ("$61 billion", "$61bn", "61 billion
dollars", "US$61.5bn", "€50 billion", "5,000 troops"), rates ("4.5%", "25 basis points") and
ranges ("3.25%-3.5%"). Pure.

``PLACEHOLDERS`` are what a rule author writes inside an ``extract`` pattern:

- ``{amount}``: a number with an optional scale and currency ("$61bn" -> 61e9 USD);
- ``{number}``: a number with an optional scale and no currency ("1.2 million" -> 1.2e6,
  "5-1/2" -> 5.5);
- ``{percent}``, ``{range}``, ``{change}``: a level in percent, a level or range of levels, a
  change in points (see ``rates.py``);
- ``{quantity}``: a number with an optional scale followed by a unit: the fact's own unit and
  the words it is written with ("3.66 million barrels per day", "3.66mn b/d", "3.66 mb/d",
  "3,660,000 bpd" -> 3.66e6 for ``unit: {name: b/d, words: [bpd, barrels per day]}``; see
  ``quantity_pattern``); outside a fact's signal, any word after the number is taken for a unit;
- ``{name}``: one to five capitalised words ("Jane Q. Doe"), matched case-sensitively; a title
  before it ("Sen.", "Senator", "President"...) is not part of the name.

A number never starts or stops inside another ("2.25" is not read as "25", "5,2024" not as
"5,202"). A value is stored as canonical text: a number ``61000000000``, ``-0.1``; a range
``3.25..3.5`` (``..`` never occurs in a number, negative ones included: ``-0.5..-0.25``). It is
shown with its scale and unit: ``61 billion USD``, ``4.5 %``, ``3.25–3.5 %``, ``25 bp``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal

from . import rates
from .numerals import CURRENCY_WORDS, DIGITS, END, SCALE_SHORT, SCALE_WORDS, START, value as numeral

_CURRENCY_WORDS = {
    "$": "USD", "us$": "USD", "u.s.$": "USD", "usd": "USD", "dollar": "USD", "dollars": "USD",
    "us dollars": "USD", "u.s. dollars": "USD",
    "€": "EUR", "eur": "EUR", "euro": "EUR", "euros": "EUR",
    "£": "GBP", "gbp": "GBP", "pound": "GBP", "pounds": "GBP", "pounds sterling": "GBP",
    "¥": "JPY", "jpy": "JPY", "yen": "JPY",
}
_SCALES: dict[str, int] = {
    "trillion": 10**12, "trillions": 10**12, "tn": 10**12, "trn": 10**12,
    "billion": 10**9, "billions": 10**9, "bn": 10**9, "bln": 10**9, "b": 10**9,
    "million": 10**6, "millions": 10**6, "mn": 10**6, "mln": 10**6, "m": 10**6,
    "thousand": 10**3, "thousands": 10**3, "k": 10**3,
}
_NAMES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"))
_SYMBOLS = {rates.PERCENT: "%", rates.BP: "bp", rates.PP: "pp"}
_UNIT_SPELLINGS = {"%": rates.PERCENT, "percent": rates.PERCENT, "per cent": rates.PERCENT, "pct": rates.PERCENT,
                   "bp": rates.BP, "bps": rates.BP, "basis point": rates.BP, "basis points": rates.BP,
                   "pp": rates.PP, "ppt": rates.PP, "ppts": rates.PP, "percentage point": rates.PP,
                   "percentage points": rates.PP, "point": rates.PP, "points": rates.PP}

_NUM = rf"(?P<num>{DIGITS}){END}(?![-–]\d)"   # "70-29", "2024-05-01": no number of its own
_SCALE = rf"(?:[\s-]?(?P<scale>{SCALE_WORDS})|\s?(?P<short>{SCALE_SHORT})|(?P<letter>[bmk]))(?!\w)"
_PREFIX = r"(?P<cur>US\$|U\.S\.\s?\$|USD\s?|\$|€|EUR\s?|£|GBP\s?|¥|JPY\s?)"
_SUFFIX = rf"(?:\s(?P<cur2>{CURRENCY_WORDS})(?!\w))"

AMOUNT = rf"(?:{START}{_PREFIX}?{_NUM}(?:{_SCALE})?{_SUFFIX}?)"
NUMBER = rf"(?:{START}{_NUM}(?:{_SCALE})?)"
_TITLES = (r"(?:(?:Sen|Rep|Gov|Gen|Mr|Mrs|Ms|Dr)\.?\s+"
           r"|(?:Senator|Representative|Congressman|Congresswoman|Governor|President|General)\s+)?")
NAME = (_TITLES + r"(?P<name>(?-i:[A-Z][\w'’.-]{0,30}(?:\s+(?:[A-Z][\w'’.-]{0,30}|de|van|von|bin|al|la|le|da|di))"
        r"{0,4}))")


def quantity_pattern(units: tuple[str, ...] = ()) -> str:
    """``{quantity}``: a number, its scale, and one of ``units`` (spellings, matched as words in
    any case and with any white space) right after it; a scale letter may stick to the unit
    ("3.66mb/d", "500 kb/d"). With no ``units``, any word after the number is its unit."""
    if units:
        spelled = sorted({" ".join(unit.split()) for unit in units if unit.strip()}, key=len, reverse=True)
        unit = "|".join(r"\s+".join(re.escape(word) for word in spelling.split()) for spelling in spelled)
    else:
        unit = r"[^\W\d_][\w/.-]*"
    return (rf"(?:{START}(?P<qnum>{DIGITS}){END}(?![-–]\d)"
            rf"(?:[\s-]?(?P<qscale>{SCALE_WORDS})(?!\w)|\s?(?P<qshort>{SCALE_SHORT})(?!\w)|\s?(?P<qletter>[mk]))?"
            rf"\s?(?P<qunit>{unit})(?![\w/]))")


QUANTITY = quantity_pattern()
PLACEHOLDERS = {"{amount}": AMOUNT, "{number}": NUMBER, "{percent}": rates.PERCENT_PATTERN,
                "{range}": rates.RANGE_PATTERN, "{change}": rates.CHANGE_PATTERN, "{quantity}": QUANTITY,
                "{name}": NAME}
NUMBER_PLACEHOLDERS = ("{amount}", "{number}", "{percent}", "{range}", "{change}", "{quantity}")
READING_GROUPS = frozenset(rates.GROUPS)   # placeholders whose matches count only where they read
readable = rates.readable


@dataclass(frozen=True)
class Quantity:
    value: float               # one number, or the lower end of a range
    unit: str | None           # a currency code, "percent", "bp" or "pp" when the text named one
    high: float | None = None  # the upper end of a range (None: one number)


def currency(word: str | None) -> str | None:
    """``"$"``, ``"US$"``, ``"dollars"`` -> ``"USD"`` (``None`` when not a known currency)."""
    if not word:
        return None
    return _CURRENCY_WORDS.get(" ".join(word.casefold().split()))


def unit_name(unit: str | None) -> str | None:
    """A fact's ``unit`` as watcher compares it: ``%``, ``per cent``, ``pct`` -> ``percent``;
    ``bps``, ``basis points`` -> ``bp``; ``percentage points``, ``ppt`` -> ``pp``; any other
    unit as written (currencies are compared as upper-case codes)."""
    if unit is None:
        return None
    return _UNIT_SPELLINGS.get(" ".join(unit.casefold().split()), unit)


def from_match(found: re.Match[str]) -> Quantity | None:
    """The quantity a number placeholder matched (``None``: what it matched is not one here:
    see ``rates.read``)."""
    groups = found.groupdict()
    for group in rates.GROUPS:
        if groups.get(group) is not None:
            reading = rates.read(group, found)
            return None if reading is None else _quantity(*reading)
    if groups.get("qnum"):
        # the pattern has checked the unit: the number is in the fact's unit
        return _scaled(groups["qnum"], groups.get("qscale") or groups.get("qshort") or groups.get("qletter"), None)
    number = groups.get("num")
    if not number:
        return None
    scale = groups.get("scale") or groups.get("short") or groups.get("letter")
    unit = currency(groups.get("cur")) or currency(groups.get("cur2"))
    return _scaled(number, scale, unit)


def _scaled(number: str, scale: str | None, unit: str | None) -> Quantity | None:
    # in decimal, so "60.8 billion" is exactly 60800000000 and not 60799999999.99999
    read = numeral(number)
    if read is None:
        return None
    value = float(read * Decimal(_SCALES[scale.casefold()] if scale else 1))
    return Quantity(value, unit)


def _quantity(low: Decimal, high: Decimal | None, unit: str | None) -> Quantity:
    return Quantity(float(low), unit, None if high is None else float(high))


_LEADING_SCALE = re.compile(rf"^(?:{SCALE_WORDS}|{SCALE_SHORT})(?=[\s-]+\S)", re.IGNORECASE)


def leading_scale(unit: str) -> str | None:
    """The scale a unit's spelling starts with ("million barrels" -> "million"), if any."""
    found = _LEADING_SCALE.match(unit.strip())
    return found.group(0) if found else None


def without_unit(text: str, units: tuple[str, ...]) -> str:
    """``text`` without one of ``units`` after its number ("2 million b/d" -> "2 million",
    "3.66 mb/d" -> "3.66m"), so a fact with a unit of its own takes its values written with it."""
    if not units:
        return text
    found = re.fullmatch(rf"\s*{quantity_pattern(units)}\s*", text, re.IGNORECASE)
    if found is None:
        return text
    scale = found["qscale"] or found["qshort"] or found["qletter"] or ""
    return f"{found['qnum']} {scale}".strip() if len(scale) > 1 else found["qnum"] + scale


_STANDALONE = re.compile(rf"^\s*{AMOUNT}\s*$", re.IGNORECASE)
_PLAIN = re.compile(r"^\s*[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?\s*$", re.IGNORECASE)


def parse(text: str) -> Quantity | None:
    """A whole string as a quantity: ``"61e9"``, ``"61bn"``, ``"$61 billion"``, ``"61,000"``,
    ``"4.5%"``, ``"25bp"``, ``"3.25%-3.5%"``, ``"3.25..3.5"``."""
    if _PLAIN.match(text):
        value = float(text)
        return Quantity(value, None) if math.isfinite(value) else None
    found = _STANDALONE.match(text)
    if found:
        return from_match(found)
    reading = rates.parse(text)
    return None if reading is None else _quantity(*reading)


def value_for(found: Quantity, unit: str | None, take: str | None = None) -> str | None:
    """``found`` as a fact in ``unit`` stores it, or ``None`` when it is not a value of that fact:
    in another unit (another currency, a change for a level), or of the wrong shape. ``take``:
    ``None`` wants one number (a range is refused), ``both`` a range (one number is refused),
    ``lower`` / ``upper`` that end of a range, or the one number."""
    low, high = _in_unit(found.value, found.unit, unit), _in_unit(found.high, found.unit, unit)
    if low is None:
        return None
    if take == "both":
        return f"{canonical(low)}..{canonical(high)}" if high is not None else None
    if high is None:
        return canonical(low)
    return {"lower": canonical(low), "upper": canonical(high)}.get(take or "")


def refusal(found: Quantity, unit: str | None, take: str | None = None) -> str:
    """Why ``value_for`` refuses ``found``, in words (for ``watcher explain``)."""
    if _in_unit(found.value, found.unit, unit) is None:
        return f"in {found.unit}, not in {unit_name(unit)}"
    if take == "both" and found.high is None:
        return "one number, and this fact holds a range"
    return "a range, and this fact holds one number"


def _in_unit(number: float | None, read: str | None, unit: str | None) -> float | None:
    """``number`` read in unit ``read``, in the fact's ``unit`` (``None``: not convertible)."""
    if number is None:
        return None
    unit = unit_name(unit)
    if read is None or unit is None or read == unit:
        return number
    if {read, unit} == {rates.BP, rates.PP}:
        return float(Decimal(repr(number)) * (100 if unit == rates.BP else Decimal("0.01")))
    if read in rates.RATE_UNITS or unit in rates.RATE_UNITS:
        return None
    return number if read == unit.upper() else None


def why_not(text: str, unit: str | None, interval: bool = False) -> str:
    """Why ``text`` is not a value of a number fact in ``unit`` (holding a range when
    ``interval``), and how to write one: for error messages."""
    unit = unit_name(unit)
    found = parse(text)
    if found is not None and found.unit and _in_unit(found.value, found.unit, unit) is None:
        return f'"{text}" is in {found.unit}, not in {unit}'
    if found is not None and interval and found.high is None:
        return (f'"{text}" is one number, and this fact holds a range (its signals take both ends of {{range}}): '
                f"write it like {example(unit, True)}")
    if found is not None and not interval and found.high is not None:
        return (f'"{text}" is a range, and this fact holds one number (to hold a range, read it with {{range}} '
                "and `take: both`)")
    what = "a range" if interval else _WHAT.get(unit or "", "an amount")
    currency_unit = f", in {unit}" if unit and unit not in rates.RATE_UNITS else ""
    return f'"{text}" is not {what} (write {example(unit, interval)}{currency_unit})'


_WHAT = {rates.PERCENT: "a percentage", rates.BP: "a change in basis points",
         rates.PP: "a change in percentage points"}


def example(unit: str | None, interval: bool = False) -> str:
    """How values of a number fact in ``unit`` are written, for messages."""
    unit = unit_name(unit)
    if interval:
        return "4.25%-4.5%, 4.25 to 4.5 percent or 4.25..4.5" if unit == rates.PERCENT else "4.25-4.5 or 4.25..4.5"
    return {rates.PERCENT: "4.5%, 4.5 percent or 4-1/2%", rates.BP: "25bp, 25 basis points or 0.25 pp",
            rates.PP: "0.25 pp, 0.25 percentage points or a quarter point"}.get(unit or "", "61e9, 61bn or $61 billion")


def canonical(value: float) -> str:
    """The stored form of a number: no exponent, no trailing zeros (``61000000000``, ``2.5``)."""
    if value == int(value) and abs(value) < 1e18:
        return str(int(value))
    return f"{value:.12g}" if "e" not in f"{value:.12g}" else repr(value)


def display(value: str, unit: str | None) -> str:
    """``"61000000000"``, ``"USD"`` -> ``"61 billion USD"``; ``"3.25..3.5"``, ``"percent"`` ->
    ``"3.25–3.5 %"``; other text is returned as it is."""
    unit = unit_name(unit)
    ends = value.split("..")
    try:
        numbers = [float(end) for end in ends]
    except ValueError:
        return value
    if len(numbers) > 2:
        return value
    # "3.25–3.5 %"; "-0.5 to -0.25 %", where a dash would read as a minus
    shown = (" to " if min(numbers) < 0 else "–").join(_shown(number) for number in numbers)
    return f"{shown} {_SYMBOLS.get(unit, unit)}" if unit else shown


def _shown(number: float) -> str:
    for size, name in _NAMES:
        if abs(number) >= size:
            return f"{number / size:.6g} {name}"
    if abs(number) >= 1000 and number == int(number):
        return f"{int(number):,}"
    return canonical(number)
