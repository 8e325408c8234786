"""Reply commands against someone who forges a colleague's address: each attack end to end, on
real servers (Dovecot, aiosmtpd), as ``tests/test_replies.py`` runs the honest ones.

The token of a message binds a reply to that message: its cases, its recipients, its time.
"""

from __future__ import annotations

import dataclasses

import pytest
from mailmaker import created
from test_replies import CASE, OWNER, World, reply, world  # noqa: F401  (world: the fixture below uses it)

OTHER = "10712399"  # a case of another institution (UW), owned by staff@uw.edu
OTHER_OWNER = "staff@uw.edu"
PM = "mlopez@orbiscascade.org"


@pytest.fixture
def w(world: World) -> World:  # noqa: F811  (the imported fixture, requested by name)
    """``test_replies``'s world: a case of WWU whose owner got one reminder (Wed 2026-10-07 11:00)."""
    return world


def kinds(w: World) -> list[str]:
    return [str(m["X-Casewatch-Action"]) for m in w.sent()]


def text(msg) -> str:
    return " ".join(msg.get_body(("plain",)).get_content().split())


def owner(w: World, number: str = CASE) -> str | None:
    case = w.store.case(number)
    assert case is not None
    return case.owner


def with_other_case(w: World) -> None:
    """A second case, of UW, known to casewatch."""
    w.dovecot.append(
        w.folder,
        created(
            OTHER,
            account="01ALLIANCE_UW",
            contact=f"Sam Staff ({OTHER_OWNER})",
            date="Mon, 05 Oct 2026 18:00:00 +0000",
            token="thread::uwUWuw999999::",
        ),
    )
    w.cycle("2026-10-07 11:30")
    assert owner(w, OTHER) == OTHER_OWNER


# --------------------------------------------------------------------------- a forged colleague


def test_a_forged_colleague_cannot_hand_a_case_to_an_outside_address(w: World) -> None:
    reminder = w.sent()[0]
    w.reply(reminder, "owner x@evil.com\n", sender="mallory@wwu.edu")
    w.cycle("2026-10-07 12:05")
    assert owner(w) == OWNER
    assert "handover" not in w.timeline()
    assert not any("x@evil.com" in m.rcpt_tos for m in w.smtp.messages)
    [refusal] = [m for m in w.sent() if m["X-Casewatch-Action"] == "refusal"]
    assert refusal["To"] == "mallory@wwu.edu"
    assert refusal["Subject"] == "casewatch: your reply was not applied"
    assert "x@evil.com is not an address of a member institution or of a program manager" in text(refusal)


def test_a_handover_to_an_outside_address_is_refused_too(w: World) -> None:
    reminder = w.sent()[0]
    w.reply(reminder, "handover someone@gmail.com\n")
    w.cycle("2026-10-07 12:05")
    assert owner(w) == OWNER
    assert kinds(w)[-1] == "refusal"


def test_a_colleague_not_among_the_recipients_acts_and_the_recipients_can_undo_it(w: World) -> None:
    reminder = w.sent()[0]
    w.reply(reminder, "owner kim@wwu.edu\n", sender="mallory@wwu.edu")
    w.cycle("2026-10-07 12:05")
    assert owner(w) == "kim@wwu.edu"  # staff of the owner's institution may act: applied...
    sent = w.sent()
    [n] = [i for i, m in enumerate(sent) if m["X-Casewatch-Action"] == "confirmation"]
    confirmation = sent[n]
    # ... and the message's recipient (the owner) is told in the same cycle, with undo.
    assert confirmation["To"] == "mallory@wwu.edu"
    assert OWNER in str(confirmation["Cc"])
    assert OWNER in w.smtp.messages[n].rcpt_tos
    assert "made kim@wwu.edu the owner" in str(confirmation["Subject"])
    assert 'reply "undo" to this message to take it back' in text(confirmation)
    w.reply(confirmation, "undo\n", date="2026-10-07 12:20")
    w.cycle("2026-10-07 12:25")
    assert owner(w) == OWNER


# --------------------------------------------------------------------------- one case's token


def test_a_token_acts_only_on_its_own_messages_cases(w: World) -> None:
    with_other_case(w)
    [reminder] = [m for m in w.sent() if m["X-Casewatch-Case"] == CASE]
    before = len(w.store.events(OTHER)), len(w.store.events(CASE))
    # The owner of OTHER (forged), with the token of a reminder about CASE, names OTHER.
    w.reply(reminder, f"owner kim@uw.edu {OTHER}\nmute\n", sender=OTHER_OWNER)
    w.cycle("2026-10-07 12:05")
    assert owner(w, OTHER) == OTHER_OWNER
    assert (len(w.store.events(OTHER)), len(w.store.events(CASE))) == before  # nothing applied
    refusals = [m for m in w.sent() if m["X-Casewatch-Action"] == "refusal"]
    assert len(refusals) == 1  # one short refusal for the reply
    assert f"You named case {OTHER}" in text(refusals[0])


def test_a_program_manager_may_name_other_cases_but_not_hand_them_outside(w: World) -> None:
    with_other_case(w)
    [reminder] = [m for m in w.sent() if m["X-Casewatch-Case"] == CASE]
    w.reply(reminder, f"owner x@evil.com {OTHER}\n", sender=PM)
    w.cycle("2026-10-07 12:05")
    assert owner(w, OTHER) == OTHER_OWNER
    assert kinds(w)[-1] == "refusal"
    w.reply(reminder, f"link {OTHER}\n", sender=PM, date="2026-10-07 12:10")
    w.cycle("2026-10-07 12:15")
    assert kinds(w)[-1] == "confirmation"  # a PM may name other cases (see the README)


# --------------------------------------------------------------------------- old tokens


def test_a_token_older_than_token_days_is_refused_with_a_pointer(w: World) -> None:
    reminder = w.sent()[0]  # sent Wed 2026-10-07 11:00
    w.reply(reminder, "owner kim@wwu.edu\npriority down\nmute\n", date="2026-12-07 12:00")
    w.cycle("2026-12-07 12:05")  # 61 days later
    assert owner(w) == OWNER
    assert not [e for e in w.store.events(CASE) if e.kind in ("command", "priority_changed", "handover")]
    [refusal] = [m for m in w.sent() if m["X-Casewatch-Action"] == "refusal"]
    assert "was sent on 2026-10-07, more than 60 days ago" in text(refusal)


def test_a_token_within_token_days_still_works(w: World) -> None:
    reminder = w.sent()[0]
    w.reply(reminder, "mute\n", date="2026-12-05 12:00")
    w.cycle("2026-12-05 12:05")  # 59 days later
    assert kinds(w)[-1] == "confirmation"


# --------------------------------------------------------------------------- help does not amplify


def test_help_replies_are_capped_per_hour_whoever_asks(w: World) -> None:
    reminder = w.sent()[0]
    for n in range(50):
        w.reply(reminder, f"What is this about? ({n})\n", sender=f"staff{n}@wwu.edu")
    w.cycle("2026-10-07 12:30")
    helps = [m for m in w.sent() if m["X-Casewatch-Action"] == "help"]
    assert len(helps) == w.cfg.replies.help_per_hour == 10


# --------------------------------------------------------------------------- forged authentication


def authenticated_world(w: World) -> World:
    w.cfg = dataclasses.replace(
        w.cfg,
        replies=dataclasses.replace(
            w.cfg.replies, require_authentication=True, authserv_id="mx.orbiscascade.org"
        ),
    )
    return w


def test_a_forged_authentication_results_of_another_server_is_not_believed(w: World) -> None:
    authenticated_world(w)
    reminder = w.sent()[0]
    before = len(w.smtp.messages)
    forged = {"Authentication-Results": "mx.evil.example; dkim=pass header.d=wwu.edu; dmarc=pass"}
    w.reply(reminder, "escalated\n", headers=forged)
    w.cycle("2026-10-07 12:05")
    assert "escalation_requested" not in w.timeline()
    assert len(w.smtp.messages) == before


def test_a_forged_pass_below_our_servers_own_verdict_is_not_believed(w: World) -> None:
    authenticated_world(w)
    reminder = w.sent()[0]
    raw = reply(reminder, "escalated\n", sender="mallory@wwu.edu")
    # Our server puts its verdict on top; the sender wrote a "pass" with our id below it.
    raw = (
        b"Authentication-Results: mx.orbiscascade.org; dmarc=fail header.from=wwu.edu\r\n"
        b"Authentication-Results: mx.orbiscascade.org; dmarc=pass header.from=wwu.edu\r\n" + raw
    )
    w.dovecot.append(w.folder, raw)
    w.cycle("2026-10-07 12:05")
    assert "escalation_requested" not in w.timeline()


# --------------------------------------------------------------------------- who is never answered


@pytest.mark.parametrize(
    "sender",
    ["alma-list@wwu.edu", "casewatch@orbiscascade.org", "support@proquest.com"],
    ids=["list-address", "our-own-address", "vendor-address"],
)
def test_a_list_our_own_or_the_vendors_address_never_acts_and_is_never_answered(
    w: World, sender: str
) -> None:
    w.cfg = dataclasses.replace(w.cfg, lists=dataclasses.replace(w.cfg.lists, addresses=(sender,)))
    reminder = w.sent()[0]
    before_mail = len(w.smtp.messages)
    w.reply(reminder, "What is this?\nmute\n", sender=sender)
    w.cycle("2026-10-07 12:05")
    assert "command" not in w.timeline()  # (a list's post may still be a mention of the case)
    assert len(w.smtp.messages) == before_mail
