"""The realistic mail mix (``messages(n, seed)``: ``scripts/realmix.py``'s), and putting it in the
bench's Dovecot."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

from realmix import messages as messages  # noqa: PLC0414


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
