"""The parts of the rules that come from outside the files: channel URLs, apprise config files,
and feed headers and proxies, with ``${VAR}`` / ``${VAR:-default}`` taken from the environment.

Rule files never hold secrets; these values may. They are wrapped in ``Secret`` as soon as they
are expanded, and every problem names the variable, never its value.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from collections.abc import Callable, Mapping

from ..errors import Problem
from . import compiled as c
from .yamlsrc import locate

ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

# check_url(url, written) -> None if the channel is usable, else a message (secrets masked).
# ``url`` is expanded from the environment; ``written`` is the text of the rule file, so the
# check can also refuse secrets written into the file itself.
UrlCheck = Callable[[str, str], "str | None"]
# check_config(path, tag) -> None if the apprise config file is usable, else a message (secrets masked).
ConfigCheck = Callable[[str, "str | None"], "str | None"]


def channel(display: str, data: Any, name: str, written: str, environ: Mapping[str, str],
            check_url: UrlCheck | None) -> tuple[c.Channel, Problem | None]:
    """A channel given by an apprise URL, expanded from the environment and checked."""
    owner = f'channel "{name}"'
    line, col = locate(data, ("channels", name))
    missing: list[str] = []

    def expand(found: re.Match[str]) -> str:
        var, default = found.group(1), found.group(2)
        if var in environ and environ[var] != "":
            return environ[var]
        if default is not None:
            return default
        missing.append(var)
        return ""

    url = ENV.sub(expand, written).strip()
    built = c.Channel(name, c.Secret(url), written)
    if missing:
        return built, Problem(display, line, col, "the environment variable"
                              f"{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                              f"{'are' if len(missing) > 1 else 'is'} not set", owner)
    if url == c.CONSOLE:
        return built, None
    if check_url is not None:
        message = check_url(url, written)
        if message:
            return built, Problem(display, line, col, message, owner)
    return built, None


def config_channel(display: str, data: Any, name: str, config: str, tag: str | None,
                   check_config: ConfigCheck | None) -> tuple[c.Channel, Problem | None]:
    """A channel whose URLs live in an apprise config file (a path relative to the rule file)."""
    path = str((Path(display).parent / Path(config).expanduser()).resolve())
    built = c.Channel(name, c.Secret(""), f"config: {config}", config=path, tag=tag)
    message = check_config(path, tag) if check_config is not None else None
    if message:
        line, col = locate(data, ("channels", name, "config"))
        return built, Problem(display, line, col, message, f'channel "{name}"')
    return built, None


def _feed_env(display: str, data: Any, name: str, loc: tuple[str, ...], written: str,
              environ: Mapping[str, str]) -> tuple[str, Problem | None]:
    """A feed setting with ``${VAR}`` (or ``${VAR:-default}``) taken from the environment."""
    missing = [m.group(1) for m in ENV.finditer(written) if not environ.get(m.group(1)) and m.group(2) is None]
    if missing:
        line, col = locate(data, ("feeds", name, *loc))
        return "", Problem(display, line, col, f"{'.'.join(loc)}: the environment variable {missing[0]} "
                           "is not set", f'feed "{name}"')
    return ENV.sub(lambda m: environ.get(m.group(1)) or (m.group(2) or ""), written), None


def feed_secrets(display: str, data: Any, name: str, spec: Any, environ: Mapping[str, str]
                 ) -> tuple[tuple[tuple[str, str], ...], c.Secret | None, list[Problem]]:
    """A feed's headers and proxy, expanded from the environment (they may carry credentials)."""
    problems: list[Problem] = []
    headers = []
    for key, value in spec.headers.items():
        expanded, problem = _feed_env(display, data, name, ("headers", key), value, environ)
        headers.append((key, expanded))
        problems += [problem] if problem else []
    proxy = None
    if spec.proxy is not None:
        url, problem = _feed_env(display, data, name, ("proxy",), spec.proxy, environ)
        if problem is None and not re.match(r"^https?://[^\s/?#]+", url.strip()):
            line, col = locate(data, ("feeds", name, "proxy"))
            problem = Problem(display, line, col, "proxy: not an http:// or https:// address", f'feed "{name}"')
        problems += [problem] if problem else []
        proxy = c.Secret(url.strip())
    return tuple(headers), proxy, problems
