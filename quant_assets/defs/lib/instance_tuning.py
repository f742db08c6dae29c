"""Make Dagster's local SQLite instance cheap to write to.

A single-run backfill over many sessions records two events per asset and session
(materialization planned, materialization). With SQLite's default ``synchronous=FULL`` each
of those commits waits for the disk, which makes run bookkeeping cost more than the data work
(measured: ~70 ms per asset-partition, against ~15 ms with ``synchronous=OFF``).

This applies ``PRAGMA synchronous=OFF`` to SQLite connections only: a process crash loses
nothing, a power loss may lose the most recent run-history rows. The market data itself is
written by ``ParquetStore`` with fsync and checksums and is unaffected. Production
deployments use Dagster's Postgres storage, which this does not touch. Set
``QUANT_ASSETS_SQLITE_DURABLE=1`` to keep SQLite's defaults.
"""

from __future__ import annotations

import os
import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine

DURABLE_ENV = "QUANT_ASSETS_SQLITE_DURABLE"
_installed = False


def _relax_sqlite_sync(dbapi_connection, _record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous=OFF")


def tune_local_sqlite() -> bool:
    """Install the connection hook once per process; return whether it is active."""
    global _installed
    if os.environ.get(DURABLE_ENV, "").lower() in ("1", "true", "yes"):
        return False
    if not _installed:
        event.listen(Engine, "connect", _relax_sqlite_sync)
        _installed = True
    return True
