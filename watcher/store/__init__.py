"""State in SQLite through sqlite-utils; the only package importing sqlite_utils.

``db`` opens the database (WAL, foreign keys, migrations) and runs it on its own thread;
``feeds``, ``items``, ``ledger``, ``observations`` and ``outbox`` hold the functions over each group of tables.
Every function takes the ``Database`` first so it can run inside ``Store.call``.
"""

from sqlite_utils import Database

from . import feeds, items, ledger, observations, outbox
from .db import StateLock, Store, open_database, open_readonly

__all__ = ["Database", "StateLock", "Store", "feeds", "items", "ledger", "observations", "open_database",
           "open_readonly", "outbox"]
