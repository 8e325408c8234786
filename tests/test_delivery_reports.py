"""Delivery reports for casewatch's own mail: the owner who cannot be reached is told to the PM.

Policy: "if you will be leaving your position you should work with your colleagues to determine
the appropriate person to take over each of your cases" — a permanent failure (5.x.x) for our
reminder to the owner means the owner has likely left: ``owner_unreachable`` goes to the area PM.
A delay (4.x.x), or a report about mail that is not ours, changes nothing. Never answered.
"""

from __future__ import annotations

import email
from email.message import EmailMessage

from test_replies import CASE, OWNER, World, world  # noqa: F401  (world: a fixture)

from daemon.recognize import parse
from daemon.recognize.dsn import read

PM = "mlopez@orbiscascade.org"


def report(
    returned_id: str, rcpt: str, status: str = "5.1.1", action: str = "failed", attach: bool = False
) -> bytes:
    """A delivery report as Postfix (returned headers) or Exchange (the message attached) writes it."""
    returned = (
        f"From: casewatch <casewatch@orbiscascade.org>\r\nTo: {rcpt}\r\nSubject: Case {CASE}: update\r\n"
        f"Message-ID: <{returned_id}>\r\n"
    )
    returned_part = (
        "Content-Type: message/rfc822\r\n\r\n" + returned + "\r\nHello,\r\n"
        if attach
        else "Content-Type: text/rfc822-headers\r\n\r\n" + returned
    )
    text = (
        "Return-Path: <>\r\nFrom: Mail Delivery System <MAILER-DAEMON@mx.wwu.edu>\r\n"
        "To: casewatch@orbiscascade.org\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Date: Wed, 07 Oct 2026 19:30:00 +0000\r\nMessage-ID: <dsn-1@mx.wwu.edu>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="BB"\r\n\r\n'
        "--BB\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\r\n"
        "--BB\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.wwu.edu\r\n\r\n"
        f"Final-Recipient: rfc822; {rcpt}\r\nAction: {action}\r\nStatus: {status}\r\n\r\n"
        f"--BB\r\n{returned_part}\r\n--BB--\r\n"
    )
    return text.encode("ascii")


def test_a_report_says_which_recipient_failed_and_which_message_came_back() -> None:
    for attach in (False, True):
        raw = report("casewatch.0123456789abcdef@orbiscascade.org", "JDoe@wwu.edu", attach=attach)
        mail = parse(raw)
        assert [(d.recipient, d.action, d.status, d.permanent) for d in mail.delivery] == [
            ("jdoe@wwu.edu", "failed", "5.1.1", True)
        ]
        assert mail.returned_id == "casewatch.0123456789abcdef@orbiscascade.org"
    msg = email.message_from_bytes(report("x@y", "a@b", status="4.4.1", action="delayed"))
    [(delay,), _] = read(msg)
    assert (delay.action, delay.permanent) == ("delayed", False)


def our_reminder(w: World) -> EmailMessage:
    [reminder] = w.sent()
    return reminder


def test_a_permanent_failure_of_our_reminder_to_the_owner_tells_the_pm(world: World) -> None:  # noqa: F811
    reminder = our_reminder(world)
    mid = str(reminder["Message-ID"]).strip("<>")
    world.dovecot.append(world.folder, report(mid, OWNER))
    world.cycle("2026-10-07 12:35")
    [event] = [e for e in world.store.events(CASE) if e.data.get("delivery") == "failed"]
    assert (event.data["recipient"], event.data["permanent"]) == (OWNER, True)
    [alert] = [m for m in world.sent() if "owner_unreachable" in str(m["X-Casewatch-Action"])]
    assert PM in str(alert["To"])
    assert not any("mailer-daemon" in r.lower() for m in world.smtp.messages for r in m.rcpt_tos)


def test_a_delay_or_a_report_about_mail_not_ours_changes_nothing(world: World) -> None:  # noqa: F811
    reminder = our_reminder(world)
    mid = str(reminder["Message-ID"]).strip("<>")
    world.dovecot.append(world.folder, report(mid, OWNER, status="4.4.1", action="delayed"))
    world.dovecot.append(world.folder, report("casewatch.ffffffffffffffff@orbiscascade.org", OWNER))
    world.dovecot.append(world.folder, report("someone-else@example.org", OWNER))
    world.cycle("2026-10-07 12:35")
    assert not any("owner_unreachable" in str(m["X-Casewatch-Action"]) for m in world.sent())
    assert len(world.sent()) == 1  # the reminder alone: no alert, no answer to a report
