"""Builds test messages as bytes, the way real clients and Salesforce write them."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

VENDOR = "Ex Libris Support <support@proquest.com>"
SHARED = "casewatch@orbiscascade.org"


def message(
    *,
    sender: str = VENDOR,
    to: str = "jdoe@wwu.edu",
    cc: str | None = SHARED,
    subject: str = "New comment on Case 10712345: Overdue notices",
    body: str = "A new comment has been added to your case 10712345:\n\nWe are looking into it.\n",
    date: str = "Tue, 06 Oct 2026 14:40:00 +0000",
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
    html: str | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    if date:
        msg["Date"] = date
    msg["Message-ID"] = message_id or make_msgid(domain="test.invalid")
    for name, value in (headers or {}).items():
        msg[name] = value
    if html is not None:
        msg.set_content(html, subtype="html")
    else:
        msg.set_content(body)
    return msg.as_bytes()


def created(
    case: str = "10712345",
    *,
    priority: str = "Normal",
    account: str = "01ALLIANCE_WWU",
    contact: str = "Jane Doe (jdoe@wwu.edu)",
    date: str = "Mon, 05 Oct 2026 17:12:00 +0000",
    token: str = "thread::abcDEF123456::",
    message_id: str | None = None,
) -> bytes:
    body = (
        f'Your case {case} "Overdue notices not sent" has been received.\n\n'
        f"Priority: {priority}\nAsset: Alma\nCategory: Fulfillment\nSub-Category: Letters\n"
        f"Status: New\nContact: {contact}\nAccount: {account}\n\nDescription:\nNo notices.\n\n{token}\n"
    )
    return message(
        subject=f"Case {case} has been created: Overdue notices not sent [ {token} ]",
        body=body,
        date=date,
        message_id=message_id,
    )
