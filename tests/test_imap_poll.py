"""Polling a real Dovecot into a real SQLite file: every message stored exactly once."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from dovecot import CuttingProxy, Dovecot

from daemon.config import Config
from daemon.ingest import poll_imap
from daemon.sources.imap import MailboxError
from daemon.store import Store
from tests import mailmaker

pytestmark = pytest.mark.imap


def notification(n: int) -> bytes:
    """A distinct vendor notification: case 107200NN opened on day NN."""
    return mailmaker.created(
        case=f"107200{n:02d}",
        date=f"Mon, {n % 28 + 1:02d} Sep 2026 10:00:00 +0000",
        token=f"thread::token{n:08d}::",
        message_id=f"<note{n}@sfdc.test>",
    )


def config_for(dovecot: Dovecot, folder: str, **mailbox: object) -> Config:
    return Config(mailbox=dovecot.mailbox(folders=(folder,), batch_size=3, **mailbox))


def event_counts(store: Store) -> list[int]:
    return [len(store.events(c.number)) for c in store.cases()]


def test_poll_stores_each_message_once_and_moves_the_cursor(
    dovecot: Dovecot, imap_folder: str, tmp_path: Path
) -> None:
    for n in range(1, 8):
        dovecot.append(imap_folder, notification(n))
    cfg = config_for(dovecot, imap_folder)
    with Store(tmp_path / "cw.db") as store:
        first = poll_imap(store, cfg, dovecot.password)
        again = poll_imap(store, cfg, dovecot.password)
        dovecot.append(imap_folder, notification(8))
        later = poll_imap(store, cfg, dovecot.password)
        cursor = store.cursor(imap_folder)
        assert (first.ingested, first.duplicates) == (7, 0)
        assert again.read == 0
        assert (later.ingested, later.read) == (1, 1)
        assert cursor is not None
        assert cursor.last_uid == 8
        assert cursor.uidvalidity == dovecot.uidvalidity(imap_folder)
        assert store.message_count() == 8
        assert event_counts(store) == [1] * 8
    assert all(b"\\Seen" not in flags for flags in dovecot.flags(imap_folder).values())


def test_uidvalidity_change_rescans_without_duplicates(
    dovecot: Dovecot, imap_folder: str, tmp_path: Path
) -> None:
    for n in range(1, 6):
        dovecot.append(imap_folder, notification(n))
    cfg = config_for(dovecot, imap_folder)
    with Store(tmp_path / "cw.db") as store:
        poll_imap(store, cfg, dovecot.password)
        new_validity = dovecot.reset_uidvalidity(imap_folder)
        dovecot.append(imap_folder, notification(6))
        rescan = poll_imap(store, cfg, dovecot.password)
        cursor = store.cursor(imap_folder)
        assert (rescan.ingested, rescan.duplicates) == (1, 5)
        assert cursor is not None
        assert (cursor.uidvalidity, cursor.last_uid) == (new_validity, 6)
        assert store.message_count() == 6
        assert event_counts(store) == [1] * 6


def test_connection_cut_mid_run_resumes_exactly_once(
    dovecot: Dovecot, imap_folder: str, tmp_path: Path
) -> None:
    total = 12
    for n in range(1, total + 1):
        dovecot.append(imap_folder, notification(n))
    with CuttingProxy(dovecot.port) as proxy, Store(tmp_path / "cw.db") as store:
        cfg = config_for(dovecot, imap_folder, port=proxy.port)
        proxy.cut_after(6000)  # past login and the first batch, well before the end
        with pytest.raises(MailboxError):
            poll_imap(store, cfg, dovecot.password)
        partial = store.message_count()
        cursor = store.cursor(imap_folder)
        assert 0 < partial < total
        assert cursor is not None
        assert cursor.last_uid == partial  # the cursor moved with what was committed
        resumed = poll_imap(
            store, replace(cfg, mailbox=dovecot.mailbox(folders=(imap_folder,))), dovecot.password
        )
        assert (resumed.ingested, resumed.duplicates) == (total - partial, 0)
        assert store.message_count() == total
        assert event_counts(store) == [1] * total


def test_wrong_password_is_a_mailbox_error(dovecot: Dovecot, imap_folder: str, tmp_path: Path) -> None:
    with Store(tmp_path / "cw.db") as store, pytest.raises(MailboxError) as caught:
        poll_imap(store, config_for(dovecot, imap_folder), "not-the-password")
    assert "not-the-password" not in str(caught.value)
