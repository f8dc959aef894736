"""Sending messages to channels through apprise. The only module importing apprise.

A channel is one apprise URL (any service apprise supports) or the built-in ``console``,
which prints alerts on the daemon's standard output. ``Channels.send`` sends one message to
one channel and returns a ``SendResult``; it never raises for a channel's failure, so one
channel that is down cannot stop the others.

apprise sends through ``requests`` in its own thread pool (``async_notify``), so a slow or
throttled service (apprise waits between messages for some services) never blocks the event
loop.
"""

from __future__ import annotations

import asyncio
import re
import sys
from typing import TextIO
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlsplit

import apprise

from .errors import DeliveryError
from .models import SendResult
from .ruleset.compiled import CONSOLE, Channel

SEND_TIMEOUT = 120.0  # seconds before one send counts as failed (apprise itself may still finish it)
_SECRET_HEADER = re.compile(r"auth|token|key|secret|pass|session|cookie", re.IGNORECASE)


def _asset() -> apprise.AppriseAsset:
    return apprise.AppriseAsset(app_id="watcher", app_desc="watcher feed alerts",
                                app_url="https://github.com/watcher-alerts/watcher")


def masked(url: str) -> str:
    """A URL safe to show: apprise's privacy form, with header values hidden too."""
    instance = apprise.Apprise.instantiate(url, asset=_asset(), suppress_exceptions=True)
    if instance is None:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname or '…'}/…" if parts.scheme else "(not a URL)"
    return _mask_headers(instance.url(privacy=True))


def _mask_headers(url: str) -> str:
    # apprise masks passwords and tokens but not custom header values (+Header=value)
    return re.sub(r"((?:%2B|\+)[^=&]+=)[^&]*", r"\1****", url)


def _short(url: str) -> str:
    """A masked URL without its query (apprise appends its default options there)."""
    return url.split("?", 1)[0]


def check_url(url: str, written: str) -> str | None:
    """``None`` if ``url`` is a usable channel, else why not (secrets masked)."""
    if url == CONSOLE:
        return None
    instance = apprise.Apprise.instantiate(url, asset=_asset(), suppress_exceptions=True)
    if instance is None:
        return (f"{masked(url)} is not a URL apprise can use (check the service name and its parts: "
                "https://github.com/caronc/apprise/wiki)")
    if "${" not in written:
        literal = apprise.Apprise.instantiate(written, asset=_asset(), suppress_exceptions=True)
        headers = [k for k, _ in parse_qsl(urlsplit(written).query) if k.startswith("+") and _SECRET_HEADER.search(k)]
        if literal is not None and (literal.url(privacy=True) != literal.url() or headers):
            return (f"the URL {_short(literal.url(privacy=True))} contains a secret; keep secrets out of "
                    "rule files: put the URL in an environment variable and write ${VARIABLE} here")
    return None


class Channels:
    """The channels of one rule set, built once and reused for every send."""

    def __init__(self, channels: Mapping[str, Channel], *, console: TextIO | None = None):
        self._console = console
        self._targets: dict[str, apprise.Apprise] = {}
        self._formats: dict[str, str] = {}
        self.names = set(channels) | {CONSOLE}
        for name, channel in channels.items():
            if channel.is_console:
                continue
            target = apprise.Apprise(asset=_asset())
            instance = apprise.Apprise.instantiate(channel.url.reveal(), asset=_asset(), suppress_exceptions=True)
            if instance is None or not target.add(instance):
                raise DeliveryError(f'channel "{name}": {masked(channel.url.reveal())} is not a usable apprise URL')
            self._targets[name] = target
            # a service whose preferred format is text gets the plain-text rendering; the others
            # markdown, which apprise turns into HTML for email and keeps for chat services
            self._formats[name] = "text" if _preferred_format(instance) == apprise.NotifyFormat.TEXT else "markdown"

    def describe(self, name: str) -> str:
        """The channel's masked URL(s), for logs and `watcher channels`."""
        if name not in self._targets:
            return "console (standard output)"
        return ", ".join(_mask_headers(s.url(privacy=True)) for s in self._targets[name])

    async def send(self, name: str, *, title: str, body: str, text: str, severity: str = "info") -> SendResult:
        if name == CONSOLE or name not in self._targets:
            if name != CONSOLE and name not in self.names:
                return SendResult(False, f'no channel "{name}" in the current rules')
            self._print(title, text, severity)
            return SendResult(True, "console")
        target = self._targets[name]
        markdown = self._formats[name] == "markdown"
        notify_type = {"critical": apprise.NotifyType.FAILURE, "warning": apprise.NotifyType.WARNING
                       }.get(severity, apprise.NotifyType.INFO)
        try:
            result = await asyncio.wait_for(target.async_notify(
                title=title, body=body if markdown else text, notify_type=notify_type,
                body_format=apprise.NotifyFormat.MARKDOWN if markdown else apprise.NotifyFormat.TEXT),
                timeout=SEND_TIMEOUT)
        except TimeoutError:
            return SendResult(False, f"no answer within {SEND_TIMEOUT:g}s")
        except Exception as exc:  # a plugin bug must not take the delivery loop down
            return SendResult(False, f"{type(exc).__name__} in apprise")
        return _result(result)

    def _print(self, title: str, text: str, severity: str) -> None:
        out = self._console or sys.stdout
        rule = "=" * 72
        out.write(f"{rule}\n[{severity.upper()}] {title}\n{'-' * 72}\n{text}\n{rule}\n")
        out.flush()


def _preferred_format(instance: object) -> object:
    # apprise 2.x lists the formats a service takes, preferred first; 1.x had a single value
    formats = getattr(instance, "notify_format", None)
    return formats[0] if isinstance(formats, (tuple, list)) and formats else formats


def _result(result: object) -> SendResult:
    """apprise 2.x returns an AppriseResult (success, failure, partial, no-match, timeout)."""
    status = getattr(result, "status", None)
    name = getattr(status, "name", str(status)).lower() if status is not None else ("success" if result else "failure")
    details = []
    try:
        for service in result:  # type: ignore[attr-defined]
            service_status = getattr(getattr(service, "status", None), "name", "?").lower()
            details.append(f"{_mask_headers(str(getattr(service, 'url', '?')))}: {service_status}")
    except TypeError:
        pass
    detail = f"{name}" + (f" ({'; '.join(details)})" if details else "")
    return SendResult(name == "success", detail)
