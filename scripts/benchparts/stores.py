"""Generated stores of N cases (``build``: ``scripts/scalestore.py``'s), and the config the bench
runs casewatch with."""

from __future__ import annotations

from pathlib import Path

from scalestore import NOW as NOW  # noqa: PLC0414
from scalestore import build as build  # noqa: PLC0414

PMS = (
    ("Maria Lopez", "mlopez@orbiscascade.org", "fulfillment"),
    ("Sam Reyes", "sreyes@orbiscascade.org", "systems"),
)


def write_config(
    path: Path, db: Path, outbox: Path, *, port: int = 0, user: str = "", folder: str = "INBOX"
) -> Path:
    """A config file for the bench's casewatch: its database, a file transport, PMs with areas, and
    the bench's Dovecot as the mailbox when ``port`` is given."""
    lines = [
        "[consortium]",
        'timezone = "America/Los_Angeles"',
        "[state]",
        f'db = "{db}"',
        "[outbound]",
        'transport = "file"',
        f'folder = "{outbox}"',
    ]
    for name, email, area in PMS:
        lines += ["[[program_managers]]", f'name = "{name}"', f'email = "{email}"', f'areas = ["{area}"]']
    if port:
        lines += [
            "[mailbox]",
            'host = "127.0.0.1"',
            f"port = {port}",
            'security = "plain"',
            f'username = "{user}"',
            f'folders = ["{folder}"]',
            "timeout = 60.0",
        ]
    path.write_text("\n".join(lines) + "\n")
    return path
