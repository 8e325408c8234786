"""Where everything is kept: one SQLite file (WAL), shared by the daemon and the CLI."""

from daemon.store.db import Store

__all__ = ["Store"]
