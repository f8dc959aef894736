"""Structured logs: one line per event, stable ``key=value`` fields (or JSON), nothing secret.

Modules log through ``event(log, level, "what happened", feed=..., rule=...)``. Secrets (the
expanded channel URLs and the values of the environment variables they came from) are
registered with ``register_secret`` and masked in every record, whoever logged it, including
apprise and httpx, as a last line of defence behind the masking done at the source.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from typing import Any, TextIO
from collections.abc import Iterable

_SECRETS: set[str] = set()
_LOCK = threading.Lock()
MASK = "****"


def register_secret(*values: str) -> None:
    """Mask these strings wherever they would appear in a log line (short values are ignored)."""
    with _LOCK:
        _SECRETS.update(v for v in values if v and len(v) >= 6)


def redact(text: str) -> str:
    if not _SECRETS:
        return text
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def event(log: logging.Logger, level: int, message: str, **fields: Any) -> None:
    """Log one event with its fields (``None`` fields are left out)."""
    if log.isEnabledFor(level):
        log.log(level, message, extra={"fields": {k: v for k, v in fields.items() if v is not None}})


def _value(value: Any) -> str:
    if isinstance(value, float):
        value = f"{value:.3f}".rstrip("0").rstrip(".")
    text = str(value)
    if text == "" or any(c in text for c in ' "=\n\t'):
        return json.dumps(text, ensure_ascii=False)
    return text


def _redacted(fields: dict[str, Any]) -> dict[str, Any]:
    """Field values with secrets masked before they are quoted or encoded (an encoded secret
    could escape the final pass over the line)."""
    return {k: v if isinstance(v, (int, float, bool)) else redact(str(v)) for k, v in fields.items()}


class KeyValueFormatter(logging.Formatter):
    """``2026-11-29T12:00:00Z INFO watcher.pipeline: poll done feed=bbc outcome=new new=3``

    Always one line per event: a message or value with line breaks is quoted (``\\n``), and a
    traceback becomes an ``exc="..."`` field, so ``grep`` and log shippers see whole events.
    """

    def format(self, record: logging.LogRecord) -> str:
        fields = _redacted(getattr(record, "fields", {}))
        message = redact(record.getMessage())
        if "\n" in message:
            message = json.dumps(message, ensure_ascii=False)[1:-1]
        line = f"{self.formatTime(record, '%Y-%m-%dT%H:%M:%S')}Z {record.levelname} {record.name}: {message}"
        if record.exc_info:
            fields["exc"] = redact(self.formatException(record.exc_info))
        if fields:
            line += " " + " ".join(f"{k}={_value(v)}" for k, v in fields.items())
        return redact(line)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, then the event's fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {"ts": f"{self.formatTime(record, '%Y-%m-%dT%H:%M:%S')}Z",
                                "level": record.levelname, "logger": record.name, "msg": redact(record.getMessage())}
        for key, value in _redacted(getattr(record, "fields", {})).items():
            data.setdefault(key, value)
        if record.exc_info:
            data["exc"] = redact(self.formatException(record.exc_info))
        return redact(json.dumps(data, ensure_ascii=False))


def setup(level: str = "INFO", fmt: str = "text", stream: TextIO | None = None,
          quiet: Iterable[str] = ("apprise", "httpx", "httpcore", "apscheduler")) -> None:
    """Configure the root logger once, at the process edge (the CLI)."""
    import time

    formatter: logging.Formatter = JsonFormatter() if fmt == "json" else KeyValueFormatter()
    formatter.converter = time.gmtime  # type: ignore[assignment]
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # third-party libraries are noisy at INFO and apprise logs URLs at DEBUG; keep them at WARNING
    for name in quiet:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
