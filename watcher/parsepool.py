"""Running ``parse.parse_feed`` off the event loop, in worker processes.

feedparser is pure Python and CPU-bound: in a thread it would still hold the GIL and stall
the loop, so parsing happens in separate processes. Each worker is its own single-process
executor and a parse takes an idle one, so:

- the ``timeout`` measures the parse itself, never the wait for a free worker (a document that
  queued behind a slow one is not blamed for it);
- a parse that takes longer than ``timeout`` (a pathological document) is abandoned and only
  its worker is killed and replaced: the parses running on the other workers go on;
- a worker that dies (killed by the system, a crash in a C extension) costs only the document
  it was parsing, which is tried once more on a fresh worker before it is blamed; a worker found
  dead while idle is replaced without blaming anyone;
- a worker ends when watcher ends, however it ends (a SIGKILL from cron's ``timeout`` or the
  OOM killer too), and so do the forkserver and resource tracker behind it (``lifeline``).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from .errors import ParseError
from .lifeline import tie_to_parent
from .models import ParsedFeed
from .parse import parse_feed

log = logging.getLogger(__name__)


class ParsePool:
    def __init__(self, workers: int = 2, timeout: float = 60.0):
        self.workers = workers
        self.timeout = timeout
        self._idle: list[ProcessPoolExecutor | None] = [None] * max(workers, 0)  # None: not started yet
        self._busy: set[ProcessPoolExecutor] = set()
        self._free: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def parse(self, body: bytes, url: str, content_type: str) -> ParsedFeed:
        if self.workers <= 0:
            return await asyncio.to_thread(parse_feed, body, url, content_type)
        async with self._slot():
            executor: ProcessPoolExecutor | None = self._take()
            try:
                try:
                    return await self._run(executor, body, url, content_type)
                except BrokenProcessPool:
                    # killed by the system, or this document crashed it: one more try on a fresh worker
                    self._discard(executor, "a parse worker died")
                    executor = self._hold(_new_worker())
                    return await self._run(executor, body, url, content_type)
            except BrokenProcessPool:
                self._discard(executor, "a parse worker died again on the same document")
                executor = None
                raise ParseError("the parser process died twice on this document") from None
            except TimeoutError:
                self._discard(executor, f"a parse took longer than {self.timeout:g}s")
                executor = None
                raise ParseError(f"parsing took longer than {self.timeout:g}s; the document was abandoned") from None
            except asyncio.CancelledError:
                # the poll was cut off (a stop): the worker may still be busy with it, so it is not reused
                self._discard(executor, None)
                executor = None
                raise
            finally:
                self._give_back(executor)

    async def _run(self, executor: ProcessPoolExecutor, body: bytes, url: str, content_type: str) -> ParsedFeed:
        loop = asyncio.get_running_loop()
        # submitting to a worker that died while idle raises BrokenProcessPool at once
        future = loop.run_in_executor(executor, parse_feed, body, url, content_type)
        return await asyncio.wait_for(future, self.timeout)

    def _slot(self) -> asyncio.Semaphore:
        """One slot per worker, for the running loop (a new loop, e.g. a second asyncio.run, gets its own)."""
        loop = asyncio.get_running_loop()
        if self._free is None or self._loop is not loop:
            self._free, self._loop = asyncio.Semaphore(self.workers), loop
        return self._free

    def _take(self) -> ProcessPoolExecutor:
        """An idle worker, or a new one in a slot whose worker was discarded."""
        executor = self._idle.pop() if self._idle else None
        return self._hold(executor or _new_worker())

    def _hold(self, executor: ProcessPoolExecutor) -> ProcessPoolExecutor:
        self._busy.add(executor)
        return executor

    def _give_back(self, executor: ProcessPoolExecutor | None) -> None:
        if executor is not None:
            self._busy.discard(executor)
        self._idle.append(executor)  # None: a fresh worker is started when the slot is next used

    def _discard(self, executor: ProcessPoolExecutor, why: str | None) -> None:
        """Kill one worker: a worker stuck in a parse would not stop otherwise."""
        if why:
            log.warning("replacing a parse worker: %s", why)
        self._busy.discard(executor)
        _kill(executor)

    def close(self) -> None:
        idle = [e for e in self._idle if e is not None]
        busy = list(self._busy)   # only left busy by a parse that was never awaited to its end
        self._idle, self._busy = [None] * max(self.workers, 0), set()
        for executor in busy:
            _kill(executor)
        for executor in idle:
            executor.shutdown(wait=True, cancel_futures=True)


def _new_worker() -> ProcessPoolExecutor:
    """One worker; its process starts with its first parse. forkserver: workers are not forked
    from a process that runs threads (database, apprise), which can leave locks held in the child."""
    return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("forkserver"),
                               initializer=tie_to_parent)


def _kill(executor: ProcessPoolExecutor) -> None:
    for process in list((getattr(executor, "_processes", None) or {}).values()):
        process.kill()
    executor.shutdown(wait=False, cancel_futures=True)
