"""One cycle of the daemon: gather (new mail, the timeline, now), decide, apply (queue, send).

``casewatch poll --once`` runs one; ``casewatch run`` will run them on a schedule. The clock is
read by the caller: a cycle runs "as of" the instant it is given (``--at`` replays).
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from datetime import datetime

from daemon.config import Config
from daemon.ingest import Counts, poll_imap
from daemon.outbound.outbox import SendCounts, flush, queue
from daemon.outbound.transports import Transport
from daemon.policy.engine import evaluate
from daemon.store import Store


@dataclass(frozen=True)
class CycleResult:
    read: Counts | None  # None when no mailbox is configured
    due: int
    sending: SendCounts


def decide_and_queue(store: Store, config: Config, now: datetime) -> tuple[int, SendCounts]:
    """Decide what is due at ``now`` and queue its mail; (how many actions were due, counts)."""
    snapshot = store.snapshot(now)
    gc.freeze()  # the snapshot is long-lived: keep the collector from rescanning it
    try:
        ctxs, due = evaluate(snapshot, now, config)
        return len(due), queue(store, ctxs, due, now, config, snapshot)
    finally:
        gc.unfreeze()


def run_cycle(store: Store, config: Config, now: datetime, transport: Transport) -> CycleResult:
    """Read new mail, decide what is due at ``now``, queue it, and send what is ready."""
    read = poll_imap(store, config, now=now) if config.mailbox.host else None
    due, counts = decide_and_queue(store, config, now)
    flush(store, transport, now, counts)
    with store.transaction():
        store.mark_run("cycle", str(counts), at=now)
    return CycleResult(read, due, counts)
