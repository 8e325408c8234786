"""The admin alert: after N failures of one kind in a row, mail the admin once; again on recovery.

Kinds are the stages of a cycle that talk to the world: ``imap`` (reading mail), ``smtp``
(sending), ``decide`` (a bug in deciding or rendering), ``store``. The counts live in the state
database, so a restart neither forgets a failure nor alerts twice. The alert is queued in the
outbox like any message: when SMTP itself is failing it goes out once SMTP works again,
together with the recovery notice.

One alert cannot wait in the outbox: the state database itself removed or replaced under the
running daemon (``database_lost``). It is sent at once, and only once: the daemon then stops.
"""

from __future__ import annotations

import logging
from datetime import datetime

from daemon.config import Config
from daemon.outbound.compose import headed, message_id, wire
from daemon.outbound.transports import Transport
from daemon.store.db import OutgoingRow, Store

log = logging.getLogger(__name__.replace("daemon", "casewatch", 1))  # one namespace: casewatch.*

MEANING = {
    "imap": "casewatch cannot read the shared mailbox, so new vendor and list mail is not seen",
    "smtp": "casewatch cannot send mail, so reminders wait in its outbox (none is lost)",
    "decide": "casewatch fails while deciding or writing reminders (a bug: please report it)",
    "store": "casewatch cannot write its state database (disk full or read-only?)",
}


def _mail(config: Config, subject: str, body: str, key: str, at: datetime) -> OutgoingRow:
    mid = message_id([key], config)
    msg = headed(config, to=[config.daemon.admin], subject=subject, mid=mid, at=at, kinds=["admin_alert"])
    msg.set_content(body)
    return OutgoingRow(
        message_id=mid,
        token=mid,  # not for replies: unique, never a valid reply token (not hex)
        kinds=("admin_alert",),
        cases=(),
        sender=config.outbound.from_address,
        recipients=(config.daemon.admin,),
        subject=subject,
        raw=wire(msg),
        created_at=at,
        send_after=at,
        deadline=at.replace(year=at.year + 1),
    )


def failed(store: Store, config: Config, kind: str, error: str, at: datetime) -> None:
    """Count a failure; alert the admin once when there have been ``alert_after`` in a row."""
    with store.transaction():
        row = store.failed(kind, error, at)
        if row["count"] < config.daemon.alert_after or row["alerted"] or not config.daemon.admin:
            return
        subject = f"casewatch: {kind} failing since {row['since'][:16]} UTC"
        body = (
            f"Hello,\n\n{MEANING.get(kind, kind)}.\n\n"
            f"It has failed {row['count']} times in a row since {row['since']} (UTC).\n"
            f"The last error: {row['last_error']}\n\n"
            "casewatch keeps trying on its own, with growing pauses. `casewatch status` shows the\n"
            "state; the README's operations section says what to check. You will get one more\n"
            "message when it works again.\n"
        )
        store.queue_message(
            _mail(config, subject, body, f"admin:{kind}:{row['since']}", at),
            [(f"admin:{kind}:{row['since']}", "admin_alert", None)],
        )
        store.mark_alerted(kind)
    log.error("%s failing %d times in a row; the admin %s is told", kind, row["count"], config.daemon.admin)


def succeeded(store: Store, config: Config, kind: str, at: datetime) -> None:
    """Forget the failures of ``kind``; tell the admin it works again if they were alerted."""
    if store.failure(kind) is None:
        return
    with store.transaction():
        before = store.recovered(kind)
        if not before or not before["alerted"] or not config.daemon.admin:
            return
        subject = f"casewatch: {kind} works again"
        body = (
            f"Hello,\n\ncasewatch's {kind} works again since {at.isoformat()}, after "
            f"{before['count']} failures in a row that began {before['since']} (UTC).\n"
            "Nothing was lost: what could not be done then is done now.\n"
        )
        key = f"admin-ok:{kind}:{before['since']}"
        store.queue_message(_mail(config, subject, body, key, at), [(key, "admin_alert", None)])
    log.info("%s works again", kind)


def database_lost(config: Config, transport: Transport, what: str, at: datetime) -> bool:
    """Tell the admin at once (not through the outbox: it lives in the lost file) that the state
    database was removed or replaced under the daemon, which stops. Whether the mail left."""
    if not config.daemon.admin:
        log.error("no [daemon] admin to tell that %s", what)
        return False
    subject = "casewatch stopped: its state database was removed or replaced"
    body = (
        f"Hello,\n\n{what}, so casewatch stopped (exit 3) at {at.isoformat()} rather than go on\n"
        "writing to a file nobody will read again. What it wrote since then is lost; nothing\n"
        "was sent twice.\n\n"
        "To run again: put the right database back at that path (from a backup), or leave the\n"
        "path empty to start afresh (casewatch then reads the whole mailbox again), and start\n"
        "casewatch. If another program replaced the file, stop it first.\n"
    )
    row = _mail(config, subject, body, f"admin:database:{at.isoformat()}", at)
    try:
        transport.send(row.sender, list(row.recipients), row.raw, row.message_id)
    except Exception as e:
        log.error("cannot tell the admin %s that %s: %s", config.daemon.admin, what, e)
        return False
    log.info("the admin %s is told that %s", config.daemon.admin, what)
    return True
