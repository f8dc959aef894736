"""Compiling the delivery part of the rule language: a channel's options and an alert's noise keys.

The keys themselves are defined in ``schema.py`` (``ChannelSpec``, ``QuietHours``, ``Realert``);
this turns validated specs into the fields of the compiled ``Channel`` and ``AlertRule``.
"""

from __future__ import annotations

from datetime import time
from typing import Any

from . import compiled as c
from .schema import DAYS, AlertSpec, ChannelSpec


def channel_options(spec: ChannelSpec, give_up: float | None) -> dict[str, Any]:
    """The delivery options of a channel: format, routing by severity, digest, quiet hours, give-up."""
    windows = tuple(
        c.QuietWindow(clock(q.start), clock(q.end), q.timezone,
                      frozenset(DAYS.index(d) for d in q.days) if q.days else None, q.except_severity)
        for q in spec.quiet_hours)
    return {"format": spec.format, "min_severity": spec.min_severity, "digest": spec.digest,
            "quiet_hours": windows, "give_up": spec.give_up if spec.give_up is not None else give_up}


def clock(text: str | None) -> time | None:
    if text is None:
        return None
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def alert_noise(spec: AlertSpec) -> dict[str, Any]:
    realert = spec.realert
    return {"realert": realert.every if realert else None, "realert_key": realert.key if realert else None,
            "digest": spec.digest}
