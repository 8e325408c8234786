"""The reply handler: a reply to one of our messages, checked and turned into events (the shell).

A reply is acted on only when all of these hold; otherwise it is stored, ignored and logged,
and never answered (no backscatter to forged senders):
1. it was sent to a plus-address whose token names a message we sent (``outbox.token``), and
   the token is the HMAC of that message's Message-ID under our secret;
2. when ``[replies] require_authentication`` is on, the topmost ``Authentication-Results``
   header of our own server (``authserv_id``) says ``dmarc=pass`` or ``dkim=pass``;
3. the sender is a person: not a list's address, not one of ours, not the vendor's;
4. the sender may act on the case (``apply.authorize``): its owner, staff of the same
   institution, or a program manager.
The token binds a reply to its message: its cases, its recipients and its time.
- A reply to a message sent more than ``[replies] token_days`` ago is refused with a short
  note pointing to the newest message about the case.
- Commands act only on the message's cases; a PM may name other cases. Anyone else naming
  another case gets one short refusal, and nothing in that reply is applied.
- ``owner`` and ``handover`` accept only addresses of member institutions or PMs; any other
  address is refused with the reason, and nothing in that reply is applied.
- A command from someone who was not among the message's recipients (a colleague, a PM) is
  applied, and the confirmation copies the message's recipients, with ``undo``: an ``undo`` in
  answer to a confirmation takes back the reply it confirmed, whoever sent it.
Noise (auto-replies, bounces, list mail, our own loop header) never reaches here: the
recognizers file it as noise first. Every applied reply is confirmed by mail; a reply with
nothing understood gets a short help reply. Help and refusals are limited: ``[replies]
help_per_day`` per sender and ``help_per_hour`` in all; beyond that they are only logged. No
reply of ours goes to a list, an address of ours or the vendor.

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

from daemon.commands.apply import Applied, Replied, apply, authorize, may_own
from daemon.commands.grammar import read_commands
from daemon.config import Config
from daemon.model import Case, Recognition
from daemon.outbound.compose import TOKEN_SECRET, headed, is_vendor, reply_address, token, wire
from daemon.outbound.compose import message_id as make_message_id
from daemon.outbound.context import ReplyContext, commands_for
from daemon.outbound.render import environment, one_line
from daemon.recognize import Mail
from daemon.store.db import OutgoingRow, Store, TokenRow
from daemon.timeline import Outcome

log = logging.getLogger(__name__.replace("daemon", "casewatch", 1))  # one namespace: casewatch.*
_AUTH_PASS = re.compile(r"\b(dmarc|dkim)\s*=\s*pass\b", re.IGNORECASE)


@dataclass(frozen=True)
class Handled:
    outcome: Outcome  # the events to store (or why none)
    outgoing: tuple[tuple[OutgoingRow, list[tuple[str, str, str | None]]], ...] = ()


def authenticated(mail: Mail, config: Config) -> bool:
    """Our receiving server vouches for the sender (DMARC or DKIM pass): only the topmost
    ``Authentication-Results`` with our ``authserv_id`` counts. A server adds its header above
    the ones it received, so one the sender forged (with any id) is below it, or alone."""
    wanted = config.replies.authserv_id.lower()
    for value in mail.headers.get("authentication-results", ()):
        server = value.split(";", 1)[0].strip().lower().split()[0:1]
        if wanted and server != [wanted]:
            continue
        return bool(_AUTH_PASS.search(value))
    return False


#: Our messages that are answers to replies: help and refusals are rate-limited together.
ANSWERS = ("confirmation", "help", "refusal")
LIMITED = ("help", "refusal")


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
        return ignore(f"no DMARC or DKIM pass in an Authentication-Results of {config.replies.authserv_id}")
    if not sender:
        return ignore("no sender address")
    if config.is_ours(sender) or is_vendor(sender, config):
        return ignore(f"{sender} is a list's, the consortium's or the vendor's address: it never acts")
    replied = Replied(
        row["message_id"], tuple(row["kinds"]), tuple(row["cases"]), store.confirmed_reply(row["id"])
    )
    is_pm = config.is_pm(sender)

    def refuse(why: str, lines: list[str]) -> Handled:
        """Nothing applied; the sender gets one short note (when the limits allow)."""
        log.warning("reply from %s refused: %s", sender, why)
        note = Applied(problems=tuple(lines))
        return Handled(
            Outcome(ignored=f"reply refused: {why}"),
            _answer(store, config, mail, note, at, key, sender, secret, kind="refusal"),
        )

    sent_at = row["created_at"]
    if (now or at) - sent_at > timedelta(days=config.replies.token_days):
        return refuse(f"its message is from {sent_at:%Y-%m-%d}", [_too_old(store, config, row)])
    reading = read_commands(rec.reply_text, at, config.tz)
    others = sorted({s.case for s in reading.commands if s.case} - set(replied.cases))
    if others and not is_pm:
        about = ", ".join(replied.cases) or "no case"
        return refuse(
            f"it names case(s) {', '.join(others)}, not in its message",
            [
                f"You named case {', '.join(others)}: a reply can act only on the case(s) its message "
                f"was about ({about}). Reply to a message about that case instead."
            ],
        )
    strangers = [s.address for s in reading.commands if s.address and s.name in ("owner", "handover")]
    if bad := [a for a in strangers if not may_own(a, config)]:
        return refuse(
            f"owner/handover to {', '.join(bad)}",
            [
                f"{a} is not an address of a member institution or of a program manager: a case "
                "can be handed only to someone there."
                for a in bad
            ],
        )
    named = set(replied.cases) | set(others)
    cases: dict[str, Case] = {}
    for number in sorted(named):
        case = store.case(number)
        if case is not None and authorize(sender, case, config):
            cases[number] = case
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
    # Someone not among the message's recipients acted: they are told, with undo.
    recipients = {r.lower() for r in row["recipients"]}
    told = () if sender in recipients else tuple(r for r in row["recipients"] if r.lower() != sender)
    outgoing = _answer(store, config, mail, applied, at, key, sender, secret, told=told)
    if not applied.events:
        why = "; ".join(applied.problems) or "no command"
        return Handled(Outcome(ignored=f"reply with nothing applied: {why}"), outgoing)
    log.info("reply from %s applied: %s", sender, " ".join(applied.done))
    return Handled(Outcome(events=applied.events, links=applied.links), outgoing)


def _too_old(store: Store, config: Config, row: TokenRow) -> str:
    """The note for a reply to a message too old to act on: where to reply instead."""
    newest = next(
        (n for case in row["cases"] if (n := store.newest_about(case, kinds_not=ANSWERS)) is not None),
        None,
    )
    where = (
        f'reply to the newest one about it, "{newest["subject"]}" of {newest["created_at"]:%Y-%m-%d}'
        if newest and newest["created_at"] > row["created_at"]
        else "wait for the next reminder about it and reply to that one"
    )
    return (
        f"The message you answered was sent on {row['created_at']:%Y-%m-%d}, more than "
        f"{config.replies.token_days} days ago, so casewatch no longer acts on replies to it: {where}."
    )


def _limited(store: Store, config: Config, sender: str, at: datetime) -> str:
    """Why no more help or refusal may go out now ("" when it may)."""
    if (
        store.sent_recently(sender, "help", at - timedelta(days=1))
        + store.sent_recently(sender, "refusal", at - timedelta(days=1))
        >= config.replies.help_per_day
    ):
        return f"{config.replies.help_per_day} already today to {sender}"
    if store.sent_since(LIMITED, at - timedelta(hours=1)) >= config.replies.help_per_hour:
        return f"{config.replies.help_per_hour} help replies in the last hour, to anyone"
    return ""


def _answer(
    store: Store,
    config: Config,
    mail: Mail,
    applied: Applied,
    at: datetime,
    key: str,
    sender: str,
    secret: bytes,
    kind: str = "",
    told: tuple[str, ...] = (),
) -> tuple[tuple[OutgoingRow, list[tuple[str, str, str | None]]], ...]:
    """The confirmation (or help, or refusal) mail to the sender, queued like any other message.
    ``told``: the recipients of the answered message, when the sender was not among them."""
    kind = kind or ("confirmation" if applied.done else "help")
    if kind != "refusal" and not applied.done and not applied.help and not applied.problems:
        return ()
    if kind in LIMITED and (why := _limited(store, config, sender, at)):
        log.warning("no %s reply to %s: %s", kind, sender, why)
        return ()
    copy: tuple[str, ...] = ()
    if kind == "confirmation":
        wanted = dict.fromkeys(a.lower() for a in (*applied.copy, *told))
        copy = tuple(a for a in wanted if a != sender and not config.is_ours(a) and not is_vendor(a, config))
    mid = make_message_id([f"reply:{key}"], config)
    tok = token(secret, mid)
    reply_to = reply_address(tok, config)
    env = environment(config.sending.templates)
    ctx: ReplyContext = {
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
        "outsider": bool(told),  # the sender was not among the answered message's recipients
        "refused": kind == "refusal",
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
    keys: list[tuple[str, str, str | None]] = [(f"reply:{key}", kind, None)]
    if applied.events:  # what `undo` in answer to this confirmation takes back
        keys.append((f"confirms:{applied.events[0].message_id}", kind, None))
    return ((row, keys),)
