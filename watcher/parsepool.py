"""Running ``parse.parse_feed`` off the event loop, in a pool of worker processes.

feedparser is pure Python and CPU-bound: in a thread it would still hold the GIL and stall
the loop, so parsing happens in separate processes. A parse that takes longer than
``timeout`` (a pathological document) is abandoned and its worker pool replaced, so one bad
feed can never hold a worker for good.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from .errors import ParseError
from .models import ParsedFeed
from .parse import parse_feed

log = logging.getLogger(__name__)


class ParsePool:
    def __init__(self, workers: int = 2, timeout: float = 60.0):
        self.workers = workers
        self.timeout = timeout
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # forkserver: workers are not forked from a process that runs threads (database,
            # apprise), which can leave locks held in the child
            self._pool = ProcessPoolExecutor(max_workers=self.workers,
                                             mp_context=multiprocessing.get_context("forkserver"))
        return self._pool

    async def parse(self, body: bytes, url: str, content_type: str) -> ParsedFeed:
        if self.workers <= 0:
            return await asyncio.to_thread(parse_feed, body, url, content_type)
        loop = asyncio.get_running_loop()
        try:
            future = loop.run_in_executor(self._executor(), parse_feed, body, url, content_type)
            return await asyncio.wait_for(future, self.timeout)
        except TimeoutError:
            self._replace(f"a parse took longer than {self.timeout}s")
            raise ParseError(f"parsing took longer than {self.timeout:g}s; the document was abandoned") from None
        except BrokenProcessPool:
            self._replace("a parse worker died")
            raise ParseError("the parser process died on this document") from None

    def _replace(self, why: str) -> None:
        log.warning("replacing the parse pool: %s", why)
        pool, self._pool = self._pool, None
        if pool is not None:
            for process in list(getattr(pool, "_processes", {}).values()):
                process.kill()  # a worker stuck in a parse will not stop otherwise
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
