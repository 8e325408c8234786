"""Reply commands end to end, on real servers: a reminder goes out through aiosmtpd, the reply is
written the way a mail client writes it and APPENDed to Dovecot, a poll applies it and sends the
confirmation. Spoofed, forged, foreign and automatic replies change nothing and send nothing."""

from __future__ import annotations

import dataclasses
import email
import email.policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from dovecot import Dovecot
from mailmaker import created
from policytools import t
from smtpserver import SmtpServer

from daemon.config import Config, parse
from daemon.cycle import run_cycle
from daemon.outbound.transports import SmtpTransport
from daemon.store import Store

CASE = "10712345"
OWNER = "jdoe@wwu.edu"


def config_for(dovecot: Dovecot, folder: str, smtp: SmtpServer) -> Config:
    cfg = parse(
        {
            "institutions": [
                {"code": "WWU", "name": "Western Washington University", "domains": ["wwu.edu"]},
                {"code": "UW", "name": "University of Washington", "domains": ["uw.edu"]},
            ],
            "program_managers": [
                {"name": "Maria Lopez", "email": "mlopez@orbiscascade.org", "areas": ["fulfillment"]}
            ],
            "actions": {"digest": {"enabled": False}, "agenda": {"enabled": False}},
        }
    )
    return dataclasses.replace(
        cfg,
        mailbox=dovecot.mailbox(folders=(folder,)),
        smtp=smtp.smtp(),
        outbound=dataclasses.replace(cfg.outbound, transport="smtp"),
    )


class World:
    """The store, the servers and the clock of one test."""

    def __init__(self, store: Store, cfg: Config, dovecot: Dovecot, folder: str, smtp: SmtpServer) -> None:
        self.store, self.cfg, self.dovecot, self.folder, self.smtp = store, cfg, dovecot, folder, smtp

    def cycle(self, at: str):
        with SmtpTransport(self.cfg.smtp, None) as transport:
            return run_cycle(self.store, self.cfg, t(at), transport)

    def sent(self) -> list[EmailMessage]:
        out = []
        for m in self.smtp.messages:
            msg = email.message_from_bytes(m.data, policy=email.policy.default)
            assert isinstance(msg, EmailMessage)
            out.append(msg)
        return out

    def reply(self, to: EmailMessage, body: str, sender: str = OWNER, **kw) -> None:
        self.dovecot.append(self.folder, reply(to, body, sender, **kw))

    def timeline(self) -> list[str]:
        return [e.kind for e in self.store.events(CASE)]


@pytest.fixture
def world(dovecot: Dovecot, imap_folder: str, smtp: SmtpServer, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("CASEWATCH_IMAP_PASSWORD", dovecot.password)
    cfg = config_for(dovecot, imap_folder, smtp)
    dovecot.append(imap_folder, created(CASE))  # Mon 2026-10-05 10:12 PDT, normal priority
    with Store(tmp_path / "cw.db") as store:
        w = World(store, cfg, dovecot, imap_folder, smtp)
        # Wed 2026-10-07 11:00: two business days of silence; one message to the owner carries
        # request_update (and description_gaps: the description is one line).
        w.cycle("2026-10-07 11:00")
        yield w


def reply(
    to: EmailMessage,
    body: str,
    sender: str = OWNER,
    *,
    html: bool = False,
    date: str = "2026-10-07 12:00",
    headers: dict[str, str] | None = None,
    reply_to: str | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = reply_to or str(to["Reply-To"])
    msg["Subject"] = f"RE: {to['Subject']}"
    msg["Date"] = format_datetime(t(date))
    msg["Message-ID"] = f"<reply-{abs(hash((body, sender, date)))}@wwu.edu>"
    msg["In-Reply-To"] = to["Message-ID"]
    msg["References"] = to["Message-ID"]
    for name, value in (headers or {}).items():
        msg[name] = value
    if html:
        msg.set_content(body, subtype="html")
    else:
        msg.set_content(body)
    return msg.as_bytes()


def confirmations(world: World) -> list[EmailMessage]:
    """The confirmations sent (the same cycle may send other mail: the PM's escalation FYI)."""
    return [m for m in world.sent() if m["X-Casewatch-Action"] == "confirmation"]


QUOTED = "> Case 10712345: time to ask Ex Libris for an update\n> Hello,\n"

CLIENTS = {
    "outlook-top-post": (
        "commented\n\nJane\n\n________________________________\nFrom: casewatch (Orbis Cascade Alliance) "
        "<casewatch@orbiscascade.org>\nSent: Wednesday, October 7, 2026 11:00 AM\nTo: Doe, Jane "
        "<jdoe@wwu.edu>\nSubject: Case 10712345: time to ask Ex Libris for an update\n\nHello,\n"
    ),
    "gmail-quote": (
        "commented\n\nOn Wed, Oct 7, 2026 at 11:00 AM casewatch (Orbis Cascade Alliance) <\n"
        "casewatch@orbiscascade.org> wrote:\n\n" + QUOTED
    ),
    "apple-mail": (
        "Commented.\n\nSent from my iPhone\n\n> On Oct 7, 2026, at 11:00, casewatch "
        "<casewatch@orbiscascade.org> wrote:\n" + QUOTED
    ),
    "signature-dash-lines": "commented\n- Jane Doe\n- Circulation, WWU Libraries\n\n" + QUOTED,
    "german-attribution": (
        "commented\n\nAm 07.10.2026 um 11:00 schrieb casewatch <casewatch@orbiscascade.org>:\n" + QUOTED
    ),
}


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_a_reply_from_a_real_client_is_applied_and_confirmed(world, client):
    [reminder] = world.sent()
    assert "request_update" in reminder["X-Casewatch-Action"]
    world.reply(reminder, CLIENTS[client])
    result = world.cycle("2026-10-07 12:05")
    assert result.read is not None
    assert result.read.ingested == 1
    assert world.timeline().count("update_requested") == 1
    confirmation = world.sent()[-1]
    assert confirmation["X-Casewatch-Action"] == "confirmation"
    assert confirmation["To"] == OWNER
    assert confirmation["In-Reply-To"]
    assert "asked Ex Libris for an update" in confirmation.get_body(("plain",)).get_content()
    # Two business days after the update request, escalate is due (the clock started).
    world.cycle("2026-10-09 12:05")
    assert "escalate" in world.sent()[-1]["X-Casewatch-Action"]


def test_an_html_only_reply_is_read(world):
    [reminder] = world.sent()
    world.reply(reminder, "<div>snooze 3d</div><div><br></div><blockquote>old text</blockquote>", html=True)
    world.cycle("2026-10-07 12:05")
    [command] = [e for e in world.store.events(CASE) if e.kind == "command"]
    assert command.data["command"] == "snooze"
    assert "snoozed until" in world.sent()[-1].get_body(("plain",)).get_content()


def test_undo_in_reply_to_the_confirmation_takes_the_command_back(world):
    [reminder] = world.sent()
    world.reply(reminder, "escalated\n")
    world.cycle("2026-10-07 12:05")
    confirmation = world.sent()[-1]
    world.reply(confirmation, "undo\n", date="2026-10-07 12:10")
    world.cycle("2026-10-07 12:15")
    assert world.sent()[-1]["X-Casewatch-Action"] == "confirmation"
    # The escalation is undone: the case is back on step 1, whose reminder went already.
    assert world.store.case(CASE) is not None
    world.cycle("2026-10-12 12:00")
    kinds = [m["X-Casewatch-Action"] for m in world.sent()]
    assert not any("pm_assist" in k for k in kinds)


def test_nothing_understood_gets_a_help_reply_but_not_endlessly(world):
    [reminder] = world.sent()
    for n in range(5):
        world.reply(reminder, f"What does this mean? ({n})\n", date=f"2026-10-07 12:0{n}")
    world.cycle("2026-10-07 12:30")
    helps = [m for m in world.sent() if m["X-Casewatch-Action"] == "help"]
    assert len(helps) == world.cfg.replies.help_per_day
    assert "snooze" in helps[0].get_body(("plain",)).get_content()
    assert "update_requested" not in world.timeline()


def test_handover_moves_all_my_open_cases_and_tells_both(world):
    world.dovecot.append(
        world.folder,
        created("10712399", date="Mon, 05 Oct 2026 18:00:00 +0000", token="thread::zzzYYY999999::"),
    )
    world.cycle("2026-10-07 11:30")
    reminder = world.sent()[0]
    world.reply(reminder, "handover kim@wwu.edu\n")
    world.cycle("2026-10-07 12:05")
    cases = {c.number: c for c in world.store.cases()}
    assert cases[CASE].owner == "kim@wwu.edu"
    assert cases["10712399"].owner == "kim@wwu.edu"
    handovers = [m for m in world.sent() if "handover" in m["X-Casewatch-Action"]]
    assert handovers
    people = {a.strip() for m in handovers for a in str(m["To"]).split(",")}
    assert {"kim@wwu.edu", OWNER} <= people


# --------------------------------------------------------------------------- nobody else


def unchanged(world, before_events: int, before_mail: int) -> None:
    assert len(world.store.events(CASE)) == before_events
    assert len(world.smtp.messages) == before_mail
    # Read, stored and ignored with the reason: not quarantined (which would mean a crash).
    assert world.store.health()["quarantined"] == 0
    [note] = [
        r[0] for r in world.store.conn.execute("SELECT note FROM messages WHERE family IN ('reply', 'noise')")
    ]
    assert note


@pytest.mark.parametrize(
    "who",
    [
        pytest.param({"sender": "mallory@example.com"}, id="spoofed-sender"),
        pytest.param({"sender": "staff@uw.edu"}, id="another-institution"),
        pytest.param({"reply_to": "casewatch+0123456789abcdef@orbiscascade.org"}, id="forged-token"),
        pytest.param({"reply_to": "casewatch@orbiscascade.org"}, id="no-token"),
        pytest.param({"headers": {"Auto-Submitted": "auto-replied"}}, id="out-of-office"),
        pytest.param({"headers": {"X-Casewatch-Loop": "casewatch@orbiscascade.org"}}, id="our-loop-header"),
    ],
)
def test_replies_nobody_may_send_change_nothing_and_get_no_answer(world, who):
    [reminder] = world.sent()
    before_events, before_mail = len(world.store.events(CASE)), len(world.smtp.messages)
    world.reply(reminder, "closed\n", **who)
    world.cycle("2026-10-07 12:05")
    unchanged(world, before_events, before_mail)


def test_staff_of_the_same_institution_may_act(world):
    [reminder] = world.sent()
    world.reply(reminder, "escalated\n", sender="colleague@wwu.edu")
    world.cycle("2026-10-07 12:05")
    assert "escalation_requested" in world.timeline()
    [confirmation] = confirmations(world)
    assert confirmation["To"] == "colleague@wwu.edu"


def test_a_pm_only_command_from_the_owner_is_refused_and_explained(world):
    [reminder] = world.sent()
    world.reply(reminder, "record\n")
    world.cycle("2026-10-07 12:05")
    assert "case_of_record" not in world.timeline()
    answer = world.sent()[-1].get_body(("plain",)).get_content()
    assert "only a program manager" in answer


def test_required_authentication_refuses_unauthenticated_replies(world):
    world.cfg = dataclasses.replace(
        world.cfg,
        replies=dataclasses.replace(
            world.cfg.replies, require_authentication=True, authserv_id="mx.orbiscascade.org"
        ),
    )
    [reminder] = world.sent()
    before_events, before_mail = len(world.store.events(CASE)), len(world.smtp.messages)
    world.reply(reminder, "escalated\n", headers={"Authentication-Results": "mx.wwu.edu; dmarc=fail"})
    world.cycle("2026-10-07 12:05")
    unchanged(world, before_events, before_mail)
    world.reply(
        reminder,
        "escalated\n",
        date="2026-10-07 12:20",
        headers={"Authentication-Results": "mx.orbiscascade.org; dkim=pass header.d=wwu.edu; dmarc=pass"},
    )
    world.cycle("2026-10-07 12:25")
    assert "escalation_requested" in world.timeline()


# --------------------------------------------------------------------------- as people write them


def test_a_greeting_and_a_remark_around_the_command_are_read_and_confirmed_by_name(world):
    [reminder] = world.sent()
    world.reply(reminder, "Hi,\n\nDone, thanks!\n\n" + CLIENTS["gmail-quote"].split("\n", 2)[2])
    result = world.cycle("2026-10-07 12:05")
    assert result.read is not None
    assert result.read.ingested == 1
    assert world.timeline().count("update_requested") == 1
    confirmation = world.sent()[-1]
    assert confirmation["X-Casewatch-Action"] == "confirmation"
    assert confirmation["Subject"] == f"casewatch: noted the update request on case {CASE}"
    assert "Cc" not in confirmation  # the owner wrote it


def test_a_snooze_confirmation_says_snoozed_until_when(world):
    [reminder] = world.sent()
    world.reply(reminder, "Hello Maria,\n\nsnoozed until 12/15, thanks\n\n" + QUOTED)
    world.cycle("2026-10-07 12:05")
    [command] = [e for e in world.store.events(CASE) if e.kind == "command"]
    assert command.data["until"] == t("2026-12-15 09:00").isoformat()
    assert world.sent()[-1]["Subject"] == f"casewatch: snoozed case {CASE} until Dec 15"


def test_a_colleagues_command_is_confirmed_to_them_and_copies_the_owner(world):
    [reminder] = world.sent()
    world.reply(reminder, "escalated - called them too\n", sender="colleague@wwu.edu")
    world.cycle("2026-10-07 12:05")
    assert "escalation_requested" in world.timeline()
    [confirmation] = confirmations(world)
    assert confirmation["To"] == "colleague@wwu.edu"
    assert confirmation["Cc"] == OWNER
    [envelope] = [m for m in world.smtp.messages if b"X-Casewatch-Action: confirmation" in m.data]
    assert sorted(envelope.rcpt_tos) == sorted(["colleague@wwu.edu", OWNER])
    text = " ".join(confirmation.get_body(("plain",)).get_content().split())
    assert "colleague@wwu.edu, who was not among the recipients of the message answered, acted on it" in text
    assert 'Any of you can reply "undo" to this message to take it back.' in text


def test_a_reply_dated_minutes_ahead_is_applied_and_confirmed_in_the_cycle_that_reads_it(world):
    """A client clock 4 minutes fast: the reply says 12:09, the cycle reading it runs at 12:05."""
    [reminder] = world.sent()
    world.reply(reminder, "mute\n", date="2026-10-07 12:09")
    world.cycle("2026-10-07 12:05")
    confirmation = world.sent()[-1]
    assert confirmation["X-Casewatch-Action"] == "confirmation"
    assert confirmation["Subject"] == f"casewatch: muted case {CASE}"
    # The command counts from the cycle's instant, not from a time that has not come yet.
    [mute] = [e for e in world.store.events(CASE) if e.kind == "command"]
    assert mute.at == t("2026-10-07 12:05")
    assert confirmation["Date"].datetime == t("2026-10-07 12:05")
