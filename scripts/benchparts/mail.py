"""The realistic mail mix, and putting it in the bench's Dovecot.

``messages(n, seed)`` is ``scripts/realmix.py``'s when that module exists; until then a
placeholder of the same signature stands in (``PLACEHOLDER`` says which ran): 60 % multipart
vendor notifications of about 29 KB (text and HTML), 20 % list posts with a quoted thread,
12 % member replies quoting the vendor, 8 % noise (auto-replies).
"""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

INSTITUTIONS = ["WWU", "UW", "WSU", "OSU", "UO", "REED", "WHIT", "LC", "PSU", "GU"]
SENTENCES = [
    "We have reproduced the issue in our test environment and are analysing the logs.",
    "Could you please send the letter activity report and an example user ID?",
    "The fix is planned for the next service pack; we will update you when it is deployed.",
    "Thank you for the information. We forwarded it to the development team.",
    "Patrons at the circulation desk cannot see the due date on the receipt.",
    "The job ran at 02:00 and finished with 312 errors, see the attached report.",
]


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(SENTENCES) for _ in range(n))


def _head(at: datetime, **headers: str) -> str:
    lines = [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return "\n".join([*lines, f"Date: {format_datetime(at)}", "MIME-Version: 1.0"])


def _notification(i: int, case: int, rng: random.Random, at: datetime) -> str:
    inst = INSTITUTIONS[case % len(INSTITUTIONS)]
    owner = f"staff{case % 97}@{inst.lower()}.edu"
    title = f"Overdue notices not sent for patron group {case % 13}"
    subject = f"New comment on Case {case}: {title}" if i % 3 else f"Case {case} has been created: {title}"
    fields = [
        ("Case Number", str(case)), ("Subject", title), ("Priority", rng.choice(["High", "Normal", "Low"])),
        ("Status", rng.choice(["In Progress - Tier 2", "New", "Pending Customer Input"])), ("Asset", "Alma"),
        ("Category", "Fulfillment"), ("Sub-Category", "Letters"), ("Contact", f"Staff Member ({owner})"),
        ("Account", f"01ALLIANCE_{inst}"),
    ]  # fmt: skip
    comment = _words(rng, 12)
    ref = f"ref:_00D1a._500Hs{case}:ref"
    text = "\n".join(f"{k}: {v}" for k, v in fields) + f"\n\n{comment}\n\n{ref}\n"
    rows = "\n".join(
        f'<tr><td style="font-weight:bold;padding:4px">{k}</td><td>{v}</td></tr>' for k, v in fields
    )
    style = "".join(
        f".c{j} {{ font-family: Arial; color: #{j:06x}; margin: {j % 9}px; }}\n" for j in range(150)
    )
    history = "\n".join(
        f'<tr><td class="c{j}">day {j}</td><td>{_words(rng, 2)}</td></tr>'
        for j in range(rng.randint(60, 110))
    )
    html = (
        f"<html><head><style>\n{style}</style></head><body>\n<table>\n{rows}\n</table>\n"
        f"<p>{comment}</p>\n<h3>Case history</h3>\n<table>\n{history}\n</table>\n"
        f'<p style="font-size:9px">{ref}</p></body></html>\n'
    )
    head = _head(
        at,
        From="Ex Libris Support <support@exlibrisgroup.com>",
        To=owner,
        Cc="casewatch@orbiscascade.org",
        Subject=subject,
        Message_ID=f"<mix.{i}.{case}@salesforce.example>",
    )
    part = 'Content-Type: text/{}; charset="utf-8"\nContent-Transfer-Encoding: 8bit\n\n{}'
    return (
        f'{head}\nContent-Type: multipart/alternative; boundary="b{i}"\n\n--b{i}\n'
        f"{part.format('plain', text)}\n--b{i}\n{part.format('html', html)}\n--b{i}--\n"
    )


def _plain(head: str, body: str) -> str:
    return f'{head}\nContent-Type: text/plain; charset="utf-8"\nContent-Transfer-Encoding: 8bit\n\n{body}'


def _list_post(i: int, case: int, rng: random.Random, at: datetime) -> str:
    quoted = "\n".join("> " * (1 + d % 3) + _words(rng, 2) for d in range(rng.randint(20, 80)))
    head = _head(
        at,
        From=f"Staff {i % 50} <staff{i % 50}@{INSTITUTIONS[i % 10].lower()}.edu>",
        To="alliance-fulfillment@lists.orbiscascade.org",
        Subject=f"Re: [fulfillment] letters not going out (SF {case})",
        Message_ID=f"<list.{i}@lists.example>",
        List_Id="<alliance-fulfillment.lists.orbiscascade.org>",
    )
    return _plain(head, f"{_words(rng, 3)}\n\nOn Monday someone wrote:\n{quoted}\n")


def _reply(i: int, case: int, rng: random.Random, at: datetime) -> str:
    quoted = "\n".join("> " + _words(rng, 1) for _ in range(rng.randint(10, 40)))
    head = _head(
        at,
        From=f"staff{case % 97}@{INSTITUTIONS[case % 10].lower()}.edu",
        To="support@exlibrisgroup.com",
        Cc="casewatch@orbiscascade.org",
        Subject=f"RE: New comment on Case {case}",
        Message_ID=f"<reply.{i}@member.example>",
    )
    return _plain(head, f"{_words(rng, 2)}\n\n{quoted}\n")


def _noise(i: int, case: int, rng: random.Random, at: datetime) -> str:
    head = _head(
        at,
        From=f"staff{i % 40}@uw.edu",
        To="casewatch@orbiscascade.org",
        Subject="Automatic reply: out of office",
        Auto_Submitted="auto-replied",
        Message_ID=f"<noise.{i}@uw.edu>",
    )
    return _plain(head, "I am out of the office until Monday. " + _words(rng, 1) + "\n")


def placeholder_messages(n: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    start = datetime(2025, 1, 6, 16, 0, tzinfo=UTC)
    out = []
    for i in range(n):
        case = 11000000 + i // 8
        roll = rng.random()
        make = (
            _notification if roll < 0.6 else _list_post if roll < 0.8 else _reply if roll < 0.92 else _noise
        )
        out.append(make(i, case, rng, start + timedelta(minutes=7 * i)).replace("\n", "\r\n").encode())
    return out


def _which() -> tuple[Callable[[int, int], list[bytes]], bool]:
    try:
        from realmix import messages as real  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return placeholder_messages, True
    return real, False


messages, PLACEHOLDER = _which()


def fill_more(dovecot: Any, folder: str, data: list[bytes], first: int = 0) -> None:
    """Add messages to a Maildir folder as Dovecot's own files (the folder is made on the first
    call, ``first == 0``); ``index`` then lets Dovecot read them, before any timed run."""
    if first == 0:
        dovecot.create_folder(folder)
    cur = Path(dovecot.dir) / "home" / "Maildir" / f".{folder}" / "cur"
    stamp = int(time.time())
    for i, raw in enumerate(data, start=first):
        path = cur / f"{stamp}.M{i:07d}P1.bench:2,"
        path.write_bytes(raw)
        if os.geteuid() == 0:
            os.chown(path, dovecot._uid, dovecot._gid)


def index(dovecot: Any, folder: str) -> None:
    with dovecot.client() as c:
        c.select_folder(folder, readonly=True)
        c.search(["ALL"])


def renamed(raw: bytes, tag: str) -> bytes:
    """The message with its Message-ID made unique by ``tag`` (to append it again as new mail)."""
    return re.sub(rb"(?im)^(message-id:\s*<)", lambda m: m.group(1) + tag.encode() + b".", raw, count=1)
