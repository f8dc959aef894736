"""The fast parser gives exactly the feedparser path's result on every document it accepts
(a differential test over the feedparser corpus and generated realistic feeds), declines the
rest, and never expands an entity or loads anything external."""

from __future__ import annotations

import importlib.util
from urllib.parse import urljoin

import pytest

from conftest import ROOT
from corpus import cases, needs_corpus
from watcher.fastparse import parse_fast
from watcher.parse import parse_feed, parse_with_feedparser


def _bench():
    spec = importlib.util.spec_from_file_location("parse_speed", ROOT / "bench" / "parse_speed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _explain(fast, ref) -> str:
    lines = []
    for a, b in zip(fast.items, ref.items, strict=False):
        lines += [f"{f}: {getattr(a, f)!r} != {getattr(b, f)!r}" for f in a.__dataclass_fields__
                  if getattr(a, f) != getattr(b, f)]
    lines += [f"feed {f}: {getattr(fast, f)!r} != {getattr(ref, f)!r}" for f in ("title", "version", "ttl", "warning")
              if getattr(fast, f) != getattr(ref, f)]
    if len(fast.items) != len(ref.items):
        lines.append(f"{len(fast.items)} items != {len(ref.items)}")
    return "; ".join(lines)[:500]


@needs_corpus
def test_every_corpus_document_the_fast_path_accepts_parses_exactly_as_feedparser():
    accepted, different = 0, []
    for path, headers in cases():
        body = path.read_bytes()
        url = urljoin(f"http://127.0.0.1:8097/{path.parent.name}/{path.name}", headers.get("Content-Location", ""))
        fast = parse_fast(body, url, headers["Content-Type"])
        if fast is None:
            continue
        accepted += 1
        reference = parse_with_feedparser(body, url, headers["Content-Type"])
        if fast != reference:
            different.append(f"{path.name}: {_explain(fast, reference)}")
    assert different == []
    assert accepted >= 500   # the corpus is mostly edge cases; the fast path still takes a third of it


def test_generated_realistic_feeds_all_take_the_fast_path_and_match():
    feeds = _bench().realistic_feeds(12, 30, seed=7)
    for body, url, content_type in feeds:
        fast = parse_fast(body, url, content_type)
        assert fast is not None
        reference = parse_with_feedparser(body, url, content_type)
        assert fast == reference, _explain(fast, reference)
        assert [i.sketch for i in fast.items] == [i.sketch for i in reference.items]
        assert len(fast.items) == 30 and all(i.published_at and i.summary and i.link for i in fast.items)


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>
<rss version="2.0"><channel><title>t</title><item><title>&d;</title><guid>urn:1</guid></item></channel></rss>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><item><title>&x;</title><guid>urn:1</guid></item></channel></rss>"""


def test_no_entity_is_expanded_and_nothing_external_is_read():
    assert parse_fast(BOMB, "http://x.example/", "application/rss+xml") is None
    assert parse_fast(XXE, "http://x.example/", "application/rss+xml") is None
    undeclared = b'<rss version="2.0"><channel><item><title>&x;</title></item></channel></rss>'
    assert parse_fast(undeclared, "http://x.example/", "application/rss+xml") is None
    parsed = parse_feed(XXE, "http://x.example/", "application/rss+xml")
    assert "root:" not in parsed.items[0].title


@pytest.mark.parametrize("body,content_type", [
    (b'<rss version="2.0"><channel><item><title>broken & </title></item>', "application/rss+xml"),  # not well-formed
    (b'<rss version="0.91"><channel><item><title>old</title></item></channel></rss>', "application/rss+xml"),
    ('<rss version="2.0"><channel><item><title>caf\xe9</title></item></channel></rss>'.encode("latin-1"),
     "application/rss+xml; charset=iso-8859-1"),
    (b'<rss version="2.0"><channel><item><title>x</title><media:title xmlns:media="http://search.yahoo.com/mrss/">'
     b"y</media:title></item></channel></rss>", "application/rss+xml"),                # an unknown element
    (b'<rss version="2.0"><channel><item><description>&lt;script&gt;x()&lt;/script&gt;hi</description></item>'
     b"</channel></rss>", "application/rss+xml"),                                      # markup to sanitise
    (b'<rss version="2.0"><channel><item><pubDate>01/03/2025</pubDate></item></channel></rss>', "text/xml"),
    (b'<rss version="2.0"><channel><item><title>x</title></item></channel></rss>', "text/html"),
])
def test_anything_unusual_is_declined_and_feedparser_reads_it(body, content_type):
    assert parse_fast(body, "http://x.example/feed", content_type) is None
    parsed = parse_feed(body, "http://x.example/feed", content_type)
    assert parsed == parse_with_feedparser(body, "http://x.example/feed", content_type)
