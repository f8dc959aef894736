"""Time helpers shared by every stage: UTC timestamps as ISO-8601 text and human durations.

Timestamps are stored and passed as timezone-aware UTC ``datetime`` objects and written to
SQLite as ISO-8601 text (``2026-11-29T12:00:00Z``), which sorts correctly as text.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime, timedelta, UTC

UTC = UTC

_DURATION = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?|d|days?|w|weeks?)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def utcnow() -> datetime:
    """The current time, aware, in UTC. Only the process edge calls this; stages take ``now``."""
    return datetime.now(UTC)


def iso(when: datetime | None) -> str | None:
    """``datetime`` -> ISO-8601 UTC text with a ``Z`` suffix (``None`` stays ``None``)."""
    if when is None:
        return None
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ").replace(".000000Z", "Z")


@functools.lru_cache(maxsize=16384)   # stored times are read again and again (feed rows, observations)
def parse_iso(text: str | None) -> datetime | None:
    """ISO-8601 text as written by :func:`iso` (or any offset) -> aware UTC ``datetime``."""
    if not text:
        return None
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_duration(text: str | int | float) -> float:
    """``"90s"``, ``"15m"``, ``"2h"``, ``"1d"``, ``"1w"`` or a bare number of seconds -> seconds.

    Raises ``ValueError`` with a message a rule author understands.
    """
    if isinstance(text, bool):
        raise ValueError(f"expected a duration such as 30s, 15m, 2h or 1d, got {text!r}")
    if isinstance(text, (int, float)):
        if text < 0:
            raise ValueError(f"a duration cannot be negative, got {text}")
        return float(text)
    found = _DURATION.match(str(text))
    if not found:
        raise ValueError(f"expected a duration such as 30s, 15m, 2h or 1d, got {text!r}")
    number, unit = found.groups()
    return float(number) * _UNIT_SECONDS[(unit or "s")[0].lower()]


def format_duration(seconds: float) -> str:
    """Seconds -> the shortest exact human form (``900`` -> ``15m``); used in messages and logs."""
    seconds = float(seconds)
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def ago(when: datetime | None, now: datetime) -> timedelta | None:
    """How long before ``now`` ``when`` was (``None`` if unknown)."""
    return None if when is None else now - when
