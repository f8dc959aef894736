"""Message templates: Jinja2 in a sandbox. The only module importing jinja2 (and markdown-it).

Rule authors write templates in rule files, so they run in Jinja2's immutable sandbox (no
attribute tricks, no mutation). Every ``{{ expression }}`` passes through an escaper chosen by
the output format, so text that came from a feed can never inject markup or links into a
markdown message, while the template's own literal text is left as written.

A body is written in markdown (the defaults and rule authors' own bodies alike); channels that
take text (``format: text``, and ``auto`` for services that prefer text, such as ``json://``)
get ``markdown_to_text`` of the rendered markdown: the template's own markup is read by a
CommonMark parser and dropped (a link becomes "label (url)"), and the feed text, escaped in the
markdown, comes back exactly as the feed wrote it. Text is never markup, so it cannot carry any.
Titles are plain text in every format.

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
from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

# characters that mean something anywhere in a CommonMark line (plus GFM's ~ and |)
_MD_INLINE = re.compile(r"([\\`*_\[\]<>~|])")
# characters that mean something only at the start of a line: headings, lists, quotes, rules
_MD_LINE_START = re.compile(r"(^|\n)([ \t]*)([#+=-])")
_MD_ORDERED = re.compile(r"(^|\n)([ \t]*\d+)([.)])")
# an ampersand that would start an HTML entity (&amp; &#38; and, for Python-Markdown, which
# email bodies go through, even &#1 without its semicolon). A backslash does not stop
# Python-Markdown from decoding an entity, so the ampersand itself is written as &amp;.
_MD_ENTITY = re.compile(r"&(?=#|[A-Za-z0-9]+;)")
# blanks opening a line: a tab or four spaces would make the line a code block (at the start of
# the text, where the template may have put it at the start of a line, one space is kept)
_MD_INDENT = re.compile(r"\n[ \t]+")
_MD_LEAD = re.compile(r"^[ \t]+")
# a blank line would end the paragraph, list item or emphasis the template put the text in
_MD_BLANK_LINES = re.compile(r"\n{2,}")
_LINKABLE = re.compile(r"^(https?://|mailto:)[^\s<>]+$", re.IGNORECASE)


class Safe(str):
    """Text a filter has already made safe for the output format; the escaper leaves it alone."""


def escape_markdown(value: Any) -> str:
    """Feed text -> literal text inside CommonMark (what apprise converts for each service).
    Line breaks become ``\\n`` (a lone CR ends a line in CommonMark too), blanks at the start of
    a line are dropped (they mean nothing in a message and could open a code block) and blank
    lines are joined (one would end the block the template put the text in)."""
    text = _MD_LEAD.sub(" ", str(value).replace("\r\n", "\n").replace("\r", "\n"))
    text = _MD_BLANK_LINES.sub("\n", _MD_INDENT.sub("\n", text))
    text = _MD_INLINE.sub(r"\\\1", text)
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
    """Render a template; ``fmt`` is ``markdown`` (feed text escaped) or ``text`` (values as they
    are, for titles and keys; a markdown body becomes text with ``markdown_to_text``).

    Errors at render time (an unknown variable, a sandbox violation) are returned inside the
    message rather than raised: an alert with a broken template is still an alert.
    """
    try:
        return _compiled(source, fmt).render(**context).strip()
    except (UndefinedError, SecurityError, TypeError, ValueError) as exc:
        return f"(template error: {exc})"


# -- markdown -> text ----------------------------------------------------------------------------

_COMMONMARK = MarkdownIt("commonmark")


def markdown_to_text(markdown: str) -> str:
    """A rendered markdown body as plain text: paragraphs and lists kept as lines ("- " and "1."
    markers), emphasis and headings as their words, a link as "label (url)" (an autolink as its
    url), code and HTML as written; backslash escapes and entities are read, so escaped feed text
    is the feed's text again."""
    root = SyntaxTreeNode(_COMMONMARK.parse(markdown))
    return _blocks(root.children).strip()


def _blocks(nodes: list[SyntaxTreeNode], tight: bool = False) -> str:
    return ("\n" if tight else "\n\n").join(text for node in nodes if (text := _block(node)))


def _block(node: SyntaxTreeNode) -> str:
    if node.type in ("paragraph", "heading"):
        return "".join(_inline(child) for child in node.children)
    if node.type in ("bullet_list", "ordered_list"):
        tight = all(p.hidden for item in node.children for p in item.children if p.type == "paragraph")
        start = int(str(node.attrs.get("start", 1)))
        items = [_indent(_blocks(item.children, tight),
                         "- " if node.type == "bullet_list" else f"{start + k}{node.markup} ")
                 for k, item in enumerate(node.children)]
        return ("\n" if tight else "\n\n").join(items)
    if node.type == "blockquote":
        return _indent(_blocks(node.children), "> ", "> ")
    if node.type in ("code_block", "fence", "html_block"):
        return node.content.rstrip("\n")
    if node.type == "hr":
        return "----"
    return "".join(_inline(child) for child in node.children)


def _indent(text: str, first: str, rest: str | None = None) -> str:
    """``text`` after a list marker (or a quote's "> "), its other lines aligned under it."""
    pad = " " * len(first) if rest is None else rest
    lines = text.split("\n")
    return "\n".join([first + lines[0]] + [pad + line if line else line for line in lines[1:]])


def _inline(node: SyntaxTreeNode) -> str:
    if node.type in ("text", "code_inline", "html_inline"):
        return node.content
    if node.type in ("softbreak", "hardbreak"):
        return "\n"
    if node.type == "image":
        return node.content   # its alt text
    label = "".join(_inline(child) for child in node.children)
    if node.type == "link":
        url = _COMMONMARK.normalizeLinkText(str(node.attrs.get("href", "")))
        return label if node.markup == "autolink" or label == url else f"{label} ({url})"
    return label  # emphasis, strong: their words
