"""Message templates: Jinja2 in a sandbox. The only module importing jinja2.

Rule authors write templates in rule files, so they run in Jinja2's immutable sandbox (no
attribute tricks, no mutation). Every ``{{ expression }}`` passes through an escaper chosen by
the output format, so text that came from a feed can never inject markup or links into a
markdown or HTML message, while the template's own literal text is left as written.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
from typing import Any
from collections.abc import Callable

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

_MD_SPECIAL = re.compile(r"([\\`*_\[\]])")


def escape_markdown(value: Any) -> str:
    """Feed text -> safe inside markdown that may become HTML (email) or chat formatting."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(str(value), quote=False))


def _plain(value: Any) -> str:
    return str(value)


def _environment(finalize: Callable[[Any], str]) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False, trim_blocks=True,
                                        lstrip_blocks=True, keep_trailing_newline=False,
                                        finalize=lambda v: "" if v is None else finalize(v))
    env.filters["oneline"] = lambda v: " ".join(str(v).split())
    env.filters["shorten"] = _shorten
    return env


def _shorten(value: Any, width: int = 300) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= width else text[: width - 1].rsplit(" ", 1)[0] + "…"


_ENVS = {"markdown": _environment(escape_markdown), "text": _environment(_plain)}


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
