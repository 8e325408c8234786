"""The outbox: due actions become queued messages, and queued messages are sent (the shell).

``queue`` renders each planned message once and stores it, with its actions' idempotency keys,
in one transaction: an action whose key is stored is never rendered or queued again.
``flush`` sends what is ready and marks each message sent after the server's 250. A crash
between the 250 and that mark sends the same message again on the next run, with the same
Message-ID (so a mail system that deduplicates drops it); nothing else can send twice.
A temporary failure (4xx, network, authentication) is retried with a growing delay until
``[sending] retry_for`` has passed, then the message is marked failed; a permanent one (5xx)
is marked failed at once. ``casewatch status`` shows failed messages.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from daemon import faults, ics
from daemon.config import Config
from daemon.digest import Weekly
from daemon.model import Action, Event
from daemon.outbound.compose import TOKEN_SECRET, compose, message_id, reply_address, token, wire
from daemon.outbound.context import CaseView, build
from daemon.outbound.plan import Planned, plan
from daemon.outbound.render import render
from daemon.outbound.transports import PermanentFailure, TemporaryFailure, Transport
from daemon.policy.engine import Snapshot
from daemon.policy.rules import Context
from daemon.store.db import OutgoingRow, ReadyRow, Store

log = logging.getLogger(__name__.replace("daemon", "casewatch", 1))  # one namespace: casewatch.*
FIRST_RETRY = timedelta(minutes=2)
LONGEST_RETRY = timedelta(hours=1)
#: Messages read from the outbox at a time; a flush reads batch after batch until none is ready.
FLUSH_BATCH = 100


@dataclass
class SendCounts:
    queued: int = 0
    undeliverable: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    messages: list[str] = field(default_factory=list)  # Message-IDs queued this cycle
    last_error: str = ""  # the last temporary failure of this flush, if any

    def __str__(self) -> str:
        return f"queued {self.queued}, sent {self.sent}, retried {self.retried}, failed {self.failed}" + (
            f", undeliverable {self.undeliverable}" if self.undeliverable else ""
        )


@dataclass(frozen=True)
class Draft:
    """A planned message, rendered: what ``queue`` stores and ``send --dry-run`` prints."""

    planned: Planned
    message_id: str
    token: str
    raw: bytes
    subject: str


def _views(ctxs: Sequence[Context]) -> dict[str, CaseView]:
    return {c.number: CaseView(c.case, c.events, c) for c in ctxs}


def draft(
    planned: Planned,
    views: dict[str, CaseView],
    now: datetime,
    secret: bytes,
    references: Sequence[str],
    config: Config,
    weekly: Weekly | None = None,
) -> Draft:
    keys = [a.key for a in planned.actions]
    mid = message_id(keys, config)
    tok = token(secret, mid)
    reply_to = reply_address(tok, config)
    contexts = []
    for a in planned.actions:
        view = views.get(a.case) if a.case else None
        members = [views[n] for n in a.cases if n in views and n != a.case]
        contexts.append(build(a, view, members, now, reply_to, config, _digest(a, weekly, config), views))
    rendered = render(contexts, config.sending.templates)
    msg = compose(rendered, planned.actions, mid, reply_to, planned.to, planned.cc, references, now, config)
    for c in contexts:  # a digest carries its calendar: support calls, cut-offs, what falls due
        if c["kind"] == "digest" and (d := c["digest"]):
            stamp = datetime.fromisoformat(d["period"]["at"])
            data = ics.calendar(d["calendar"], stamp, f"casewatch: {d['pm']['name']}")
            msg.add_attachment(data, maintype="text", subtype="calendar", filename="casewatch.ics")
    return Draft(planned, mid, tok, wire(msg), rendered.subject)


def _digest(action: Action, weekly: Weekly | None, config: Config) -> dict[str, Any] | None:
    """The digest data of a digest action (as of its period's end), else None."""
    if action.kind != "digest" or weekly is None:
        return None
    pm = next((p for p in config.program_managers if p.email in action.to), None)
    if pm is None:
        return None
    return weekly.for_pm(pm, datetime.fromisoformat(action.data["period_end"]))


def _cases(actions: Sequence[Action]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n for a in actions for n in (a.cases or ((a.case,) if a.case else ()))))


def drafts(
    store: Store,
    ctxs: Sequence[Context],
    actions: Sequence[Action],
    now: datetime,
    config: Config,
    snapshot: Snapshot | None = None,
) -> list[Draft]:
    """Every message the due actions make, rendered (nothing stored)."""
    views = _views(ctxs)
    secret = store.secret(TOKEN_SECRET)
    planned = plan(actions, now, config, store.queued_for)
    # One engine run for all PMs; a mailbox that cannot be read is said, never called a quiet week.
    weekly = Weekly(snapshot, config, store.unread_since()) if snapshot is not None else None
    return [
        draft(p, views, now, secret, store.references(_cases(p.actions)), config, weekly) for p in planned
    ]


def queue(
    store: Store,
    ctxs: Sequence[Context],
    actions: Sequence[Action],
    now: datetime,
    config: Config,
    snapshot: Snapshot | None = None,
) -> SendCounts:
    """Render and store the messages of the due actions, each with its keys, exactly once."""
    counts = SendCounts()
    with store.transaction():
        for d in drafts(store, ctxs, actions, now, config, snapshot):
            p = d.planned
            row = OutgoingRow(
                message_id=d.message_id,
                token=d.token,
                kinds=tuple(dict.fromkeys(a.kind for a in p.actions)),
                cases=_cases(p.actions),
                sender=config.outbound.from_address,
                recipients=p.recipients,
                subject=d.subject,
                raw=d.raw,
                created_at=now,
                send_after=p.send_after,
                deadline=p.deadline,
                status="failed" if p.problem else "queued",
                last_error=p.problem,
            )
            keys = list({m: (m, a.kind, a.case) for a in p.actions for m in a.all_marks}.values())
            outbox_id = store.queue_message(row, keys)
            if outbox_id is None:
                continue  # already done: another process got there first
            faults.point("queue.message")
            events = [
                Event(
                    n,
                    now,
                    "reminder_sent",
                    "system",
                    d.message_id,
                    f"{a.kind} -> {', '.join(p.recipients) or 'nobody'}",
                    {"action": a.kind, "key": a.key},
                )
                for a in p.actions
                for n in (a.cases or ((a.case,) if a.case else ()))
            ]
            store.add_events(events, None)
            if p.problem:
                counts.undeliverable += 1
                log.warning("undeliverable %s: %s", d.message_id, p.problem)
            else:
                counts.queued += 1
                counts.messages.append(d.message_id)
    faults.point("queue.commit")
    return counts


def backoff(attempts: int) -> timedelta:
    return min(FIRST_RETRY * (1 << min(max(attempts, 0), 16)), LONGEST_RETRY)


def flush(
    store: Store,
    transport: Transport,
    now: datetime,
    counts: SendCounts | None = None,
    stopping: Callable[[], bool] = lambda: False,
) -> SendCounts:
    """Send every queued message whose time has come, however many; each result is committed
    at once. When each may go (quiet hours, ``[sending] daily_cap``) was decided when it was
    queued: what is not ready waits. The flush ends early when the server is unreachable (the
    rest waits for the next cycle) and, ``stopping`` being asked before each message, after the
    one in hand."""
    counts = counts or SendCounts()
    tried: set[int] = set()  # each message once per flush, even one still ready after its try
    while True:
        rows = [row for row in store.ready(now, limit=FLUSH_BATCH) if row["id"] not in tried]
        if not rows:
            return counts
        for row in rows:
            if stopping():
                return counts
            tried.add(row["id"])
            if not _send_one(store, transport, now, row, counts):
                return counts  # the server is unreachable: the other messages wait for the next cycle


def _send_one(store: Store, transport: Transport, now: datetime, row: ReadyRow, counts: SendCounts) -> bool:
    """Send one message and commit what became of it; False when the server cannot be reached."""
    faults.point("send.before")
    try:
        transport.send(row["sender"], row["recipients"], row["raw"], row["message_id"])
        faults.point("send.after")
    except PermanentFailure as exc:
        with store.transaction():
            if exc.accepted:
                store.set_recipients(row["id"], [r for r in row["recipients"] if r in exc.refused])
            store.mark_failed(row["id"], str(exc))
        counts.failed += 1
        log.error("failed %s: %s", row["message_id"], exc)
    except TemporaryFailure as exc:
        retry_at = now + backoff(row["attempts"])
        with store.transaction():
            if exc.accepted:
                # Some recipients have it already: only the refused ones get it again.
                store.set_recipients(row["id"], [r for r in row["recipients"] if r in exc.refused])
            if retry_at > row["deadline"]:
                store.mark_failed(row["id"], f"gave up after {row['attempts'] + 1} attempts: {exc}")
                counts.failed += 1
            else:
                store.mark_retry(row["id"], retry_at, str(exc))
                counts.retried += 1
        log.warning("will retry %s: %s", row["message_id"], exc)
        counts.last_error = str(exc)
        if exc.code is None and not exc.accepted:
            return False
    else:
        with store.transaction():
            store.mark_sent(row["id"], now)
        faults.point("send.marked")
        counts.sent += 1
        log.info("sent %s to %s", row["message_id"], ", ".join(row["recipients"]))
    return True
