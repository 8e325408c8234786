"""The reply handler: a reply to one of our messages, checked and turned into events (the shell).

A reply is acted on only when all of these hold; otherwise it is stored, ignored and logged,
and never answered (no backscatter to forged senders):
1. it was sent to a plus-address whose token names a message we sent (``outbox.token``), and
   the token is the HMAC of that message's Message-ID under our secret;
2. when ``[replies] require_authentication`` is on, the receiving server's
   ``Authentication-Results`` says ``dmarc=pass`` or ``dkim=pass``;
3. the sender may act on the case (``apply.authorize``): its owner, staff of the same
   institution, or a program manager.
Noise (auto-replies, bounces, list mail, our own loop header) never reaches here: the
recognizers file it as noise first. Every applied reply is confirmed by mail; a reply with
nothing understood gets a short help reply, at most ``[replies] help_per_day`` a day.

The confirmation goes to the sender, copies the owner of a case someone else acted on, and says
in its subject what was done to which case. It is sendable at once: a reply is taken as written
when its ``Date`` says, but never later than the cycle that reads it (``now``), so a client
clock running fast delays neither its commands nor the confirmation.
"""

from __future__ import annotations

import hmac
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from daemon.commands.apply import Applied, Replied, apply, authorize
from daemon.commands.grammar import read_commands
from daemon.config import Config
from daemon.model import Case, Recognition
from daemon.outbound.compose import TOKEN_SECRET, headed, reply_address, token, wire
from daemon.outbound.compose import message_id as make_message_id
from daemon.outbound.context import commands_for
from daemon.outbound.render import environment, one_line
from daemon.recognize import Mail
from daemon.store.db import OutgoingRow, Store
from daemon.timeline import Outcome

log = logging.getLogger(__name__)
_AUTH_PASS = re.compile(r"\b(dmarc|dkim)\s*=\s*pass\b", re.IGNORECASE)


@dataclass(frozen=True)
class Handled:
    outcome: Outcome  # the events to store (or why none)
    outgoing: tuple[tuple[OutgoingRow, list[tuple[str, str, str | None]]], ...] = ()


def authenticated(mail: Mail, config: Config) -> bool:
    """The receiving server vouches for the sender (DMARC or DKIM pass)."""
    wanted = config.replies.authserv_id.lower()
    for value in mail.headers.get("authentication-results", ()):
        server = value.split(";", 1)[0].strip().lower()
        if wanted and server != wanted:
            continue
        if _AUTH_PASS.search(value):
            return True
    return False


def handle(
    store: Store,
    config: Config,
    mail: Mail,
    rec: Recognition,
    at: datetime,
    key: str,
    now: datetime | None = None,
) -> Handled:
    """What a reply to casewatch does; call inside the ingest transaction. ``at`` is when the
    reply says it was written, ``now`` the instant of the cycle reading it (when known)."""
    sender = (rec.sender or "").lower()
    if now is not None and at > now:
        log.info("reply from %s is dated %s, after now (%s): taken as written now", sender, at, now)
        at = now

    def ignore(why: str) -> Handled:
        log.warning("reply from %s ignored: %s", sender or "(no sender)", why)
        return Handled(Outcome(ignored=f"reply ignored: {why}"))

    if not rec.token:
        return ignore("not sent to a reply address of ours (no token)")
    row = store.outbox_by_token(rec.token)
    secret = store.secret(TOKEN_SECRET)
    if row is None or not hmac.compare_digest(rec.token, token(secret, row["message_id"])):
        return ignore("the token names no message of ours")
    if config.replies.require_authentication and not authenticated(mail, config):
        return ignore("no DMARC or DKIM pass in Authentication-Results")
    if not sender:
        return ignore("no sender address")
    replied = Replied(row["message_id"], tuple(row["kinds"]), tuple(row["cases"]))
    reading = read_commands(rec.reply_text, at, config.tz)
    named = {s.case for s in reading.commands if s.case} | set(replied.cases)
    cases: dict[str, Case] = {}
    refused = []
    for number in sorted(named):
        case = store.case(number)
        if case is not None and authorize(sender, case, config):
            cases[number] = case
        elif case is not None:
            refused.append(number)
    own = [
        c
        for c in store.cases()
        if (c.owner or "").lower() == sender and c.state in ("open", "pending_customer")
    ]
    if not cases and not (own and any(s.name == "handover" for s in reading.commands)):
        return ignore(f"{sender} may not act on case(s) {', '.join(sorted(named)) or '(none)'}")
    applied = apply(
        reading,
        replied,
        cases,
        sender,
        at,
        mail.message_id or key,
        config,
        own_open_cases=own,
        feedback_used=frozenset(n for n in cases if store.has_event(n, "in_case_feedback")),
        last_reply={n: m for n in cases if (m := store.last_reply(n, sender))},
    )
    outgoing = _answer(store, config, mail, applied, at, key, sender, secret)
    if not applied.events:
        why = "; ".join(applied.problems) or "no command"
        return Handled(Outcome(ignored=f"reply with nothing applied: {why}"), outgoing)
    log.info("reply from %s applied: %s", sender, " ".join(applied.done))
    return Handled(Outcome(events=applied.events, links=applied.links), outgoing)


def _answer(
    store: Store,
    config: Config,
    mail: Mail,
    applied: Applied,
    at: datetime,
    key: str,
    sender: str,
    secret: bytes,
) -> tuple[tuple[OutgoingRow, list[tuple[str, str, str | None]]], ...]:
    """The confirmation (or help) mail to the sender, queued like any other message."""
    kind = "confirmation" if applied.done else "help"
    if not applied.done and not applied.help and not applied.problems:
        return ()
    if (
        kind == "help"
        and store.sent_recently(sender, "help", at - timedelta(days=1)) >= config.replies.help_per_day
    ):
        log.warning("no help reply to %s: %d already today", sender, config.replies.help_per_day)
        return ()
    copy = applied.copy if kind == "confirmation" else ()
    mid = make_message_id([f"reply:{key}"], config)
    tok = token(secret, mid)
    reply_to = reply_address(tok, config)
    env = environment(config.sending.templates)
    ctx = {
        "consortium": config.consortium.name,
        "done": list(applied.done),
        "problems": list(applied.problems),
        "help": applied.help or bool(applied.problems),
        "commands": commands_for(["request_update", "escalate", "pm_assist"]),
        "reply_to": reply_to,
        "cases": list(applied.touched),
        "headline": applied.headline,  # what was done to which case ("snoozed case N until Dec 15")
        "sender": sender,
        "copied": list(copy),  # the owners copied because someone else acted on their case
    }
    subject = one_line(env.get_template("reply.subject.txt").render(ctx))
    msg = headed(
        config,
        to=[sender],
        cc=copy,
        subject=subject,
        mid=mid,
        at=at,
        kinds=[kind],
        cases=applied.touched,
        reply_to=reply_to,
        references=[f"<{mail.message_id}>"] if mail.message_id else [],
        auto="auto-replied",
    )
    msg.set_content(env.get_template("reply.txt").render(ctx))
    msg.add_alternative(env.get_template("reply.html").render(ctx), subtype="html")
    raw = wire(msg)
    row = OutgoingRow(
        message_id=mid,
        token=tok,
        kinds=(kind,),
        cases=applied.touched,
        sender=config.outbound.from_address,
        recipients=(sender, *copy),
        subject=subject,
        raw=raw,
        created_at=at,
        send_after=at,
        deadline=at + timedelta(days=2),
    )
    return ((row, [(f"reply:{key}", kind, None)]),)
