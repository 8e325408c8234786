"""The weekly digest: what a program manager reads on Monday morning, built from real mail.

The scenario is the mail of ``tests/fixtures/due/other-words/`` and ``daemon/demo/mailbox/``
ingested into a fresh store, with the PMs and institutions of
``tests/fixtures/digest/config.toml``. The week mostly looked at is Maria Lopez's
(fulfillment) ending Mon 2026-10-19 08:00 PDT. Worked out by hand from the mail:

- Two cases need her. 10810550 (WSU, High): Ex Libris last wrote Tue 2026-09-01 10:30 PDT
  and nothing since; 30 days later, Thu 2026-10-01 10:30 PDT, the stalled-high rule fell due.
  10810440 (GU, Normal): the vendor's comment of Fri 2026-09-11 09:10, our update request of
  Wed 09-16, our escalation of Mon 2026-09-21 10:30 (its acknowledgement is no answer), then
  3 business days of silence: PM help due Thu 2026-09-24 10:30 PDT.
- 10810770 (WWU) has been Awaiting Customer Response since Tue 2026-09-15 11:32 PDT: the
  28 days were up on Tue 10-13, so it is at risk of the auto-close with 0 days left.
- 10800001 (PSU, demo mail) opened Mon 2026-10-12 11:20 PDT, this week; Monday was Columbus
  Day, so Ex Libris's comment of Tue 08:02 took 0.0 business hours, and its status change
  (In Progress) of Thu 10-15 14:10:55 answered our comment of Wed 10:47:12 after 12.4 (6 h 13 min
  on Wednesday, 6 h 11 min on Thursday): this week's median 6.2, 90th percentile 12.4.
- The trailing 12 weeks hold three first answers: 10.5 h (10810550: Mon 08-31 09:00 to Tue
  10:30), 7.8 h (10810440: Thu 09-10 10:20 to Fri 09:10) and 11.5 h (10810770: Mon 09-14
  09:00 to Tue 11:30); median 10.5, 90th percentile 11.5.

The golden files ``tests/fixtures/digest/maria-lopez-2026-10-19.txt`` and ``.html`` were read
and checked by a person line by line against the mail (the numbers above, the ladder's
business time, the age buckets and the institution counts). They are rewritten only when
``CASEWATCH_REGOLD=1`` is set; read the diff line by line again before keeping it.
"""

from __future__ import annotations

import dataclasses
import email
import email.policy
import os
import re
from datetime import UTC
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from policytools import CASE, ev, opened, snapshot, t

from daemon.config import Config, ProgramManager, load
from daemon.cycle import run_cycle
from daemon.digest import for_pm, read_week
from daemon.ingest import ingest
from daemon.model import Event, Link
from daemon.outbound.context import build
from daemon.outbound.render import Rendered, render
from daemon.outbound.transports import FileTransport
from daemon.outbound.weekly import render_digest
from daemon.policy.calls import digest_slot
from daemon.policy.engine import candidates, digests, slim
from daemon.sources.files import read_paths
from daemon.store import Store
from daemon.timeparts import Duration, duration

HERE = Path(__file__).parent
GOLDEN = HERE / "fixtures" / "digest"
CONFIG = load(str(GOLDEN / "config.toml"))
MAIL = [
    *sorted((HERE / "fixtures" / "due" / "other-words").glob("*.eml")),
    *sorted((HERE.parent / "daemon" / "demo" / "mailbox").glob("*.eml")),
]
REGOLD = os.environ.get("CASEWATCH_REGOLD") == "1"
WEEK = "2026-10-19 09:00"  # Monday: the digest of the week ending Mon 2026-10-19 08:00 PDT
SECTION_HEADINGS = (
    "--- WHAT NEEDS YOU",
    "--- ALREADY ACTED ON",
    "--- NEXT SUPPORT CALL",
    "--- FALLING DUE IN THE COMING WEEK",
    "--- ESCALATIONS IN FLIGHT",
    "--- AT RISK OF THE 28-DAY AUTO-CLOSE",
    "--- WHERE EACH OPEN CASE STANDS",
    "--- NEW THIS WEEK",
    "--- CLOSED THIS WEEK",
    "--- VENDOR RESPONSE TIME",
    "--- VENDOR RESPONSES WITHIN THE POLICY'S TIME",
    "--- OPEN CASES PER INSTITUTION",
    "--- OPEN CASES BY AGE",
    "--- SNOOZED",
    "--- MUTED",
)


def pm(email_address: str) -> ProgramManager:
    return next(p for p in CONFIG.program_managers if p.email == email_address)


MARIA = pm("mlopez@orbiscascade.org")
DAVID = pm("dchen@orbiscascade.org")
PRIYA = pm("pnatarajan@orbiscascade.org")
SAM = pm("sokafor@orbiscascade.org")
LEE = pm("lpark@orbiscascade.org")  # no areas


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):
    with Store(tmp_path_factory.mktemp("digest") / "cw.db") as s:
        counts = ingest(s, CONFIG, read_paths(MAIL))
        assert counts.quarantined == 0
        yield s


def folded(text: str) -> str:
    return " ".join(text.split())


def visible(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def head(r: Rendered, lines: int = 25) -> str:
    return folded("\n".join(r.text.splitlines()[:lines]))


def data_of(store: Store, who: ProgramManager, at: str) -> dict[str, Any]:
    slot = digest_slot(t(at), CONFIG)
    return for_pm(who, store.snapshot(slot), slot, CONFIG)


def from_events(
    events: list[Event],
    at: str,
    who: ProgramManager = MARIA,
    links: tuple[Link, ...] = (),
    sent: tuple[str, ...] = (),
    config: Config = CONFIG,
) -> tuple[dict[str, Any], Rendered]:
    """The digest data and mail of ``who`` for the week ending at the slot before ``at``."""
    slot = digest_slot(t(at), config)
    data = for_pm(who, snapshot(events, links, sent), slot, config)
    [action] = [a for a in digests(slot, config) if a.to == (who.email,)]
    return data, render([build(action, None, [], slot, "casewatch+digest@orbiscascade.org", config, data)])


# --------------------------------------------------------------------------- what needs you


def test_the_first_screen_names_every_case_that_needs_maria_and_why(store):
    data = data_of(store, MARIA, WEEK)
    assert [(c["number"], c["kind"]) for c in data["needs_you"]] == [
        ("10810550", "pm_stalled_high"),
        ("10810440", "pm_assist"),
    ]
    r = render_digest(store, MARIA, t(WEEK), CONFIG)
    assert r.subject == "casewatch weekly digest, Maria Lopez (fulfillment): 2 cases need you"
    first = head(r)
    assert "Weekly digest for Maria Lopez (fulfillment), 2026-10-12 to 2026-10-19." in first
    assert "2 cases need you; 4 open cases in all." in first
    # 10810550: high priority, the vendor's comment of Sep 1 and nothing in the 30 days since.
    assert "1. Case 10810550, WSU, High priority" in first
    assert "Stalled high-priority case: no response from Ex Libris" in first
    assert (
        "no significant progress from Ex Libris since Tue 2026-09-01 10:30 PDT (the vendor's comment), "
        "over 30 days" in first
    )
    # 10810440: escalated on Sep 21, then 3 business days of silence (the ack is no answer).
    assert "2. Case 10810440, GU, Normal priority" in first
    assert "Help requested: escalated, and Ex Libris is still silent" in first
    assert "was escalated on Mon 2026-09-21 10:30 PDT" in first
    assert "has not responded since Fri 2026-09-11 09:10 PDT" in first
    # Both were in earlier digests: each says since when it has been open, not "new".
    assert (
        "Owner marcus.bell@wsu.edu. Still open: waiting for you since Thu 2026-10-01 10:30 PDT (2 weeks)."
        in first
    )
    assert (
        "Owner olander@gonzaga.edu. Still open: waiting for you since Thu 2026-09-24 10:30 PDT (3 weeks)."
        in first
    )
    # Nothing else comes before what needs her.
    text = r.text
    assert text.index("--- WHAT NEEDS YOU") < min(text.index(h) for h in SECTION_HEADINGS[1:] if h in text)
    page = visible(r.html)
    assert page.index("What needs you") < page.index("At risk of the 28-day auto-close")
    for number in ("10810550", "10810440"):
        assert page.index(number) < page.index("At risk of the 28-day auto-close")


def test_a_system_down_case_needs_its_pm_at_once(store):
    r = render_digest(store, SAM, t("2026-09-21 09:00"), CONFIG)
    assert r.subject == "casewatch weekly digest, Sam Okafor (systems): 1 case needs you"
    first = head(r)
    assert "1. Case 10810110, SU, System/Component Down priority" in first
    assert "is a System/Component Down case since Sat 2026-09-19 07:50 PDT" in first


def test_a_widespread_problem_shows_its_case_of_record_on_the_first_screen(store):
    data = data_of(store, PRIYA, "2026-11-16 09:00")
    [cluster] = data["clusters"]
    assert cluster["record"] == "10812400"
    r = render_digest(store, PRIYA, t("2026-11-16 09:00"), CONFIG)
    assert r.subject == "casewatch weekly digest, Priya Natarajan (discovery): 1 widespread problem"
    first = head(r)
    assert "1 widespread problem needs you; 5 open cases in all." in first
    assert "1. Widespread: 5 cases from 4 institutions (LC, OSU, REED, UW)" in first
    assert "Cases: 10812350, 10812360, 10812370, 10812380, 10812400" in first
    assert "Case of record: 10812400." in first
    assert "Case of record: 10812400." in visible(r.html)


def test_a_widespread_problem_without_a_case_of_record_says_so():
    three = [
        opened("2026-09-14 10:00", case=n, institution=i, owner=f"x@{i.lower()}.edu")
        for n, i in (("10700001", "WWU"), ("10700002", "UW"), ("10700003", "WSU"))
    ]
    links = (
        Link.of("10700001", "10700002", "cited together", t("2026-09-15 10:00")),
        Link.of("10700002", "10700003", "cited together", t("2026-09-16 10:00")),
    )
    data, r = from_events(three, "2026-09-21 09:00", links=links)
    assert data["clusters"][0]["record"] == ""
    first = head(r)
    assert "1. Widespread: 3 cases from 3 institutions (UW, WSU, WWU)" in first
    assert "No case of record yet: open one Alliance-level case" in first
    assert "No case of record yet" in visible(r.html)


def test_a_pm_without_areas_gets_no_digest():
    slot = digest_slot(t(WEEK), CONFIG)
    assert LEE.areas == ()
    to = [a.to for a in digests(slot, CONFIG)]
    assert sorted(to) == [
        (p.email,) for p in sorted(CONFIG.program_managers, key=lambda p: p.email) if p.areas
    ]
    assert (LEE.email,) not in to


# --------------------------------------------------------------------------- the sections


def test_empty_sections_are_left_out(store):
    data = data_of(store, MARIA, WEEK)
    for name in ("clusters", "escalations", "closed", "snoozed", "muted"):
        assert data[name] == [], name
    r = render_digest(store, MARIA, t(WEEK), CONFIG)
    for heading in ("ESCALATIONS IN FLIGHT", "CLOSED THIS WEEK", "SNOOZED", "MUTED", "Widespread"):
        assert heading not in r.text
        assert heading.capitalize() not in visible(r.html)
    for heading in ("WHAT NEEDS YOU", "AT RISK OF THE 28-DAY AUTO-CLOSE", "WHERE EACH OPEN CASE STANDS"):
        assert heading in r.text
    assert "Weekly median" in r.text


def test_escalations_in_flight_and_closed_cases(store):
    # 10800003 (EWU, demo mail): its owner escalated on Wed 2026-11-04 08:36 PST; PM help
    # falls due 3 business days later, Mon 11-09 08:36, just after this digest's slot.
    r = render_digest(store, DAVID, t("2026-11-09 09:00"), CONFIG)
    assert (
        r.subject
        == "casewatch weekly digest, David Chen (technical services): nothing needs you, 2 open cases"
    )
    assert "Nothing needs you this week; 2 open cases in all." in head(r)
    assert "--- ESCALATIONS IN FLIGHT: 1" in r.text
    assert "Case 10800003, EWU, Normal: escalated Wed 2026-11-04 08:36 PST" in r.text
    assert "Escalations in flight: 1" in visible(r.html)
    # 10810110 (SU) closed Mon 2026-09-21 10:15 PDT: in Sam's next digest, with no open case left.
    r = render_digest(store, SAM, t("2026-09-28 09:00"), CONFIG)
    assert r.subject == "casewatch weekly digest, Sam Okafor (systems): nothing needs you"
    assert "Nothing needs you this week; no case is open." in head(r)
    assert "--- CLOSED THIS WEEK: 1" in r.text
    assert "Case 10810110, SU, System/Component Down, closed Mon 2026-09-21 10:15 PDT" in r.text
    assert "Closed this week: 1" in visible(r.html)
    assert "--- WHERE EACH OPEN CASE STANDS" not in r.text
    assert "--- OPEN CASES BY AGE" not in r.text


def test_a_long_ladder_lists_the_most_urgent_and_counts_the_rest():
    events = [opened("2026-11-02 10:00", case=f"107{n:05d}") for n in range(42)]
    data, r = from_events(events, "2026-11-30 09:00")
    assert len(data["ladder"]) == 40
    assert data["ladder_more"] == 2
    assert "--- WHERE EACH OPEN CASE STANDS: 42" in r.text
    assert "  ... and 2 more open cases, all less urgent." in r.text
    assert "… and 2 more open cases, all less urgent." in visible(r.html)
    assert "10700039" in r.text
    assert "10700040" not in r.text.split("--- WHERE EACH OPEN CASE STANDS")[1]


def test_a_quiet_week_says_so_in_one_line_at_the_top(store):
    data = data_of(store, DAVID, WEEK)
    assert data["quiet"]
    r = render_digest(store, DAVID, t(WEEK), CONFIG)
    assert r.subject == "casewatch weekly digest, David Chen (technical services): a quiet week"
    lines = r.text.splitlines()
    assert lines[3] == "A quiet week: nothing needs you, and no case is open."
    assert not any(line.startswith("---") for line in lines)
    assert "A quiet week: nothing needs you, and no case is open." in visible(r.html)


def test_a_quiet_week_with_open_cases_on_time():
    events = [
        opened("2026-11-09 10:00"),
        ev("vendor_comment", "2026-11-27 10:00"),  # the Friday after Thanksgiving
    ]
    data, r = from_events(events, "2026-11-30 09:00")
    assert data["quiet"]
    assert data["open_count"] == 1
    assert r.text.splitlines()[3] == "A quiet week: nothing needs you, and no open case is late."
    assert r.subject.endswith(": a quiet week")
    assert "vendor's turn, on time" in r.text
    assert "WHAT NEEDS YOU" not in r.text


def test_snoozed_and_muted_cases_are_listed():
    events = [
        opened("2026-11-16 10:00"),
        ev(
            "command",
            "2026-11-25 10:00",
            actor="member",
            command="snooze",
            until=t("2026-12-10 09:00").isoformat(),
        ),
        opened("2026-11-16 10:00", case="10700002", institution="UW", owner="ann@uw.edu"),
        ev("command", "2026-11-25 11:00", actor="member", case="10700002", command="mute"),
    ]
    data, r = from_events(events, "2026-11-30 09:00")
    assert [c["number"] for c in data["snoozed"]] == ["10700001"]
    assert [c["number"] for c in data["muted"]] == ["10700002"]
    assert "--- SNOOZED: 1" in r.text
    assert "Case 10700001, WWU: reminders held until Thu 2026-12-10 09:00 PST" in r.text
    assert "--- MUTED: 1" in r.text
    assert "Case 10700002, UW: no reminders until someone replies" in r.text
    page = visible(r.html)
    assert "Snoozed: 1" in page
    assert "Reminders held until Thu 2026-12-10 09:00 PST" in page
    assert "Muted: 1" in page


def test_the_text_reads_in_an_80_column_terminal(store):
    for who, at in ((MARIA, WEEK), (PRIYA, "2026-11-16 09:00"), (SAM, "2026-09-21 09:00"), (DAVID, WEEK)):
        r = render_digest(store, who, t(at), CONFIG)
        assert [line for line in r.text.splitlines() if len(line) > 80] == []
        assert "None" not in r.text
        assert "None" not in r.html


def test_text_bars_follow_the_numbers(store):
    r = render_digest(store, MARIA, t(WEEK), CONFIG)
    # Four institutions with one open case each: four full bars of 30.
    rows = [line for line in r.text.splitlines() if line.startswith(("  GU ", "  PSU ", "  WSU ", "  WWU "))]
    assert len(rows) == 4
    assert all("#" * 30 in row and row.endswith("   1") for row in rows)
    # The ages: 1 case under a week (bar 33: 10 of 30), 3 between 1 and 3 months (full).
    assert re.search(r"^  under 1 week   #{10} +1$", r.text, re.MULTILINE)
    assert re.search(r"^  1-3 months     #{30} +3$", r.text, re.MULTILINE)


# --------------------------------------------------------------------------- the HTML part

BAR = re.compile(
    r'<td class="bar" width="(\d+)%" bgcolor="#[0-9a-f]{6}" '
    r'style="width:(\d+)%;[^"]*background-color:#[0-9a-f]{6};'
)


@pytest.mark.parametrize(
    ("who", "at"), [(MARIA, WEEK), (PRIYA, "2026-11-16 09:00"), (DAVID, WEEK), (SAM, "2026-09-21 09:00")]
)
def test_the_html_is_safe_for_outlook_and_gmail(store, who, at):
    html = render_digest(store, who, t(at), CONFIG).html
    lowered = html.lower()
    for banned in ("<img", "<style", "<link", "<script", "url(", "@import", "background-image", "<svg"):
        assert banned not in lowered, banned
    for layout in ("display:flex", "display:grid", "display: flex", "display: grid", "position:"):
        assert layout not in lowered, layout
    # Styles are inline and fetch nothing.
    for style in re.findall(r'style="([^"]*)"', html):
        assert "http" not in style
    # Narrow enough for a phone: nothing fixed wider than the 640px column.
    assert all(int(w) <= 640 for w in re.findall(r"width:(\d+)px", html))
    assert "max-width:640px" in html
    # Every bar cell carries its width inline, as the data gives it, and nothing else is a bar.
    data = data_of(store, who, at)
    expected = [
        b["bar"]
        for section in (
            data["response"]["trend"]
            if data["response"]["week"]["n"] or data["response"]["trailing"]["n"]
            else [],
            [{"bar": r["trailing"]["bar"]} for r in [data["attainment"]["all"], *data["attainment"]["rows"]]]
            if data["attainment"]["all"]["week"]["n"] or data["attainment"]["all"]["trailing"]["n"]
            else [],
            data["institutions"],
            data["ages"],
        )
        for b in section
        if b["bar"]
    ]
    cells = re.findall(r'<td class="bar"[^>]*>', html)
    widths = [(int(a), int(b)) for a, b in BAR.findall(html)]
    assert len(cells) == len(widths) == len(expected)
    assert widths == [(b, b) for b in expected]
    assert all(0 < b <= 100 for b in expected)


def test_the_html_charts_of_the_scenario(store):
    html = render_digest(store, MARIA, t(WEEK), CONFIG).html
    bars = [int(w) for w, _ in BAR.findall(html)]
    # Trend: Sep 01 10.5 h, Sep 08 7.8 h, Sep 15 11.5 h (the top), Oct 13 6.2 h; then the
    # responses within the policy's time over the trailing 12 weeks: all and fulfillment 2 of 3
    # (67%: 10810550's 10.5 h is over the 1 business day, 9 h, of a high case), GU 1 of 1,
    # PSU none (no bar), WSU 0 of 1 (no bar), WWU 1 of 1; then the four institutions (one case
    # each); then the ages: 1 under a week, 3 of 1-3 months.
    assert bars == [91, 68, 100, 54, 67, 67, 100, 100, 100, 100, 100, 100, 33, 100]


def test_a_script_title_is_escaped_in_the_html():
    title = '<script>alert(1)</script> & "quotes"'
    data, r = from_events([opened("2026-10-12 10:00", priority="high", title=title)], "2026-11-30 09:00")
    assert data["needs_you"][0]["title"] == title
    assert "<script" not in r.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.html
    assert title in r.text


# --------------------------------------------------------------------------- the same every time


def test_rendering_twice_gives_the_same_mail(store):
    first = render_digest(store, MARIA, t(WEEK), CONFIG)
    assert render_digest(store, MARIA, t(WEEK), CONFIG) == first
    # Any instant of the week gives the digest of its Monday slot, as the store stood then.
    assert render_digest(store, MARIA, t("2026-10-25 23:00"), CONFIG) == first
    assert render_digest(store, MARIA, t("2026-10-26 09:00"), CONFIG) != first


def test_the_reading_order_of_the_mail_does_not_matter(store, tmp_path):
    with Store(tmp_path / "backward.db") as backward:
        for path in reversed(MAIL):
            ingest(backward, CONFIG, read_paths([path]))
        assert render_digest(backward, MARIA, t(WEEK), CONFIG) == render_digest(store, MARIA, t(WEEK), CONFIG)


@pytest.mark.parametrize("ext", ["txt", "html"])
def test_the_golden_digest(store, ext):
    r = render_digest(store, MARIA, t(WEEK), CONFIG)
    got = f"Subject: {r.subject}\n\n{r.text}" if ext == "txt" else r.html
    path = GOLDEN / f"maria-lopez-2026-10-19.{ext}"
    if REGOLD:
        path.write_text(got, encoding="utf-8")
    assert path.exists(), f"{path} is missing: run with CASEWATCH_REGOLD=1, then read it line by line"
    assert got == path.read_text(encoding="utf-8"), (
        f"the digest differs from {path.name}; if the change is meant, rerun with CASEWATCH_REGOLD=1 "
        "and read the new golden line by line"
    )


# --------------------------------------------------------------------------- catching up


def _digests_in(folder: Path) -> list[email.message.EmailMessage]:
    out = []
    for path in sorted(folder.glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, email.message.EmailMessage)
        if msg["X-Casewatch-Action"] == "digest":
            out.append(msg)
    return out


def test_after_a_three_week_outage_each_pm_gets_one_digest_not_three(tmp_path):
    config = CONFIG
    with Store(tmp_path / "cw.db") as s:
        ingest(s, config, read_paths(MAIL))
        before, after = tmp_path / "before", tmp_path / "after"
        with FileTransport(before) as transport:
            run_cycle(s, config, t("2026-09-28 09:00"), transport)
        # casewatch is down for three weeks: the digests of Oct 5 and Oct 12 are never made.
        with FileTransport(after) as transport:
            run_cycle(s, config, t("2026-10-19 09:00"), transport)
        with FileTransport(tmp_path / "again") as transport:
            run_cycle(s, config, t("2026-10-19 10:00"), transport)
    with_areas = sorted(p.email for p in config.program_managers if p.areas)
    for folder, week in ((before, "2026-09-21 to 2026-09-28"), (after, "2026-10-12 to 2026-10-19")):
        sent = _digests_in(folder)
        assert sorted(str(m["To"]) for m in sent) == with_areas
        for m in sent:
            body = m.get_body(preferencelist=("plain",))
            assert body is not None
            assert f", {week}." in folded(body.get_content())
    # A later cycle of the same Monday sends no digest again.
    again = tmp_path / "again"
    assert not again.exists() or _digests_in(again) == []


def test_the_digest_the_cycle_sends_is_the_one_digest_renders(tmp_path, store):
    with Store(tmp_path / "cw.db") as s:
        ingest(s, CONFIG, read_paths(MAIL))
        with FileTransport(tmp_path / "out") as transport:
            run_cycle(s, CONFIG, t(WEEK), transport)
    [mine] = [m for m in _digests_in(tmp_path / "out") if m["To"] == MARIA.email]
    r = render_digest(store, MARIA, t(WEEK), CONFIG)
    assert mine["Subject"] == r.subject
    plain = mine.get_body(preferencelist=("plain",))
    assert plain is not None
    # The same text, but for the signature: the cycle's Reply-To carries the message's token.
    assert plain.get_content().replace("\r\n", "\n").split("\n-- \n")[0] == r.text.split("\n-- \n")[0]


# --------------------------------------------------------------------------- issue 16: Monday morning

PM_BY = {"actor": "pm", "by": MARIA.email}


def stalled_high() -> list[Event]:
    """A high case the vendor has not answered since it opened Tue 2026-09-01 10:00 PDT: the
    stalled-high alert falls due 30 days later, Thu 2026-10-01 10:00 PDT."""
    return [opened("2026-09-01 10:00", priority="high")]


def test_what_needs_you_is_marked_new_then_still_open_since_when():
    """ "The digest ... 'Needs you' ... each item marked new or still open since when" (issue 16)."""
    data, r = from_events(stalled_high(), "2026-10-05 09:00")
    [item] = data["needs_you"]
    assert (item["kind"], item["new"]) == ("pm_stalled_high", True)
    assert "New: waiting for you since Thu 2026-10-01 10:00 PDT." in folded(r.text)
    data, r = from_events(stalled_high(), "2026-10-19 09:00")
    [item] = data["needs_you"]
    assert item["new"] is False
    assert "Still open: waiting for you since Thu 2026-10-01 10:00 PDT (2 weeks)." in folded(r.text)
    assert "Still open: waiting for you since Thu 2026-10-01 10:00 PDT (2 weeks)." in visible(r.html)


@pytest.mark.parametrize(
    ("command", "extra", "did"),
    [
        ("agenda", {}, "put on the agenda of the call on Wed 2026-11-04 10:00 PST"),
        ("snooze", {"until": t("2026-10-20 09:00").isoformat()}, "snoozed until Tue 2026-10-20 09:00 PDT"),
        ("mute", {}, "muted"),
        ("done", {}, "marked done"),
    ],
)
def test_what_the_pm_already_acted_on_leaves_needs_you(command, extra, did):
    """ "'Needs you' keeps listing cases the PM already acted on (replied `agenda`) for three weeks"
    (issue 16): a PM's agenda, snooze, mute or done takes the case out, and the digest says so."""
    events = [*stalled_high(), ev("command", "2026-10-08 09:00", command=command, **PM_BY, **extra)]
    data, r = from_events(events, "2026-10-13 09:00")  # Mon 10-12 is Columbus Day: Tuesday's digest
    assert data["needs_you"] == []
    [acted] = data["acted"]
    assert (acted["number"], acted["did"], acted["by"]) == (CASE, command, MARIA.email)
    assert "WHAT NEEDS YOU" not in r.text
    assert f"Case {CASE}, WWU: {did} by {MARIA.email} on Thu 2026-10-08 09:00 PDT." in folded(r.text)


def test_an_owners_command_does_not_take_a_case_off_the_pms_list():
    """ "Actions addressed to a PM are held only by a PM's command" (policy, refinements)."""
    events = [*stalled_high(), ev("command", "2026-10-06 09:00", actor="member", command="mute")]
    data, _ = from_events(events, "2026-10-13 09:00")
    assert [c["number"] for c in data["needs_you"]] == [CASE]
    assert data["acted"] == []


def test_what_the_pm_acted_on_comes_back_when_the_hold_ends():
    """A snooze that ran out, an agenda whose call was held: the case needs the PM again."""
    snoozed = [
        *stalled_high(),
        ev("command", "2026-10-06 09:00", command="snooze", until=t("2026-10-14 09:00").isoformat(), **PM_BY),
    ]
    data, _ = from_events(snoozed, "2026-10-19 09:00")
    assert [(c["number"], c["new"]) for c in data["needs_you"]] == [(CASE, False)]
    flagged = [*stalled_high(), ev("command", "2026-10-06 09:00", command="agenda", **PM_BY)]
    data, r = from_events(flagged, "2026-11-09 09:00")  # the call of Wed 2026-11-04 was held
    assert [c["number"] for c in data["needs_you"]] == [CASE]
    assert "Still open: waiting for you since Thu 2026-10-01 10:00 PDT (5 weeks)." in folded(r.text)


def three_linked() -> tuple[list[Event], tuple[Link, ...]]:
    cases = [
        opened("2026-09-14 10:00", case=n, institution=i, owner=f"x@{i.lower()}.edu")
        for n, i in (("10700001", "WWU"), ("10700002", "UW"), ("10700003", "WSU"))
    ]
    links = (
        Link.of("10700001", "10700002", "cited together", t("2026-09-15 10:00")),
        Link.of("10700002", "10700003", "cited together", t("2026-09-16 10:00")),
    )
    return cases, links


def test_a_widespread_problem_is_marked_new_then_still_open():
    """ "Widespread problems repeat weekly with nothing marking what is new" (issue 16)."""
    cases, links = three_linked()
    data, r = from_events(cases, "2026-09-21 09:00", links=links)
    assert data["clusters"][0]["new"] is True
    assert "New since Wed 2026-09-16 10:00 PDT." in folded(r.text)
    data, r = from_events(cases, "2026-09-28 09:00", links=links)
    assert data["clusters"][0]["new"] is False
    assert "Still open since Wed 2026-09-16 10:00 PDT (1 week)." in folded(r.text)


def test_the_next_support_call_its_cut_off_and_cases():
    """ "add the case to the agenda for the next Alliance/Ex Libris Support call (scheduled for the
    first Wednesday of each month)": the digest names the call, the cut-off, the cases on it."""
    events = [
        *stalled_high(),
        opened("2026-10-05 10:00", case="10700002", institution="UW", owner="a@uw.edu"),
    ]
    events.append(ev("command", "2026-10-20 09:00", case="10700002", command="agenda", **PM_BY))
    # Mon 2026-10-26: the call is Wed 11-04 10:00 PST, the cut-off 7 days before (PDT still).
    data, r = from_events(events, "2026-10-26 09:00")
    call = data["support_call"]
    assert (call["at"], call["cutoff"], call["agenda"]) == (
        "Wed 2026-11-04 10:00 PST",
        "Wed 2026-10-28 10:00 PDT",
        "due",
    )
    # The stalled case is on it by itself (it needs the PM), the flagged one by the PM's reply.
    assert [c["number"] for c in call["cases"]] == [CASE, "10700002"]
    text = r.text
    assert "--- NEXT SUPPORT CALL: Wed 2026-11-04 10:00 PST" in text
    assert "Agenda cut-off Wed 2026-10-28 10:00 PDT: the agenda goes out then." in text
    assert "2 cases on it:" in text
    assert "Next support call: Wed 2026-11-04 10:00 PST" in visible(r.html)
    # The next Monday, the agenda went out (its key is among those sent).
    data, r = from_events(events, "2026-11-02 09:00", sent=("agenda:2026-11-04",))
    assert data["support_call"]["agenda"] == "sent"
    assert "Agenda cut-off Wed 2026-10-28 10:00 PDT: the agenda went out." in r.text
    data, r = from_events(events, "2026-11-02 09:00")
    assert data["support_call"]["agenda"] == "not sent"
    assert "the agenda did not go out" in r.text


def test_no_support_call_section_when_nothing_of_the_pm_is_on_it_and_the_cut_off_is_far():
    events = [opened("2026-10-05 10:00")]
    data, r = from_events(events, "2026-10-19 09:00")  # cut-off Wed 10-28, after the next digest
    assert data["support_call"] is None
    assert "SUPPORT CALL" not in r.text


def test_what_falls_due_in_the_coming_week():
    """ "what falls due in the coming week (so the PM sees it before it breaks)" (issue 16)."""
    events = [
        opened("2026-11-02 10:00"),
        ev("vendor_comment", "2026-11-13 10:00"),  # Fri: an update request is due Tue 11-17 10:00
        opened("2026-11-02 10:00", case="10700002", priority="low", institution="UW", owner="a@uw.edu"),
        ev("vendor_comment", "2026-11-13 10:00", case="10700002"),  # low: 3 business days, Wed 11-18
        opened("2026-11-02 10:00", case="10700003", institution="WSU", owner="b@wsu.edu"),
        ev("vendor_comment", "2026-11-13 10:00", case="10700003"),
        ev("command", "2026-11-13 11:00", actor="member", case="10700003", command="mute"),  # held
    ]
    data, r = from_events(events, "2026-11-16 09:00")
    assert [(a["due"], a["kind"], a["cases"], a["to"]) for a in data["coming"]] == [
        ("Tue 2026-11-17 10:00 PST", "request_update", [CASE], "the owner"),
        ("Wed 2026-11-18 10:00 PST", "request_update", ["10700002"], "the owner"),
    ]
    assert "--- FALLING DUE IN THE COMING WEEK: 2" in r.text
    assert "Tue 2026-11-17 10:00 PST  update request due" in r.text
    assert "case 10700002 (UW), to the owner" in r.text
    assert "Falling due in the coming week: 2" in visible(r.html)
    # A week later they are due, no longer coming; other PMs' digests never list them.
    data, _ = from_events(events, "2026-11-23 09:00")
    assert [a["cases"] for a in data["coming"]] == []
    data, _ = from_events(events, "2026-11-16 09:00", who=DAVID)
    assert data["coming"] == []


def attainment_events() -> list[Event]:
    return [
        # The trailing weeks (before Mon 11-09 08:00): a high case answered in 6 business hours
        # (within 1 business day), a normal one answered after 3 business days (over 2).
        opened("2026-11-02 09:00", priority="high"),
        ev("vendor_comment", "2026-11-02 15:00"),
        opened("2026-11-02 09:00", case="10700002", institution="UW", owner="a@uw.edu"),
        ev("vendor_comment", "2026-11-05 09:00", case="10700002"),
        # This week: a low case answered within 3 business days (Wed 11-11 is Veterans Day), a
        # system-down case answered after 5 hours (over the 4 hours of the 24x7 clock).
        opened("2026-11-10 09:00", case="10700003", priority="low"),
        ev("vendor_comment", "2026-11-12 16:00", case="10700003"),
        opened(
            "2026-11-10 09:00", case="10700004", priority="system_down", institution="UW", owner="a@uw.edu"
        ),
        ev("vendor_comment", "2026-11-10 14:00", case="10700004"),
    ]


def test_response_time_attainment_by_area_and_institution():
    """ "the share of vendor responses within the policy's thresholds, by area and institution,
    this week and the trailing 12 weeks" (issue 16); the thresholds are request_update's."""
    data, r = from_events(attainment_events(), "2026-11-16 09:00")
    ok = data["attainment"]
    assert ok["thresholds"] == {
        "system_down": "4 hours",
        "high": "1 business day",
        "normal": "2 business days",
        "low": "3 business days",
    }

    def pair(row: dict[str, Any]) -> tuple[tuple[int, int], tuple[int, int]]:
        return (row["week"]["within"], row["week"]["n"]), (row["trailing"]["within"], row["trailing"]["n"])

    assert pair(ok["all"]) == ((1, 2), (1, 2))
    assert {(row["group"], row["code"]): pair(row) for row in ok["rows"]} == {
        ("area", "fulfillment"): ((1, 2), (1, 2)),
        ("institution", "UW"): ((0, 1), (0, 1)),
        ("institution", "WWU"): ((1, 1), (1, 1)),
    }
    text = r.text
    assert "--- VENDOR RESPONSES WITHIN THE POLICY'S TIME" in text
    assert re.search(r"^  all +1/2 50% +1/2 50% +#{10}$", text, re.MULTILINE)
    assert re.search(r"^    UW +0/1 0% +0/1 0%$", text, re.MULTILINE)
    assert re.search(r"^    WWU +1/1 100% +1/1 100% +#{20}$", text, re.MULTILINE)
    assert "Vendor responses within the policy’s time" in visible(r.html)


def test_response_weeks_are_counted_on_the_wall_clock_across_daylight_saving():
    """The trend's weeks begin at the digest's local time, as their labels say: an answer on Mon
    2026-10-26 at 08:30 PDT, half an hour into the week of "Oct 26" (from 08:00 PDT; the clocks
    went back on Sun 11-01), counts in that week, with the instants in UTC as the store gives
    them (not 7 x 24 hours back from Mon 11-16 08:00 PST, which would begin that week at 09:00)."""

    def utc(e: Event) -> Event:
        return dataclasses.replace(e, at=e.at.astimezone(UTC))

    events = [utc(opened("2026-10-23 09:00")), utc(ev("vendor_comment", "2026-10-26 08:30"))]
    data, _ = from_events(events, "2026-11-16 09:00")
    weeks = {w["week"]: w["n"] for w in data["response"]["trend"]}
    assert (weeks["Oct 19"], weeks["Oct 26"]) == (0, 1)
    assert data["attainment"]["all"]["trailing"]["n"] == 1


def test_attainment_reads_the_thresholds_from_the_config():
    """Nothing is hard-coded: with 4 business days for a normal case, its 3 days are on time."""
    four = Duration(4, "business days")
    actions = dataclasses.replace(
        CONFIG.actions, request_update=dataclasses.replace(CONFIG.actions.request_update, normal=four)
    )
    config = dataclasses.replace(CONFIG, actions=actions)
    data, _ = from_events(attainment_events(), "2026-11-16 09:00", config=config)
    assert data["attainment"]["all"]["trailing"]["within"] == 2
    assert data["attainment"]["thresholds"]["normal"] == "4 business days"


def test_attainment_shows_the_thresholds_as_the_config_writes_them():
    """The digest says "Within 4 Business Days" when the config says so, not a rewording."""
    actions = dataclasses.replace(
        CONFIG.actions,
        request_update=dataclasses.replace(CONFIG.actions.request_update, normal=duration("4 Business Days")),
    )
    config = dataclasses.replace(CONFIG, actions=actions)
    data, _ = from_events(attainment_events(), "2026-11-16 09:00", config=config)
    assert data["attainment"]["thresholds"]["normal"] == "4 Business Days"


def test_the_digest_mail_carries_its_calendar(tmp_path):
    """ "an iCalendar file attached (support calls, agenda cut-offs, the PM's upcoming due
    actions)" (issue 16)."""
    with Store(tmp_path / "cw.db") as s:
        ingest(s, CONFIG, read_paths(MAIL))
        with FileTransport(tmp_path / "out") as transport:
            run_cycle(s, CONFIG, t(WEEK), transport)
    [mine] = [m for m in _digests_in(tmp_path / "out") if m["To"] == MARIA.email]
    [part] = [p for p in mine.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert part.get_filename() == "casewatch.ics"
    ics = part.get_payload(decode=True).decode("utf-8")
    assert ics.startswith("BEGIN:VCALENDAR\r\n")
    # The call of Wed 2026-11-04 10:00 PST (18:00 UTC), its cut-off Wed 10-28 10:00 PDT (17:00
    # UTC), and 10800001's update request, due Mon 2026-10-19 14:10:55 PDT (2 business days after the
    # status change of Thu 14:10:55).
    assert (
        "UID:support-call-2026-11-04@orbiscascade.org\r\nDTSTAMP:20261019T150000Z\r\nDTSTART:20261104T180000Z"
        in ics
    )
    assert (
        "UID:agenda-cutoff-2026-11-04@orbiscascade.org\r\nDTSTAMP:20261019T150000Z\r\nDTSTART:20261028T170000Z"
        in ics
    )
    assert "DTSTART:20261019T211055Z\r\nSUMMARY:Update request due: case 10800001 (PSU)" in ics
    # The text and HTML are still there, as before.
    assert mine.get_body(preferencelist=("plain",)) is not None
    assert mine.get_body(preferencelist=("html",)) is not None


# --------------------------------------------------------------------------- streamed


@pytest.mark.parametrize("at", ["2026-10-05 09:00", WEEK, "2026-11-02 09:00"])
def test_the_digest_of_the_streamed_store_is_the_digest_of_the_whole_snapshot(store, at):
    """``casewatch digest`` reads the store case by case (``Store.streamed``)."""
    slot = digest_slot(t(at), CONFIG)
    for who in (MARIA, DAVID, PRIYA, SAM):
        whole = for_pm(who, store.snapshot(slot), slot, CONFIG)
        assert for_pm(who, store.streamed(slot), slot, CONFIG) == whole


def test_a_week_keeps_of_each_case_no_more_than_the_rules_across_cases_read(store):
    """What the digests read of each case's timeline is taken as the engine reads it; of its
    events the week keeps only what the rules across cases read (``slim``), and the whole case."""
    slot = digest_slot(t(WEEK), CONFIG)
    week = read_week(store.streamed(slot), slot, CONFIG)
    full, actions = candidates(store.snapshot(slot), slot, CONFIG)
    assert [c.events for c in week.ctxs] == [slim(c).events for c in full]
    assert [c.case for c in week.ctxs] == [c.case for c in full]
    assert week.actions == actions
    assert sum(len(c.events) for c in week.ctxs) < sum(len(c.events) for c in full) / 2
