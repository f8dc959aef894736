"""The daemon (``Watcher.run``) inside the test's own event loop, for fault tests that need to
reach into it (its store thread, its settings) while it runs. Every wait is bounded."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conftest import LOOPBACK
from watcher.app import Settings, Watcher


class Running:
    """``async with Running(settings) as daemon:`` opens the watcher and runs it until the block ends."""

    def __init__(self, settings: Settings):
        self.watcher = Watcher(settings, console=io.StringIO())
        self.stop = asyncio.Event()
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> Running:
        await self.watcher.open()
        self._task = asyncio.create_task(self.watcher.run(self.stop))
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.stop.set()
        try:
            if self._task is not None:
                await asyncio.wait_for(self._task, 60)
        finally:
            await self.watcher.close()

    async def db(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(db, *args)`` on the daemon's own database thread and connection."""
        assert self.watcher.store is not None
        return await self.watcher.store.call(fn, *args)


async def until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    """Wait until ``condition()`` holds; fail with ``what`` after ``seconds``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"gave up after {seconds}s waiting for {what}")
        await asyncio.sleep(0.05)


class LogLines(logging.Handler):
    """Every record logged while installed, formatted as the daemon formats its lines."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        from watcher.logs import KeyValueFormatter

        self.setFormatter(KeyValueFormatter())
        self.lines: list[str] = []
        self.tracebacks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        if record.exc_info:
            self.tracebacks.append(self.lines[-1])

    def __enter__(self) -> LogLines:
        root = logging.getLogger()
        self._level = root.level
        root.addHandler(self)
        root.setLevel(logging.INFO)
        return self

    def __exit__(self, *exc: Any) -> None:
        root = logging.getLogger()
        root.removeHandler(self)
        root.setLevel(self._level)

    def text(self) -> str:
        return "\n".join(self.lines)

    def having(self, words: str) -> list[str]:
        return [line for line in self.lines if words in line]


def settings(tmp_path: Path, rules: Path, **overrides: Any) -> Settings:
    """Settings for a short in-process run: no HTTP, no file watching, quick heartbeats."""
    base: dict[str, Any] = {"rules": rules, "db": tmp_path / "w.db", "parse_workers": 0, "watch_rules": False,
                            "heartbeat": 0.5, "drain_timeout": 5.0, "allow_addresses": LOOPBACK}
    return Settings(**{**base, **overrides})
