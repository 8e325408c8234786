"""The database schema, as sqlite-utils migrations (applied in order, once each).

Tables:
- ``messages``   every message read (raw bytes kept), keyed by Message-ID or SHA-256;
- ``events``     the case timelines: the truth from which cases are projected;
- ``cases``      the projection of each case's events (a cache, rebuilt from events);
- ``links``      pairs of cases about the same problem (``a < b``);
- ``thread_keys`` Salesforce thread tokens / entity ids -> case;
- ``cursors``    per IMAP folder: UIDVALIDITY and the last UID stored;
- ``quarantine`` what could not be read: raw bytes and the reason;
- ``sent``       the idempotency key of every action done (an action never fires twice);
- ``outbox``     each message: rendered once, queued, then sent (or failed), with its cases;
- ``secrets``    generated secrets (the key of the Reply-To tokens);
- ``failures``   consecutive failures of each kind, for the admin alert;
- ``generation`` one counter, bumped by triggers on every write to a table the snapshot reads;
- ``schedule``   until when the last evaluation stands (``daemon.store.schedule``).
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("casewatch")


@migrations()
def m001_initial(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE messages (
            key TEXT PRIMARY KEY,
            message_id TEXT,
            sha256 TEXT NOT NULL,
            origin TEXT NOT NULL,
            at TEXT,
            family TEXT NOT NULL,
            kind TEXT NOT NULL,
            sender TEXT,
            subject TEXT,
            note TEXT NOT NULL DEFAULT '',
            stored_at TEXT NOT NULL,
            raw BLOB NOT NULL
        );
        CREATE INDEX messages_sha256 ON messages(sha256);
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            case_number TEXT NOT NULL,
            at TEXT NOT NULL,
            kind TEXT NOT NULL,
            actor TEXT NOT NULL,
            message_key TEXT,
            message_id TEXT,
            summary TEXT NOT NULL DEFAULT '',
            data TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX events_case ON events(case_number, at);
        CREATE INDEX events_message_id ON events(message_id);
        CREATE TABLE cases (
            number TEXT PRIMARY KEY,
            visible INTEGER NOT NULL,
            state TEXT NOT NULL,
            json TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE links (
            a TEXT NOT NULL,
            b TEXT NOT NULL,
            reason TEXT NOT NULL,
            message_key TEXT,
            PRIMARY KEY (a, b)
        );
        CREATE INDEX links_b ON links(b);
        CREATE TABLE thread_keys (
            key TEXT PRIMARY KEY,
            case_number TEXT NOT NULL
        );
        CREATE TABLE cursors (
            folder TEXT PRIMARY KEY,
            uidvalidity INTEGER NOT NULL,
            last_uid INTEGER NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE quarantine (
            key TEXT PRIMARY KEY,
            origin TEXT NOT NULL,
            reason TEXT NOT NULL,
            at TEXT NOT NULL,
            raw BLOB
        );
        CREATE TABLE runs (
            name TEXT PRIMARY KEY,
            at TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT ''
        );
        """
    )


@migrations()
def m002_link_times_and_sent(db: Database) -> None:
    """Links learn when they were made (for replays with ``--at``); ``sent`` holds idempotency keys."""
    db.executescript(
        """
        ALTER TABLE links ADD COLUMN at TEXT;
        UPDATE links SET at = (SELECT min(e.at) FROM events e WHERE e.message_key = links.message_key);
        CREATE TABLE sent (
            key TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            case_number TEXT,
            at TEXT NOT NULL
        );
        """
    )


@migrations()
def m003_outbox(db: Database) -> None:
    """The outbox: each message rendered once, queued under its actions' keys, then sent."""
    db.executescript(
        """
        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY,
            message_id TEXT NOT NULL UNIQUE,
            token TEXT NOT NULL UNIQUE,
            kinds TEXT NOT NULL,
            cases TEXT NOT NULL DEFAULT '',
            sender TEXT NOT NULL,
            recipients TEXT NOT NULL,
            subject TEXT NOT NULL DEFAULT '',
            raw BLOB NOT NULL,
            status TEXT NOT NULL,
            created_at TEXT NOT NULL,
            send_after TEXT NOT NULL,
            deadline TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT NOT NULL DEFAULT '',
            sent_at TEXT
        );
        CREATE INDEX outbox_status ON outbox(status, send_after);
        CREATE INDEX outbox_when ON outbox(coalesce(sent_at, send_after));
        CREATE TABLE outbox_cases (
            outbox_id INTEGER NOT NULL REFERENCES outbox(id),
            case_number TEXT NOT NULL,
            PRIMARY KEY (case_number, outbox_id)
        );
        ALTER TABLE sent ADD COLUMN outbox_id INTEGER;
        CREATE TABLE secrets (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        """
    )


@migrations()
def m004_failures(db: Database) -> None:
    """Consecutive failures of each kind (imap, smtp ...), for the admin alert and its recovery."""
    db.executescript(
        """
        CREATE TABLE failures (
            kind TEXT PRIMARY KEY,
            count INTEGER NOT NULL,
            since TEXT NOT NULL,
            last_error TEXT NOT NULL,
            alerted INTEGER NOT NULL DEFAULT 0
        );
        """
    )


#: The tables ``Store.snapshot`` reads: any write to them may change a decision.
SNAPSHOT_TABLES = ("events", "links", "sent", "cases")


@migrations()
def m005_schedule(db: Database) -> None:
    """The decision schedule (``daemon.store.schedule``): a generation counter that triggers bump on
    every write to a table the snapshot reads, and the one row saying until when the last
    evaluation stands; indexes for its queries (the earliest row dated after an instant) and for
    ``status`` (the last message sent, the cases counted: a partial index, which the snapshot's
    join does not take in place of its faster plan)."""
    triggers = "\n".join(
        f"CREATE TRIGGER {table}_{op.lower()}_generation AFTER {op} ON {table} "
        "BEGIN UPDATE generation SET n = n + 1 WHERE id = 1; END;"
        for table in SNAPSHOT_TABLES
        for op in ("INSERT", "UPDATE", "DELETE")
    )
    db.executescript(
        f"""
        CREATE TABLE generation (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            n INTEGER NOT NULL
        );
        INSERT INTO generation (id, n) VALUES (1, 0);
        CREATE TABLE schedule (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            generation INTEGER NOT NULL,
            fingerprint TEXT NOT NULL,
            at TEXT NOT NULL,
            next_at TEXT,
            next_kind TEXT,
            next_case TEXT,
            next_due_at TEXT
        );
        CREATE INDEX events_at ON events(at);
        CREATE INDEX links_at ON links(at);
        CREATE INDEX sent_at ON sent(at);
        CREATE INDEX outbox_sent ON outbox(status, sent_at);
        CREATE INDEX cases_shown ON cases(state) WHERE visible = 1;
        {triggers}
        """
    )
