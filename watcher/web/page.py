"""HTML pages rendered with Jinja2, autoescaped: every value from a feed is shown as text.

Links taken from feeds are only made clickable when they are http(s) (a ``javascript:`` link
in a feed stays text). The pages use one stylesheet served by the daemon, no script and
nothing from the internet; they refresh themselves every minute with a meta tag.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ..timefmt import parse_iso

TEMPLATES = Path(__file__).parent / "templates"

_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                   undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _when(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) or value is None else parse_iso(str(value))


def span(seconds: float | None) -> str:
    """``3d 4h``, ``2h 5m``, ``12m``, ``40s``."""
    if seconds is None:
        return ""
    seconds = int(abs(seconds))
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts[:2]) if parts else f"{seconds}s"


def ago(value: Any, now: datetime) -> str:
    when = _when(value)
    if when is None:
        return "never"
    delta = (now - when).total_seconds()
    if abs(delta) < 5:
        return "just now"
    return f"{span(delta)} ago" if delta > 0 else f"in {span(delta)}"


def stamp(value: Any) -> str:
    when = _when(value)
    return when.strftime("%Y-%m-%d %H:%M UTC") if when else ""


def href(url: Any) -> str:
    """The URL if it is safe to link to (http or https), else an empty string."""
    if not isinstance(url, str):
        return ""
    return url if urlsplit(url.strip()).scheme.lower() in ("http", "https") else ""


_env.filters.update(stamp=stamp, href=href, span=span, urlpart=lambda s: quote(str(s), safe=""))


def _render(template: str, now: datetime, **context: Any) -> str:
    return _env.get_template(template).render(now=now, ago=lambda v: ago(v, now), **context)


def index(*, now: datetime, **context: Any) -> str:
    return _render("index.html", now, **context)


def fact(*, now: datetime, **context: Any) -> str:
    return _render("fact.html", now, **context)


def search(*, now: datetime, **context: Any) -> str:
    return _render("search.html", now, **context)


def not_found(path: str) -> str:
    return _env.get_template("404.html").render(path=path)
