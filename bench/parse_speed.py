"""Parse micro-benchmark: feedparser vs the fast path, on generated realistic feeds.

    .venv/bin/python bench/parse_speed.py                 # 40 feeds x 50 items, 3 repetitions
    .venv/bin/python bench/parse_speed.py --feeds 100 --items 50 --reps 5
    .venv/bin/python bench/parse_speed.py --corpus ../shared/corpus/feedparser   # the fast path's share

Feeds are generated deterministically (seed 42): 15% Atom 1.0 with xml:base and relative links,
the rest RSS 2.0, half with CDATA and half with escaped HTML; words drawn with Zipf weights from
~3,000; titles with curly quotes and ampersands, permalink and non-permalink guids, tracking
parameters on some links, dc:creator, one to three categories, a media:thumbnail on a third of
the RSS items, HTML summaries of 300-900 characters with links, emphasis, images and entities.
Each parser runs in this process on the same bytes; figures are medians over the repetitions of
the whole set: ms per feed and items per second of CPU time (the machine may be shared; CPU time
is steadier than wall time), with the wall time beside it. It also checks that both paths give
the same items, and reports how many feeds the fast path declined.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import time
from collections.abc import Callable
from email.utils import format_datetime
from pathlib import Path
from datetime import UTC, datetime, timedelta
from xml.sax.saxutils import escape

WORDS = ("senate", "house", "vote", "aid", "package", "ukraine", "defense", "minister", "talks", "ceasefire",
         "drones", "production", "factory", "budget", "council", "harbour", "flood", "bridge", "engineers",
         "report", "officials", "sources", "said", "week", "agreement", "sanctions", "energy", "grid", "winter",
         "front", "line", "artillery", "shells", "europe", "allies", "summit")
START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ber", "dan", "gor", "hel", "mar", "pol", "sten", "wel")


def _vocabulary(size: int = 3000) -> tuple[list[str], list[float]]:
    """News words plus made-up ones, with Zipf weights: a few words are common, most are rare."""
    rng = random.Random(1)
    made = {"".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(size)}
    words = list(WORDS) + sorted(made)
    return words, [1 / (rank + 1) for rank in range(len(words))]


VOCABULARY, WEIGHTS = _vocabulary()


def _sentence(rng: random.Random, low: int = 8, high: int = 18) -> str:
    words = rng.choices(VOCABULARY, WEIGHTS, k=rng.randint(low, high))
    return words[0].capitalize() + " " + " ".join(words[1:]) + "."


def _summary_html(rng: random.Random, n: int) -> str:
    parts = []
    for p in range(rng.randint(2, 4)):
        text = " ".join(_sentence(rng) for _ in range(rng.randint(1, 3)))
        words = text.split(" ")
        k = rng.randrange(len(words))
        words[k] = f'<a href="/story/{n}/{p}">{words[k]}</a>'
        j = rng.randrange(len(words))
        words[j] = f"<b>{words[j]}</b>" if p % 2 else f"<em>{words[j]}</em>"
        parts.append("<p>" + " ".join(words) + " &amp; more &#8217;quoted&#8217;&nbsp;text</p>")
    if rng.random() < 0.3:
        parts.append(f'<p><img src="https://cdn.example/img/{n}.jpg" alt="photo"/></p>')
    return "".join(parts)


def _title(rng: random.Random) -> str:
    return f"\u201c{_sentence(rng, 4, 9)[:-1]}\u201d & {rng.choice(WORDS)}"


def rss_feed(seed: int, items: int, cdata: bool) -> bytes:
    rng = random.Random(seed)
    out = ['<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
           'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:media="http://search.yahoo.com/mrss/"><channel>'
           f"<title>Newsroom {seed}</title><link>https://news{seed}.example/</link>"
           "<description>Latest stories</description><ttl>15</ttl>"]
    for n in range(items):
        link = f"https://news{seed}.example/{2025}/{n}-{rng.choice(WORDS)}"
        if rng.random() < 0.3:
            link += "?utm_source=rss&utm_medium=feed"
        summary = _summary_html(rng, n)
        body = f"<![CDATA[{summary}]]>" if cdata else escape(summary)
        permalink = n % 2 == 0
        guid = link if permalink else f"news{seed}-{n}"
        cats = "".join(f"<category>{rng.choice(WORDS)}</category>" for _ in range(rng.randint(1, 3)))
        date = format_datetime(START - timedelta(minutes=17 * n + seed), usegmt=True)
        media = f'<media:thumbnail url="https://cdn.example/{seed}/{n}.jpg" width="320"/>' if n % 3 == 0 else ""
        out.append(f"<item><title>{escape(_title(rng))}</title><link>{escape(link)}</link>"
                   f'<guid isPermaLink="{str(permalink).lower()}">{escape(guid)}</guid>'
                   f"<pubDate>{date}</pubDate><dc:creator>{rng.choice(WORDS).title()} Reporter</dc:creator>"
                   f"{cats}{media}<description>{body}</description></item>")
    out.append("</channel></rss>")
    return "".join(out).encode("utf-8")


def atom_feed(seed: int, items: int) -> bytes:
    rng = random.Random(seed)
    out = ['<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
           f'xml:base="https://blog{seed}.example/"><title>Blog {seed}</title>'
           f"<id>tag:blog{seed}.example,2025:feed</id><updated>2025-03-01T12:00:00Z</updated>"]
    for n in range(items):
        when = (START - timedelta(minutes=23 * n + seed)).strftime("%Y-%m-%dT%H:%M:%SZ")
        cats = "".join(f'<category term="{rng.choice(WORDS)}"/>' for _ in range(rng.randint(1, 3)))
        out.append(f"<entry><id>tag:blog{seed}.example,2025:{n}</id><title type=\"html\">{escape(_title(rng))}"
                   f'</title><link rel="alternate" type="text/html" href="posts/{n}"/>'
                   f"<published>{when}</published><updated>{when}</updated>"
                   f"<author><name>{rng.choice(WORDS).title()} Writer</name></author>{cats}"
                   f'<summary type="html">{escape(_summary_html(rng, n))}</summary></entry>')
    out.append("</feed>")
    return "".join(out).encode("utf-8")


def realistic_feeds(count: int, items: int, seed: int = 42) -> list[tuple[bytes, str, str]]:
    """``count`` feeds as (body, url, content type)."""
    rng = random.Random(seed)
    feeds = []
    for i in range(count):
        roll = rng.random()
        if roll < 0.15:
            feeds.append((atom_feed(seed + i, items), f"https://blog{i}.example/feed.atom", "application/atom+xml"))
        else:
            feeds.append((rss_feed(seed + i, items, cdata=roll < 0.575), f"https://news{i}.example/rss.xml",
                          "application/rss+xml; charset=utf-8"))
    return feeds


def _time(parse: Callable, feeds: list[tuple[bytes, str, str]], reps: int) -> tuple[float, float, list]:
    from watcher import identity

    walls, cpus, results = [], [], []
    for _ in range(reps):
        identity._canonical.cache_clear()   # every run starts cold: no help from an earlier parser's run
        wall, cpu = time.perf_counter(), time.process_time()
        results = [parse(body, url, ctype) for body, url, ctype in feeds]
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), results


def corpus_report(folder: Path) -> None:
    """How much of a folder of feeds (e.g. feedparser's test corpus) the fast path takes, and
    whether every document it takes gives feedparser's result. Content-Type comes from a
    ``Header: Content-type: ...`` line in a file's leading comment, else application/xml."""
    from watcher.errors import ParseError
    from watcher.fastparse import parse_fast
    from watcher.parse import parse_with_feedparser

    files = sorted(folder.rglob("*.xml"))
    accepted = different = 0
    for path in files:
        body = path.read_bytes()
        declared = re.search(rb"^\s*Header:\s*Content-type:\s*(.+?)\s*$", body[:2000], re.I | re.M)
        content_type = declared.group(1).decode() if declared else "application/xml"
        url = f"http://127.0.0.1:8097/{path.parent.name}/{path.name}"
        fast = parse_fast(body, url, content_type)
        if fast is None:
            continue
        accepted += 1
        try:
            different += fast != parse_with_feedparser(body, url, content_type)
        except ParseError:
            different += 1
    print(f"{folder}: the fast path took {accepted} of {len(files)} documents; {different} differ from feedparser")


def main() -> None:
    from watcher.fastparse import parse_fast
    from watcher.parse import parse_feed, parse_with_feedparser

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=40)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--corpus", type=Path, help="also report the fast path's share of this folder of feeds")
    args = parser.parse_args()
    if args.corpus:
        corpus_report(args.corpus)
    feeds = realistic_feeds(args.feeds, args.items)
    size = sum(len(body) for body, _, _ in feeds) / len(feeds)
    print(f"{args.feeds} feeds x {args.items} items, {size / 1024:.0f} KB per feed, median of {args.reps} reps")
    _time(parse_fast, feeds[:2], 1)                                    # warm-up (imports, regex caches)
    rows = []
    for name, parse in (("feedparser", parse_with_feedparser), ("fast path", parse_fast),
                        ("parse_feed (fast, fallback)", parse_feed)):
        wall, cpu, results = _time(parse, feeds, args.reps)
        items = sum(len(r.items) for r in results if r is not None)
        rows.append((name, wall, cpu, results))
        print(f"  {name:28s} {1000 * cpu / len(feeds):8.2f} ms/feed {items / cpu:10,.0f} items/s  "
              f"(CPU {cpu:6.2f} s, wall {wall:6.2f} s)")
    reference, fast = rows[0][3], rows[1][3]
    declined = sum(1 for r in fast if r is None)
    same = sum(1 for a, b in zip(fast, reference, strict=True) if a is not None and a == b)
    print(f"  fast path declined {declined} of {len(feeds)} feeds; {same} of {len(feeds) - declined} "
          f"accepted feeds gave exactly feedparser's items")
    print(f"  speed-up (CPU): {rows[0][2] / rows[1][2]:.1f}x")


if __name__ == "__main__":
    main()
