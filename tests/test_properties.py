"""Hypothesis: the recognizers never raise on any input, only ``Unparseable``."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.config import Config
from daemon.recognize import Unparseable, recognize
from daemon.recognize.casenumbers import in_context
from daemon.recognize.parse import decode_header_noted as parse_decode
from daemon.recognize.parse import html_to_text

CONFIG = Config()
HEADER_NAMES = st.sampled_from(
    [
        "From",
        "To",
        "Cc",
        "Subject",
        "Date",
        "Message-ID",
        "In-Reply-To",
        "References",
        "Content-Type",
        "Content-Transfer-Encoding",
        "List-Id",
        "Auto-Submitted",
        "Sender",
        "X-SFDC-EntityId",
        "Precedence",
        "Received",
        "Return-Path",
        "MIME-Version",
    ]
)
SNIPPETS = st.sampled_from(
    [
        "Case 10712345",
        "=?utf-8?b?Q2FzZQ==?=",
        "=?x-unknown?q?=FF?=",
        "multipart/mixed; boundary=b",
        "text/html; charset=bogus",
        "base64",
        "quoted-printable",
        "<a@b>",
        "support@proquest.com",
        "thread::abcdefgh::",
        "\x00",
        "\r",
        "--b\n",
        "auto-replied",
        "list",
        "Priority: High",
    ]
)


def _settings() -> settings:
    return settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_settings()
@given(st.binary(max_size=4000))
def test_any_bytes_recognized_or_unparseable(data: bytes) -> None:
    try:
        rec = recognize(data, CONFIG)
    except Unparseable:
        return
    assert rec.family in {"vendor", "member", "list", "noise", "other"}


@_settings()
@given(
    st.lists(st.tuples(HEADER_NAMES, st.one_of(SNIPPETS, st.text(max_size=80))), max_size=12),
    st.lists(st.one_of(SNIPPETS, st.text(max_size=200)), max_size=10),
    st.sampled_from(["\n", "\r\n", "\r"]),
)
def test_mail_shaped_input_never_raises(
    headers: list[tuple[str, str]], body: list[str], newline: str
) -> None:
    text = newline.join(f"{k}: {v}" for k, v in headers) + newline * 2 + newline.join(body)
    try:
        rec = recognize(text.encode("utf-8", "surrogatepass"), CONFIG)
    except Unparseable:
        return
    assert all(len(n) == 8 and n.isdigit() for n in rec.cases)


@_settings()
@given(st.text(max_size=2000))
def test_case_numbers_are_always_eight_digits(text: str) -> None:
    assert all(len(n) == 8 and n.isdigit() for n in in_context(text))


ENCODED_WORDS = st.builds(
    "=?{}?{}?{}?=".format,
    st.one_of(
        st.sampled_from(["utf-8", "bogus", "utf-8\udce9", "utf-7", "unicode_escape", ""]), st.text(max_size=8)
    ),
    st.sampled_from(["q", "b", "B", "x", ""]),
    st.text(max_size=12),
)


@_settings()
@given(
    st.lists(st.one_of(ENCODED_WORDS, st.text(max_size=20)), max_size=6), st.sampled_from([" ", "", "\n "])
)
def test_header_decoding_never_raises_and_gives_text(words: list[str], sep: str) -> None:
    """Any header value (surrogate escapes stand for raw 8-bit bytes) decodes to text SQLite can
    store: no lone surrogates, and a note for every fallback taken."""
    text, notes = parse_decode(sep.join(words), "Subject")
    text.encode("utf-8")  # raises on a lone surrogate
    assert all(n.startswith("Subject: ") for n in notes)


@_settings()
@given(st.text(max_size=2000))
def test_html_to_text_never_raises(markup: str) -> None:
    assert isinstance(html_to_text(markup), str)


def test_the_fast_address_path_agrees_with_the_general_parser_on_every_fixture() -> None:
    """``_addresses`` reads common address headers without ``email.utils``; on every address
    header of the fixture mail, the result equals the general parser's."""
    import email
    import email.policy
    import importlib
    from pathlib import Path

    parse_mod = importlib.import_module("daemon.recognize.parse")  # the module, not the function

    roots = [Path(__file__).parent / "fixtures", Path(__file__).parent.parent / "daemon" / "demo"]
    checked = 0
    for path in sorted(p for root in roots for p in root.rglob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.compat32)
        for name in ("from", "to", "cc", "reply-to"):
            values = tuple(parse_mod.decode_header(v) for v in msg.get_all(name) or ())
            if not values:
                continue
            fast = parse_mod._simple_addresses(values)
            if fast is None:
                continue
            slow = tuple(
                parse_mod.Address(parse_mod.decode_header(n), a.strip().lower())
                for n, a in email.utils.getaddresses(list(values))
                if a.strip() or n
            )
            assert parse_mod._addresses(values) == slow, (path.name, name, values)
            checked += 1
    assert checked > 50
