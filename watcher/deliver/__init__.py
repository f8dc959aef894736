"""Sending messages to channels through apprise. The only module importing apprise.

A channel is one apprise URL, an apprise config file (YAML or TEXT, several URLs, optionally
narrowed to one tag), or the built-in ``console``, which prints alerts on the daemon's standard
output. Each URL of a channel is a *service*, sent to and recorded on its own:

- ``Channels.deliver(channel, service, message)`` sends one message to one service and returns
  a ``SendResult`` (success, failure or timeout, with apprise's own message, masked). It never
  raises for a channel's failure, so one channel that is down cannot stop the others.
- A channel with several services whose send partly fails (apprise's "partial") is retried
  only for the services that failed: the outbox records which services have each delivery.

Each channel sends from its own worker thread (``SendThreads``), calling apprise synchronously
there. apprise throttles some services (it sleeps between two messages to the same service,
5.5 s for email by default) and runs its async sends in one shared pool of a few threads, so
a throttled or hanging service could otherwise hold up the others; here it only delays its
own channel, and the event loop waits on it without blocking.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from collections.abc import Mapping

import apprise

from ..errors import DeliveryError
from ..models import Message, SendResult
from ..ruleset.compiled import CONSOLE, Channel
from ..templates import escape_markdown
from .urls import (asset, check_config, check_url, config_services, mask_headers, masked, scrub, secret_parts,
                   short)

__all__ = ["SEND_TIMEOUT", "Channels", "SendThreads", "Service", "check_config", "check_url", "masked"]

SEND_TIMEOUT = 120.0  # seconds before one send counts as failed (the thread may still finish it)
# apprise services whose title is an email subject: the subject says the severity, "[CRITICAL] ...",
# the way alerting tools mark theirs, so a mail client can sort and filter on it
EMAIL_SCHEMES = frozenset({"mailto", "mailtos", "sendgrid", "mailgun", "ses", "sparkpost", "azure", "o365", "resend",
                           "brevo", "postmark", "smtp2go", "mailersend", "sendpulse", "acs", "groundmail"})


@dataclass(frozen=True)
class Service:
    """One apprise URL of a channel: a stable key (no secret in it) and its masked form."""

    key: str
    target: str


class SendThreads:
    """One worker thread per channel, kept across rule reloads (a channel's sends stay in order)."""

    def __init__(self) -> None:
        self._pools: dict[str, ThreadPoolExecutor] = {}
        self._lock = threading.Lock()

    def pool(self, channel: str) -> ThreadPoolExecutor:
        with self._lock:
            if channel not in self._pools:
                self._pools[channel] = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"send-{channel}"[:40])
            return self._pools[channel]

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.shutdown(wait=False, cancel_futures=True)


@dataclass(frozen=True)
class _Target:
    service: Service
    notifier: apprise.Apprise
    fmt: str                        # markdown or text
    secrets: tuple[str, ...]
    email: bool = False             # the title is a subject: it carries the severity
    title_in_body: bool = False     # apprise writes the title into the body (the service has no title)


class Channels:
    """The channels of one rule set, built once and reused for every send."""

    def __init__(self, channels: Mapping[str, Channel], *, console: TextIO | None = None,
                 threads: SendThreads | None = None):
        # a channel loaded without its secret (see ``load_rules(channels=...)``) cannot be sent to
        channels = {name: channel for name, channel in channels.items() if channel.expanded}
        self._console = console
        self._threads = threads or SendThreads()
        self._specs = dict(channels)
        self._targets: dict[str, list[_Target]] = {}
        self.names = set(channels) | {CONSOLE}
        for name, channel in channels.items():
            if channel.is_console:
                continue
            instances = self._instances(name, channel)
            self._targets[name] = _targets(instances, channel.format)

    @staticmethod
    def _instances(name: str, channel: Channel) -> list[Any]:
        if channel.config is not None:
            try:
                services = config_services(Path(channel.config).read_text(encoding="utf-8"), channel.tag)
            except (OSError, UnicodeDecodeError) as exc:
                raise DeliveryError(f'channel "{name}": cannot read {channel.config}: {exc}') from None
            if not services:
                raise DeliveryError(f'channel "{name}": no usable service in {channel.config}')
            return services
        instance = apprise.Apprise.instantiate(channel.url.reveal(), asset=asset(), suppress_exceptions=True)
        if instance is None:
            raise DeliveryError(f'channel "{name}": {masked(channel.url.reveal())} is not a usable apprise URL')
        return [instance]

    def spec(self, name: str) -> Channel | None:
        """The channel's options (digest, quiet hours...) from the rules; ``None`` for the console."""
        return self._specs.get(name)

    def services(self, name: str) -> list[Service]:
        """The services of a channel (empty if the current rules have no such channel)."""
        if name not in self.names:
            return []
        if name not in self._targets:
            return [Service(CONSOLE, CONSOLE)]
        return [t.service for t in self._targets[name]]

    def describe(self, name: str) -> str:
        """The channel's masked URL(s), for logs and `watcher notify-test`."""
        if name not in self._targets:
            return "console (standard output)"
        return ", ".join(t.service.target for t in self._targets[name])

    def secrets(self) -> list[str]:
        """Every secret the channels hold (full URLs and their secret parts), to mask in logs."""
        found = [s for targets in self._targets.values() for t in targets for s in t.secrets]
        found += [c.url.reveal() for c in self._specs.values() if not c.is_console and c.url.reveal()]
        return found

    async def deliver(self, name: str, service: Service, message: Message) -> SendResult:
        """Send ``message`` to one service of a channel, from the channel's own thread."""
        if name not in self.names:
            return SendResult(False, f'no channel "{name}" in the current rules', status="failure")
        if name not in self._targets:
            spec = self._specs.get(name)
            self._print(message, markdown=spec is not None and spec.format == "markdown")
            return SendResult(True, "printed on the console", status="success")
        target = next((t for t in self._targets[name] if t.service.key == service.key), None)
        if target is None:
            return SendResult(False, f'channel "{name}" no longer has the service {service.target}', status="failure")
        loop = asyncio.get_running_loop()
        call = functools.partial(_notify, target.notifier, message, target.fmt, target.email, target.title_in_body)
        try:
            return await asyncio.wait_for(loop.run_in_executor(self._threads.pool(name), call), SEND_TIMEOUT)
        except TimeoutError:
            return SendResult(False, f"no answer within {SEND_TIMEOUT:g}s", status="timeout")

    async def send(self, name: str, *, title: str, body: str, text: str, severity: str = "info") -> SendResult:
        """Send one message to every service of a channel (`watcher notify-test`): the overall
        result is success, partial (some services failed), failure or nomatch (no service)."""
        message = Message(title, body, text, severity)
        services = self.services(name)
        if not services:
            return SendResult(False, f'nomatch: no channel "{name}" in the current rules', status="nomatch")
        results = [(s, await self.deliver(name, s, message)) for s in services]
        ok = sum(r.ok for _, r in results)
        status = "success" if ok == len(results) else "failure" if ok == 0 else "partial"
        detail = f"{status} ({'; '.join(f'{s.target}: {r.detail}' for s, r in results)})"
        return SendResult(status == "success", detail, status=status)

    def _print(self, message: Message, *, markdown: bool = False) -> None:
        """The console takes text, unless its channel says ``format: markdown``."""
        out = self._console or sys.stdout
        rule = "=" * 72
        out.write(f"{rule}\n{subject(message)}\n{'-' * 72}\n{message.body if markdown else message.text}\n{rule}\n")
        out.flush()


def _targets(instances: list[Any], fmt: str) -> list[_Target]:
    targets, seen = [], {}
    for instance in instances:
        target = short(mask_headers(instance.url(privacy=True)))
        seen[target] = seen.get(target, 0) + 1  # two services may look alike once masked
        key = hashlib.sha256(f"{target}#{seen[target]}".encode()).hexdigest()[:16]
        notifier = apprise.Apprise(asset=asset())
        notifier.add(instance)
        chosen = fmt if fmt != "auto" else ("text" if _preferred_format(instance) == apprise.NotifyFormat.TEXT
                                            else "markdown")
        email = target.split("://", 1)[0].lower() in EMAIL_SCHEMES
        targets.append(_Target(Service(key, target), notifier, chosen, secret_parts(instance), email,
                               getattr(instance, "title_maxlen", 1) <= 0))
    return targets


def _preferred_format(instance: object) -> object:
    # apprise 2.x lists the formats a service takes, preferred first; 1.x had a single value
    formats = getattr(instance, "notify_format", None)
    return formats[0] if isinstance(formats, (tuple, list)) and formats else formats


def subject(message: Message) -> str:
    """An email's subject: the title after its severity, ``[CRITICAL] Aid package: stalled → signed``."""
    return f"[{message.severity.upper()}] {message.title}"


def _notify(notifier: apprise.Apprise, message: Message, fmt: str, email: bool = False,
            title_in_body: bool = False) -> SendResult:
    """Runs in the channel's thread: one synchronous apprise call to one service.

    The title is plain text. A service without a title of its own gets it written into the body
    by apprise, unconverted; in a markdown body it is therefore escaped like any feed text (in a
    text body it is text already, and apprise converts text for the service)."""
    notify_type = {"critical": apprise.NotifyType.FAILURE, "warning": apprise.NotifyType.WARNING
                   }.get(message.severity, apprise.NotifyType.INFO)
    markdown = fmt == "markdown"
    title = subject(message) if email else message.title
    try:
        result = notifier.notify(title=escape_markdown(title) if markdown and title_in_body else title,
                                 body=message.body if markdown else message.text,
                                 notify_type=notify_type,
                                 body_format=apprise.NotifyFormat.MARKDOWN if markdown else apprise.NotifyFormat.TEXT)
    except Exception as exc:  # a plugin bug must not take the channel's thread down
        return SendResult(False, f"{type(exc).__name__} in apprise", status="failure")
    return _result(result)


def _result(result: Any) -> SendResult:
    """apprise 2.x returns an AppriseResult (success, failure, partial, no-match or timeout)."""
    status = getattr(getattr(result, "status", None), "name", None)
    name = status.lower() if status else ("success" if result else "failure")
    problems = []
    for service in result if hasattr(result, "__iter__") else ():
        for attempt in service:
            problems += [entry.message for entry in attempt if getattr(entry, "level", "") in ("WARNING", "ERROR")]
    detail = name + (f": {scrub(problems[-1])}" if problems and name != "success" else "")
    return SendResult(name == "success", detail, status=name)
