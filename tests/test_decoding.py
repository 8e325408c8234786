"""Decoding never raises: every header and body that cannot be read as declared falls back
(UTF-8 or latin-1 for an unknown charset, U+FFFD for invalid bytes, the text as written for an
encoded word that cannot be decoded) and the message's note says what fell back.

Each message here is a vendor notification made broken in one place; it must still create its
case (through the real ingest into SQLite) and its stored note must name the fallback."""

from __future__ import annotations

import base64
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.config import Config
from daemon.ingest import Ingester
from daemon.model import Batch, RawMessage
from daemon.store import Store

parse_mod = importlib.import_module("daemon.recognize.parse")  # the module, not the function

BODY = (
    "Thank you for contacting Ex Libris Support.\n"
    'Your case 10712345 "Overdue notices not sent" has been received.\n\n'
    "Priority: High\nAsset: Alma\nStatus: New\nContact: Jane Doe (jdoe@wwu.edu)\n"
    "Account: 01ALLIANCE_WWU\n\nDescription:\nNo overdue notices since the release.\n"
)
HEADERS = {
    "From": b"Ex Libris Support <support@proquest.com>",
    "To": b"jdoe@wwu.edu",
    "Subject": b"Case 10712345 has been created: Overdue notices not sent",
    "Date": b"Mon, 05 Oct 2026 17:12:00 +0000",
    "Message-ID": b"<decoding-test@sfdc.test>",
    "MIME-Version": b"1.0",
    "Content-Type": b'text/plain; charset="utf-8"',
    "Content-Transfer-Encoding": b"8bit",
}


def notification(body: bytes | None = None, **replace: bytes) -> bytes:
    """The notification, with some headers replaced (``X_Mailer`` for ``X-Mailer``; added when new)."""
    headers = dict(HEADERS)
    headers.update({name.replace("_", "-"): value for name, value in replace.items()})
    head = b"".join(name.encode() + b": " + value + b"\r\n" for name, value in headers.items())
    return head + b"\r\n" + (BODY.encode() if body is None else body)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "cw.db")
    yield s
    s.close()


def ingested(store: Store, data: bytes) -> str:
    """Ingest one message; the note stored with it (fails when it was not stored)."""
    ingester = Ingester(store, Config(), workers=1)
    try:
        counts = ingester.apply(Batch((RawMessage(data, "test"),)))
    finally:
        ingester.close()
    assert store.quarantined() == [], store.quarantined()
    assert counts.ingested == 1, counts
    [(note,)] = store.conn.execute("SELECT note FROM messages").fetchall()
    return str(note)


CASES = {
    "bad charset name in X-Mailer": (
        notification(X_Mailer="=?utf-8\xe9?q?Salesforce?=".encode()),
        ["X-Mailer", "unknown charset", "utf-8é"],
    ),
    "unknown charset in Subject": (
        notification(Subject=b"=?x-no-such-charset?q?Case_10712345_has_been_created=3A_Overdue?="),
        ["Subject", "unknown charset", "x-no-such-charset"],
    ),
    "bad charset in the From display name": (
        notification(From=b"=?bogus\xff?b?RXggTGlicmlz?= <support@proquest.com>"),
        ["From", "unknown charset"],
    ),
    "unknown charset of the body part": (
        notification(
            Content_Type=b'text/plain; charset="x-klingon"', body=BODY.replace("Jane", "Jäne").encode()
        ),
        ["x-klingon"],
    ),
    "undecodable base64 body": (
        notification(
            Content_Transfer_Encoding=b"base64",
            body=base64.encodebytes(BODY.encode()).replace(b"\n", b"!!\n", 3) + b"Zm9vY",
        ),
        ["base64"],
    ),
    "raw 8-bit bytes in a header": (
        notification(Subject=b"Case 10712345 has been created: caf\xe9 notices"),
        ["Subject", "raw 8-bit bytes", "latin-1"],
    ),
    "encoded word with an unknown encoding letter": (
        notification(X_Mailer=b"=?utf-8?x?Salesforce?="),
        ["X-Mailer", "unknown encoding 'x'"],
    ),
    "undecodable base64 in an encoded word": (
        notification(Subject=b"Case 10712345 has been created: =?utf-8?b?QUJDR?="),
        ["Subject", "undecodable base64"],
    ),
    "bytes invalid in the declared header charset": (
        notification(Subject=b"=?utf-8?q?Case_10712345_has_been_created=3A_caf=E9?="),
        ["Subject", "replaced by U+FFFD"],
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_decoding_fallback_keeps_the_case_and_is_noted(store: Store, name: str) -> None:
    data, said = CASES[name]
    note = ingested(store, data)
    case = store.case("10712345")
    assert case is not None, "the notification must still create its case"
    assert case.source == "vendor"
    for words in said:
        assert words in note, (words, note)


def test_a_clean_notification_has_no_decoding_note(store: Store) -> None:
    """The notes are only for fallbacks: a well-formed message says nothing."""
    assert ingested(store, notification()) == ""
    assert parse_mod.parse(notification()).notes == ()


def test_fallback_text_is_readable() -> None:
    """What each fallback reads: an unknown charset as UTF-8 when the bytes are UTF-8, else
    latin-1; raw 8-bit header bytes likewise; invalid bytes as U+FFFD; the rest kept as written."""
    mail = parse_mod.parse(
        notification(
            Subject=b"Case 10712345: caf\xe9",
            X_Mailer=b"=?x-unknown?b?" + base64.b64encode("Zürich".encode()) + b"?=",
            X_Other=b"=?x-unknown?q?Z=FCrich?= =?utf-8?q?caf=E9?= =?utf-8?z?kept?=",
            X_Name="Ødegård".encode(),
        )
    )
    assert mail.subject == "Case 10712345: café"
    assert mail.header("x-mailer") == "Zürich"
    # RFC 2047: the space between two encoded words is not text (the third is no encoded word)
    assert mail.header("x-other") == "Zürichcaf\ufffd =?utf-8?z?kept?="
    assert mail.header("x-name") == "Ødegård"  # raw UTF-8 is UTF-8: no fallback, no note
    assert not any("X-Name" in n for n in mail.notes)


def test_a_character_split_between_encoded_words_is_joined() -> None:
    """Adjacent encoded words in one charset are decoded together (mailers split UTF-8
    sequences across words); the white space between encoded words is not text."""
    e_acute = "é".encode()
    value = "=?utf-8?q?caf=" + e_acute[:1].hex().upper() + "?= =?UTF-8?q?=" + e_acute[1:].hex().upper() + "?="
    assert parse_mod.decode_header_noted(value, "Subject") == ("café", ())


def test_notes_are_capped() -> None:
    """A header full of broken words says so once per kind of fallback, and at most MAX_NOTES."""
    value = " ".join(f"=?bad{i}?q?x?=" for i in range(100))
    text, notes = parse_mod.decode_header_noted(value, "Subject")
    assert text == "x" * 100
    assert len(notes) == parse_mod.MAX_NOTES
    assert notes[-1].endswith("more decoding fallbacks")
