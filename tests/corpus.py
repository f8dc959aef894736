"""The feedparser test corpus in ../shared (absent from a user's clone): its files and the HTTP
headers each file says it should be served with (``Header:`` lines in its leading comment)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "feedparser"
DEFAULT_TYPE = "application/xml"

needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(),
                                  reason=f"the feedparser corpus is not here ({CORPUS}); it lives in ../shared")


def corpus_files() -> list[Path]:
    return sorted(CORPUS.rglob("*.xml")) if CORPUS.is_dir() else []


def headers_of(path: Path) -> dict[str, str]:
    """The response headers the file asks for; Content-Type defaults to application/xml."""
    head = path.read_bytes()[:2000].decode("utf-8", "replace")
    found = {}
    comment = re.match(r"\s*<!--(.*?)-->", head, re.DOTALL)
    if comment:
        for line in comment.group(1).splitlines():
            header = re.match(r"\s*Header:\s*([A-Za-z-]+):\s*(.*?)\s*$", line)
            if header:
                found[header.group(1).title()] = header.group(2)
    found.setdefault("Content-Type", DEFAULT_TYPE)
    return found


def cases() -> Iterator[tuple[Path, dict[str, str]]]:
    for path in corpus_files():
        yield path, headers_of(path)
