"""Item identity, story grouping and text normalisation. Pure.

**Identity** (``Item.key``, unique per feed): in order of preference
1. its guid / Atom id (canonicalised if it is a URL, since many feeds use the permalink);
2. its canonical link: lower-case scheme and host, no default port, no fragment, and tracking
   parameters (``utm_*``, ``fbclid``, ``gclid`` ...) removed *before* the key is computed, so the
   same article re-shared with new tracking parameters is not new;
3. a hash of its title and text.
A changed title or text under the same key is an *update* of that item, not a new one.

**Story** (``Item.story``, the ``items.story`` column): one news story, across feeds. Two items
have the same story when either
- their canonical links are equal (any feed, any age), or
- they come from different feeds within ``STORY_WINDOW`` of each other and have the same
  normalised title (at least ``TITLE_MIN_WORDS`` words: short headlines such as "Live updates"
  say nothing), or near-identical text (``near_duplicate``: their MinHash signatures over word
  pairs mostly agree).
``story_key`` gives an item its own story value (``l:`` + canonical link, else ``t:`` + title
hash); when the store recognises the story of an earlier item by one of its ``story_marks``, the
new item takes *that* item's story value instead. So ``story`` is a cluster key fixed at insert
time: all items of one story share it, and it never changes afterwards. Independent sources for
a story are the distinct ``(feed, story)`` pairs: one feed repeating a story counts once.
"""

from __future__ import annotations

import functools
import hashlib
import html
import re
import struct
import zlib
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "gclsrc", "dclid", "msclkid", "yclid", "igshid", "mc_cid", "mc_eid",
    "_hsenc", "_hsmi", "mkt_tok", "ref_src", "ref_url", "cmpid", "ocid", "icid", "s_cid",
    "at_medium", "at_campaign", "at_custom1", "at_custom2", "at_custom3", "at_custom4",
    "wt.mc_id", "wt_mc_id", "__twitter_impression", "smid", "smtyp", "sr_share", "taid",
    "spm", "share", "xtor", "guccounter", "_ga", "_gl", "oly_enc_id", "oly_anon_id", "vero_id",
    "rss", "cid_rss",
})
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "itm_")
_DEFAULT_PORTS = {"http": 80, "https": 443}

_DROP_BLOCKS = re.compile(r"<(script|style|noscript|template)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_BREAKS = re.compile(r"<\s*(br|/p|/div|/li|/h[1-6]|/tr|/blockquote|p|li|h[1-6]|tr)\b[^>]*>", re.IGNORECASE)
_TAGS = re.compile(r"<!--.*?-->|<[^>]{0,2000}>", re.DOTALL)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_NEWLINES = re.compile(r" ?\n[ \n]*")
_TITLE_NOISE = re.compile(r"[^\w]+", re.UNICODE)
_WORD = re.compile(r"\w+")


def html_to_text(markup: str) -> str:
    """HTML (or plain text with entities) -> plain text, paragraphs on their own lines."""
    if not markup:
        return ""
    if "<" in markup:
        markup = _DROP_BLOCKS.sub(" ", markup)
        markup = _BREAKS.sub("\n", markup)
        markup = _TAGS.sub("", markup)
    if "&" in markup:
        markup = html.unescape(markup)
    markup = _SPACES.sub(" ", markup)
    return _NEWLINES.sub("\n", markup).strip()


def canonical_url(url: str | None) -> str | None:
    """A URL with tracking parameters, fragment and default port removed; host lower-cased."""
    if not url:
        return None
    return _canonical(url)


@functools.lru_cache(maxsize=8192)   # an item's link is canonicalised for its key, link and story
def _canonical(url: str) -> str:
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return url
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k.lower() not in TRACKING_PARAMS and not k.lower().startswith(TRACKING_PREFIXES)]
    return urlunsplit((scheme, netloc, parts.path or "/", urlencode(query, doseq=True), ""))


def _looks_like_url(text: str) -> bool:
    return text.startswith(("http://", "https://", "HTTP://", "HTTPS://"))


def item_key(guid: str | None, link: str | None, title: str, text: str) -> str:
    """The identity of an item within its feed (see the module docstring)."""
    if guid and guid.strip():
        guid = guid.strip()
        return "g:" + (canonical_url(guid) or guid if _looks_like_url(guid) else guid)
    canonical = canonical_url(link)
    if canonical:
        return "l:" + canonical
    return "h:" + hashlib.sha256(f"{title}\n{text}".encode("utf-8", "surrogatepass")).hexdigest()[:32]


def content_hash(title: str, summary: str, content: str) -> str:
    """Changes when an item's visible text changes (an update under the same identity)."""
    data = f"{title}\x00{summary}\x00{content}".encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()[:24]


def normalise_title(title: str) -> str:
    """Lower case, punctuation and spacing removed: the same headline in two feeds compares equal."""
    return " ".join(_TITLE_NOISE.sub(" ", title.casefold()).split())


def story_key(link: str | None, title: str) -> str:
    """An item's own story value: the canonical link, else the normalised title (see above)."""
    canonical = canonical_url(link)
    if canonical:
        return "l:" + canonical
    normal = normalise_title(title)
    return "t:" + _digest(normal) if normal else ""


STORY_WINDOW = 2 * 86400      # seconds: titles and texts of other feeds are compared this far back
TITLE_MIN_WORDS = 4
SKETCH_MIN_WORDS = 12         # shorter texts get no text marks
NEAR_DUPLICATE = 8            # agreeing bins (of 12) that make two texts near-identical
_BINS = 12
_BAND = 3                     # bins per band: a band is one text mark
_EMPTY = 0xFFFFFFFF           # no word pair fell into this bin
_BAND_BYTES = struct.Struct(f">{_BAND}I")
SKETCH_BYTES = struct.Struct(f">{_BINS}I")   # how a signature is stored


@dataclass(frozen=True)
class StoryMarks:
    """What another feed's copy of a story can be recognised by."""

    link: str | None          # "l:<canonical link>"
    title: str | None         # "t:<hash of the normalised title>" (distinctive titles only)
    sketch: tuple[int, ...]   # the text's MinHash signature (empty for short texts)

    def marks(self) -> list[str]:
        found = [m for m in (self.link, self.title) if m]
        return found + text_marks(self.sketch)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def text_sketch(text: str) -> tuple[int, ...]:
    """The text's MinHash signature over its word pairs, by one-permutation hashing: the hash of
    each pair goes to one of twelve bins, and each bin keeps its smallest value.
    Two texts agree on a bin with a probability close to their resemblance."""
    words = _WORD.findall(text.casefold(), 0, 1500)[:80]   # the lead is enough to tell copies apart
    if len(words) < SKETCH_MIN_WORDS:
        return ()
    hashes = [zlib.crc32(word.encode("utf-8", "surrogatepass")) for word in words]
    mins = [_EMPTY] * _BINS
    for a, b in zip(hashes, hashes[1:], strict=False):
        value = ((a * 0x9E3779B1) ^ (b * 0x85EBCA6B)) & 0xFFFFFFFF   # a pair's hash, order-sensitive
        slot = value % _BINS
        if value < mins[slot]:
            mins[slot] = value
    return tuple(mins)


def text_marks(sketch: tuple[int, ...]) -> list[str]:
    """Four bands of three bins each: near-identical texts share at least one band (for texts 80%
    alike, 94% of the time), unrelated ones almost never; a band needs all its bins to agree, so
    common phrases ("of the") rarely make one popular."""
    bands = (sketch[i:i + _BAND] for i in range(0, len(sketch), _BAND))
    return [f"m{n}:" + _BAND_BYTES.pack(*band).hex() for n, band in enumerate(bands) if _EMPTY not in band]


def near_duplicate(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    """Whether two signatures come from near-identical texts (about two thirds of word pairs shared or more)."""
    return len(a) == len(b) > 0 and sum(x == y != _EMPTY for x, y in zip(a, b, strict=True)) >= NEAR_DUPLICATE


def item_sketch(title: str, summary: str, content: str) -> tuple[int, ...]:
    """The signature ``story_marks`` compares for an item."""
    return text_sketch(f"{title}\n{summary}\n{content}")


def story_marks(link: str | None, title: str, summary: str, content: str = "",
                sketch: tuple[int, ...] | None = None) -> StoryMarks:
    """An item's marks; ``sketch`` if the parser already computed ``item_sketch``."""
    canonical = canonical_url(link)
    normal = normalise_title(title)
    distinctive = len(normal.split()) >= TITLE_MIN_WORDS
    return StoryMarks("l:" + canonical if canonical else None,
                      "t:" + _digest(normal) if distinctive else None,
                      item_sketch(title, summary, content) if sketch is None else sketch)
