"""The outbox half of the ``Store``: queued mail, the keys it used up, secrets, failures.

``OutboxStore`` is a mixin: ``Store`` (db.py) inherits it and gives it the connection.
No policy here either; writes happen inside the ``Store``'s ``transaction()``.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypedDict


def iso(at: datetime) -> str:
    """How the store writes an instant: ISO 8601 in UTC."""
    return at.astimezone(UTC).isoformat()


@dataclass(frozen=True)
class OutgoingRow:
    """One rendered message, as the outbox stores it."""

    message_id: str
    token: str
    kinds: tuple[str, ...]
    cases: tuple[str, ...]
    sender: str
    recipients: tuple[str, ...]
    subject: str
    raw: bytes
    created_at: datetime
    send_after: datetime
    deadline: datetime
    status: str = "queued"
    last_error: str = ""


class ReadyRow(TypedDict):
    """A queued message whose time has come (``ready``): what sending it needs."""

    id: int
    message_id: str
    sender: str
    recipients: list[str]
    raw: bytes
    attempts: int
    deadline: datetime


class OutboxRow(TypedDict):
    """A message of the outbox as ``outbox()`` lists it; ``kinds`` and ``cases`` comma-separated."""

    id: int
    message_id: str
    kinds: str
    cases: str
    recipients: list[str]
    subject: str
    status: str
    created_at: str
    send_after: str
    attempts: int
    last_error: str
    sent_at: str | None


class TokenRow(TypedDict):
    """The message of ours a Reply-To token names (``outbox_by_token``)."""

    id: int
    message_id: str
    kinds: list[str]
    cases: list[str]
    recipients: list[str]
    created_at: datetime
    subject: str


class OutboxStore:
    """Queued messages, the sent keys, stored secrets and failure counts (for admin alerts)."""

    conn: sqlite3.Connection

    def secret(self, name: str) -> bytes:
        """A random secret kept in the database, made on first use (e.g. the Reply-To token key)."""
        row = self.conn.execute("SELECT value FROM secrets WHERE name = ?", (name,)).fetchone()
        if row is None:
            value = secrets.token_hex(32)
            self.conn.execute("INSERT OR IGNORE INTO secrets (name, value) VALUES (?, ?)", (name, value))
            row = self.conn.execute("SELECT value FROM secrets WHERE name = ?", (name,)).fetchone()
        return bytes.fromhex(row[0])

    def queue_message(self, message: OutgoingRow, keys: Iterable[tuple[str, str, str | None]]) -> int | None:
        """Queue a rendered message and mark its actions' keys done, or nothing if any key is.

        ``keys`` are ``(key, kind, case)``; call inside ``transaction()``.
        """
        keys = list(keys)
        marks = ",".join("?" * len(keys))
        if (
            keys
            and self.conn.execute(
                f"SELECT 1 FROM sent WHERE key IN ({marks})", [k for k, _, _ in keys]
            ).fetchone()
        ):
            return None
        cur = self.conn.execute(
            "INSERT INTO outbox (message_id, token, kinds, cases, sender, recipients, subject, raw, status,"
            " created_at, send_after, deadline, last_error) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                message.message_id,
                message.token,
                ",".join(message.kinds),
                ",".join(message.cases),
                message.sender,
                json.dumps(list(message.recipients)),
                message.subject,
                message.raw,
                message.status,
                iso(message.created_at),
                iso(message.send_after),
                iso(message.deadline),
                message.last_error,
            ),
        )
        outbox_id = int(cur.lastrowid or 0)
        self.conn.executemany(
            "INSERT INTO outbox_cases (outbox_id, case_number) VALUES (?, ?)",
            [(outbox_id, n) for n in dict.fromkeys(message.cases)],
        )
        self.conn.executemany(
            "INSERT INTO sent (key, kind, case_number, at, outbox_id) VALUES (?,?,?,?,?)",
            [(k, kind, case, iso(message.created_at), outbox_id) for k, kind, case in keys],
        )
        return outbox_id

    def ready(self, now: datetime, limit: int = 100) -> list[ReadyRow]:
        """Queued messages whose time has come, oldest first."""
        rows = self.conn.execute(
            "SELECT id, message_id, sender, recipients, raw, attempts, deadline FROM outbox"
            " WHERE status = 'queued' AND send_after <= ? ORDER BY send_after, id LIMIT ?",
            (iso(now), limit),
        )
        return [
            {
                "id": r[0],
                "message_id": r[1],
                "sender": r[2],
                "recipients": json.loads(r[3]),
                "raw": r[4],
                "attempts": r[5],
                "deadline": datetime.fromisoformat(r[6]),
            }
            for r in rows
        ]

    def mark_sent(self, outbox_id: int, at: datetime) -> None:
        self.conn.execute(
            "UPDATE outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1, last_error = ''"
            " WHERE id = ?",
            (iso(at), outbox_id),
        )

    def mark_retry(self, outbox_id: int, send_after: datetime, error: str) -> None:
        self.conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, send_after = ?, last_error = ? WHERE id = ?",
            (iso(send_after), error, outbox_id),
        )

    def set_recipients(self, outbox_id: int, recipients: Sequence[str]) -> None:
        """The recipients still to be sent to (after a partial refusal)."""
        self.conn.execute(
            "UPDATE outbox SET recipients = ? WHERE id = ?", (json.dumps(list(recipients)), outbox_id)
        )

    def mark_failed(self, outbox_id: int, error: str) -> None:
        self.conn.execute(
            "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ?",
            (error, outbox_id),
        )

    def references(self, cases: Iterable[str], limit: int = 10) -> list[str]:
        """Message-IDs of earlier messages about these cases, oldest first (for threading)."""
        numbers = list(dict.fromkeys(cases))
        if not numbers:
            return []
        marks = ",".join("?" * len(numbers))
        rows = self.conn.execute(
            f"SELECT DISTINCT o.message_id, o.id FROM outbox o JOIN outbox_cases c ON c.outbox_id = o.id"
            f" WHERE c.case_number IN ({marks}) AND o.status != 'failed' ORDER BY o.id DESC LIMIT ?",
            [*numbers, limit],
        )
        return [r[0] for r in reversed(list(rows))]

    def queued_for(self, start: datetime, end: datetime) -> dict[str, int]:
        """By lower-cased recipient: messages sent or queued to be sent in ``[start, end)``."""
        rows = self.conn.execute(
            "SELECT lower(r.value), count(*) FROM outbox, json_each(outbox.recipients) r"
            " WHERE status != 'failed'"
            " AND coalesce(sent_at, send_after) >= ? AND coalesce(sent_at, send_after) < ?"
            " GROUP BY 1",
            (iso(start), iso(end)),
        )
        return {str(r[0]): int(r[1]) for r in rows}

    def outbox(self, status: str | None = None) -> list[OutboxRow]:
        sql = (
            "SELECT id, message_id, kinds, cases, recipients, subject, status, created_at, send_after,"
            " attempts, last_error, sent_at FROM outbox"
        )
        args: list[Any] = []
        if status:
            sql += " WHERE status = ?"
            args.append(status)
        return [
            {
                "id": r[0],
                "message_id": r[1],
                "kinds": r[2],
                "cases": r[3],
                "recipients": json.loads(r[4]),
                "subject": r[5],
                "status": r[6],
                "created_at": r[7],
                "send_after": r[8],
                "attempts": r[9],
                "last_error": r[10],
                "sent_at": r[11],
            }
            for r in self.conn.execute(sql + " ORDER BY id", args)
        ]

    def outbox_by_token(self, tok: str) -> TokenRow | None:
        row = self.conn.execute(
            "SELECT id, message_id, kinds, cases, recipients, created_at, subject FROM outbox"
            " WHERE token = ?",
            (tok,),
        ).fetchone()
        if row is None:
            return None
        return {
            "id": row[0],
            "message_id": row[1],
            "kinds": [k for k in row[2].split(",") if k],
            "cases": [c for c in row[3].split(",") if c],
            "recipients": json.loads(row[4]),
            "created_at": datetime.fromisoformat(row[5]),
            "subject": row[6],
        }

    def newest_about(self, case: str, kinds_not: Iterable[str] = ()) -> dict[str, Any] | None:
        """The newest message of ours about ``case`` (its subject and when it was written),
        leaving out messages of the kinds ``kinds_not``."""
        skip = list(kinds_not)
        unwanted = f" AND o.kinds NOT IN ({','.join('?' * len(skip))})" if skip else ""
        row = self.conn.execute(
            "SELECT o.subject, o.created_at FROM outbox o JOIN outbox_cases c ON c.outbox_id = o.id"
            f" WHERE c.case_number = ?{unwanted} ORDER BY o.created_at DESC, o.id DESC LIMIT 1",
            [case, *skip],
        ).fetchone()
        return {"subject": row[0], "created_at": datetime.fromisoformat(row[1])} if row else None

    def sent_since(self, kinds: Iterable[str], since: datetime) -> int:
        """How many messages of these kinds were queued since then, to anyone."""
        wanted = list(kinds)
        marks = ",".join("?" * len(wanted))
        row = self.conn.execute(
            f"SELECT count(*) FROM outbox WHERE kinds IN ({marks}) AND created_at >= ?",
            [*wanted, iso(since)],
        ).fetchone()
        return int(row[0])

    def cases_of_message(self, message_id: str) -> tuple[str, ...] | None:
        """The cases of a message of ours, by its Message-ID (None: no such message of ours)."""
        row = self.conn.execute(
            "SELECT cases FROM outbox WHERE message_id = ? OR message_id = ?",
            (message_id, f"<{message_id}>"),
        ).fetchone()
        return tuple(c for c in str(row[0]).split(",") if c) if row else None

    def confirmed_reply(self, outbox_id: int) -> str | None:
        """The Message-ID of the reply that a confirmation of ours confirmed (for ``undo``)."""
        row = self.conn.execute(
            "SELECT key FROM sent WHERE outbox_id = ? AND key LIKE 'confirms:%'", (outbox_id,)
        ).fetchone()
        return str(row[0]).removeprefix("confirms:") if row else None

    def sent_recently(self, recipient: str, kind: str, since: datetime) -> int:
        """How many messages of ``kind`` went (or are queued) to ``recipient`` since then."""
        row = self.conn.execute(
            "SELECT count(*) FROM outbox, json_each(outbox.recipients) r WHERE lower(r.value) = lower(?)"
            " AND kinds = ? AND created_at >= ?",
            (recipient, kind, iso(since)),
        ).fetchone()
        return int(row[0])

    def raw_message(self, outbox_id: int) -> bytes:
        return bytes(self.conn.execute("SELECT raw FROM outbox WHERE id = ?", (outbox_id,)).fetchone()[0])

    # ------------------------------------------------------------ failures (admin alerts)

    def failed(self, kind: str, error: str, at: datetime) -> dict[str, Any]:
        """Count one more failure of ``kind`` in a row; return its row."""
        self.conn.execute(
            "INSERT INTO failures (kind, count, since, last_error) VALUES (?, 1, ?, ?) "
            "ON CONFLICT (kind) DO UPDATE SET count = count + 1, last_error = excluded.last_error",
            (kind, iso(at), error[:500]),
        )
        return self.failure(kind) or {}

    def failure(self, kind: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            "SELECT count, since, last_error, alerted FROM failures WHERE kind = ?", (kind,)
        ).fetchone()
        if row is None:
            return None
        return {"kind": kind, "count": row[0], "since": row[1], "last_error": row[2], "alerted": bool(row[3])}

    def unread_since(self) -> datetime | None:
        """Since when reading the mailbox fails (the first of the failures in a row), else None."""
        row = self.failure("imap")
        return datetime.fromisoformat(row["since"]) if row else None

    def mark_alerted(self, kind: str) -> None:
        self.conn.execute("UPDATE failures SET alerted = 1 WHERE kind = ?", (kind,))

    def recovered(self, kind: str) -> dict[str, Any] | None:
        """Forget the failures of ``kind``; return what they were (None if there were none)."""
        before = self.failure(kind)
        if before is not None:
            self.conn.execute("DELETE FROM failures WHERE kind = ?", (kind,))
        return before
