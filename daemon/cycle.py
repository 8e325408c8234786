"""One cycle of the daemon: gather (new mail, the timeline, now), decide, apply (queue, send).

``casewatch poll --once`` runs one; ``casewatch run`` will run them on a schedule. The clock is
read by the caller: a cycle runs "as of" the instant it is given (``--at`` replays).

A cycle that finds the last evaluation's schedule standing (nothing written to the snapshot's
tables since, the same config, ``now`` before the next instant at which the decision can change:
``daemon.policy.schedule``) decides nothing without reading the snapshot: an idle tick costs two
indexed reads, whatever the number of cases.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from datetime import datetime

from daemon.config import Config
from daemon.ingest import Counts, poll_imap
from daemon.outbound.outbox import SendCounts, flush, queue
from daemon.outbound.transports import Transport
from daemon.policy import schedule
from daemon.store import Store
from daemon.store import schedule as stored
from daemon.store.db import CLOSED_HORIZON


@dataclass(frozen=True)
class CycleResult:
    read: Counts | None  # None when no mailbox is configured
    due: int
    sending: SendCounts


def decide_and_queue(store: Store, config: Config, now: datetime) -> tuple[int, SendCounts]:
    """Decide what is due at ``now`` and queue its mail; (how many actions were due, counts).

    Nothing is read or decided while the stored schedule stands; else every case is decided,
    and the schedule kept when nothing was due and nothing written since the snapshot (mail
    queued now adds events the rules read: the next cycle decides again)."""
    fingerprint = schedule.fingerprint(config)
    if stored.standing(store, fingerprint, now) is not None:
        return 0, SendCounts()
    seen = stored.generation(store)
    snapshot = store.snapshot(now)
    later = stored.later(store, now)
    gc.freeze()  # the snapshot is long-lived: keep the collector from rescanning it
    try:
        ctxs, due, plan = schedule.decide(snapshot, now, config, later, CLOSED_HORIZON)
        counts = queue(store, ctxs, due, now, config, snapshot)
    finally:
        gc.unfreeze()
    with store.transaction():
        stored.keep(store, None if due else plan, fingerprint, seen)
    return len(due), counts


def run_cycle(store: Store, config: Config, now: datetime, transport: Transport) -> CycleResult:
    """Read new mail, decide what is due at ``now``, queue it, and send what is ready."""
    read = poll_imap(store, config, now=now) if config.mailbox.host else None
    due, counts = decide_and_queue(store, config, now)
    flush(store, transport, now, counts)
    with store.transaction():
        store.mark_run("cycle", str(counts), at=now)
    return CycleResult(read, due, counts)
