"""The message templates: every action kind renders from its documented context, safely."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from html import unescape
from typing import Any, get_type_hints

import pytest
from jinja2 import UndefinedError, meta
from policytools import CASE, CONFIG, ev, opened, snapshot, t
from policytools import due as due_at

from daemon.digest import for_pm
from daemon.model import MESSAGE_KINDS, Action, Event, Link
from daemon.outbound.context import ActionContext, CaseView, MailContext, ReplyContext, build
from daemon.outbound.render import TEMPLATES, environment, render
from daemon.policy.engine import Snapshot, contexts

REPLY_TO = "casewatch@orbiscascade.org"
MON = "2026-09-14"
OPEN = opened(f"{MON} 10:00")
UPDATE_ASKED = ev("update_requested", "2026-09-16 11:00", actor="member")
PENDING = ev("status_changed", "2026-09-15 10:00", status="Pending Customer Input", state="pending_customer")
FLAG_EARLY = ev("command", "2026-11-20 10:00", actor="pm", command="agenda")
FLAG_LATE = ev("command", "2026-11-30 10:00", actor="pm", command="agenda")
NOV = opened("2026-11-16 10:00")
THREE = [
    opened(f"{MON} 10:00", case=n, institution=i, owner=f"x@{i.lower()}.edu")
    for n, i in (("10700001", "WWU"), ("10700002", "UW"), ("10700003", "WSU"))
]
LINKS = [
    Link.of("10700001", "10700002", "cited together", t("2026-09-15 10:00")),
    Link.of("10700002", "10700003", "cited together", t("2026-09-16 10:00")),
]

#: Per action kind: the events, the local time and the links that make the engine produce it.
SCENARIOS: dict[str, tuple[list[Event], str, list[Link]]] = {
    "request_update": ([OPEN], "2026-09-16 10:00", []),
    "escalate": ([OPEN, UPDATE_ASKED], "2026-09-18 11:00", []),
    "pm_assist": (
        [
            OPEN,
            UPDATE_ASKED,
            ev("in_case_feedback", "2026-09-17 09:00", actor="member"),
            ev("escalation_requested", "2026-09-17 10:00", actor="member"),
        ],
        "2026-09-22 10:00",  # 3 business days after the last of comment, feedback, escalation
        [],
    ),
    "pm_system_down": ([opened(f"{MON} 10:00", priority="system_down")], f"{MON} 10:30", []),
    "pm_stalled_high": ([opened(f"{MON} 10:00", priority="high")], "2026-10-14 10:00", []),
    "customer_turn": ([OPEN, PENDING], "2026-09-20 10:00", []),
    "survey": ([OPEN, ev("case_closed", "2026-09-16 08:00", state="closed")], "2026-09-17 08:00", []),
    "share_on_list": ([opened(f"{MON} 10:00", priority="high")], "2026-09-15 10:00", []),
    "description_gaps": ([opened(f"{MON} 10:00", description="It fails.")], f"{MON} 10:05", []),
    "widespread": (THREE, "2026-09-16 10:00", LINKS),
    "agenda": ([NOV, FLAG_EARLY], "2026-11-25 10:00", []),
    "coordinator_contact": ([NOV, FLAG_LATE], "2026-11-30 10:00", []),
    "post_call_followup": ([NOV, FLAG_LATE], "2026-12-03 10:00", []),
    "handover": (
        [
            OPEN,
            ev(
                "handover",
                "2026-09-15 10:00",
                actor="member",
                owner="kim@wwu.edu",
                previous_owner="jdoe@wwu.edu",
            ),
        ],
        "2026-09-15 10:00",
        [],
    ),
    "pm_escalation": (
        [OPEN, ev("escalation_requested", "2026-09-16 11:00", actor="member")],
        "2026-09-16 11:00",
        [],
    ),
    "owner_inactive": (
        [OPEN, ev("reminder_sent", "2026-09-16 10:00", actor="system", action="request_update", key="k")],
        "2026-09-18 10:00",
        [],
    ),
    "owner_unreachable": (
        [
            OPEN,
            ev(
                "reminder_sent",
                "2026-09-16 10:05",
                actor="system",
                delivery="failed",
                recipient="jdoe@wwu.edu",
                dsn_status="5.1.1",
                permanent=True,
            ),
        ],
        "2026-09-16 10:05",
        [],
    ),
    "record_update": (
        [
            OPEN,
            ev("case_of_record", "2026-09-15 10:00", actor="pm"),
            ev("vendor_comment", "2026-09-16 10:00"),
        ],
        "2026-09-16 10:00",
        [],
    ),
    # Mailed a month late (a first run over an old mailbox): summarized for the PM.
    "backlog": ([OPEN], "2026-10-16 10:00", []),
    "digest": (
        [
            opened("2026-10-12 10:00", priority="high"),  # 30 days without a response: stalled
            opened("2026-11-23 10:00", case="10700002", institution="UW", owner="ann@uw.edu"),
            ev("vendor_comment", "2026-11-24 09:00", case="10700002"),
        ],
        "2026-11-30 08:00",
        [],
    ),
}


def linked(snap: Snapshot) -> Snapshot:
    """``snap`` with each case's related cases, as the store gives them (from the links)."""
    related: dict[str, set[str]] = {}
    for link in snap.links:
        related.setdefault(link.a, set()).add(link.b)
        related.setdefault(link.b, set()).add(link.a)
    files = tuple(replace(f, related=tuple(sorted(related.get(f.number, ())))) for f in snap.files)
    return replace(snap, files=files)


def context_of(
    action: Action, events: Iterable[Event], at: str, links: Sequence[Link] = ()
) -> dict[str, Any]:
    """The template context of ``action``, built as the daemon builds it (from the engine's view)."""
    views = {
        c.number: CaseView(c.case, c.events, c)
        for c in contexts(linked(snapshot(events, links)), t(at), CONFIG)
    }
    view = views[action.case] if action.case else None
    members = [views[n] for n in action.cases if n in views]
    data = None
    if action.kind == "digest":  # as the outbox does: the PM's digest as of the period's end
        pm = next(p for p in CONFIG.program_managers if p.email in action.to)
        period_end = datetime.fromisoformat(action.data["period_end"])
        data = for_pm(pm, snapshot(events, links), period_end, CONFIG)
    return build(action, view, members, t(at), REPLY_TO, CONFIG, data, views)


#: What was sent before a kind's scenario: a follow-up comes only after the call's agenda went out.
SENT = {"post_call_followup": ["agenda:2026-12-02"]}


def sample(kind: str, events: Sequence[Event] | None = None, at: str | None = None) -> dict[str, Any]:
    """The context of the first ``kind`` action the engine gives for the kind's scenario."""
    base_events, base_at, links = SCENARIOS[kind]
    events = base_events if events is None else events
    at = base_at if at is None else at
    actions = due_at(events, at, links=links, kinds=[kind], sent=SENT.get(kind, ()))
    assert actions, f"the scenario gives no {kind} action"
    return context_of(actions[0], events, at, links)


def body(ctx: dict[str, Any], ext: str = "txt", site: str = "") -> str:
    """One action's body part, as ``render`` makes it before wrapping."""
    return environment(site).get_template(f"{ctx['kind']}.{ext}").render(ctx).strip("\n")


def visible(html: str) -> str:
    """The text a reader sees in an HTML part: tags dropped, entities decoded, whitespace folded."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def folded(text: str) -> str:
    return " ".join(text.split())


def with_case_title(ctx: dict[str, Any], title: str) -> dict[str, Any]:
    """``ctx`` with every case in it (the action's and a cluster's or agenda's) titled ``title``."""
    ctx = copy.deepcopy(ctx)
    for case in [ctx["case"], *ctx["cases"]]:
        if case is not None:
            case["title"] = title
    return ctx


KINDS = list(MESSAGE_KINDS)
CASE_KINDS = [k for k in KINDS if k not in ("widespread", "agenda", "digest", "backlog")]
#: The kinds whose body carries a ready-to-paste draft, and those that must not pretend to.
DRAFT_KINDS = [
    k
    for k in KINDS
    if k not in ("pm_assist", "pm_system_down", "pm_stalled_high", "pm_escalation", "digest", "backlog")
]
DRAFT_BEGIN = "----- draft: "
DRAFT_END = "----- end of draft -----"
LEAKS = ("None", "{{", "}}", "{%", "%}", "Undefined")
SCRIPT_TITLE = '<script>alert(1)</script> & "quotes"'


@pytest.fixture(scope="module")
def samples() -> dict[str, dict[str, Any]]:
    return {kind: sample(kind) for kind in KINDS}


# --------------------------------------------------------------------------- every kind


def test_every_action_kind_has_its_three_templates_and_the_wrapper_exists():
    names = {p.name for p in TEMPLATES.iterdir()}
    for kind in MESSAGE_KINDS:
        for suffix in (".subject.txt", ".txt", ".html"):
            assert f"{kind}{suffix}" in names, f"{kind}{suffix} is missing"
    assert {"mail.txt", "mail.html"} <= names
    # reply.*: the confirmation of reply commands (tests/test_replies.py).
    per_kind = {n.split(".", 1)[0] for n in names if not n.startswith(("_", "mail.", "reply.", "."))}
    assert per_kind == set(MESSAGE_KINDS), "a template for an unknown action kind"


def test_the_samples_come_from_the_engine_with_the_right_case(samples):
    for kind, ctx in samples.items():
        assert ctx["kind"] == kind
        if kind in CASE_KINDS:
            assert ctx["case"] is not None
            assert ctx["case"]["number"] == CASE
        else:
            assert ctx["case"] is None


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_text_and_html(samples, kind):
    ctx = samples[kind]
    r = render([ctx])
    assert r.subject
    assert "\n" not in r.subject
    assert "\r" not in r.subject
    part = body(ctx)
    assert part
    assert part in r.text
    assert r.text.startswith("Hello,\n")
    # Commands are offered on mail about a case (and on what a PM can flag); none on a digest.
    offered = "Reply to this message with one of these commands on the first line:" in r.text
    assert offered == bool(ctx["commands"])
    assert offered == (kind not in ("agenda", "digest", "backlog"))
    for c in ctx["commands"]:
        assert f"{c['syntax']} — {c['meaning']}" in r.text
        assert c["meaning"] in visible(r.html)
    assert f"sent by casewatch for {ctx['consortium']}" in folded(r.text)
    assert f"Replies go to {REPLY_TO}" in folded(r.text)
    assert r.html.startswith("<!DOCTYPE html>")
    assert r.html.rstrip().endswith("</html>")
    fragment = body(ctx, "html")
    assert fragment in r.html
    assert "<html" not in fragment
    assert "<body" not in fragment
    assert f"sent by casewatch for {ctx['consortium']}" in visible(r.html)
    for output in (r.subject, r.text, r.html):
        for leak in LEAKS:
            assert leak not in output, f"{leak!r} leaks into {kind}"


@pytest.mark.parametrize("kind", CASE_KINDS)
def test_a_case_is_cited_in_the_subject_and_the_first_line(samples, kind):
    ctx = samples[kind]
    assert CASE in render([ctx]).subject
    assert CASE in body(ctx).splitlines()[0]
    assert CASE in visible(body(ctx, "html")).split(".")[0]


@pytest.mark.parametrize("kind", [k for k in KINDS if k not in ("digest", "agenda", "backlog")])
def test_the_first_two_lines_say_what_happened_and_for_how_long(samples, kind):
    ctx = samples[kind]
    clock = ctx["clock"]
    assert clock is not None
    head = folded(" ".join(body(ctx).splitlines()[:2]))
    assert clock["since"] in head
    assert clock["elapsed"] in head


def test_the_backlog_lists_each_stale_action_once_with_its_case_kind_and_due_time(samples):
    ctx = samples["backlog"]
    # The case opened Mon 2026-09-14 10:00: its update request fell due two business days later.
    assert [(i["kind"], i["case"], i["due_at"]) for i in ctx["items"]] == [
        ("request_update", CASE, "Wed 2026-09-16 10:00 PDT"),
    ]
    head = folded(" ".join(body(ctx).splitlines()[:2]))
    assert "1 action that fell due more than 7 days ago" in head
    text, html = body(ctx), visible(body(ctx, "html"))
    for part in (text, html):
        assert "request_update" in part
        assert f"case {CASE}, due Wed 2026-09-16 10:00 PDT (for jdoe@wwu.edu)" in folded(part)
    assert render([ctx]).subject == "casewatch backlog: 1 action too old to send one by one"


def test_the_agenda_opens_with_its_call(samples):
    ctx = samples["agenda"]
    assert ctx["clock"] is None  # counted down to the call, not up from something
    assert ctx["call_at"] in folded(" ".join(body(ctx).splitlines()[:2]))


@pytest.mark.parametrize("kind", KINDS)
def test_drafts_are_delimited_in_both_parts(samples, kind):
    ctx = samples[kind]
    text, html = body(ctx), visible(body(ctx, "html"))
    if kind not in DRAFT_KINDS:
        assert DRAFT_BEGIN not in text
        assert DRAFT_BEGIN not in html
        return
    lines = text.splitlines()
    begins = [i for i, line in enumerate(lines) if line.startswith(DRAFT_BEGIN) and line.endswith("-----")]
    ends = [i for i, line in enumerate(lines) if line == DRAFT_END]
    assert begins, f"{kind} has no draft"
    assert len(begins) == len(ends)
    for b, e in zip(begins, ends, strict=True):
        assert b < e - 1, "an empty draft"
    assert html.count(DRAFT_BEGIN) == len(begins)
    assert html.count(DRAFT_END) == len(ends)


@pytest.mark.parametrize("kind", KINDS)
def test_the_html_says_what_the_text_says(samples, kind):
    ctx = samples[kind]
    text, html = body(ctx), visible(body(ctx, "html"))
    placeholders = {folded(p) for p in re.findall(r"\[[^\]]+\]", text)}
    for p in placeholders:
        assert p in html, f"{p} is in the text of {kind} but not in its HTML"
    for c in [ctx["case"], *ctx["cases"]]:
        if c is not None:
            assert c["number"] in html
    if ctx["clock"] is not None:
        assert ctx["clock"]["since"] in html
    head = folded(" ".join(text.splitlines()[:2]))
    assert head in html, "the opening lines differ"


@pytest.mark.parametrize("kind", KINDS)
def test_text_lines_stay_short(samples, kind):
    long = [line for line in body(samples[kind]).splitlines() if len(line) > 100]
    assert long == []


@pytest.mark.parametrize("kind", KINDS)
def test_courteous_never_blaming(samples, kind):
    words = ("blame", "fault", "failed to", "unacceptable", "ignored", "incompetent", "again and again")
    text = render([samples[kind]]).text.lower()
    assert [w for w in words if w in text] == []


# --------------------------------------------------------------------------- what each kind says


def test_request_update_draft(samples):
    ctx = samples["request_update"]
    text = folded(body(ctx))
    draft = text.split("----- draft: paste into the case comment -----")[1].split(DRAFT_END)[0]
    assert f"case {CASE}" in draft
    assert '"Hold shelf letters not sent"' in draft
    assert "status update" in draft
    assert "estimate" in draft
    assert "impact" in draft.lower()
    assert "about 300 patrons a week" in text  # the description, for the impact statement
    assert '"asked"' in text


def test_escalate_draft_names_the_address_the_pm_and_what_was_tried(samples):
    ctx = samples["escalate"]
    text = folded(body(ctx))
    assert "----- draft: e-mail to your region's Ex Libris escalation address -----" in text
    assert "mlopez@orbiscascade.org" in text
    assert ctx["tried"]["update_requested"] in text
    assert "Escalation request for case " + CASE in text
    assert "in-case feedback (it can be used only once per case)" in text
    addressed = dict(ctx, escalation_address="escalations.na@exlibrisgroup.com")
    assert "----- draft: e-mail to escalations.na@exlibrisgroup.com -----" in body(addressed)
    assert "your region's" not in body(addressed)


def test_escalate_without_feedback_left_offers_no_feedback_draft():
    events = [OPEN, UPDATE_ASKED, ev("in_case_feedback", "2026-09-16 12:00", actor="member")]
    ctx = sample("escalate", events, "2026-09-18 12:00")
    assert ctx["suggest_feedback"] is False
    text = body(ctx)
    assert text.count(DRAFT_BEGIN) == 1
    assert "draft: in-case feedback" not in text
    assert "only once per case" not in text
    assert "draft: in-case feedback" not in visible(body(ctx, "html"))
    assert f"{ctx['tried']['feedback']}: in-case feedback." in text  # tried, so it is in the e-mail


def test_pm_assist_summarises_the_case_for_the_pm(samples):
    ctx = samples["pm_assist"]
    text = body(ctx)
    for value in (*ctx["tried"].values(), "jdoe@wwu.edu", "WWU", "Normal", "Hold shelf letters not sent"):
        assert value
        assert value in text
    for event in ctx["timeline"]:
        assert f"{event['at']}  {event['actor']}: {event['summary']}" in text
    assert "Support managers" in text
    assert '"agenda"' in text


def test_pm_system_down_alert(samples):
    ctx = samples["pm_system_down"]
    text = folded(body(ctx))
    assert "System/Component Down" in text.split(".")[0]
    for value in ("WWU", "jdoe@wwu.edu", ctx["clock"]["since"], "about 300 patrons a week"):
        assert value in text


def test_customer_turn_says_whose_turn_and_the_vendor_deadlines(samples):
    ctx = samples["customer_turn"]
    head = folded(" ".join(body(ctx).splitlines()[:3]))
    assert head.startswith(f"Ex Libris is waiting for our answer on case {CASE}")
    assert "Pending Customer Input" in head
    assert "7 days" in head
    assert "28 days" in head


def test_share_on_list_post_names_the_case_and_the_area_list(samples):
    text = body(samples["share_on_list"])
    assert "----- draft: post to the Alliance list for fulfillment -----" in text
    assert f"Subject: Case {CASE}: Hold shelf letters not sent" in text


@pytest.mark.parametrize(
    ("description", "category", "expected"),
    [
        pytest.param("It fails.", "Fulfillment", ["Steps to reproduce: [describe the steps"], id="thin"),
        pytest.param("It fails.", None, ["Category: [", "Fill out the Category field"], id="no-category"),
    ],
)
def test_description_gaps_lists_what_is_missing_with_placeholders(description, category, expected):
    events = [opened(f"{MON} 10:00", description=description, category=category)]
    ctx = sample("description_gaps", events, f"{MON} 10:05")
    text = body(ctx)
    assert ctx["missing"]
    for item in ctx["missing"]:
        assert f"  - {item}\n" in text
    for snippet in expected:
        assert snippet in text


def test_widespread_lists_the_cluster_and_the_policy_steps(samples):
    ctx = samples["widespread"]
    text = folded(body(ctx))
    head = folded(" ".join(body(ctx).splitlines()[:2]))
    assert "reached 3 Alliance institutions" in head
    assert "UW, WSU, WWU" in head
    for c in ctx["cases"]:
        assert c["number"] in text
        assert c["owner"] in text
        assert f"{c['number']} {c['institution']}" in text
    assert "case of record" in text
    assert "Alliance-level case" in text
    assert "communities" in text
    subject = render([ctx]).subject
    assert all(c["number"] in subject for c in ctx["cases"])


def test_agenda_lists_the_most_critical_case_first():
    cases = [
        opened("2026-11-16 10:00", case="10700001", priority="low"),
        opened("2026-11-16 10:00", case="10700002", priority="system_down"),
        opened("2026-11-16 10:00", case="10700003", priority="high"),
    ]
    flags = [ev("command", "2026-11-20 10:00", actor="pm", case=c.case, command="agenda") for c in cases]
    ctx = sample("agenda", [*cases, *flags], "2026-11-25 10:00")
    text = body(ctx)
    draft = text.split(DRAFT_BEGIN)[1]
    order = [draft.index(f"Case {n}:") for n in ("10700002", "10700003", "10700001")]
    assert order == sorted(order)
    assert "1. Case 10700002: WWU, System/Component Down priority" in draft
    assert "3 cases are flagged" in text
    # Each case: a one-line status and what we ask of the vendor, in both parts.
    html = visible(body(ctx, "html"))
    for c in ctx["cases"]:
        assert c["standing"]
        assert c["ask"]
        for part in (folded(draft), html):
            assert f"Status: {c['standing']}" in part
            assert f"We ask: {c['ask']}" in part
    first = folded(draft.split("2. Case")[0])
    assert "Status: open; System/Component Down priority; no vendor response for" in first
    assert "We ask: significant progress: a fix, or a date for one" in first
    assert render([ctx]).subject == (
        "Agenda draft, Ex Libris support call Wed 2026-12-02 10:00 PST: "
        "3 cases (10700002, 10700003, 10700001)"
    )


def test_agenda_without_cases_says_so():
    ctx = sample("agenda", [], "2026-11-25 10:00")
    assert ctx["cases"] == []
    text = body(ctx)
    assert "No case is flagged for this call yet." in text
    assert "No cases are on the agenda yet." in text
    assert (
        render([ctx]).subject
        == "Agenda draft, Ex Libris support call Wed 2026-12-02 10:00 PST: no case flagged yet"
    )
    assert "No case is flagged for this call yet." in visible(body(ctx, "html"))


def test_coordinator_contact_is_addressed_to_the_coordinator(samples):
    ctx = samples["coordinator_contact"]
    assert "----- draft: e-mail to coordinator@orbiscascade.org -----" in body(ctx)
    assert ctx["call_at"] in body(ctx)
    nobody = dict(ctx, coordinator="")
    assert "----- draft: e-mail to the support-call coordinator -----" in body(nobody)


def test_post_call_followup_note_to_the_owner(samples):
    text = body(samples["post_call_followup"])
    assert "----- draft: e-mail to jdoe@wwu.edu -----" in text
    assert "What came out of the call: [" in text
    assert samples["post_call_followup"]["call_at"] in text


def test_handover_asks_for_the_new_primary_contact(samples):
    ctx = samples["handover"]
    text = folded(body(ctx))
    assert ctx["successor"] == "kim@wwu.edu"
    draft = text.split("----- draft: paste into the case comment -----")[1]
    assert f"primary contact of case {CASE}" in draft
    assert "kim@wwu.edu" in draft
    assert "case administrator" in text
    assert "additional contacts" in text


def test_digest_opens_with_what_needs_the_pm(samples):
    ctx = samples["digest"]
    assert ctx["digest"] is not None
    assert [c["number"] for c in ctx["digest"]["needs_you"]] == [CASE]
    r = render([ctx])
    assert r.subject == "casewatch weekly digest, Maria Lopez (fulfillment): 1 case needs you"
    lines = body(ctx).splitlines()
    assert lines[:2] == [
        "Weekly digest for Maria Lopez (fulfillment), 2026-11-23 to 2026-11-30.",
        "1 case needs you; 2 open cases in all.",
    ]
    needs = "\n".join(lines[:12])
    assert f"1. Case {CASE}, WWU, High priority" in needs
    assert "Stalled high-priority case: no response from Ex Libris" in needs
    assert "not written yet" not in r.text


def test_a_digest_without_its_figures_still_says_whose_it_is(samples):
    ctx = dict(samples["digest"], digest=None)
    r = render([ctx])
    assert r.subject == "casewatch weekly digest, Maria Lopez (fulfillment)"
    assert "Weekly digest for Maria Lopez (fulfillment)" in body(ctx)
    assert "could not be gathered" in visible(r.html)


# --------------------------------------------------------------------------- safety


def test_a_script_title_is_escaped_in_html_from_a_real_case():
    events = [opened(f"{MON} 10:00", title=SCRIPT_TITLE)]
    ctx = sample("request_update", events, "2026-09-16 10:00")
    assert ctx["case"]["title"] == SCRIPT_TITLE
    r = render([ctx])
    assert "<script>" not in r.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;quotes&#34;" in r.html
    assert SCRIPT_TITLE in r.text  # plain text is not HTML: shown as written


@pytest.mark.parametrize("kind", KINDS)
def test_a_script_title_never_reaches_html_raw(samples, kind):
    ctx = with_case_title(samples[kind], SCRIPT_TITLE)
    html = render([ctx]).html
    assert "<script" not in html
    assert '"quotes"' not in html
    if ctx["case"] is not None or ctx["cases"]:
        assert "&lt;script&gt;" in html


@pytest.mark.parametrize("kind", [*CASE_KINDS, "widespread"])
def test_a_title_with_line_breaks_gives_a_one_line_subject(samples, kind):
    ctx = with_case_title(samples[kind], "Evil\r\nBcc: x@y")
    subject = render([ctx]).subject
    assert "\r" not in subject
    assert "\n" not in subject
    if "title" in environment().loader.get_source(environment(), f"{kind}.subject.txt")[0]:
        assert "Evil Bcc: x@y" in subject


def test_a_real_case_title_with_line_breaks():
    events = [opened(f"{MON} 10:00", title="Evil\r\nBcc: x@y")]
    r = render([sample("request_update", events, "2026-09-16 10:00")])
    assert r.subject == f'Case {CASE}: time to ask Ex Libris for an update ("Evil Bcc: x@y")'


# --------------------------------------------------------------------------- the wrapper


def test_two_actions_fold_into_one_message():
    first = sample("request_update")
    other = "10700002"
    events = [
        opened(f"{MON} 10:00", case=other),
        ev("case_closed", "2026-09-16 08:00", case=other, state="closed"),
    ]
    second = sample("survey", events, "2026-09-17 08:00")
    assert second["case"]["number"] == other
    r = render([first, second])
    assert r.subject == f"Cases {CASE}, {other}: update request and survey"
    for ctx in (first, second):
        part_subject = render([ctx]).subject
        assert f"{part_subject}\n\n{body(ctx)}" in r.text
        assert part_subject in visible(r.html)
        assert body(ctx, "html") in r.html
    assert r.text.count("Reply to this message with one of these commands") == 1
    assert r.html.count("<html") == 1
    assert r.html.count("<h2>") == 2
    syntaxes = [line.split(" — ")[0].strip() for line in r.text.splitlines() if " — " in line]
    assert len(syntaxes) == len(set(syntaxes)), "a command listed twice"
    assert {"asked", "done"} <= set(syntaxes)


def test_a_site_template_overrides_just_that_template(tmp_path, samples):
    site = tmp_path / "site-templates"
    site.mkdir()
    (site / "survey.subject.txt").write_text("Site: case {{ case.number }} survey\n", encoding="utf-8")
    r = render([samples["survey"]], site=str(site))
    assert r.subject == f"Site: case {CASE} survey"
    assert body(samples["survey"]) in r.text  # the body is still the built-in one
    other = render([samples["request_update"]], site=str(site))
    assert other.subject == render([samples["request_update"]]).subject
    assert render([samples["survey"]]).subject != r.subject


# --------------------------------------------------------------------------- names


def test_a_missing_name_is_an_error_not_an_empty_string(samples):
    with pytest.raises(UndefinedError):
        environment().from_string("Case {{ no_such_name }}").render({})
    ctx = dict(samples["request_update"])
    del ctx["clock"]
    with pytest.raises(UndefinedError):
        render([ctx])
    ctx = copy.deepcopy(samples["escalate"])
    del ctx["tried"]["update_requested"]
    with pytest.raises(UndefinedError):
        render([ctx])


WRAPPER_NAMES = set(get_type_hints(MailContext))
#: The context of reply.* (the confirmation of reply commands, daemon/commands/handle.py).
REPLY_NAMES = set(get_type_hints(ReplyContext))


def test_templates_use_only_names_of_the_documented_context(samples):
    """The context's TypedDicts name what the templates may use; every action context has all of
    ``ActionContext``'s keys."""
    env = environment()
    documented = set(get_type_hints(ActionContext))
    assert all(set(ctx) == documented for ctx in samples.values())
    for path in sorted(TEMPLATES.glob("*.*")):
        if path.name.startswith("."):
            continue
        names = meta.find_undeclared_variables(env.parse(path.read_text(encoding="utf-8")))
        if path.name.startswith("mail."):
            allowed = WRAPPER_NAMES
        elif path.name.startswith("reply."):
            allowed = REPLY_NAMES
        else:
            allowed = documented
        assert names <= allowed, f"{path.name} uses {sorted(names - allowed)}"


@pytest.mark.parametrize("kind", KINDS)
def test_optional_things_are_guarded(samples, kind):
    """No clock, no owner, no title, no PM, no coordinator: still a sound message."""
    ctx = copy.deepcopy(samples[kind])
    ctx.update(clock=None, pm={"names": [], "emails": []}, coordinator="", escalation_address="")
    ctx.update(call_at="", successor="", previous_owner="", area="", timeline=[])
    ctx["tried"] = dict.fromkeys(ctx["tried"], "")
    for case in [ctx["case"], *ctx["cases"]]:
        if case is not None:
            case.update(title="", owner="", institution="", institution_name="", status="", description="")
            case.update(opened_at="", last_vendor_response_at="", asset="", category="", subcategory="")
    r = render([ctx])
    for output in (r.subject, r.text, r.html):
        for leak in LEAKS:
            assert leak not in output
    for output in (r.subject, r.text, visible(r.html)):
        assert '""' not in output, "an empty value shown in quotes"
        assert "()" not in output, "an empty value shown in brackets"
    assert [line for line in r.text.splitlines() if len(line) > 100] == []
    if kind in CASE_KINDS:
        assert CASE in r.subject
        assert CASE in body(ctx).splitlines()[0]


# --------------------------------------------------------------------------- what the timeline knows
# "Drafts carry what is known. Every draft fills in what the timeline holds (the impact sentence
# of the description, the owner's name, related cases, the case of record, the cluster's size)
# and leaves a bracketed placeholder only where nothing is known." (spec/policy.md)

THIN = opened(f"{MON} 10:00", description="It fails on the hold shelf.")
IMPACT_PLACEHOLDER = "The impact on us: [one or two sentences"


def draft_of(text: str) -> str:
    return folded(text.split(DRAFT_BEGIN, 1)[1].split(DRAFT_END, 1)[0])


def test_request_update_states_the_impact_of_the_description():
    ctx = sample("request_update")
    assert ctx["case"]["impact"] == "about 300 patrons a week are not told their items are waiting."
    for text in (body(ctx), visible(body(ctx, "html"))):
        assert "The impact on us: about 300 patrons a week are not told their items are waiting." in (
            draft_of(text) if text.startswith("Case") else text
        )
        assert IMPACT_PLACEHOLDER not in text


def test_without_an_impact_statement_the_placeholder_stays():
    ctx = sample("request_update", [THIN], "2026-09-16 10:00")
    assert ctx["case"]["impact"] == ""
    assert IMPACT_PLACEHOLDER in body(ctx)
    assert "It fails on the hold shelf." in body(ctx)  # the description, to help write it


@pytest.mark.parametrize("kind", ["request_update", "escalate", "customer_turn", "share_on_list"])
def test_owner_drafts_are_signed_with_the_owners_name(kind):
    base, at, _ = SCENARIOS[kind]
    events = [
        replace(e, data={**e.data, "owner_name": "Jane Doe"}) if e.kind == "case_opened" else e for e in base
    ]
    ctx = sample(kind, events, at)
    assert ctx["case"]["owner_name"] == "Jane Doe"
    assert ctx["signer"] == "Jane Doe"
    for text in (body(ctx), visible(body(ctx, "html"))):
        assert "[your name]" not in text
        assert "Jane Doe" in text


def test_without_a_name_the_draft_keeps_its_placeholder(samples):
    assert samples["request_update"]["signer"] == ""
    assert "[your name]" in body(samples["request_update"])


def test_a_name_stated_for_another_address_is_not_the_owners():
    other = opened(f"{MON} 10:00", owner="someone@wwu.edu", owner_name="Some One")
    ctx = sample("request_update", [other, opened(f"{MON} 11:00")], "2026-09-16 11:00")
    assert ctx["case"]["owner"] == "jdoe@wwu.edu"
    assert ctx["case"]["owner_name"] == ""
    assert "[your name]" in body(ctx)


def test_a_pm_draft_is_signed_with_the_pms_name(samples):
    for kind in ("coordinator_contact", "post_call_followup", "widespread"):
        ctx = samples[kind]
        assert ctx["signer"] == "Maria Lopez", kind
        assert "[your name]" not in body(ctx), kind


def test_a_handover_is_signed_by_the_leaving_owner_and_names_the_successor():
    base, at, _ = SCENARIOS["handover"]
    events = [replace(base[0], data={**base[0].data, "owner_name": "Jane Doe"}), base[1]]
    events.append(ev("vendor_comment", "2026-09-15 09:00", owner="kim@wwu.edu", owner_name="Kim Lee"))
    ctx = sample("handover", events, at)
    assert (ctx["previous_owner_name"], ctx["successor_name"], ctx["signer"]) == (
        "Jane Doe",
        "Kim Lee",
        "Jane Doe",
    )
    text = folded(body(ctx))
    assert "Kim Lee (kim@wwu.edu)" in text
    assert "Thank you for your help. Jane Doe" in draft_of(body(ctx))


RECORD = "10700009"
LINKED = [
    opened(f"{MON} 10:00", case="10700002", institution="UW", owner="ann@uw.edu"),
    ev("case_of_record", f"{MON} 12:00", actor="pm", case=RECORD),
]
RECORD_LINKS = [
    Link.of(CASE, "10700002", "cited together", t(f"{MON} 11:00")),
    Link.of("10700002", RECORD, "case of record", t(f"{MON} 12:00")),
]


def linked_sample(kind: str, extra: Sequence[Event] = ()) -> dict[str, Any]:
    base, at, _ = SCENARIOS[kind]
    events = [*base, *LINKED, *extra]
    actions = due_at(events, at, links=RECORD_LINKS, kinds=[kind])
    action = next(a for a in actions if a.case == CASE)
    return context_of(action, events, at, RECORD_LINKS)


def test_the_case_of_record_and_the_related_cases_reach_the_drafts():
    ctx = linked_sample("escalate")
    assert ctx["case"]["record"] == RECORD  # linked through 10700002
    cluster = ctx["cluster"]
    assert cluster is not None
    assert [c["number"] for c in cluster["cases"]] == ["10700002", RECORD]
    assert (cluster["institutions"], cluster["size"], cluster["record"]) == (["UW", "WWU"], 2, RECORD)
    for text in (draft_of(body(ctx)), visible(body(ctx, "html"))):
        assert "Related cases: 10700002 (UW); 2 Alliance institutions report the problem." in text
        assert f"The Alliance's case of record for it is {RECORD}." in text
    update = linked_sample("request_update")
    assert f"The Alliance's case of record for it is {RECORD}." in draft_of(body(update))


def test_a_case_linked_to_nothing_has_no_cluster(samples):
    assert samples["escalate"]["cluster"] is None
    assert samples["escalate"]["case"]["record"] == ""
    assert "Related cases" not in body(samples["escalate"])


def test_widespread_fills_in_the_case_of_record_once_there_is_one(samples):
    assert "[case of record]" in body(samples["widespread"])
    events = [*THREE, ev("case_of_record", "2026-09-16 09:00", actor="pm", case="10700009")]
    links = [*LINKS, Link.of("10700003", "10700009", "case of record", t("2026-09-16 09:00"))]
    actions = due_at(events, "2026-09-16 10:00", links=links, kinds=["widespread"])
    ctx = context_of(actions[0], events, "2026-09-16 10:00", links)
    assert ctx["cluster"]["record"] == "10700009"
    for text in (body(ctx), visible(body(ctx, "html"))):
        assert "[case of record]" not in text
        assert "Case 10700009 is the Alliance's case of record for it." in folded(text)
        assert "Establish a case of record" not in text
        assert "The Alliance's case of record is 10700009" in folded(text)


def test_pm_assist_says_the_problem_was_already_flagged_widespread():
    flagged = ev(
        "reminder_sent", "2026-09-15 15:00", actor="system", action="widespread", key="widespread:x:3"
    )
    ctx = linked_sample("pm_assist", [flagged])
    assert ctx["widespread_at"] == "Tue 2026-09-15 15:00 PDT"
    for text in (folded(body(ctx)), visible(body(ctx, "html"))):
        assert "already flagged widespread: 2 Alliance institutions (UW, WWU)" in text
        assert "the widespread alert went out on Tue 2026-09-15 15:00 PDT" in text
    unflagged = linked_sample("pm_assist")
    assert unflagged["widespread_at"] == ""
    assert "already flagged widespread" not in body(unflagged)


def test_a_handover_of_two_cases_says_handover_in_its_subject():
    base, at, _ = SCENARIOS["handover"]
    second = [
        opened(f"{MON} 10:00", case="10700002"),
        ev(
            "handover",
            "2026-09-15 10:00",
            actor="member",
            case="10700002",
            owner="kim@wwu.edu",
            previous_owner="jdoe@wwu.edu",
        ),
    ]
    events = [*base, *second]
    actions = due_at(events, at, kinds=["handover"])
    assert len(actions) == 2
    r = render([context_of(a, events, at) for a in actions])
    assert r.subject == f"Cases {CASE}, 10700002: handover"
    assert "handover" in render([context_of(actions[0], events, at)]).subject
    assert f"<title>{r.subject}</title>" in r.html


def test_a_folded_message_names_its_kinds_in_words():
    ctxs = [
        sample("request_update"),
        sample("share_on_list", [opened(f"{MON} 10:00", priority="high")], "2026-09-16 10:00"),
    ]
    assert render(ctxs).subject == f"Case {CASE}: update request and list post"


def test_the_post_call_follow_up_is_the_pms_to_do_the_owner_is_not_copied(samples):
    """ "After the call, contact the case owner directly to provide any updates on their case."
    The PM does: the follow-up goes to the PM alone, with the note for the owner as a draft."""
    ctx = samples["post_call_followup"]
    assert ctx["to"] == ["mlopez@orbiscascade.org"]
    assert ctx["cc"] == []
    assert "casewatch has not written to the owner" in folded(body(ctx))
