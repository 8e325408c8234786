"""Drafts carry what is known: every demo mail, read as its recipient would, and the extraction.

"Drafts carry what is known. Every draft fills in what the timeline holds (the impact sentence
of the description, the owner's name, related cases, the case of record, the cluster's size)
and leaves a bracketed placeholder only where nothing is known." (spec/policy.md)

The demo's facts are read here from its mailbox and state, not from the code under test: an
"Impact:" label in a case's description, a "Contact: Name (address)" line in a notification,
a case of record linked to the case.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from html import unescape

import pytest
from policytools import CONFIG, ev
from test_demo import Run, cases, kinds, play, to

from daemon.demo import DEMO_DB, story
from daemon.model import Case
from daemon.outbound.known import cluster_of, impact_of, names_in
from daemon.recognize.fields import vendor_fields
from daemon.recognize.parse import parse

IMPACT = CONFIG.actions.description_gaps.impact


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("CASEWATCH_CONFIG", raising=False)
        yield play(tmp_path_factory.mktemp("demo"))


def texts(msg: email.message.EmailMessage) -> list[str]:
    """The plain text and the visible text of the HTML, whitespace folded."""
    out = []
    for kind in ("plain", "html"):
        part = msg.get_body((kind,))
        if part is not None:
            content = part.get_content()
            if kind == "html":
                content = unescape(re.sub(r"<[^>]+>", " ", content))
            out.append(" ".join(content.split()))
    return out


def facts(run: Run) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """From the demo's state: each case's description and owner, and every stated Contact name."""
    db = sqlite3.connect(run.folder / DEMO_DB)
    descriptions: dict[str, str] = {}
    owners: dict[str, str] = {}
    for number, data in db.execute("SELECT number, json FROM cases"):
        case = json.loads(data)
        owners[number] = case.get("owner") or ""
    for number, data in db.execute("SELECT case_number, data FROM events WHERE kind = 'case_opened'"):
        descriptions[number] = json.loads(data).get("description") or ""
    contacts: dict[str, str] = {}
    for (raw,) in db.execute("SELECT raw FROM messages"):
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        body = msg.get_body(("plain",))
        text = body.get_content() if body is not None else ""
        for name, address in re.findall(r"^Contact: (.+?) \(([^)]+)\)\s*$", text, re.MULTILINE):
            contacts[address.lower()] = name
    db.close()
    return descriptions, owners, contacts


def records(run: Run, until: str) -> dict[str, str]:
    """Each case linked (directly or through others) to a case of record, as of ``until``
    (an ISO instant in UTC): that record."""
    db = sqlite3.connect(run.folder / DEMO_DB)
    marked = {
        n
        for (n, at) in db.execute("SELECT case_number, at FROM events WHERE kind = 'case_of_record'")
        if datetime.fromisoformat(at) <= datetime.fromisoformat(until)
    }
    edges = [
        (a, b)
        for a, b, at in db.execute("SELECT a, b, at FROM links")
        if datetime.fromisoformat(at) <= datetime.fromisoformat(until)
    ]
    db.close()
    out = {}
    for record in marked:
        group, todo = {record}, [record]
        while todo:
            n = todo.pop()
            for a, b in edges:
                for x, y in ((a, b), (b, a)):
                    if x == n and y not in group:
                        group.add(y)
                        todo.append(y)
        out.update(dict.fromkeys(group, record))
    return out


def test_no_demo_mail_leaves_a_placeholder_for_a_fact_the_timeline_holds(run: Run) -> None:
    assert run.code == 0, run.err
    descriptions, owners, contacts = facts(run)
    known = {**contacts, **{pm.email: pm.name for pm in story.PROGRAM_MANAGERS}}
    mails = run.mail()
    assert len(mails) > 50
    impact_drafts = named = problems = 0
    wrong: list[str] = []
    for msg in mails:
        about = cases(msg)
        what = f"{msg['Subject']} ({','.join(kinds(msg))})"
        recorded = records(run, msg["Date"].datetime.isoformat())
        for text in texts(msg):
            for n in about:
                if "Impact:" in descriptions.get(n, "") and "The impact on us: [" in text:
                    wrong.append(f"{what}: impact placeholder, but case {n} states its impact")
            recipients = to(msg)
            who = next(iter(recipients)) if len(recipients) == 1 else ""
            if who in known and "[your name]" in text:
                wrong.append(f"{what}: [your name] though {who} is {known[who]}")
            if "handover" in kinds(msg) and "[your name]" in text:
                wrong.append(f"{what}: [your name] in a handover though the leaving owner is known")
            for n in about:
                if n in recorded and "[case of record]" in text:
                    wrong.append(f"{what}: [case of record] though {recorded[n]} is the case of record")
        plain = texts(msg)[0]
        if "request_update" in kinds(msg) and any("Impact:" in descriptions.get(n, "") for n in about):
            impact_drafts += 1
            assert "The impact on us: " in plain
        for n in about:
            if "Impact:" in descriptions.get(n, ""):
                stated = descriptions[n].split("Impact:", 1)[1].split(". ")[0].strip().rstrip(".")
                problems += stated in plain
            owner = owners.get(n, "")
            if owner in contacts and contacts[owner] in plain:
                named += 1
    assert wrong == []
    # The story's Impact lines and Contact names do reach the mail (not just placeholders gone).
    assert impact_drafts >= 11
    assert problems >= 11
    assert named >= 11
    assert any("The Alliance's case of record for it is 10800012." in t for m in mails for t in texts(m))


def test_the_demo_subjects_say_what_each_message_is_about(run: Run) -> None:
    subjects = [str(m["Subject"]) for m in run.mail()]
    assert [s for s in subjects if re.search(r"\d+ reminders", s)] == []
    handovers = [str(m["Subject"]) for m in run.mail() if "handover" in kinds(m)]
    assert handovers
    assert all("handover" in s for s in handovers)


def test_the_post_call_follow_up_goes_to_the_pm_alone(run: Run) -> None:
    """ "After the call, contact the case owner directly": the PM's to-do, not the owner's mail."""
    followups = [m for m in run.mail() if "post_call_followup" in kinds(m)]
    assert followups
    pms = {pm.email for pm in CONFIG.program_managers} | {
        "mlopez@orbiscascade.org",
        "dortiz@orbiscascade.org",
    }
    for m in followups:
        assert to(m) <= pms
        assert m["Cc"] is None


# --------------------------------------------------------------------------- the extraction


@pytest.mark.parametrize(
    ("description", "impact"),
    [
        pytest.param(
            "No letters are sent. Impact: about 300 patrons a week are not told. We tried X.",
            "about 300 patrons a week are not told.",
            id="label-mid-text",
        ),
        pytest.param("Impact: every loan at Vancouver", "every loan at Vancouver.", id="label-no-stop"),
        pytest.param(
            "Fines are wrong.\nBusiness impact: 40 courses; instructors re-enter lists.\nSteps: 1. Open it.",
            "40 courses; instructors re-enter lists.",
            id="business-impact-line",
        ),
        pytest.param(
            "Impact: 2,400 full-text titles cannot be found. Steps: search.",
            "2,400 full-text titles cannot be found.",
            id="numbers-with-commas",
        ),
        pytest.param(
            "Get It is empty. About 300 patrons a week are not told their holds are waiting.",
            "About 300 patrons a week are not told their holds are waiting.",
            id="a-sentence-saying-it",
        ),
        pytest.param("Impact: 300 courses Steps: 1. open a list", "300 courses.", id="next-label-ends-it"),
    ],
)
def test_the_impact_statement_is_found(description: str, impact: str) -> None:
    assert impact_of(description, IMPACT) == impact


@pytest.mark.parametrize(
    "description",
    [
        pytest.param("", id="empty"),
        pytest.param("Citations moved to another section disappear.", id="no-impact"),
        pytest.param("Impact: [who is affected and how]", id="pasted-placeholder"),
        pytest.param("Are other libraries affected?", id="a-question"),
        pytest.param("Get It shows nothing for remote storage items.", id="plain-symptom"),
    ],
)
def test_no_impact_statement_is_made_up(description: str) -> None:
    assert impact_of(description, IMPACT) == ""


def test_a_long_impact_statement_is_cut_to_one_line() -> None:
    found = impact_of("Impact: " + "many patrons and staff " * 40, IMPACT)
    assert len(found) <= 305
    assert "\n" not in found
    assert found.endswith("...")


NOTIFICATION = (
    "From: Ex Libris Support <support@proquest.com>\r\nTo: {to}\r\nSubject: Case 10800006 has been "
    "created: Letters\r\nDate: Thu, 01 Oct 2026 10:12:00 -0700\r\nMessage-ID: <x1@sfdc.net>\r\n\r\n"
    'Your case 10800006 "Letters" has been received.\r\n\r\nPriority: Normal\r\n{contact}'
    "Status: New\r\n"
)


@pytest.mark.parametrize(
    ("to_header", "contact", "name"),
    [
        pytest.param("jdoe@wwu.edu", "Contact: Jane Doe (jdoe@wwu.edu)\r\n", "Jane Doe", id="contact-field"),
        pytest.param(
            "jdoe@wwu.edu",
            "Contact: Jane Doe, Systems Librarian <jdoe@wwu.edu>\r\n",
            "Jane Doe",
            id="contact-with-a-title",
        ),
        pytest.param('"Jane Doe" <jdoe@wwu.edu>', "", "Jane Doe", id="display-name-of-to"),
        pytest.param("jdoe@wwu.edu", "Contact: jdoe@wwu.edu\r\n", None, id="address-only"),
        pytest.param("jdoe@wwu.edu", "Contact: Mark McFate\r\n", None, id="a-name-without-the-address"),
        pytest.param('"Doe, Jane" <jdoe@wwu.edu>', "", None, id="last-name-first-is-no-signature"),
    ],
)
def test_the_owners_name_from_the_notification(to_header: str, contact: str, name: str | None) -> None:
    raw = NOTIFICATION.format(to=to_header, contact=contact).encode()
    fields = vendor_fields(parse(raw), CONFIG)
    assert fields.owner == "jdoe@wwu.edu"
    assert fields.owner_name == name


def test_names_are_kept_by_address_and_pms_come_from_the_config() -> None:
    events = [
        ev("case_opened", "2026-09-14 10:00", owner="jdoe@wwu.edu", owner_name="Jane Doe"),
        ev("vendor_comment", "2026-09-15 10:00", owner="kim@wwu.edu"),
    ]
    names = names_in(events, CONFIG)
    assert names["jdoe@wwu.edu"] == "Jane Doe"
    assert "kim@wwu.edu" not in names
    assert names["mlopez@orbiscascade.org"] == "Maria Lopez"


def test_the_cluster_and_its_case_of_record_are_found_through_links() -> None:
    cases = {
        "1": Case("1", institution="WWU", related=("2",)),
        "2": Case("2", institution="UW", related=("1", "3")),
        "3": Case("3", case_of_record=True, related=("2",)),
        "4": Case("4", institution="WSU"),
    }
    cluster = cluster_of(cases["1"], cases.get)
    assert [c.number for c in cluster.cases] == ["1", "2", "3"]
    assert cluster.institutions == ("UW", "WWU")
    assert cluster.record == "3"
    alone = cluster_of(cases["4"], cases.get)
    assert ([c.number for c in alone.cases], alone.record) == (["4"], "")
