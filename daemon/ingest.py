"""Ingest: the shell around the pure recognizers and timeline (gather -> decide -> apply).

Each batch commits in one transaction: its messages, their events, links and
thread keys, the quarantined ones, and the IMAP cursor. Each message is handled
on its own (a savepoint): one that cannot be read is quarantined with its raw
bytes and the reason, and the batch goes on (Mailman's runners do the same).
Re-ingesting anything is a no-op: messages are keyed by Message-ID, else by the
SHA-256 of their bytes.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import logging
import multiprocessing
import os
import re
import signal
import sys
import threading
import time
import types
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from multiprocessing.reduction import ForkingPickler
from typing import TYPE_CHECKING, Any

from daemon import faults
from daemon.config import Config
from daemon.errors import StoreError
from daemon.model import Batch, Case, RawMessage, Recognition
from daemon.recognize import Mail, Unparseable, parse, recognize_mail
from daemon.timeline import interpret

if TYPE_CHECKING:  # the parsing workers import this module: they need no store, no reply handler
    from daemon.store import Store

log = logging.getLogger(__name__.replace("daemon", "casewatch", 1))  # one namespace: casewatch.*

FILE_BATCH = 200
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)
_ID = re.compile(rb"<([^<>\s]+)>")


@dataclass
class Counts:
    """What an ingest did: every message read is exactly one of the four."""

    ingested: int = 0
    duplicates: int = 0
    ignored: int = 0
    quarantined: int = 0

    @property
    def read(self) -> int:
        return self.ingested + self.duplicates + self.ignored + self.quarantined

    def add(self, other: Counts) -> None:
        self.ingested += other.ingested
        self.duplicates += other.duplicates
        self.ignored += other.ignored
        self.quarantined += other.quarantined

    def __str__(self) -> str:
        return (
            f"ingested {self.ingested}, duplicates {self.duplicates}, "
            f"ignored {self.ignored}, quarantined {self.quarantined}"
        )


def dedup_keys(data: bytes) -> tuple[str, str]:
    """(primary key, sha256). The key is ``mid:<Message-ID>`` when there is one."""
    digest = hashlib.sha256(data).hexdigest()
    head = _HEADER_END.split(data[:65536], maxsplit=1)[0]
    match = _MESSAGE_ID.search(head)
    if match:
        found = _ID.search(match.group(1))
        if found:
            return "mid:" + found.group(1).decode("utf-8", "replace"), "sha:" + digest
    return "sha:" + digest, "sha:" + digest


def event_time(mail: Mail, internaldate: datetime | None, config: Config) -> tuple[datetime | None, str]:
    """When the message happened, and a note when that was not plain.

    The Date header when it carries a zone; else the IMAP INTERNALDATE; else the
    newest Received stamp; else a zoneless Date read in the consortium's zone —
    never silently: the note says so and it is logged.
    """
    if mail.date is not None:
        return mail.date, ""
    if internaldate is not None:
        return internaldate, "Date header missing or without zone: used the server's arrival time"
    if mail.received_at is not None:
        return mail.received_at, "Date header missing or without zone: used the Received stamp"
    if mail.date_unzoned is not None:
        local = mail.date_unzoned.replace(tzinfo=config.tz)
        return local, f"Date without a zone: read as {config.consortium.timezone}"
    return None, "no usable date"


@dataclass(frozen=True)
class Prepared:
    """A message parsed and recognized (pure work, done in a worker process for big batches)."""

    mail: Mail | None = None
    rec: Recognition | None = None
    unparseable: str = ""  # why it is not mail
    crashed: str = ""  # a bug in the pure part, with its type


def prepare(data: bytes, config: Config) -> Prepared:
    try:
        mail = parse(data)
        return Prepared(mail, recognize_mail(mail, config))
    except Unparseable as exc:
        return Prepared(unparseable=str(exc))
    except Exception as exc:  # a bug on one message must not stop the others
        return Prepared(crashed=f"{type(exc).__name__}: {exc}")


_worker: dict[str, Config] = {}  # the config, in a worker process

#: Linux prctl(2) option: the signal a process gets when its parent dies.
PR_SET_PDEATHSIG = 1
#: How often a worker's watch thread checks that its parent is still there (the portable fallback).
PARENT_CHECK_SECONDS = 1.0


def _proxy(items: dict[str, Any]) -> types.MappingProxyType[str, Any]:
    return types.MappingProxyType(items)


def _reduce_proxy(mapping: types.MappingProxyType[str, Any]) -> tuple[Any, tuple[dict[str, Any]]]:
    return _proxy, (dict(mapping),)


# The config's read-only tables travel to the workers (spawned, so the config is pickled).
ForkingPickler.register(types.MappingProxyType, _reduce_proxy)


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(1)  # the daemon is gone (its children are re-parented): so is this worker


def _die_with_parent(parent: int) -> None:
    """End this worker when the daemon ends, however it ends (``kill -9`` included).

    On Linux the kernel sends SIGKILL at the parent's death (``PR_SET_PDEATHSIG``; the "parent"
    is the thread that started the worker: the pool lives and ends within one ``poll_imap``
    call of one thread). Everywhere, a thread watches the parent's pid as a fallback."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it died before the signal was asked for
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), name="parent-watch", daemon=True).start()


def _worker_init(config: Config, parent: int) -> None:
    _die_with_parent(parent)
    # Ctrl-C reaches the whole process group: the daemon finishes the batch in hand and ends the
    # pool itself, so a worker must not die of it first (it was started ignoring SIGINT, see
    # sigint_held; this covers a pool started outside the main thread). SIGTERM stays fatal:
    # the pool uses it to end the workers when one of them died.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker["config"] = config


@contextlib.contextmanager
def sigint_held() -> Iterator[None]:
    """Hold SIGINT back while workers start: ignored, so that a worker inherits the ignore
    across exec and a Ctrl-C while it imports cannot kill it before ``_worker_init``; and
    blocked in this thread (and the pool's threads, started inside), so that this process
    does not lose a Ctrl-C that comes meanwhile: a blocked signal is never discarded as
    ignored, it waits, and is taken when the handler is back and the block ends."""
    before_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    changed = False
    before: Any = None
    try:
        # Only the main thread may change a handler; a Ctrl-C already pending is taken as it is.
        if threading.current_thread() is threading.main_thread() and signal.SIGINT not in signal.sigpending():
            before = signal.signal(signal.SIGINT, signal.SIG_IGN)
            changed = True
        yield
    finally:
        if changed:  # (None: a handler not set from Python; Python's own default then)
            signal.signal(signal.SIGINT, before if before is not None else signal.default_int_handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, before_mask)


def _worker_prepare(data: bytes) -> Prepared:
    """``prepare``; of a non-reply mail, only what ``Ingester._store`` reads is sent back."""
    ready = prepare(data, _worker["config"])
    if ready.mail is None or ready.rec is None or ready.rec.family == "reply":
        return ready
    slim = replace(ready.mail, to=(), cc=(), headers={}, content_type="", text="", parent_ids=(), delivery=())
    return replace(ready, mail=slim)


Seen = tuple[tuple[str, str], Callable[[list[str]], bool]] | None  # a message's keys, Store.batch_seen
#: Batches at least this big are parsed in worker processes (one per core), in parallel.
PARALLEL_FROM = 16


class Ingester:
    """Applies batches of raw messages to the store.

    Parsing and recognizing are pure: for big batches (a backfill) they run in a pool of
    worker processes, one per core, while this process stores. ``close()`` ends the pool; the
    workers also end on their own when this process dies, and never hold its files or lock.
    """

    def __init__(
        self, store: Store, config: Config, workers: int | None = None, now: datetime | None = None
    ) -> None:
        self.store = store
        self.config = config
        self.now = now  # the cycle's instant, when the mail is read (for replies: commands.handle)
        self.workers = (os.cpu_count() or 1) if workers is None else workers
        self._pool: ProcessPoolExecutor | None = None
        self._dirty: set[str] = set()  # cases with new events, their projection not yet stored
        self.parallel_batches = 0  # how many batches the workers parsed

    def _fresh(self) -> None:
        """Store the projection of the cases with new events."""
        for n in sorted(self._dirty):
            self.store.refresh_case(n, at=self.now)
        self._dirty.clear()

    def _current(self, number: str) -> Case | None:
        """The visible case as its events make it now: projected (not stored yet) when it has
        new events in this batch, else as stored."""
        if number not in self._dirty:
            return self.store.case(number)
        case, shown = self.store.projection(number)
        return case if shown else None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def _submit(self, batch: Batch) -> Iterator[Prepared] | None:
        """Start parsing a big batch in the workers; None for a small one (parsed in place)."""
        if self.workers < 2 or len(batch.messages) < PARALLEL_FROM:
            return None
        if self._pool is None or len(multiprocessing.active_children()) < self.workers:
            # The pool starts workers as tasks are submitted, until it has ``workers``: only
            # then can one be mid-start. Holding SIGINT for every batch left a window, each
            # batch, where a Ctrl-C could be lost (pending while the handler was being set to
            # ignore it); the Ctrl-C test, which signals just after a batch is logged, lost it
            # in 1 of 6 runs under load.
            with sigint_held():
                return self._start(batch)
        return self._start(batch)

    def _start(self, batch: Batch) -> Iterator[Prepared]:
        if self._pool is None:
            # Spawned, not forked: a worker starts from a fresh interpreter and so holds none of
            # the daemon's open files (the single-instance lock above all), and no copy of its
            # threads or SQLite connection. It dies with the daemon (_die_with_parent).
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_worker_init,
                initargs=(self.config, os.getpid()),
            )
        chunk = max(1, len(batch.messages) // (self.workers * 2))
        self.parallel_batches += 1
        return self._pool.map(_worker_prepare, [m.data for m in batch.messages], chunksize=chunk)

    def apply_all(
        self, source: Iterable[Batch], stopping: Callable[[], bool] = lambda: False
    ) -> Iterator[Counts]:
        """Apply batches in order, the next one being parsed by the workers while this one is
        stored (each batch still commits with its own cursor)."""
        ahead: tuple[Batch, Iterator[Prepared] | None] | None = None
        for batch in source:
            current, ahead = ahead, (batch, self._submit(batch))
            if current is not None:
                yield self.apply(current[0], current[1])
                if stopping():
                    return
        if ahead is not None:
            yield self.apply(ahead[0], ahead[1])

    def apply(self, batch: Batch, parsed: Iterator[Prepared] | None = None) -> Counts:
        """Store one batch and its cursor in one transaction."""
        counts = Counts()
        self._dirty.clear()  # left over only from a batch that was rolled back
        if parsed is None:
            parsed = self._submit(batch)
        prepared: list[Prepared | None] = list(parsed) if parsed is not None else [None] * len(batch.messages)
        with self.store.transaction():  # a failing database is a StoreError (exit 3)
            keys = [dedup_keys(raw.data) for raw in batch.messages]
            failures = [f"fetch:{failure.origin}" for failure in batch.failures]
            seen = self.store.batch_seen([*(k for pair in keys for k in pair), *failures])
            for raw, ready, pair in zip(batch.messages, prepared, keys, strict=True):
                self._one(raw, counts, ready, (pair, seen))
                faults.point("ingest.message")
            for failure, key in zip(batch.failures, failures, strict=True):
                if seen([key]):
                    counts.duplicates += 1
                    continue
                self.store.add_quarantine(key, failure.origin, failure.reason, None, at=self.now)
                log.warning("quarantined %s: %s", failure.origin, failure.reason)
                counts.quarantined += 1
            self._fresh()
            if batch.cursor is not None:
                self.store.set_cursor(batch.cursor, at=self.now)
        faults.point("ingest.commit")
        where = f"{batch.cursor.folder} up to UID {batch.cursor.last_uid}" if batch.cursor else "files"
        log.info("batch (%s): %s", where, counts)
        return counts

    def _one(self, raw: RawMessage, counts: Counts, ready: Prepared | None = None, seen: Seen = None) -> None:
        key, sha = seen[0] if seen else dedup_keys(raw.data)
        if (seen[1] if seen else self.store.seen)([key, sha]):
            counts.duplicates += 1
            return
        if ready is None:
            ready = prepare(raw.data, self.config)
        if ready.crashed:
            log.error("internal error on %s: %s", raw.origin, ready.crashed)
            counts.quarantined += 1
            self._quarantine(raw, sha, f"internal error: {ready.crashed}")
            return
        if ready.rec is not None and ready.rec.family == "reply":
            # The reply handler reads the stored cases: bring them up to date first (outside the
            # message's savepoint, which would undo the rows but not their being written).
            self._fresh()
        try:
            with self.store.savepoint():
                if ready.unparseable:
                    raise Unparseable(ready.unparseable)
                assert ready.mail is not None
                assert ready.rec is not None
                result = self._store(raw, key, sha, ready.mail, ready.rec)
        except StoreError:  # the database failed, not this message: the batch rolls back
            raise
        except Unparseable as exc:
            result = self._quarantine(raw, sha, str(exc))
        except Exception as exc:  # a bug on one message must not stop the others
            log.exception("internal error on %s", raw.origin)
            result = self._quarantine(raw, sha, f"internal error: {type(exc).__name__}: {exc}")
        setattr(counts, result, getattr(counts, result) + 1)

    def _quarantine(self, raw: RawMessage, sha: str, reason: str) -> str:
        # _one() has already checked that neither key was stored or quarantined.
        self.store.add_quarantine(sha, raw.origin, reason, raw.data, at=self.now)
        log.warning("quarantined %s: %s", raw.origin, reason)
        return "quarantined"

    def _store(self, raw: RawMessage, key: str, sha: str, mail: Mail, rec: Recognition) -> str:
        at, time_note = event_time(mail, raw.internaldate, self.config)
        if rec.failed:  # a delivery report: about the cases of our message, if it is one of ours
            ours = self.store.cases_of_message(rec.parent_ids[0])
            rec = replace(rec, cases=ours or (), failed=rec.failed if ours else ())
        resolved = None
        if not rec.cases:
            resolved = self.store.case_for_keys(rec.thread_keys) or self.store.case_for_messages(
                rec.parent_ids
            )
        named = [*rec.cases, *([resolved] if resolved else [])]
        current: dict[str, Case] = {}
        for number in named:
            case = self._current(number)
            if case is not None:
                current[number] = case
        outcome = interpret(rec, at or datetime.min, mail.message_id, resolved, current, self.config)
        if rec.family == "reply" and at is not None:
            from daemon.commands.handle import handle as handle_reply  # (not in the workers)

            handled = handle_reply(self.store, self.config, mail, rec, at, key, self.now)
            outcome = handled.outcome
            for row, keys in handled.outgoing:
                self.store.queue_message(row, keys)
        if outcome.events and at is None:
            raise Unparseable("no usable date (no Date with a zone, no arrival time)")
        if outcome.events and time_note:
            log.warning("%s: %s", raw.origin, time_note)
        for note in outcome.notes:
            log.info("%s: %s", raw.origin, note)
        for note in mail.notes:  # what could not be decoded as declared, and how it was read
            log.info("%s: %s", raw.origin, note)
        self.store.add_message(
            {
                "key": key,
                "message_id": mail.message_id,
                "sha256": sha,
                "origin": raw.origin,
                "at": at.isoformat() if at else None,
                "family": rec.family,
                "kind": rec.kind,
                "sender": rec.sender,
                "subject": mail.subject[:500],
                "note": "; ".join(n for n in (outcome.ignored, time_note, *mail.notes) if n),
                "raw": raw.data,
            },
            at=self.now,
        )
        if not outcome.events:
            return "ignored"
        self.store.add_events(outcome.events, key)
        self.store.add_links(outcome.links, key, outcome.events[0].at)
        primary = outcome.events[0].case
        if outcome.keys and rec.family == "vendor":
            self.store.remember_keys(outcome.keys, primary)
        touched = {e.case for e in outcome.events} | {n for link in outcome.links for n in (link.a, link.b)}
        self._dirty.update(touched)  # projection stored at the end of the batch (or before a reply)
        return "ingested"


def batches(messages: Iterable[RawMessage], size: int = FILE_BATCH) -> Iterator[Batch]:
    chunk: list[RawMessage] = []
    for message in messages:
        chunk.append(message)
        if len(chunk) >= size:
            yield Batch(tuple(chunk))
            chunk = []
    if chunk:
        yield Batch(tuple(chunk))


def ingest(
    store: Store,
    config: Config,
    messages: Iterable[RawMessage],
    progress: Callable[[Counts], None] | None = None,
) -> Counts:
    """Ingest messages (from files) in batches; returns what happened to each."""
    ingester = Ingester(store, config)
    total = Counts()
    try:
        for counts in ingester.apply_all(batches(messages)):
            total.add(counts)
            if progress:
                progress(total)
    finally:
        ingester.close()
    with store.transaction():
        store.mark_run("ingest", str(total))
    return total


def imap_credentials(config: Config, password: str | None = None) -> tuple[str | None, str | None]:
    """``(password, token)`` to log in to ``[mailbox]`` now, for ``ImapSource``.

    With ``mailbox.oauth2_token_command`` the command is run for a fresh OAuth 2 token on
    every call (tokens expire within the hour: call this for each connection) and no
    password is read; otherwise ``password``, else the configured one. A failing command
    is a ``ConfigError`` naming its key.
    """
    from daemon.config import oauth2_token, secret

    mb = config.mailbox
    if mb.oauth2_token_command:
        return None, oauth2_token(mb.oauth2_token_command, "mailbox.oauth2_token_command")
    if password is None:
        password = secret(mb.password_env, mb.password_command, "mailbox.password_command")
    return password, None


def poll_imap(
    store: Store,
    config: Config,
    password: str | None = None,
    stopping: Callable[[], bool] = lambda: False,
    now: datetime | None = None,
) -> Counts:
    """One pass over the configured IMAP folders: everything above each cursor.

    ``stopping`` is asked between batches: when it says so, the pass ends after the batch
    it has just committed (a later pass resumes from the cursor). ``now`` is the cycle's
    instant: a reply dated after it counts, and is confirmed, as of ``now``."""
    from daemon.sources.imap import ImapSource

    password, token = imap_credentials(config, password)
    ingester = Ingester(store, config, now=now)
    total = Counts()
    try:
        with ImapSource(config.mailbox, password, token) as source:
            for folder in config.mailbox.folders:
                for counts in ingester.apply_all(source.scan(folder, store.cursor(folder)), stopping):
                    total.add(counts)
                if stopping():
                    break
    finally:
        ingester.close()
    with store.transaction():
        store.mark_run("poll", str(total), at=now)
    return total
