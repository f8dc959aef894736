"""Amounts in news text: "$61 billion", "$61bn", "61 billion dollars", "US$61.5bn", "€50 billion",
"5,000 troops". Pure.

``PLACEHOLDERS`` are what a rule author writes inside an ``extract`` pattern:

- ``{amount}``: a number with an optional scale and currency ("$61bn" -> 61e9 USD);
- ``{number}``: a number with an optional scale and no currency ("1.2 million" -> 1.2e6);
- ``{name}``: one to five capitalised words ("Jane Q. Doe"), matched case-sensitively; a title
  before it ("Sen.", "Senator", "President"...) is not part of the name.

A value is stored as canonical text (``61000000000``) and shown with its scale and unit
(``61 billion USD``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal

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

_NUM = r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
_SCALE = (r"(?:[\s-]?(?P<scale>trillions?|billions?|millions?|thousands?)|\s?(?P<short>tn|trn|bn|bln|mn|mln)"
          r"|(?P<letter>[bmk]))(?!\w)")
_PREFIX = r"(?P<cur>US\$|U\.S\.\s?\$|USD\s?|\$|€|EUR\s?|£|GBP\s?|¥|JPY\s?)"
_SUFFIX = r"(?:\s(?P<cur2>(?:US |U\.S\. )?dollars?|USD|euros?|EUR|pounds(?: sterling)?|GBP|yen|JPY)(?!\w))"

AMOUNT = rf"(?:{_PREFIX}?{_NUM}(?:{_SCALE})?{_SUFFIX}?)"
NUMBER = rf"(?:{_NUM}(?:{_SCALE})?)"
_TITLES = (r"(?:(?:Sen|Rep|Gov|Gen|Mr|Mrs|Ms|Dr)\.?\s+"
           r"|(?:Senator|Representative|Congressman|Congresswoman|Governor|President|General)\s+)?")
NAME = (_TITLES + r"(?P<name>(?-i:[A-Z][\w'’.-]{0,30}(?:\s+(?:[A-Z][\w'’.-]{0,30}|de|van|von|bin|al|la|le|da|di))"
        r"{0,4}))")
PLACEHOLDERS = {"{amount}": AMOUNT, "{number}": NUMBER, "{name}": NAME}


@dataclass(frozen=True)
class Quantity:
    value: float
    unit: str | None           # a currency code when the text named one


def currency(word: str | None) -> str | None:
    """``"$"``, ``"US$"``, ``"dollars"`` -> ``"USD"`` (``None`` when not a known currency)."""
    if not word:
        return None
    return _CURRENCY_WORDS.get(" ".join(word.casefold().split()))


def from_match(found: re.Match[str]) -> Quantity | None:
    """The quantity an ``{amount}`` or ``{number}`` placeholder matched."""
    groups = found.groupdict()
    number = groups.get("num")
    if not number:
        return None
    scale = groups.get("scale") or groups.get("short") or groups.get("letter")
    # in decimal, so "60.8 billion" is exactly 60800000000 and not 60799999999.99999
    value = float(Decimal(number.replace(",", "")) * Decimal(_SCALES[scale.casefold()] if scale else 1))
    unit = currency(groups.get("cur")) or currency(groups.get("cur2"))
    return Quantity(value, unit)


_STANDALONE = re.compile(rf"^\s*{AMOUNT}\s*$", re.IGNORECASE)
_PLAIN = re.compile(r"^\s*[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?\s*$", re.IGNORECASE)


def parse(text: str) -> Quantity | None:
    """A whole string as a quantity: ``"61e9"``, ``"61bn"``, ``"$61 billion"``, ``"61,000"``."""
    if _PLAIN.match(text):
        value = float(text)
        return Quantity(value, None) if math.isfinite(value) else None
    found = _STANDALONE.match(text)
    return from_match(found) if found else None


def canonical(value: float) -> str:
    """The stored form of a number: no exponent, no trailing zeros (``61000000000``, ``2.5``)."""
    if value == int(value) and abs(value) < 1e18:
        return str(int(value))
    return f"{value:.12g}" if "e" not in f"{value:.12g}" else repr(value)


def display(value: str, unit: str | None) -> str:
    """``"61000000000"``, ``"USD"`` -> ``"61 billion USD"``; other text is returned as it is."""
    try:
        number = float(value)
    except ValueError:
        return value
    shown = canonical(number)
    for size, name in _NAMES:
        if abs(number) >= size:
            shown = f"{number / size:.6g} {name}"
            break
    else:
        if abs(number) >= 1000 and number == int(number):
            shown = f"{int(number):,}"
    return f"{shown} {unit}" if unit else shown
