"""apprise URLs and config files: validation, masking, and the secrets they hold.

Everything that shows a channel's URL goes through ``masked`` (apprise's privacy form, plus
custom header values, which apprise leaves visible). ``check_url`` and ``check_config`` are the
checks the rule loader runs on every channel.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import apprise

from ..logs import redact
from ..ruleset.compiled import CONSOLE

_SECRET_HEADER = re.compile(r"auth|token|key|secret|pass|session|cookie", re.IGNORECASE)
# a URL entry in an apprise config file: "- json://...", "- json://...:", "tag=json://..."
_CONFIG_URL = re.compile(r"""^\s*(?:-\s*)?(?:[\w ,.-]+=\s*)?["']?([a-z][a-z0-9+.-]*://[^\s"']*?)["']?\s*:?\s*$""",
                         re.IGNORECASE | re.MULTILINE)
_ANY_URL = re.compile(r"\b([a-z][a-z0-9+.-]*://)[^\s/@]*@?([^\s/?#]*)[^\s]*", re.IGNORECASE)


def asset() -> apprise.AppriseAsset:
    # async_mode off and no service timeout: apprise sends inline in the calling thread (ours)
    # instead of handing the call to its shared pool
    return apprise.AppriseAsset(app_id="watcher", app_desc="watcher feed alerts",
                                app_url="https://github.com/watcher-alerts/watcher",
                                async_mode=False, service_timeout=0)


class _MaskParts(logging.Filter):
    """Masks the parts of the URLs being checked in apprise's own log records: when apprise
    cannot use a URL it logs the part it rejected ("An invalid Slack Token (xoxb-...) was
    specified"), and the URL's secrets are not known yet (only a usable URL is split into its
    secret parts)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: dict[str, int] = {}
        self.lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        with self.lock:
            parts = sorted(self.parts, key=len, reverse=True)
        if parts:
            message = record.getMessage()
            for part in parts:
                message = message.replace(part, "****")
            record.msg, record.args = message, ()
        return True


_CHECKING = _MaskParts()
logging.getLogger("apprise").addFilter(_CHECKING)


@contextmanager
def _checking(url: str) -> Iterator[None]:
    """While apprise parses ``url``, mask in its log every part of it that could be a secret."""
    parts = urlsplit(url)
    userinfo, _, host = parts.netloc.rpartition("@")
    candidates = [*userinfo.split(":"), host.split(":")[0], *parts.path.split("/"), parts.fragment,
                  *(v for _, v in parse_qsl(parts.query))]
    found = {c for piece in candidates for c in (piece, unquote(piece)) if len(c) >= 4}
    with _CHECKING.lock:
        for part in found:
            _CHECKING.parts[part] = _CHECKING.parts.get(part, 0) + 1
    try:
        yield
    finally:
        with _CHECKING.lock:
            for part in found:
                _CHECKING.parts[part] -= 1
                if not _CHECKING.parts[part]:
                    del _CHECKING.parts[part]


def _instantiate(url: str) -> Any:
    """apprise's service for ``url``, or ``None``, without a secret in apprise's log either way."""
    with _checking(url):
        return apprise.Apprise.instantiate(url, asset=asset(), suppress_exceptions=True)


def masked(url: str) -> str:
    """A URL safe to show: apprise's privacy form, with header values hidden too."""
    instance = _instantiate(url)
    if instance is None:
        # apprise cannot parse it, so it cannot mask it: show the scheme, and the host only when it
        # looks like one (many services put a token where a host would be: slack://TOKEN/...)
        parts = urlsplit(url)
        host = parts.hostname or ""
        shown = host if re.fullmatch(r"localhost|[\d.]+|[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}", host) else "…"
        return f"{parts.scheme}://{shown}/…" if parts.scheme else "(not a URL)"
    return mask_headers(instance.url(privacy=True))


def mask_headers(url: str) -> str:
    # apprise masks passwords and tokens but not custom header values (+Header=value)
    return re.sub(r"((?:%2B|\+)[^=&]+=)[^&]*", r"\1****", url)


def short(url: str) -> str:
    """A masked URL without its query (apprise appends its default options there)."""
    return url.split("?", 1)[0]


def scrub(text: str) -> str:
    """Text from apprise (its log lines) made safe to store: known secrets and URL paths hidden."""
    return _ANY_URL.sub(r"\1\2/…", redact(text))[:300]


def check_url(url: str, written: str) -> str | None:
    """``None`` if ``url`` is a usable channel, else why not (secrets masked)."""
    if url == CONSOLE:
        return None
    instance = _instantiate(url)
    if instance is None:
        return (f"{masked(url)} is not a URL apprise can use (check the service name and its parts: "
                "https://github.com/caronc/apprise/wiki)")
    if "${" not in written:
        literal = _instantiate(written)
        headers = [k for k, _ in parse_qsl(urlsplit(written).query) if k.startswith("+") and _SECRET_HEADER.search(k)]
        if literal is not None and (literal.url(privacy=True) != literal.url() or headers):
            return (f"the URL {short(literal.url(privacy=True))} contains a secret; keep secrets out of "
                    "rule files: put the URL in an environment variable and write ${VARIABLE} here")
    return None


def check_config(path: str, tag: str | None) -> str | None:
    """``None`` if ``path`` is a usable apprise config file (for ``tag``), else why not (masked)."""
    file = Path(path)
    if not file.is_file():
        return f"the apprise config file {path} does not exist"
    mode = file.stat().st_mode & 0o777
    if mode & 0o007:
        return (f"the apprise config file {path} holds secrets but other users can read or change it "
                f"(mode {mode:o}); restrict it: chmod 600 {path}")
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return f"cannot read the apprise config file {path}: {exc}"
    # apprise skips the entries it cannot use without a word: compare what it loaded with what
    # the file lists, and name the culprits (an entry may need the options under it, so one
    # that fails alone is only blamed when something is missing)
    entries, loaded = config_urls(text), config_services(text, None)
    if len(loaded) < len(entries):
        bad = [u for u in entries if _instantiate(u) is None]
        which = ", ".join(masked(u) for u in bad) or f"{len(entries) - len(loaded)} of {len(entries)}"
        return (f"the apprise config file {path} has URLs apprise cannot use: {which} "
                "(check the service names and their parts: https://github.com/caronc/apprise/wiki)")
    services = config_services(text, tag)
    if not services:
        return (f"no service in the apprise config file {path} has the tag \"{tag}\"" if tag else
                f"the apprise config file {path} has no URLs")
    return None


def config_urls(text: str) -> list[str]:
    return [m.group(1) for m in _CONFIG_URL.finditer(text)]


def config_services(text: str, tag: str | None) -> list[Any]:
    with ExitStack() as checking:
        for url in config_urls(text):
            checking.enter_context(_checking(url))
        config = apprise.AppriseConfig(asset=asset())
        config.add_config(text)
        everything = apprise.Apprise(asset=asset())
        everything.add(config)
        return [s for s in everything if tag is None or tag in (s.tags or ())]




def secret_parts(instance: Any) -> tuple[str, ...]:
    """The full URL and each part of it that its privacy form hides (tokens, passwords, headers)."""
    full = instance.url()
    shown = set(re.split(r"[/:@?&=,#+]", mask_headers(instance.url(privacy=True))))
    parts = {unquote(p) for p in re.split(r"[/:@?&=,#+]", full) if p and p not in shown}
    return (full, *sorted(p for p in parts if len(p) >= 6))
