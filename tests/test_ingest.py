"""Ingest from files into a real SQLite file: exactly once, nothing lost, isolation."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from daemon.config import Config, Lists
from daemon.ingest import Counts, Ingester, dedup_keys, ingest
from daemon.model import Batch, Cursor, RawMessage
from daemon.sources.files import read_paths, split_mbox
from daemon.store import Store
from tests import mailmaker


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "cw.db")
    yield s
    s.close()


def raw(data: bytes, origin: str = "test") -> RawMessage:
    return RawMessage(data=data, origin=origin)


def test_reingesting_the_same_messages_changes_nothing(store: Store) -> None:
    msgs = [raw(mailmaker.created()), raw(mailmaker.message())]
    first = ingest(store, Config(), msgs)
    events = store.events("10712345")
    second = ingest(store, Config(), msgs)
    assert (first.ingested, first.duplicates) == (2, 0)
    assert (second.ingested, second.duplicates) == (0, 2)
    assert store.events("10712345") == events
    assert store.message_count() == 2


def test_same_message_id_with_other_bytes_is_a_duplicate(store: Store) -> None:
    """A list copy of a message we also got directly carries the same Message-ID."""
    a = mailmaker.message(message_id="<same@x>")
    b = mailmaker.message(message_id="<same@x>", headers={"List-Id": "<l.example.org>"})
    counts = ingest(store, Config(), [raw(a), raw(b)])
    assert (counts.ingested, counts.duplicates) == (1, 1)


def test_seen_keys_answers_as_seen_for_many_keys(store: Store) -> None:
    """The batch's one look-up (in parts of a few hundred keys) finds what ``seen`` finds."""
    stored = [mailmaker.message(message_id=f"<k{i}@x>") for i in range(0, 900, 7)]
    ingest(store, Config(), [raw(m) for m in stored])
    store.add_quarantine("sha:q", "q.eml", "test", None)
    keys = [f"mid:k{i}@x" for i in range(900)] + ["sha:q", "sha:nothing"]
    assert store.seen_keys(keys) == {k for k in keys if store.seen([k])}
    assert len(store.seen_keys(keys)) == len(stored) + 1


def test_message_without_message_id_is_keyed_by_its_bytes() -> None:
    data = b"From: a@b.c\nSubject: x\n\nbody\n"
    key, sha = dedup_keys(data)
    assert key == sha
    assert key.startswith("sha:")
    assert dedup_keys(b"From: a@b.c\nMessage-ID:\n <x@y>\n\nb")[0] == "mid:x@y"


def test_bad_message_is_quarantined_with_bytes_and_reason_and_the_batch_goes_on(store: Store) -> None:
    good = mailmaker.created()
    bad = b""
    junk = b'{"this": "is json, not mail"}\n'
    counts = ingest(store, Config(), [raw(bad, "empty.eml"), raw(good), raw(junk, "x.json")])
    assert counts == Counts(ingested=1, duplicates=0, ignored=0, quarantined=2)
    rows = {r["origin"]: r["reason"] for r in store.quarantined()}
    assert set(rows) == {"empty.eml", "x.json"}
    assert "empty" in rows["empty.eml"]
    assert "no mail headers" in rows["x.json"]
    stored = store.conn.execute("SELECT raw FROM quarantine WHERE origin = 'x.json'").fetchone()[0]
    assert stored == junk
    again = ingest(store, Config(), [raw(junk, "x.json")])
    assert again.duplicates == 1


def test_noise_is_stored_but_changes_no_case(store: Store) -> None:
    ooo = mailmaker.message(
        sender="Jane Doe <jdoe@wwu.edu>",
        to="casewatch@orbiscascade.org",
        cc=None,
        subject="Automatic reply: Case 10712345",
        body="Out of office.",
        headers={"Auto-Submitted": "auto-replied"},
    )
    counts = ingest(store, Config(), [raw(ooo)])
    assert (counts.ignored, counts.ingested) == (1, 0)
    assert store.cases() == []
    assert store.message_count() == 1


def test_batch_commits_messages_and_cursor_together(store: Store) -> None:
    ingester = Ingester(store, Config())
    cursor = Cursor("INBOX", 7, 42)
    ingester.apply(Batch((raw(mailmaker.created()),), cursor=cursor))
    assert store.cursor("INBOX") == cursor
    assert store.case("10712345") is not None


def test_failed_transaction_leaves_neither_messages_nor_cursor(store: Store) -> None:
    ingester = Ingester(store, Config())
    store.conn.execute("CREATE TRIGGER boom BEFORE INSERT ON cursors BEGIN SELECT RAISE(ABORT, 'disk'); END")
    with pytest.raises(Exception, match="disk"):
        ingester.apply(Batch((raw(mailmaker.created()),), cursor=Cursor("INBOX", 7, 42)))
    assert store.message_count() == 0
    assert store.cursor("INBOX") is None
    assert store.cases() == []


def test_fetch_failure_is_quarantined_once(store: Store) -> None:
    from daemon.model import FetchFailure

    ingester = Ingester(store, Config())
    failure = FetchFailure("imap:INBOX:9", "server said NO", "INBOX", 9)
    assert ingester.apply(Batch((), (failure,))).quarantined == 1
    assert ingester.apply(Batch((), (failure,))).duplicates == 1


def test_thread_token_alone_finds_the_case(store: Store) -> None:
    token = "thread::tokOnly123456::"
    follow = mailmaker.message(
        subject=f"Your case has an update [ {token} ]",
        body=f"A new comment has been added.\n\nPlease retry.\n{token}\n",
        date="Wed, 07 Oct 2026 10:00:00 +0000",
    )
    ingest(store, Config(), [raw(mailmaker.created(token=token)), raw(follow)])
    kinds = [e.kind for e in store.events("10712345")]
    assert kinds == ["case_opened", "vendor_comment"]


def test_reply_to_a_known_vendor_message_finds_the_case(store: Store) -> None:
    reply = mailmaker.message(
        sender="jdoe@wwu.edu",
        to="support@proquest.com",
        subject="RE: your question",
        body="Here is the log you asked for.",
        date="Wed, 07 Oct 2026 10:00:00 +0000",
        headers={"In-Reply-To": "<orig@sfdc.net>"},
    )
    ingest(store, Config(), [raw(mailmaker.created(message_id="<orig@sfdc.net>")), raw(reply)])
    assert [e.kind for e in store.events("10712345")] == ["case_opened", "member_comment"]


def test_later_vendor_mail_wins_whatever_the_reading_order(tmp_path: Path) -> None:
    early = mailmaker.created(priority="Normal", date="Mon, 05 Oct 2026 17:00:00 +0000")
    late = mailmaker.message(
        subject="Case 10712345 has been updated",
        body="Priority: High\nStatus: In Progress\n",
        date="Tue, 06 Oct 2026 17:00:00 +0000",
    )
    results = []
    for name, order in (("a", [early, late]), ("b", [late, early])):
        with Store(tmp_path / f"{name}.db") as s:
            ingest(s, Config(), [raw(m) for m in order])
            case = s.case("10712345")
            assert case is not None
            results.append((case.priority, case.status, case.state))
    assert results == [("high", "In Progress", "open")] * 2


def test_zoneless_date_is_read_in_the_consortium_zone_and_logged(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    data = mailmaker.created(date="Mon, 05 Oct 2026 10:00:00 -0000")
    ingest(store, Config(), [raw(data)])
    (event,) = store.events("10712345")
    assert event.at == datetime(2026, 10, 5, 17, 0, tzinfo=UTC)
    assert "without a zone" in caplog.text


def test_mbox_is_split_and_from_lines_unescaped() -> None:
    data = (
        b"From a@b Mon Oct  5 10:00:00 2026\nSubject: one\n\n>From here\n\n"
        b"From c@d Mon Oct  5 11:00:00 2026\nSubject: two\n\nx\n"
    )
    assert split_mbox(data) == [b"Subject: one\n\nFrom here\n\n", b"Subject: two\n\nx\n"]


def test_maildir_folder_and_mbox_file_are_read(tmp_path: Path) -> None:
    maildir = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "new" / "1.host").write_bytes(mailmaker.created())
    (maildir / "tmp" / "2.host").write_bytes(b"half written")
    mbox = tmp_path / "box.mbox"
    mbox.write_bytes(b"From x Mon Oct  5 10:00:00 2026\n" + mailmaker.message())
    origins = [m.origin for m in read_paths([maildir, mbox])]
    assert origins == [str(maildir / "new" / "1.host"), f"{mbox}#1"]


def test_two_stores_share_one_file(tmp_path: Path) -> None:
    """The CLI and the daemon each open the file; a write waits for the other."""
    path = tmp_path / "cw.db"
    a, b = Store(path), Store(path)
    with a.transaction():
        a.mark_run("poll")
    ingest(b, Config(), [raw(mailmaker.created())])
    assert a.case("10712345") is not None
    assert a.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    a.close()
    b.close()


def test_unwritable_database_is_a_runtime_failure(tmp_path: Path) -> None:
    from daemon.store.db import StoreError

    (tmp_path / "ro").mkdir()
    (tmp_path / "ro" / "cw.db").write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError, match="cannot open"):
        Store(tmp_path / "ro" / "cw.db")
    assert sqlite3.sqlite_version  # the stdlib driver is the one in use


def test_parsing_in_worker_processes_stores_exactly_what_parsing_in_place_does(tmp_path: Path) -> None:
    """Big batches are parsed by a pool of worker processes while the store is written; the
    result is the same, message for message, as parsing one at a time in this process."""
    from daemon.ingest import batches

    folder = Path(__file__).parent / "fixtures" / "due" / "other-words"
    results = []
    for workers in (1, 2):
        with Store(tmp_path / f"w{workers}.db") as store:
            ingester = Ingester(store, Config(), workers=workers)
            try:
                counts = [c.__dict__ for c in ingester.apply_all(batches(read_paths([folder]), size=40))]
            finally:
                ingester.close()
            events = [
                (e.case, e.at, e.kind, e.actor, e.message_id, e.data)
                for c in store.cases()
                for e in store.events(c.number)
            ]
            messages = store.conn.execute(
                "SELECT key, message_id, sha256, origin, at, family, kind, sender, subject, note, raw"
                " FROM messages ORDER BY key"
            ).fetchall()
            results.append((counts, [c.to_json() for c in store.cases()], events, messages))
        assert ingester._pool is None  # closed
        assert ingester.parallel_batches == (1 if workers == 2 else 0)
    assert results[0] == results[1]
    assert results[0][1]  # something was stored
    assert results[0][3]


def _list_post(body: str, subject: str = "[alma-l] Cases from our export") -> bytes:
    return mailmaker.message(
        sender="Hanna Brandt <hbrandt@lclark.edu>",
        to="alma-l@lists.example.org",
        cc=None,
        subject=subject,
        body=body,
        date="Wed, 07 Oct 2026 16:00:00 +0000",
        headers={
            "List-Id": "Alma users <alma-l.lists.example.org>",
            "Sender": "alma-l-bounces@lists.example.org",
            "Precedence": "list",
        },
    )


def _mentions(store: Store, case: str) -> list[str]:
    return [e.kind for e in store.events(case) if e.kind == "list_mention"]


def test_a_list_post_citing_10000_numbers_opens_no_case_and_mentions_the_known_ones(store: Store) -> None:
    """One post citing 10,000 numbers (a pasted export) creates no list-only case: it records
    a mention for each case already known and links nothing (``[lists] max_citations``)."""
    ingest(store, Config(), [raw(mailmaker.created("10712345")), raw(mailmaker.created("10712399"))])
    numbers = [f"{30000000 + 7 * i:08d}" for i in range(9998)] + ["10712345", "10712399"]
    lines = [f"SF case #{n} - closed in the export" for n in numbers[:5000]]
    lines.append("and the rest: cases " + ", ".join(numbers[5000:]))
    post = _list_post("Hi all,\n\nOur export of old cases:\n\n" + "\n".join(lines) + "\n\nHanna\n")

    counts = ingest(store, Config(), [raw(post)])

    assert counts.ingested == 1
    assert [c.number for c in store.cases()] == ["10712345", "10712399"]
    assert _mentions(store, "10712345") == ["list_mention"]
    assert _mentions(store, "10712399") == ["list_mention"]
    assert store.events(numbers[0]) == []
    assert store.links() == []


def test_a_list_post_over_the_limit_citing_no_known_case_is_ignored_with_a_reason(store: Store) -> None:
    post = _list_post("Please look at cases 10712401, 10712402 and 10712403.")
    config = Config(lists=Lists(max_citations=2))

    counts = ingest(store, config, [raw(post)])

    assert (counts.ingested, counts.ignored) == (0, 1)
    assert store.cases() == []
    note = store.conn.execute("SELECT note FROM messages").fetchone()[0]
    assert "max_citations" in note


def test_a_list_post_up_to_the_limit_still_opens_list_only_cases_and_links_them(store: Store) -> None:
    post = _list_post("Please look at cases 10712401 and 10712402.")
    config = Config(lists=Lists(max_citations=2))

    ingest(store, config, [raw(post)])

    assert [c.number for c in store.cases()] == ["10712401", "10712402"]
    assert {(link.a, link.b) for link in store.links()} == {("10712401", "10712402")}


def test_sigint_is_held_only_while_the_pool_can_still_be_starting_workers(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGINT is held back (``sigint_held``) while the parsing workers start, and only then: once
    the pool has its workers, holding it again for each batch only opens windows in which a
    Ctrl-C can be lost."""
    import contextlib

    from daemon import ingest as ingest_mod

    held: list[int] = []
    real = ingest_mod.sigint_held

    @contextlib.contextmanager
    def counted():  # type: ignore[no-untyped-def]
        held.append(1)
        with real():
            yield

    monkeypatch.setattr(ingest_mod, "sigint_held", counted)
    ingester = Ingester(store, Config(), workers=2)
    big = [
        Batch(tuple(raw(mailmaker.created(f"1075{b}{n:03d}")) for n in range(ingest_mod.PARALLEL_FROM)))
        for b in range(4)
    ]
    try:
        counts = list(ingester.apply_all(big))
    finally:
        ingester.close()
    assert sum(c.ingested for c in counts) == 4 * ingest_mod.PARALLEL_FROM
    assert ingester.parallel_batches == 4
    assert 1 <= len(held) < 4  # the first batch starts the workers; the last ones find them there


def test_the_parsing_workers_import_no_store_and_no_reply_handler() -> None:
    """A parsing worker starts as a fresh interpreter that imports daemon.ingest: it loads the
    recognizers, not the store, SQLite, the reply commands or the policy (they cost it a
    start-up of twice the time, on every backfill)."""
    probe = (
        "import sys, daemon.ingest; print(sorted(m for m in sys.modules if m.startswith("
        "('daemon.store', 'daemon.commands', 'daemon.policy', 'daemon.outbound', 'sqlite'))))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
