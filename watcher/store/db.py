"""Opening the state database, the daemon's lock, and the thread that owns the connection.

sqlite3 connections belong to the thread that made them, and bulk writes take long enough to
stall an event loop, so every store call from the daemon runs on one dedicated thread
(``Store.call``); writes are therefore serialised, which is also what makes "is this item
new?" and "did this fact change?" race-free.

Failures of the disk under the database (full, read-only, I/O errors, a damaged file) leave
``Store.call`` and ``Store.run`` as a ``StoreError`` that names the database and says what to
do (``describe_failure``); the transaction they interrupted is rolled back whole, so the
caller can simply try again later. Other sqlite3 errors are bugs and stay as they are.
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
        raise StoreError(describe_failure(path, exc) or f"cannot use the state database {path}: {exc}") from None
    return db


# what each kind of SQLite failure means for the person running watcher, and what to do about it
_FAILURES = {
    "SQLITE_FULL": "the disk is full (or the database reached its size limit); free some space on that disk",
    "SQLITE_READONLY": "it is read-only (a read-only mount, or a file or folder this user may not write); "
                       "make the database, its -wal and -shm files and its folder writable by this user "
                       "(uid 10001 in the Docker image)",
    "SQLITE_CANTOPEN": "the file cannot be opened; check that its folder exists and this user may write there",
    "SQLITE_PERM": "the system refused access; check the permissions of the database and its folder",
    "SQLITE_IOERR": "the disk failed to read or write ({detail}); check the disk and the system log",
    "SQLITE_CORRUPT": "the file is damaged; stop watcher and restore a backup (see `watcher backup`)",
    "SQLITE_NOTADB": "the file is not a SQLite database; point --db at the state database",
    "SQLITE_BUSY": "another process held a lock on it for too long; stop whatever else writes to it",
    "SQLITE_LOCKED": "another connection held a lock on it for too long",
    "SQLITE_NOMEM": "SQLite ran out of memory",
}


def describe_failure(path: str | Path, exc: sqlite3.Error) -> str | None:
    """A clear message for a failure of the database's disk or file, ``None`` for other errors
    (a bug: a missing column, a broken constraint), which should keep their traceback."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    primary = "_".join(name.split("_")[:2])  # SQLITE_IOERR_WRITE -> SQLITE_IOERR
    advice = _FAILURES.get(primary)
    if advice is None:
        return None
    return f"cannot use the state database {path}: " + advice.format(detail=str(exc) or name)


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
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot use the state database {str(self.path)[:-5]}: cannot create its lock file "
                             f"{self.path}: {exc.strerror}; make the state folder writable by this user (uid "
                             "10001 in the Docker image), or point --db at a folder that is") from None
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
        """Run ``fn(db, *args)`` on the database thread. A failure of the disk or file raises
        ``StoreError`` with a message for the operator (the interrupted transaction is rolled back)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(self._guarded, fn, *args, **kwargs))

    def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """The same as ``call`` for code outside the event loop (CLI commands, tests)."""
        return self._executor.submit(self._guarded, fn, *args, **kwargs).result()

    def _guarded(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return fn(self.db, *args, **kwargs)
        except sqlite3.Error as exc:
            message = describe_failure(self.path, exc)
            if message is None:
                raise
            if self.db.conn.in_transaction:  # never leave a half-done write open for the next call
                try:
                    self.db.conn.rollback()
                except sqlite3.Error:
                    pass
            raise StoreError(message) from exc

    def close(self) -> None:
        def _close(db: Database) -> None:
            db.conn.close()
        try:
            self._executor.submit(_close, self.db).result()
        finally:
            self._executor.shutdown(wait=True)
