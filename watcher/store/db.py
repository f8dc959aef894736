"""Opening the state database, the daemon's lock, and the thread that owns the connection.

sqlite3 connections belong to the thread that made them, and bulk writes take long enough to
stall an event loop, so every store call from the daemon runs on one dedicated thread
(``Store.call``); writes are therefore serialised, which is also what makes "is this item
new?" and "did this fact change?" race-free.
"""

from __future__ import annotations

import asyncio
import fcntl
import functools
import os
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote
from collections.abc import Callable

from sqlite_utils import Database

from ..errors import LockedError, StoreError
from . import schema

T = TypeVar("T")


def open_database(path: str | Path, *, migrate: bool = True) -> Database:
    """Open (creating if needed) the state database, in WAL mode, with foreign keys enforced."""
    path = Path(path)
    if str(path) != ":memory:":
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the state folder {path.parent}: {exc.strerror}") from None
    try:
        conn = sqlite3.connect(str(path), timeout=30)
        db = Database(conn)
        if str(path) != ":memory:":
            db.enable_wal()
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA synchronous=NORMAL")  # with WAL: durable at checkpoints, never corrupt
        db.execute("PRAGMA busy_timeout=30000")
        if migrate:
            schema.apply(db)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"cannot use the state database {path}: {exc}") from None
    return db


def open_readonly(path: str | Path) -> Database:
    """Open the state database for reading only (backtests, explanations): nothing is created,
    migrated or written, so it is safe next to a running daemon."""
    path = Path(path)
    if not path.is_file():
        raise StoreError(f"no state database at {path} (set --db or WATCHER_DB)")
    try:
        conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True, timeout=30)
        conn.execute("PRAGMA busy_timeout=30000")
        return Database(conn)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"cannot read the state database {path}: {exc}") from None


class StateLock:
    """An exclusive lock next to the database: one daemon per state, the second one refuses."""

    def __init__(self, db_path: str | Path):
        self.path = Path(str(db_path) + ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip()
            os.close(fd)
            raise LockedError(f"another watcher daemon (pid {holder or 'unknown'}) is using the state "
                              f"{str(self.path)[:-5]}; stop it first, or point this one at other state "
                              "with --db") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class Store:
    """The state database behind one thread. ``await store.call(fn, *args)`` runs ``fn(db, *args)``."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="watcher-db")
        self.db: Database = self._executor.submit(open_database, self.path).result()

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, self.db, *args, **kwargs))

    def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """The same as ``call`` for code outside the event loop (CLI commands, tests)."""
        return self._executor.submit(fn, self.db, *args, **kwargs).result()

    def close(self) -> None:
        def _close(db: Database) -> None:
            db.conn.close()
        try:
            self._executor.submit(_close, self.db).result()
        finally:
            self._executor.shutdown(wait=True)
