"""Message templates: Jinja2 in a sandbox. The only module importing jinja2.

Rule authors write templates in rule files, so they run in Jinja2's immutable sandbox (no
attribute tricks, no mutation). Every ``{{ expression }}`` passes through an escaper chosen by
the output format, so text that came from a feed can never inject markup or links into a
markdown message, while the template's own literal text is left as written.

Markdown is CommonMark, the dialect apprise 2.x reads: apprise turns it into HTML for email
(plus a plain-text part), into Slack's ``mrkdwn``, and so on. Escaping is therefore CommonMark's
backslash escaping, not HTML entities: ``&lt;`` would reach Slack as the literal text "&lt;",
because apprise entity-escapes ``&`` for Slack itself.

Two filters make links from feed data safe: ``url`` (an autolink, ``<https://...>``, shown in
full so it survives the plain-text part of an email) and ``link(text)`` (``[text](<url>)``).
Only http, https and mailto addresses become links; anything else is shown as escaped text.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from collections.abc import Callable

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

# characters that mean something anywhere in a CommonMark line (plus GFM's ~ and |)
_MD_INLINE = re.compile(r"([\\`*_\[\]<>~|])")
# characters that mean something only at the start of a line: headings, lists, quotes, rules
_MD_LINE_START = re.compile(r"(^|\n)([ \t]*)([#+=-])")
_MD_ORDERED = re.compile(r"(^|\n)([ \t]*\d+)([.)])")
# an ampersand that would start an HTML entity (&amp; &#38; and, for Python-Markdown, which
# email bodies go through, even &#1 without its semicolon). A backslash does not stop
# Python-Markdown from decoding an entity, so the ampersand itself is written as &amp;.
_MD_ENTITY = re.compile(r"&(?=#|[A-Za-z0-9]+;)")
_LINKABLE = re.compile(r"^(https?://|mailto:)[^\s<>]+$", re.IGNORECASE)


class Safe(str):
    """Text a filter has already made safe for the output format; the escaper leaves it alone."""


def escape_markdown(value: Any) -> str:
    """Feed text -> literal text inside CommonMark (what apprise converts for each service)."""
    text = _MD_INLINE.sub(r"\\\1", str(value))
    text = _MD_ENTITY.sub("&amp;", text)
    text = _MD_LINE_START.sub(lambda m: f"{m.group(1)}{m.group(2)}\\{m.group(3)}", text)
    return _MD_ORDERED.sub(lambda m: f"{m.group(1)}{m.group(2)}\\{m.group(3)}", text)


def _plain(value: Any) -> str:
    return str(value)


def _url_markdown(value: Any) -> str:
    url = str(value or "").strip()
    if not url:
        return Safe("")
    return Safe(f"<{url}>") if _LINKABLE.match(url) else Safe(escape_markdown(url))


def _link_markdown(value: Any, text: Any = None) -> str:
    url = str(value or "").strip()
    label = escape_markdown(" ".join(str(text if text is not None else url).split()))
    if not url or not _LINKABLE.match(url):
        return Safe(label)
    return Safe(f"[{label}](<{url}>)")


def _link_text(value: Any, text: Any = None) -> str:
    url = str(value or "").strip()
    label = " ".join(str(text if text is not None else url).split())
    return f"{label} ({url})" if url and label != url else label


def _environment(finalize: Callable[[Any], str], url: Callable[..., str],
                 link: Callable[..., str]) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=False,
        finalize=lambda v: "" if v is None else v if isinstance(v, Safe) else finalize(v))
    env.filters["oneline"] = lambda v: " ".join(str(v).split())
    env.filters["shorten"] = _shorten
    env.filters["url"] = url
    env.filters["link"] = link
    return env


def _shorten(value: Any, width: int = 300) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= width else text[: width - 1].rsplit(" ", 1)[0] + "…"


_ENVS = {"markdown": _environment(escape_markdown, _url_markdown, _link_markdown),
         "text": _environment(_plain, lambda v: str(v or "").strip(), _link_text)}


def check_template(source: str) -> str:
    """Raise ``ValueError`` with the line and reason if ``source`` is not a valid template."""
    try:
        _ENVS["text"].parse(source)
    except TemplateSyntaxError as exc:
        raise ValueError(f"template error on its line {exc.lineno}: {exc.message}") from None
    return source


@lru_cache(maxsize=512)
def _compiled(source: str, fmt: str) -> Any:
    return _ENVS[fmt].from_string(source)


def render(source: str, context: dict[str, Any], fmt: str = "markdown") -> str:
    """Render a template; ``fmt`` is ``markdown`` (feed text escaped) or ``text`` (as is).

    Errors at render time (an unknown variable, a sandbox violation) are returned inside the
    message rather than raised: an alert with a broken template is still an alert.
    """
    try:
        return _compiled(source, fmt).render(**context).strip()
    except (UndefinedError, SecurityError, TypeError, ValueError) as exc:
        return f"(template error: {exc})"
