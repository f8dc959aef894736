"""State in SQLite through sqlite-utils; the only package importing sqlite_utils.

``db`` opens the database (WAL, foreign keys, migrations) and runs it on its own thread;
``feeds``, ``items``, ``ledger``, ``observations``, ``outbox``, ``outages`` and ``silences`` hold the
functions over each group of tables; ``status`` the read-only queries of the status page and metrics;
``upkeep`` backups and retention. Every function takes the ``Database`` first so it can run inside
``Store.call``.
"""

from sqlite_utils import Database

from . import feeds, items, ledger, observations, outages, outbox, silences, status, upkeep
from .db import StateLock, Store, open_database, open_readonly

__all__ = ["Database", "StateLock", "Store", "feeds", "items", "ledger", "observations", "open_database",
           "open_readonly", "outages", "outbox", "silences", "status", "upkeep"]
