"""Values inside a feed the fast path reads exactly as feedparser does, or declines: URLs,
HTML text, dates. Pure; see ``watcher.fastparse``."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from calendar import timegm
from datetime import UTC, datetime, timedelta
from html.entities import name2codepoint
from typing import Any
from urllib.parse import urljoin

from ..identity import html_to_text

# tags whose text our html_to_text reads exactly as it reads feedparser's sanitised output
PLAIN_TAGS = {"a", "abbr", "b", "big", "blockquote", "br", "caption", "center", "cite", "code", "dd", "del", "dfn",
              "div", "dl", "dt", "em", "figcaption", "figure", "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
              "i", "img", "ins", "kbd", "li", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strike",
              "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul", "var"}
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)((?:\s+[A-Za-z_:][-A-Za-z0-9_:.]*"
                  r"(?:\s*=\s*(?:\"[^\"<>]*\"|'[^'<>]*'|[^\s\"'<>=`]+))?)*)\s*/?>")
# an "&" that is neither a well-formed reference nor a lone "&" before a space
_ODD_AMP = re.compile(r"&(?!\s|$|#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]*;)")
_NAMED = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")
_NUMERIC = re.compile(r"&#[0-9xX][0-9a-fA-F]*;")
_URIFIXER = re.compile(r"^([A-Za-z][A-Za-z0-9+-.]*://)(/*)(.*?)")
_RFC822 = re.compile(r"^(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(\d{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|"
                     r"Dec) (\d{4}) (\d{2}):(\d{2})(?::(\d{2}))? (GMT|UT|UTC|Z|[+-]\d{4}|[ECMP][SD]T)$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")
_PLAIN_ABSOLUTE = re.compile(r"^https?://[^\s?#;/]+(/[^\s?#;]*)?(\?[^\s#]+)?(#\S+)?$")
C1 = re.compile("[\x80-\x9f]")
_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                                          "Nov", "Dec"), 1)}
_ZONES = {"GMT": 0, "UT": 0, "UTC": 0, "Z": 0, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6,
          "PST": -8, "PDT": -7}


class Declined(Exception):
    """This document is for feedparser."""


def resolve(base: str, uri: str) -> str:
    """feedparser's URL resolution (it first collapses slashes after ``scheme://``)."""
    uri = _URIFIXER.sub(r"\1\3", uri)
    if _PLAIN_ABSOLUTE.match(uri):
        return uri   # what urljoin returns for it (no empty query, fragment or params to drop)
    try:
        return urljoin(base, uri)
    except ValueError:
        raise Declined("bad URL") from None


def text_of(elem: ET.Element | None) -> str | None:
    if elem is None:
        return None
    if len(elem):
        raise Declined("markup inside a text element")
    if elem.text and C1.search(elem.text):
        raise Declined("C1 controls")  # feedparser reads them as windows-1252
    return elem.text or ""


def markup_text(value: str) -> str:
    """The text of an HTML (or plain) value, if its markup is plain enough; else decline."""
    if "<" in value or ">" in value:
        names = _TAG.findall(value)
        if value.count("<") != len(names) or value.count(">") != len(names):
            raise Declined("markup beyond plain tags")   # attribute values never hold < or > here
        if not {name.lower() for _, name, _ in names} <= PLAIN_TAGS:
            raise Declined("a tag feedparser's sanitiser treats specially")
    if "&" in value:
        if _ODD_AMP.search(value):
            raise Declined("an entity feedparser may read differently")
        for name in _NAMED.findall(value):
            if name not in name2codepoint:
                raise Declined("an unknown entity")
        if "&#" in value:
            for reference in _NUMERIC.findall(value):
                code = _codepoint(reference)
                if not (32 <= code < 0x80 or 0xa0 <= code < 0xd800):
                    raise Declined("a character reference feedparser may read differently")
    return html_to_text(value)


def _codepoint(reference: str) -> int:
    digits = reference[2:-1]
    return int(digits[1:], 16) if digits[:1] in ("x", "X") else int(digits, 10)


def parse_date(value: str | None) -> datetime | None:
    """RFC 822 or ISO 8601 to whole UTC seconds (feedparser keeps no fractions); else decline."""
    if value is None:
        return None
    value = value.strip()
    found = _RFC822.match(value)
    if found:
        day, month, year, hour, minute, second, zone = found.groups()
        local = datetime(int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second or 0), tzinfo=UTC)
        offset = (_ZONES[zone] * 60 if zone in _ZONES else
                  (int(zone[1:3]) * 60 + int(zone[3:5])) * (1 if zone[0] == "+" else -1))
        return local - timedelta(minutes=offset)
    found = _ISO.match(value)
    if found:
        year, month, day, hour, minute, second, zone = found.groups()
        local = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), tzinfo=UTC)
        offset = 0 if zone == "Z" else (int(zone[1:3]) * 60 + int(zone[4:6])) * (1 if zone[0] == "+" else -1)
        when = local - timedelta(minutes=offset)
        timegm(when.timetuple())
        return when
    raise Declined("a date format for feedparser")


def tag_terms(tags: Any) -> tuple[str, ...]:
    """Category terms as feedparser keeps them: a repeated (term, scheme, label) once, empty terms dropped."""
    seen = []
    for tag in tags:
        if tag not in seen:
            seen.append(tag)
    return tuple(term for term, _, _ in seen if term)
