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
import re
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from collections.abc import Mapping
from urllib.parse import parse_qsl, unquote, urlsplit

import apprise

from .errors import DeliveryError
from .logs import redact
from .models import Message, SendResult
from .ruleset.compiled import CONSOLE, Channel

SEND_TIMEOUT = 120.0  # seconds before one send counts as failed (the thread may still finish it)
_SECRET_HEADER = re.compile(r"auth|token|key|secret|pass|session|cookie", re.IGNORECASE)
# a URL entry in an apprise config file: "- json://...", "- json://...:", "tag=json://..."
_CONFIG_URL = re.compile(r"""^\s*(?:-\s*)?(?:[\w ,.-]+=\s*)?["']?([a-z][a-z0-9+.-]*://[^\s"']*?)["']?\s*:?\s*$""",
                         re.IGNORECASE | re.MULTILINE)
_ANY_URL = re.compile(r"\b([a-z][a-z0-9+.-]*://)[^\s/@]*@?([^\s/?#]*)[^\s]*", re.IGNORECASE)


def _asset() -> apprise.AppriseAsset:
    # async_mode off and no service timeout: apprise sends inline in the calling thread (ours)
    # instead of handing the call to its shared pool
    return apprise.AppriseAsset(app_id="watcher", app_desc="watcher feed alerts",
                                app_url="https://github.com/watcher-alerts/watcher",
                                async_mode=False, service_timeout=0)


def masked(url: str) -> str:
    """A URL safe to show: apprise's privacy form, with header values hidden too."""
    instance = apprise.Apprise.instantiate(url, asset=_asset(), suppress_exceptions=True)
    if instance is None:
        # apprise cannot parse it, so it cannot mask it: show the scheme, and the host only when it
        # looks like one (many services put a token where a host would be: slack://TOKEN/...)
        parts = urlsplit(url)
        host = parts.hostname or ""
        shown = host if re.fullmatch(r"localhost|[\d.]+|[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}", host) else "…"
        return f"{parts.scheme}://{shown}/…" if parts.scheme else "(not a URL)"
    return _mask_headers(instance.url(privacy=True))


def _mask_headers(url: str) -> str:
    # apprise masks passwords and tokens but not custom header values (+Header=value)
    return re.sub(r"((?:%2B|\+)[^=&]+=)[^&]*", r"\1****", url)


def _short(url: str) -> str:
    """A masked URL without its query (apprise appends its default options there)."""
    return url.split("?", 1)[0]


def _scrub(text: str) -> str:
    """Text from apprise (its log lines) made safe to store: known secrets and URL paths hidden."""
    return _ANY_URL.sub(r"\1\2/…", redact(text))[:300]


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
    bad = [u for u in _config_urls(text)
           if apprise.Apprise.instantiate(u, asset=_asset(), suppress_exceptions=True) is None]
    if bad:
        return (f"the apprise config file {path} has URLs apprise cannot use: {', '.join(masked(u) for u in bad)} "
                "(check the service names and their parts: https://github.com/caronc/apprise/wiki)")
    services = _config_services(text, tag)
    if not services:
        return (f"no service in the apprise config file {path} has the tag \"{tag}\"" if tag else
                f"the apprise config file {path} has no URLs")
    return None


def _config_urls(text: str) -> list[str]:
    return [m.group(1) for m in _CONFIG_URL.finditer(text)]


def _config_services(text: str, tag: str | None) -> list[Any]:
    config = apprise.AppriseConfig(asset=_asset())
    config.add_config(text)
    everything = apprise.Apprise(asset=_asset())
    everything.add(config)
    return [s for s in everything if tag is None or tag in (s.tags or ())]


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


class Channels:
    """The channels of one rule set, built once and reused for every send."""

    def __init__(self, channels: Mapping[str, Channel], *, console: TextIO | None = None,
                 threads: SendThreads | None = None):
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
                services = _config_services(Path(channel.config).read_text(encoding="utf-8"), channel.tag)
            except (OSError, UnicodeDecodeError) as exc:
                raise DeliveryError(f'channel "{name}": cannot read {channel.config}: {exc}') from None
            if not services:
                raise DeliveryError(f'channel "{name}": no usable service in {channel.config}')
            return services
        instance = apprise.Apprise.instantiate(channel.url.reveal(), asset=_asset(), suppress_exceptions=True)
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
            self._print(message)
            return SendResult(True, "printed on the console", status="success")
        target = next((t for t in self._targets[name] if t.service.key == service.key), None)
        if target is None:
            return SendResult(False, f'channel "{name}" no longer has the service {service.target}', status="failure")
        loop = asyncio.get_running_loop()
        call = functools.partial(_notify, target.notifier, message, target.fmt)
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

    def _print(self, message: Message) -> None:
        out = self._console or sys.stdout
        rule = "=" * 72
        out.write(f"{rule}\n[{message.severity.upper()}] {message.title}\n{'-' * 72}\n{message.text}\n{rule}\n")
        out.flush()


def _targets(instances: list[Any], fmt: str) -> list[_Target]:
    targets, seen = [], {}
    for instance in instances:
        target = _short(_mask_headers(instance.url(privacy=True)))
        seen[target] = seen.get(target, 0) + 1  # two services may look alike once masked
        key = hashlib.sha256(f"{target}#{seen[target]}".encode()).hexdigest()[:16]
        notifier = apprise.Apprise(asset=_asset())
        notifier.add(instance)
        chosen = fmt if fmt != "auto" else ("text" if _preferred_format(instance) == apprise.NotifyFormat.TEXT
                                            else "markdown")
        targets.append(_Target(Service(key, target), notifier, chosen, _secret_parts(instance)))
    return targets


def _secret_parts(instance: Any) -> tuple[str, ...]:
    """The full URL and each part of it that its privacy form hides (tokens, passwords, headers)."""
    full = instance.url()
    shown = set(re.split(r"[/:@?&=,#+]", _mask_headers(instance.url(privacy=True))))
    parts = {unquote(p) for p in re.split(r"[/:@?&=,#+]", full) if p and p not in shown}
    return (full, *sorted(p for p in parts if len(p) >= 6))


def _preferred_format(instance: object) -> object:
    # apprise 2.x lists the formats a service takes, preferred first; 1.x had a single value
    formats = getattr(instance, "notify_format", None)
    return formats[0] if isinstance(formats, (tuple, list)) and formats else formats


def _notify(notifier: apprise.Apprise, message: Message, fmt: str) -> SendResult:
    """Runs in the channel's thread: one synchronous apprise call to one service."""
    notify_type = {"critical": apprise.NotifyType.FAILURE, "warning": apprise.NotifyType.WARNING
                   }.get(message.severity, apprise.NotifyType.INFO)
    markdown = fmt == "markdown"
    try:
        result = notifier.notify(title=message.title, body=message.body if markdown else message.text,
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
    detail = name + (f": {_scrub(problems[-1])}" if problems and name != "success" else "")
    return SendResult(name == "success", detail, status=name)
