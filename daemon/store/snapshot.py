"""Reading the case files for the policy engine: the snapshot, whole or streamed one case at a
time, and the rows it is made of (events, links, cached projections, sent keys).

``SnapshotReads`` is a mixin: ``Store`` (db.py) inherits it and gives it the connection.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import groupby
from operator import itemgetter
from typing import Any

from daemon.errors import StoreError
from daemon.model import Case, EventKind, Link, is_event_kind, stored_event
from daemon.policy.engine import CaseFile, Snapshot, collector_paused
from daemon.store.outbox import iso as _iso

#: A closed case whose last event is older than this is not read for decisions any more.
CLOSED_HORIZON = timedelta(days=60)


def _event_kind(text: str, case: str) -> EventKind:
    """An events row's kind, checked once where it leaves the database: a kind this version does
    not know (a newer casewatch wrote it, or the file was edited) is a ``StoreError``."""
    if is_event_kind(text):
        return text
    raise StoreError(f"the database holds an event of unknown kind {text!r} (case {case})")


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


#: The fields of a cached case that many cases share (an owner, an institution, a priority ...).
_SHARED_FIELDS = (
    *("owner", "institution", "priority", "status", "state", "source"),
    *("asset", "category", "subcategory"),
)


def _case_from_json(text: str, shared: dict[str, str] | None = None) -> Case:
    """The cached case; ``shared``: one copy of each value of ``_SHARED_FIELDS`` across the calls."""
    d = json.loads(text)
    if shared is not None:
        for k in _SHARED_FIELDS:
            v = d[k]
            if v is not None:
                d[k] = shared.setdefault(v, v)
    d["related"] = tuple(d["related"])
    for k in ("opened_at", "last_vendor_response_at"):
        d[k] = _dt(d[k])
    return Case(**d)


class CaseFiles:
    """A snapshot's case files, read from the store anew each time they are iterated (one case's
    events held at a time): what ``Store.streamed`` gives, valid while the store is open."""

    def __init__(self, store: SnapshotReads, until: datetime | None, links: Sequence[Link]) -> None:
        self.store, self.until, self.links = store, until, links

    def __iter__(self) -> Iterator[CaseFile]:
        # The collector is paused while the files are read and the caller works on each: the
        # engine keeps a little of every case (acyclic values), and each full collection would
        # walk all it has kept so far (a fifth of ``due``'s time at 50,000 cases).
        with collector_paused():
            yield from self.store.case_files(self.until, self.links)


class SnapshotReads:
    """What the engine reads from the store: links, sent keys and the case files."""

    conn: sqlite3.Connection

    def links(self, until: datetime | None = None) -> list[Link]:
        sql, args = "SELECT a, b, reason, at FROM links", []
        if until is not None:
            sql += " WHERE at IS NULL OR at <= ?"
            args.append(_iso(until))
        return [Link(r[0], r[1], r[2], _dt(r[3])) for r in self.conn.execute(sql + " ORDER BY a, b", args)]

    def snapshot(self, until: datetime | None = None) -> Snapshot:
        """What the policy engine reads: every visible case's events (up to ``until``), links, sent keys."""
        with collector_paused():
            return self._snapshot(until)

    def _snapshot(self, until: datetime | None) -> Snapshot:
        streamed = self.streamed(until)
        return replace(streamed, files=tuple(streamed.files))

    def streamed(self, until: datetime | None = None) -> Snapshot:
        """``snapshot(until)`` whose case files are read from the database case by case each time
        they are iterated (``CaseFiles``), never all held at once: valid while the store is open."""
        links = self.links(until)
        sent = self.sent_kinds(until)
        summarized = frozenset(
            k for k, kind in sent.items() if kind == "backlog" and not k.startswith("backlog")
        )
        return Snapshot(CaseFiles(self, until, links), tuple(links), frozenset(sent), summarized)

    def case_files(self, until: datetime | None, links: Sequence[Link]) -> Iterator[CaseFile]:
        """Each visible case's file (events up to ``until``), in case number order, one at a time."""
        # Cases closed (as cached now) with nothing in the last CLOSED_HORIZON are left out:
        # no rule looks that far back at a closed case, and the store keeps growing for years.
        # Without ``until`` (everything: tests and tools) the horizon is from the wall clock.
        end = until or datetime.now(UTC)
        args: list[Any] = [_iso(end - CLOSED_HORIZON)]
        limit = ""
        if until is not None:
            limit = " AND e.at <= ?"
            args.append(_iso(until))
        related: dict[str, set[str]] = {}
        for link in links:
            related.setdefault(link.a, set()).add(link.b)
            related.setdefault(link.b, set()).add(link.a)
        # The cached projection is the case with all of its events and links: it stands for
        # the case as of ``until`` only when nothing of it is later than that.
        later: set[str] = set()
        if until is not None:
            at = _iso(until)
            later |= {
                r[0] for r in self.conn.execute("SELECT DISTINCT case_number FROM events WHERE at > ?", (at,))
            }
            for a, b in self.conn.execute("SELECT a, b FROM links WHERE at > ?", (at,)):
                later |= {a, b}
        # Two cursors in case number order, merged: the events, and the cached projections.
        cached = self.conn.execute("SELECT number, json FROM cases WHERE visible = 1 ORDER BY number")
        projection = next(cached, None)
        rows = self.conn.execute(
            "SELECT e.case_number, e.at, e.kind, e.actor, e.message_id, e.summary, e.data "
            "FROM events e JOIN cases c ON c.number = e.case_number AND c.visible = 1"
            " WHERE (c.state != 'closed' OR e.case_number IN"
            " (SELECT case_number FROM events WHERE at >= ?))"
            f"{limit} ORDER BY e.case_number, e.at, e.id",
            args,
        )
        parse = datetime.fromisoformat
        kinds: dict[str, EventKind] = {}
        actors: dict[str, str] = {}
        shared: dict[str, str] = {}
        for n, group in groupby(rows, key=itemgetter(0)):
            events = []
            for r in group:
                kind = kinds.get(r[2])
                if kind is None:
                    kind = kinds[r[2]] = _event_kind(r[2], n)
                actor = actors.setdefault(r[3], r[3])
                data = json.loads(r[6]) if r[6] != "{}" else {}
                events.append(stored_event(n, parse(r[1]), kind, actor, r[4], r[5], data))
            while projection is not None and projection[0] < n:
                projection = next(cached, None)
            case = None
            if projection is not None and projection[0] == n and n not in later:
                case = _case_from_json(projection[1], shared)
            yield CaseFile(n, tuple(events), tuple(sorted(related.get(n, ()))), case)

    def sent_keys(self, until: datetime | None = None) -> list[str]:
        return list(self.sent_kinds(until))

    def sent_kinds(self, until: datetime | None = None) -> dict[str, str]:
        """The keys used up by queued messages (at or before ``until``), each with the kind of the
        action that used it (``backlog`` for the actions a backlog summary handled)."""
        if until is None:
            return dict(self.conn.execute("SELECT key, kind FROM sent").fetchall())
        return dict(self.conn.execute("SELECT key, kind FROM sent WHERE at <= ?", (_iso(until),)).fetchall())
