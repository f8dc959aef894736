"""Bytes of a feed -> ``ParsedFeed`` of normalised ``Item``. The only module importing feedparser.

``parse_feed`` is a pure, picklable top-level function so the daemon can run it in a process
pool: feedparser spends tens of milliseconds of CPU on a large feed, which would stall the
event loop if run inline.

A document counts as a feed when feedparser recognises a feed version or finds entries (a
feed with no entries yet is a feed). Malformed XML that still yields entries is accepted with a
warning (feedparser's loose parser recovers what it can); HTML or an empty body is a
``ParseError``.
"""

from __future__ import annotations

import calendar
import io
import json
import time
from datetime import datetime, UTC
from typing import Any

import feedparser

from .errors import ParseError
from .fastparse import parse_fast
from .identity import canonical_url, content_hash, html_to_text, item_key, item_sketch, story_key
from .models import MAX_ITEMS, Item, ParsedFeed


def parse_feed(body: bytes, url: str, content_type: str = "", *, fast: bool = True) -> ParsedFeed:
    """Parse one fetched document. ``url`` is the final URL (relative links resolve against it).

    A plain, well-formed RSS 2.0 or Atom 1.0 document goes through ``fastparse`` (the same items,
    ~50x faster); everything else, and everything with ``fast=False``, through feedparser."""
    if not body.strip():
        raise ParseError("the response body is empty")
    if body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return parse_json_feed(body, url)
    if fast:
        quick = parse_fast(body, url, content_type)
        if quick is not None:
            return quick
    return parse_with_feedparser(body, url, content_type)


def parse_with_feedparser(body: bytes, url: str, content_type: str = "") -> ParsedFeed:
    """The reference path: feedparser, tolerant of every RSS/Atom variant and of broken XML."""
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    try:
        # BytesIO, never the bytes themselves: feedparser would first try them as a file path.
        parsed = feedparser.parse(io.BytesIO(body), response_headers=headers)
    except Exception as exc:  # feedparser raises a wide range of internal errors on hostile input
        raise ParseError(f"the feed parser failed: {type(exc).__name__}: {exc}") from None
    entries = parsed.get("entries") or []
    version = parsed.get("version") or ""
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if not entries and not version:
        reason = f"{type(problem).__name__}: {problem}" if problem is not None else "no feed version found"
        raise ParseError(f"not a feed ({_first_line(reason)})")
    feed_info = parsed.get("feed") or {}
    items = tuple(_item(entry) for entry in entries[:MAX_ITEMS])
    warning = f"{type(problem).__name__}: {_first_line(str(problem))}" if problem is not None else None
    return ParsedFeed(title=html_to_text(feed_info.get("title", "")), version=version, items=items,
                      ttl=_ttl(feed_info.get("ttl")), warning=warning, cut=max(0, len(entries) - MAX_ITEMS))


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:300] if text.strip() else ""


def _ttl(value: Any) -> float | None:
    try:
        minutes = float(value)
    except (TypeError, ValueError):
        return None
    return minutes * 60 if 0 < minutes < 60 * 24 * 30 else None


def _when(entry: Any, key: str) -> datetime | None:
    value = entry.get(key)
    if not isinstance(value, time.struct_time):
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _item(entry: Any) -> Item:
    title = html_to_text(entry.get("title") or "")
    summary = html_to_text(entry.get("summary") or "")
    contents = [html_to_text(c.get("value") or "") for c in entry.get("content") or [] if isinstance(c, dict)]
    content = "\n".join(text for text in contents if text and text != summary)
    link = canonical_url(entry.get("link") or None)
    guid = entry.get("id") or None
    if isinstance(guid, str):
        guid = guid.strip() or None
    else:
        guid = None
    categories = tuple(t.get("term") for t in entry.get("tags") or [] if isinstance(t, dict) and t.get("term"))
    # entry.get("updated") silently falls back to "published"; look at the raw key instead
    updated = _when(entry, "updated_parsed") if dict.__contains__(entry, "updated") else None
    return Item(
        key=item_key(guid, link, title, summary or content),
        title=title,
        link=link,
        summary=summary,
        content=content,
        author=html_to_text(entry.get("author") or ""),
        categories=categories,
        guid=guid,
        published_at=_when(entry, "published_parsed") or updated,
        updated_at=updated,
        content_hash=content_hash(title, summary, content),
        story=story_key(link, title),
        sketch=item_sketch(title, summary, content),
    )


def parse_json_feed(body: bytes, url: str) -> ParsedFeed:
    """JSON Feed 1.0/1.1 (https://jsonfeed.org), which feedparser 6.0 does not read."""
    from urllib.parse import urljoin

    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ParseError(f"not a feed (invalid JSON: {exc})") from None
    if not isinstance(doc, dict) or "jsonfeed.org" not in str(doc.get("version", "")):
        raise ParseError("not a feed (JSON without a jsonfeed.org version)")
    raw_items = doc.get("items")
    if not isinstance(raw_items, list):
        raise ParseError("not a feed (a JSON Feed needs an items list)")
    items = []
    for raw in raw_items[:MAX_ITEMS]:
        if not isinstance(raw, dict):
            continue
        title = html_to_text(str(raw.get("title") or ""))
        summary = html_to_text(str(raw.get("summary") or ""))
        content = html_to_text(str(raw.get("content_html") or raw.get("content_text") or ""))
        if not summary:
            summary, content = content, ""
        link_value = raw.get("url") or raw.get("external_url")
        link = canonical_url(urljoin(url, link_value)) if isinstance(link_value, str) else None
        guid = str(raw["id"]).strip() if raw.get("id") is not None else None
        authors = raw.get("authors") or ([raw["author"]] if isinstance(raw.get("author"), dict) else [])
        author = ", ".join(str(a.get("name")) for a in authors if isinstance(a, dict) and a.get("name"))
        tags = tuple(str(t) for t in raw.get("tags") or [] if isinstance(t, (str, int)))
        published, updated = _iso_date(raw.get("date_published")), _iso_date(raw.get("date_modified"))
        items.append(Item(
            key=item_key(guid, link, title, summary or content), title=title, link=link, summary=summary,
            content=content, author=html_to_text(author), categories=tags, guid=guid,
            published_at=published or updated, updated_at=updated,
            content_hash=content_hash(title, summary, content), story=story_key(link, title),
            sketch=item_sketch(title, summary, content)))
    version = "json1" + ("1" if str(doc.get("version")).endswith("1.1") else "0")
    return ParsedFeed(title=html_to_text(str(doc.get("title") or "")), version=version, items=tuple(items),
                      cut=max(0, len(raw_items) - MAX_ITEMS))


def _iso_date(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
