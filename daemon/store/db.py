"""The ``Store``: a thin adapter over SQLite; no policy, no parsing.

The outbox, its sent keys, secrets and failure counts are in ``outbox.py`` (a mixin
``Store`` inherits); ``OutgoingRow`` and the outbox's row types are re-exported here for its callers.
What the engine reads (links, sent keys, the case files) is in ``snapshot.py``, another mixin.

Writes happen inside ``transaction()``, which takes ``BEGIN IMMEDIATE`` so that
the daemon and a CLI command can share the file (the second writer waits up to
``busy_timeout``). A message, its events and the IMAP cursor commit together.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from daemon.errors import StoreError
from daemon.model import Case, Cursor, Event, EventKind, Link
from daemon.store.outbox import OutboxRow, OutboxStore, OutgoingRow, ReadyRow, TokenRow
from daemon.store.outbox import iso as _iso
from daemon.store.schema import migrations
from daemon.store.snapshot import CLOSED_HORIZON, SnapshotReads, _case_from_json, _event_kind
from daemon.timeline import Fold, folded, is_undo, visible

__all__ = ["CLOSED_HORIZON", "OutboxRow", "OutgoingRow", "ReadyRow", "Store", "StoreError", "TokenRow"]

BUSY_TIMEOUT_MS = 30_000
#: At most this many case projections are kept from one transaction to the next.
RUNNING_CASES = 5_000
#: Keys looked up per query by ``seen_keys`` (each twice: well under SQLite's variable limit).
_KEYS_PER_QUERY = 400


def _at(at: datetime | None) -> str:
    """The caller's instant; the wall clock only for a caller that has none (``casewatch
    ingest`` from files, tests and tools)."""
    return _iso(at if at is not None else datetime.now(UTC))


def _case_to_json(case: Case) -> str:
    d = case.to_json()
    d["number"] = d.pop("case")
    d["description"] = case.description
    return json.dumps(d, sort_keys=True)


def _why_not(path: Path, exc: BaseException) -> str:
    """Why the database at ``path`` cannot be opened, with what to do when it is the path."""
    from daemon.config import file_in_the_way

    blocker = file_in_the_way(path)
    if blocker is not None:
        return (
            f"{blocker} is a file, not a folder, so the database cannot be created under it "
            "(hint: set [state] db to a path under a folder, e.g. /var/lib/casewatch/casewatch.db)"
        )
    with suppress(OSError):
        if path.is_dir():
            return f"{path} is a folder (hint: set [state] db to a file, e.g. {path / 'casewatch.db'})"
    return str(exc)


@dataclass(slots=True)
class _Running:
    """A case's projection kept through one transaction: its events folded so far, the latest
    one's instant, and whether any of them makes the case visible."""

    fold: Fold
    last: datetime | None
    visible: bool


class Store(OutboxStore, SnapshotReads):
    """The state database. Open one per process; not thread-safe.

    The outbox, sent keys, secrets and failures are kept by ``OutboxStore`` (outbox.py)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            if str(path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000)
            conn.isolation_level = None  # explicit transactions only: see transaction()
            self.db = Database(conn)
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            migrations.apply(self.db)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open the state database {path}: {_why_not(self.path, exc)}") from None
        self.conn = conn
        # The projections made in transactions (``projection``): a case's new events (``add_events``)
        # are folded in when they come after its latest, instead of the case being read again.
        # All are dropped on a rollback, and when another connection has written (data_version).
        self._running: dict[str, _Running] = {}
        self._data_version: int | None = None
        self.opened_as: tuple[int, int] | None = None  # to notice the file removed or replaced
        with suppress(OSError):
            self.opened_as = self.file_identity()

    def file_identity(self) -> tuple[int, int] | None:
        """(device, inode) of the file now at the database's path; None if there is none."""
        if str(self.path) == ":memory:":
            return None
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return st.st_dev, st.st_ino

    def file_changed(self) -> str:
        """``"removed"`` or ``"replaced"`` when the file at the path is no longer the one this
        store opened (its writes go to a file nobody will read again), else ``""``."""
        if self.opened_as is None:
            return ""
        try:
            now = self.file_identity()
        except OSError:  # cannot look (a folder made unreadable): the writes will say so
            return ""
        if now is None:
            return "removed"
        return "" if now == self.opened_as else "replaced"

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ transactions

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction (BEGIN IMMEDIATE): all or nothing."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write the state database {self.path}: {exc}") from None
        try:
            self._keep_running()
            yield
        except sqlite3.Error as exc:
            self._running.clear()
            self.conn.rollback()
            raise StoreError(f"cannot write the state database {self.path}: {exc}") from None
        except BaseException:
            self._running.clear()
            self.conn.rollback()
            raise
        try:
            self.conn.commit()
        except sqlite3.Error as exc:
            self._running.clear()
            self.conn.rollback()
            raise StoreError(f"cannot commit to the state database {self.path}: {exc}") from None

    def _keep_running(self) -> None:
        """Keep the projections of earlier transactions only if no other connection has written
        since (``PRAGMA data_version``), and not too many of them."""
        version = int(self.conn.execute("PRAGMA data_version").fetchone()[0])
        if version != self._data_version or len(self._running) > RUNNING_CASES:
            self._running.clear()
            self._data_version = version

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested all-or-nothing step inside ``transaction()`` (one message). A ``sqlite3.Error``
        in it is a ``StoreError``: the caller tells a failing store from a failing message."""
        try:
            self.conn.execute("SAVEPOINT one")
            try:
                yield
            except BaseException:
                self._running.clear()  # it may hold events now rolled back
                self.conn.execute("ROLLBACK TO SAVEPOINT one")
                self.conn.execute("RELEASE SAVEPOINT one")
                raise
            self.conn.execute("RELEASE SAVEPOINT one")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write the state database {self.path}: {exc}") from None

    # ------------------------------------------------------------ messages

    def seen(self, keys: Sequence[str]) -> bool:
        """Whether any of these dedup keys was stored or quarantined before."""
        marks = ",".join("?" * len(keys))
        row = self.conn.execute(
            f"SELECT 1 FROM messages WHERE key IN ({marks}) "
            f"UNION ALL SELECT 1 FROM quarantine WHERE key IN ({marks}) LIMIT 1",
            [*keys, *keys],
        ).fetchone()
        return row is not None

    def seen_keys(self, keys: Iterable[str]) -> set[str]:
        """Which of these dedup keys were stored or quarantined before (``seen`` for many)."""
        wanted = sorted(set(keys))
        found: set[str] = set()
        for i in range(0, len(wanted), _KEYS_PER_QUERY):
            part = wanted[i : i + _KEYS_PER_QUERY]
            marks = ",".join("?" * len(part))
            found.update(
                key
                for (key,) in self.conn.execute(
                    f"SELECT key FROM messages WHERE key IN ({marks}) "
                    f"UNION SELECT key FROM quarantine WHERE key IN ({marks})",
                    [*part, *part],
                )
            )
        return found

    def batch_seen(self, keys: Iterable[str]) -> BatchSeen:
        """``seen`` for one batch that will ask about (some of) these keys, from one query."""
        return BatchSeen(self, keys)

    def add_message(self, row: dict[str, Any], at: datetime | None = None) -> None:
        """Store one message row, stored ``at`` (the reading cycle's instant)."""
        row = {**row, "stored_at": _at(at)}
        cols = ",".join(row)
        self.conn.execute(
            f"INSERT INTO messages ({cols}) VALUES ({','.join('?' * len(row))})", list(row.values())
        )

    def add_quarantine(
        self, key: str, origin: str, reason: str, raw: bytes | None, at: datetime | None = None
    ) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO quarantine (key, origin, reason, at, raw) VALUES (?,?,?,?,?)",
            (key, origin, reason, _at(at), raw),
        )

    def quarantined(self) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT key, origin, reason, at FROM quarantine ORDER BY at, key")
        return [dict(zip(("key", "origin", "reason", "at"), r, strict=True)) for r in rows]

    def message_count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM messages").fetchone()[0])

    # ------------------------------------------------------------ events and cases

    def add_events(self, events: Iterable[Event], message_key: str | None) -> None:
        rows = [
            (
                e.case,
                _iso(e.at),
                e.kind,
                e.actor,
                message_key,
                e.message_id,
                e.summary,
                json.dumps(e.data, sort_keys=True, default=str),
            )
            for e in events
        ]
        self.conn.executemany(
            "INSERT INTO events (case_number, at, kind, actor, message_key, message_id, summary, data)"
            " VALUES (?,?,?,?,?,?,?,?)",
            rows,
        )
        for case, at, kind, actor, _key, message_id, summary, data in rows:
            run = self._running.get(case)
            if run is None:
                continue
            # The event as events() reads it back: at in UTC, data through JSON.
            when = datetime.fromisoformat(at)
            event = Event(case, when, kind, actor, message_id, summary, json.loads(data))
            if (run.last is not None and event.at < run.last) or is_undo(event):
                del self._running[case]  # not simply after the others: read again when asked
                continue
            run.fold.add(event)
            run.last = event.at
            run.visible = run.visible or not event.data.get("newsletter")

    def add_links(self, links: Iterable[Link], message_key: str | None, at: datetime) -> None:
        """Store links; a link made again by earlier mail (read late) takes the earlier time."""
        self.conn.executemany(
            "INSERT INTO links (a, b, reason, message_key, at) VALUES (?,?,?,?,?) "
            "ON CONFLICT (a, b) DO UPDATE SET at = excluded.at, reason = excluded.reason, "
            "message_key = excluded.message_key WHERE excluded.at < links.at OR links.at IS NULL",
            [(link.a, link.b, link.reason, message_key, _iso(at)) for link in links if link.a != link.b],
        )

    def remember_keys(self, keys: Iterable[str], case: str) -> None:
        self.conn.executemany(
            "INSERT OR REPLACE INTO thread_keys (key, case_number) VALUES (?, ?)",
            [(k, case) for k in keys],
        )

    def case_for_keys(self, keys: Sequence[str]) -> str | None:
        for key in keys:
            row = self.conn.execute("SELECT case_number FROM thread_keys WHERE key = ?", (key,)).fetchone()
            if row:
                return str(row[0])
        return None

    def case_for_messages(self, message_ids: Sequence[str]) -> str | None:
        for mid in message_ids:
            row = self.conn.execute(
                "SELECT case_number FROM events WHERE message_id = ? "
                "AND kind NOT IN ('list_mention', 'case_of_record') ORDER BY id LIMIT 1",
                (mid,),
            ).fetchone()
            if row:
                return str(row[0])
        return None

    def events(self, case: str, until: datetime | None = None) -> list[Event]:
        sql = (
            "SELECT case_number, at, kind, actor, message_id, summary, data FROM events WHERE case_number = ?"
        )
        args: list[Any] = [case]
        if until is not None:
            sql += " AND at <= ?"
            args.append(_iso(until))
        rows = self.conn.execute(sql + " ORDER BY at, id", args)
        return [
            Event(
                r[0],
                datetime.fromisoformat(r[1]),
                _event_kind(r[2], r[0]),
                r[3],
                r[4],
                r[5],
                json.loads(r[6]),
            )
            for r in rows
        ]

    def related(self, case: str) -> list[str]:
        rows = self.conn.execute(
            "SELECT b FROM links WHERE a = ? UNION SELECT a FROM links WHERE b = ?", (case, case)
        )
        return sorted(str(r[0]) for r in rows)

    def projection(self, number: str) -> tuple[Case, bool]:
        """The case its events make now, and whether it is visible (``timeline.project``).

        Made in a transaction, the fold is kept, and the case's later events are added to it
        (``add_events``) instead of all its events being read again for the next call."""
        run = self._running.get(number) if self.conn.in_transaction else None
        if run is None:
            events = self.events(number)
            run = _Running(folded(events), events[-1].at if events else None, visible(events))
            if self.conn.in_transaction and not any(is_undo(e) for e in events):
                self._running[number] = run  # (an undo takes back earlier events: read them again)
        return run.fold.case(number, self.related(number)), run.visible

    def refresh_case(self, number: str, at: datetime | None = None) -> Case:
        """Project the case from its events and store the projection (updated ``at``)."""
        case, shown = self.projection(number)
        self.conn.execute(
            "INSERT OR REPLACE INTO cases (number, visible, state, json, updated_at) VALUES (?,?,?,?,?)",
            (
                number,
                int(shown),
                case.state,
                _case_to_json(case),
                _at(at),
            ),
        )
        return case

    def case(self, number: str) -> Case | None:
        row = self.conn.execute(
            "SELECT json FROM cases WHERE number = ? AND visible = 1", (number,)
        ).fetchone()
        return _case_from_json(row[0]) if row else None

    def cases(self) -> list[Case]:
        return list(self.each_case())

    def each_case(self) -> Iterator[Case]:
        """The visible cases in number order, read one at a time."""
        rows = self.conn.execute("SELECT json FROM cases WHERE visible = 1 ORDER BY number")
        return (_case_from_json(r[0]) for r in rows)

    def has_event(self, case: str, kind: EventKind) -> bool:
        return (
            self.conn.execute(
                "SELECT 1 FROM events WHERE case_number = ? AND kind = ? LIMIT 1", (case, kind)
            ).fetchone()
            is not None
        )

    def last_reply(self, case: str, sender: str) -> str | None:
        """The Message-ID of ``sender``'s latest reply applied to ``case`` and not undone."""
        rows = self.conn.execute(
            "SELECT message_id, kind, data FROM events WHERE case_number = ? ORDER BY at DESC, id DESC",
            (case,),
        ).fetchall()
        undone = set()
        for mid, kind, data in rows:
            d = json.loads(data)
            if kind == "command" and d.get("command") == "undo":
                undone.add(d.get("target"))
                continue
            if d.get("via") == "reply" and d.get("by") == sender.lower() and mid not in undone:
                return str(mid)
        return None

    # ------------------------------------------------------------ cursors and health

    def cursor(self, folder: str) -> Cursor | None:
        row = self.conn.execute(
            "SELECT uidvalidity, last_uid FROM cursors WHERE folder = ?", (folder,)
        ).fetchone()
        return Cursor(folder, int(row[0]), int(row[1])) if row else None

    def set_cursor(self, cursor: Cursor, at: datetime | None = None) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO cursors (folder, uidvalidity, last_uid, updated_at) VALUES (?,?,?,?)",
            (cursor.folder, cursor.uidvalidity, cursor.last_uid, _at(at)),
        )

    def mark_run(self, name: str, detail: str = "", at: datetime | None = None) -> None:
        """Note that ``name`` (cycle, poll, ingest) ran ``at`` (for status and metrics)."""
        self.conn.execute(
            "INSERT OR REPLACE INTO runs (name, at, detail) VALUES (?,?,?)",
            (name, _at(at), detail),
        )

    def health(self) -> dict[str, Any]:
        def one(sql: str) -> Any:
            return self.conn.execute(sql).fetchone()

        runs = {r[0]: (r[1], r[2]) for r in self.conn.execute("SELECT name, at, detail FROM runs")}
        return {
            "messages": one("SELECT count(*) FROM messages")[0],
            "quarantined": one("SELECT count(*) FROM quarantine")[0],
            "cases": one("SELECT count(*) FROM cases WHERE visible = 1")[0],
            "open_cases": one(
                "SELECT count(*) FROM cases WHERE visible = 1 AND state IN ('open','pending_customer')"
            )[0],
            "events": one("SELECT count(*) FROM events")[0],
            "outbox": {
                status: n
                for status, n in self.conn.execute("SELECT status, count(*) FROM outbox GROUP BY status")
            },
            "failures": [
                {"kind": r[0], "count": r[1], "since": r[2], "last_error": r[3]}
                for r in self.conn.execute(
                    "SELECT kind, count, since, last_error FROM failures ORDER BY kind"
                )
            ],
            "last_cycle": runs.get("cycle", (None, ""))[0],
            "last_poll": runs.get("poll", (None, ""))[0],
            "last_ingest": runs.get("ingest", (None, ""))[0],
            "last_sent": one("SELECT max(sent_at) FROM outbox WHERE status = 'sent'")[0],
            "cursors": [
                {"folder": r[0], "uidvalidity": r[1], "last_uid": r[2], "at": r[3]}
                for r in self.conn.execute("SELECT folder, uidvalidity, last_uid, updated_at FROM cursors")
            ],
        }


class BatchSeen:
    """``Store.seen`` for one batch, from one query for all its keys.

    A key not there when the batch started can only be there now if the batch wrote it: the
    keys asked about earlier in the batch (each message's, each fetch failure's) are looked up
    again, in the store.
    """

    def __init__(self, store: Store, keys: Iterable[str]) -> None:
        self.store = store
        self.before = store.seen_keys(keys)
        self.written: set[str] = set()  # keys the batch may have written so far

    def __call__(self, keys: list[str]) -> bool:
        try:
            if any(k in self.before for k in keys):
                return True
            return any(k in self.written for k in keys) and self.store.seen(keys)
        finally:
            self.written.update(keys)
