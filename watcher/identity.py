"""Item identity and text normalisation. Pure.

An item's key within its feed is, in order of preference:
1. its guid / Atom id (canonicalised if it is a URL, since many feeds use the permalink);
2. its canonical link: lower-case scheme and host, no default port, no fragment, and tracking
   parameters (``utm_*``, ``fbclid``, ``gclid`` ...) removed *before* the key is computed, so the
   same article re-shared with new tracking parameters is not new;
3. a hash of its title and text.
The *story* key groups the same article across feeds: the canonical link, else the normalised
title. The facts engine counts independent sources per story.
"""

from __future__ import annotations

import hashlib
import html
import re
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
    """Groups one story across feeds: the canonical link, else the normalised title."""
    canonical = canonical_url(link)
    if canonical:
        return "l:" + canonical
    normal = normalise_title(title)
    return "t:" + hashlib.sha256(normal.encode()).hexdigest()[:24] if normal else ""
