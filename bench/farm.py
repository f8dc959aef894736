"""A deterministic farm of realistic news feeds, written as static files for nginx to serve.

``build(folder, n)`` writes ``f00001.xml`` ... : N feeds of 50 items, byte-identical for the
same arguments (seed 42). 15 % are Atom 1.0, the rest RSS 2.0 (half with CDATA summaries,
half with escaped HTML). Items have a title, link, guid (half permalinks), a date, an author,
categories and an HTML summary of ~330-840 characters of news-like text. About 9 % of items
mention "interest rates" and 9 % "climate change" (two common phrases rules pick up), 2 % are
"hot" (the Ukraine aid package), 5 % carry one rare event sentence, and 1 % name one of the
rare entities keyword rules watch for; the rest matches nothing.

``change(folder, feed, serial)`` puts a new item at the top of a feed (dropping the oldest),
the way a live feed changes; ``probe`` items carry a token the latency rule alerts on.
"""

from __future__ import annotations

import functools
import html
import os
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, UTC
from email.utils import format_datetime
from pathlib import Path

SEED = 42
ITEMS = 50
BASE = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
VERSION = "farm-3"  # bump when the output changes, so cached farms are rebuilt

SUBJECTS = ["The government", "Regional officials", "A coalition of lawmakers", "The central bank", "Analysts",
            "The ministry of transport", "City council members", "Union leaders", "The company", "Researchers",
            "Local residents", "Investors", "The opposition party", "Hospital administrators", "Farmers",
            "School boards", "The port authority", "Energy regulators", "Economists", "Tourism operators"]
VERBS = ["announced", "criticised", "welcomed", "postponed", "reviewed", "defended", "questioned", "outlined",
         "rejected", "proposed", "delayed", "expanded", "examined", "funded", "debated", "approved plans for"]
OBJECTS = ["a new budget for public housing", "changes to the pension system", "the expansion of the rail network",
           "a review of water quality standards", "plans for a regional airport", "new rules for short-term rentals",
           "the merger of two local utilities", "a programme to retrain factory workers", "cuts to library funding",
           "an overhaul of the tax code", "the reopening of the northern bridge", "subsidies for electric buses",
           "a study of coastal erosion", "the sale of state-owned land", "measures to shorten hospital waiting lists"]
TAILS = ["after months of negotiations", "despite strong objections from business groups", "on Tuesday",
         "in a statement released late on Friday", "according to people familiar with the matter",
         "ahead of next month's vote", "as costs continued to rise", "following a public consultation",
         "in a move that surprised observers", "citing the need for long-term stability"]
QUOTES = ["\u201cWe have to get this right,\u201d one official said.", "Critics said the timetable was unrealistic.",
          "The details are expected to be published next week.", "Opposition members called for an inquiry.",
          "Supporters say the plan will pay for itself within a decade.", "No date has been set for a final decision."]
COMMON = ["Markets reacted to the outlook for interest rates.", "The report links the findings to climate change."]
HOT = [("Senate passes Ukraine aid package after long delay", "The Senate voted to approve the supplemental aid "
        "package for Ukraine, including funding for air defense systems."),
       ("House leaders block vote on Ukraine aid", "House leaders blocked a vote on the foreign aid package, "
        "leaving funding for Ukraine stalled."),
       ("Ukraine receives new air defense systems", "Officials said the air defense systems would protect "
        "cities in Ukraine; the aid package remains before the Senate."),
       ("US and Ukraine sign co-production agreement for drones", "The agreement covers joint production of "
        "drones and artillery shells in Ukraine.")]
EVENTS = ["A magnitude 6.2 earthquake struck the coast early on Monday.",
          "The firm announced 1,200 layoffs at its European plants.",
          "The administration imposed a 25% tariff on imported steel.",
          "A cyberattack disrupted payment systems at three banks.",
          "Wildfire evacuations were ordered for four towns.",
          "The airline cancelled 300 flights after a strike by pilots.",
          "Regulators fined the company $2.4 billion for antitrust violations.",
          "The central bank cut rates by 50 basis points."]
CATEGORIES = ["Politics", "Economy", "World", "Science", "Health", "Business", "Technology", "Environment"]
AUTHORS = ["Maria Lopez", "James Chen", "Aisha Khan", "Tom Becker", "Elena Petrova", "Sam O'Neill"]
SYLLABLES = ["kar", "vel", "tor", "min", "dra", "sol", "ven", "qua", "zan", "bri", "lox", "mer", "tal", "ryn"]


@functools.cache
def rare_entities(count: int = 150) -> tuple[str, ...]:
    """Made-up company and place names, each in about 1 % / count of items (keyword rules)."""
    rng = random.Random(SEED + 1)
    names: list[str] = []
    while len(names) < count:
        name = "".join(rng.choice(SYLLABLES) for _ in range(3)).capitalize()
        if name not in names:
            names.append(name)
    return tuple(names)


@dataclass(frozen=True)
class Entry:
    title: str
    link: str
    guid: str
    permalink: bool
    when: datetime
    author: str
    categories: tuple[str, ...]
    summary_html: str


def _sentence(rng: random.Random) -> str:
    return f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(TAILS)}."


def _entry(rng: random.Random, feed: int, serial: int, extra: str = "") -> Entry:
    title = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}"
    sentences = [_sentence(rng) for _ in range(rng.randint(3, 7))]
    roll = rng.random()
    if roll < 0.02:
        title, lead = rng.choice(HOT)
        sentences.insert(0, lead)
    elif roll < 0.07:
        sentences.insert(rng.randint(0, len(sentences)), rng.choice(EVENTS))
    elif roll < 0.08:
        sentences.append(f"Shares of {rng.choice(rare_entities())} rose after the announcement.")
    for phrase in COMMON:
        if rng.random() < 0.09:
            sentences.insert(rng.randint(0, len(sentences)), phrase)
    if extra:
        sentences.insert(0, extra)
    paragraphs = [" ".join(sentences[i:i + 2]) for i in range(0, len(sentences), 2)]
    body = "".join(f"<p>{html.escape(p, quote=False)}</p>" for p in paragraphs)
    if rng.random() < 0.5:
        body += f'<p>Read more at <a href="https://news{feed % 97}.example/more/{serial}">our site</a>.</p>'
    link = f"https://news{feed % 97}.example/{2025}/{feed:05d}/{serial:06d}-story"
    permalink = rng.random() < 0.5
    guid = link if permalink else f"urn:bench:{feed:05d}:{serial:06d}"
    when = BASE - timedelta(minutes=37 * (10_000 - serial) + feed % 60)
    cats = tuple(rng.sample(CATEGORIES, rng.randint(1, 2)))
    return Entry(title, link, guid, permalink, when, rng.choice(AUTHORS), cats, body)


def _rss(feed: int, entries: list[Entry], cdata: bool) -> str:
    out = ['<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">',
           f"<channel><title>Bench news {feed}</title><link>https://news{feed % 97}.example/</link>"
           f"<description>Regional and world news, feed {feed}</description><language>en</language>"]
    for e in entries:
        summary = f"<![CDATA[{e.summary_html}]]>" if cdata else html.escape(e.summary_html, quote=False)
        cats = "".join(f"<category>{c}</category>" for c in e.categories)
        out.append(f"<item><title>{html.escape(e.title, quote=False)}</title><link>{e.link}</link>"
                   f'<guid isPermaLink="{"true" if e.permalink else "false"}">{e.guid}</guid>'
                   f"<pubDate>{format_datetime(e.when, usegmt=True)}</pubDate><dc:creator>{e.author}</dc:creator>"
                   f"{cats}<description>{summary}</description></item>")
    out.append("</channel></rss>\n")
    return "\n".join(out)


def _atom(feed: int, entries: list[Entry]) -> str:
    updated = max(e.when for e in entries).isoformat().replace("+00:00", "Z")
    out = ['<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">',
           f"<title>Bench news {feed}</title><id>urn:bench:feed:{feed}</id><updated>{updated}</updated>"
           f'<link href="https://news{feed % 97}.example/"/>']
    for e in entries:
        when = e.when.isoformat().replace("+00:00", "Z")
        cats = "".join(f'<category term="{c}"/>' for c in e.categories)
        out.append(f"<entry><title>{html.escape(e.title, quote=False)}</title><link href=\"{e.link}\"/>"
                   f"<id>{e.guid}</id><updated>{when}</updated><published>{when}</published>"
                   f"<author><name>{e.author}</name></author>{cats}"
                   f'<summary type="html">{html.escape(e.summary_html, quote=False)}</summary></entry>')
    out.append("</feed>\n")
    return "\n".join(out)


def _kind(feed: int) -> str:
    roll = random.Random(SEED * 1_000_003 + feed).random()
    return "atom" if roll < 0.15 else ("rss-cdata" if roll < 0.575 else "rss-escaped")


def render(feed: int, top: int, extra: dict[int, str] | None = None) -> str:
    """Feed ``feed`` (1-based) whose newest item has serial ``top`` (the base farm: ``ITEMS``)."""
    entries = []
    for serial in range(top, top - ITEMS, -1):
        rng = random.Random(SEED * 7_919 + feed * 100_003 + serial)
        entries.append(_entry(rng, feed, serial, (extra or {}).get(serial, "")))
    kind = _kind(feed)
    return _atom(feed, entries) if kind == "atom" else _rss(feed, entries, cdata=kind == "rss-cdata")


def name(feed: int) -> str:
    return f"f{feed:05d}.xml"


def _write(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)  # a new file: nginx sees a new mtime, size and so a new ETag


def build(folder: Path, n: int) -> Path:
    """Write (or reuse) the base farm of ``n`` feeds in ``folder``; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = folder / ".complete"
    if stamp.exists() and stamp.read_text() == f"{VERSION} {n}":
        return folder
    for feed in range(1, n + 1):
        _write(folder / name(feed), render(feed, ITEMS))
    stamp.write_text(f"{VERSION} {n}")
    return folder


def reset(folder: Path, feeds: list[int]) -> None:
    """Put changed feeds back to their base version (a new file, so a new ETag)."""
    for feed in feeds:
        _write(folder / name(feed), render(feed, ITEMS))


def change(folder: Path, feed: int, serial: int, extra: str = "") -> None:
    """Publish item ``serial`` (> ITEMS) at the top of ``feed``; ``extra`` is put in its summary."""
    _write(folder / name(feed), render(feed, serial, {serial: extra} if extra else None))


def probe_text(token: str) -> str:
    return f"Watcher latency probe {token}."
