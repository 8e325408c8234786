"""The demo's story: ten weeks of an Alliance shared mailbox, written as mail (pure, deterministic).

``letters(tz, shared)`` returns every message the story's mailbox receives on its own, each
with its ``Date``: Ex Libris's Salesforce notifications (copied to the shared mailbox), staff
writing to Ex Libris with the mailbox in copy, posts on ALMA-L and PRIMO-L (LISTSERV, one
of them DMARC-rewritten), on Alliance Google Groups and on a Mailman list (the case of
record), a vendor newsletter, an out-of-office reply and a bounce. The fifteen hand-written
messages bundled in ``mailbox/`` are part of it. Times are wall-clock times in the
consortium's zone; names, case numbers and Message-IDs are fixed, so every run writes the
same bytes.

``ANSWERS`` is the staff's side: when casewatch has sent one of these reminders, the person
it went to answers it (``mail.answer``) with a reply command, as a mail client writes a reply,
a little later. The player (``daemon.demo.play``) finds the reminder in the outbox. How each
kind of message is written is ``daemon.demo.mail``'s business.

Who does what (case: institution, what happens, the actions it shows):

- 10800007 UO, high, resource sharing: the owner answers the update reminder "commented"
  but never escalates; Ex Libris stays silent a month: ``pm_stalled_high``, on the 4 November
  call's agenda, ``post_call_followup``; later "snooze until 2026-12-07".
- 10800008 REED, analytics: a known defect; the owner answers the update reminder "mute".
- 10800006 WWU, letters: the whole ladder by reply, "commented" then "escalated":
  ``request_update``, ``escalate``, ``pm_assist`` (the PM answers "agenda"),
  ``post_call_followup`` to the PM after the call, then closed: ``survey`` (the owner's
  out-of-office answers it).
- 10800016 LC, import profiles: pending customer five days: ``customer_turn``; the owner
  answers "snooze 3d" and is reminded once more when it ends; closed, ``survey``, "done".
- 10800009 WSU (high), 10800010 OSU, 10800011 UW, 10800013 REED: one course-reserves
  problem. ``share_on_list`` for the high case, ``description_gaps`` for OSU's one-line
  description; linked on ALMA-L and by case descriptions: ``widespread`` at three
  institutions; the PM posts the case of record (10800012) on a Mailman list; REED makes it
  four: ``widespread`` again. WSU's owner leaves: "handover akim@wsu.edu" (``handover``)
  moves both of her cases (with 10800014, a low-priority case) to her successor.
- 10800001 PDX, 10800002 SPU, 10800003 EWU (the bundled mail): a pending-customer case that
  moves on; a system-down case (``pm_system_down``, ``description_gaps``, ``survey``); the
  EBSCO/CDI problem with 10800004 UPS and 10800005 WOU: ``widespread``; the PM answers
  "agenda 10800003" six days before the call (``coordinator_contact``); the owner asks for an
  update and escalates in the case (``escalate``, ``pm_assist``), the PM answers "record",
  and the case is on the 2 December agenda. The reminder to WOU's contact bounces: she left.
- 10800015 WHIT, Primo VE: a one-line description (``description_gaps``), answered "done";
  shared on PRIMO-L.
- Every call: ``agenda`` a week before it (30 September, 28 October, 25 November); every
  Monday: each PM's ``digest``.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from datetime import date, time, timedelta
from email.utils import parsedate_to_datetime
from importlib import resources
from zoneinfo import ZoneInfo

from daemon.config import Institution, ProgramManager
from daemon.demo.mail import Answer, Letter, Writer

YEAR = 2026
#: The simulated daemon runs from the first to the last of these days (local time).
START = date(YEAR, 9, 28)
END = date(YEAR, 11, 30)
#: It runs a cycle at each of these times every day.
CYCLES = (time(9, 0), time(15, 0))

INSTITUTIONS = (
    Institution("WWU", "Western Washington University", ("wwu.edu",)),
    Institution("UW", "University of Washington", ("uw.edu",)),
    Institution("WSU", "Washington State University", ("wsu.edu",)),
    Institution("EWU", "Eastern Washington University", ("ewu.edu",)),
    Institution("SPU", "Seattle Pacific University", ("spu.edu",)),
    Institution("UPS", "University of Puget Sound", ("pugetsound.edu",)),
    Institution("WHIT", "Whitman College", ("whitman.edu",)),
    Institution("OSU", "Oregon State University", ("oregonstate.edu",)),
    Institution("UO", "University of Oregon", ("uoregon.edu",)),
    Institution("PDX", "Portland State University", ("pdx.edu",)),
    Institution("REED", "Reed College", ("reed.edu",)),
    Institution("LC", "Lewis & Clark College", ("lclark.edu",)),
    Institution("WOU", "Western Oregon University", ("wou.edu",)),
)
PROGRAM_MANAGERS = (
    ProgramManager("Maria Lopez", "mlopez@orbiscascade.org", ("fulfillment", "systems")),
    ProgramManager("Dan Ortiz", "dortiz@orbiscascade.org", ("discovery", "technical services")),
)
COORDINATOR = "kchang@orbiscascade.org"
#: What the summary suggests a look at: the case that climbs the whole ladder, and the one
#: Ex Libris left a month without an answer (as the 4 November call's agenda is drafted).
SHOW = "10800006"
EXPLAIN = ("10800007", "2026-10-27T09:00")

#: Everyone who writes in the story, by address (PMs of the config are added by the player).
PEOPLE = {
    "jdoe@wwu.edu": "Jane Doe",
    "rpatel@uw.edu": "Ravi Patel",
    "lwong@wsu.edu": "Lee Wong",
    "akim@wsu.edu": "Alex Kim",
    "asilva@oregonstate.edu": "Ana Silva",
    "nbenson@uoregon.edu": "Nora Benson",
    "pkim@reed.edu": "Paul Kim",
    "rhart@lclark.edu": "Rosa Hart",
    "cyoung@whitman.edu": "Chris Young",
    "knguyen@pdx.edu": "Kim Nguyen",
    "jlarkin@wou.edu": "Jamie Larkin",
    "jreyes@pugetsound.edu": "Jordan Reyes",
    "moyelaran@ewu.edu": "Marcus Oyelaran",
    "mlopez@orbiscascade.org": "Maria Lopez",
    "dortiz@orbiscascade.org": "Dan Ortiz",
}


ANSWERS: tuple[Answer, ...] = (
    Answer(
        "request_update",
        "10800007",
        "owner",
        "commented",
        "gmail",
        timedelta(minutes=80),
        why="UO asked Ex Libris for an update",
    ),
    Answer(
        "request_update",
        "10800008",
        "owner",
        "mute\n\nIt is a known defect (URM-245118) with a fix planned; no need to remind me.",
        "apple",
        timedelta(minutes=65),
        why="REED mutes a known defect",
    ),
    Answer(
        "request_update",
        "10800006",
        "owner",
        "commented",
        "outlook",
        timedelta(minutes=50),
        why="WWU asked for an update",
    ),
    Answer(
        "escalate",
        "10800006",
        "owner",
        "escalated",
        "outlook",
        timedelta(minutes=90),
        why="WWU requested escalation",
    ),
    Answer(
        "pm_assist",
        "10800006",
        "pm",
        "agenda",
        "outlook",
        timedelta(minutes=60),
        why="the PM puts WWU's case on the call's agenda",
    ),
    Answer(
        "customer_turn",
        "10800016",
        "owner",
        "snooze 3d",
        "gmail",
        timedelta(minutes=70),
        why="LC needs three days to collect the files",
    ),
    Answer(
        "widespread",
        "10800003",
        "pm",
        "agenda 10800003",
        "outlook",
        not_before=(10, 29, 11, 5),
        why="six days before the call, the PM flags EWU's case",
    ),
    Answer(
        "request_update",
        "10800014",
        "owner",
        "handover akim@wsu.edu\n\nI am leaving WSU on 30 October; Alex Kim takes over my cases.",
        "outlook",
        not_before=(10, 30, 9, 20),
        why="WSU's owner leaves",
    ),
    Answer(
        "request_update",
        "10800005",
        "owner",
        "",
        "bounce",
        timedelta(minutes=1),
        why="WOU's contact has left: the reminder bounces",
    ),
    Answer(
        "description_gaps",
        "10800015",
        "owner",
        "done",
        "apple",
        timedelta(minutes=80),
        why="WHIT added the missing steps",
    ),
    Answer("survey", "10800016", "owner", "done", "gmail", timedelta(hours=2), why="LC filled in the survey"),
    Answer(
        "survey",
        "10800006",
        "owner",
        "",
        "auto-reply",
        timedelta(minutes=2),
        why="WWU's owner is out of the office",
    ),
    Answer(
        "pm_assist",
        "10800003",
        "pm",
        "record",
        "outlook",
        timedelta(hours=3),
        why="the PM makes EWU's case the Alliance's case of record",
    ),
    Answer(
        "request_update",
        "10800007",
        "owner",
        "snooze until 2026-12-07",
        "gmail",
        timedelta(minutes=45),
        why="UO waits for the December release",
    ),
)


# --------------------------------------------------------------------------- the story


def letters(tz: ZoneInfo, shared: str) -> list[Letter]:
    """Every message the mailbox receives on its own (the staff's answers come later), by date."""
    w = Writer(tz, shared, PEOPLE, YEAR)
    _september(w)
    _october(w)
    _course_reserves(w)
    _ebsco(w)
    _november(w)
    out = [*w.out, *bundled()]
    return sorted(out, key=lambda letter: (letter.at, letter.name))


def bundled() -> Iterator[Letter]:
    """The fifteen hand-written messages shipped in ``mailbox/`` (the EBSCO and SPU threads)."""
    box = resources.files("daemon.demo") / "mailbox"
    for entry in sorted(box.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".eml"):
            data = entry.read_bytes()
            msg = email.message_from_bytes(data, policy=email.policy.default)
            at = parsedate_to_datetime(str(msg["Date"]))
            yield Letter(at, entry.name.removesuffix(".eml").split("-", 1)[1], data)


GOOD = "Steps: 1. {steps} Impact: {impact} We tried {tried}; no change."  # the checklist, filled in


def _september(w: Writer) -> None:
    local = w.local
    w.created(
        "10800007",
        local(9, 21, 10, 5),
        "Resource sharing borrowing requests stuck in 'Ready to be sent'",
        "High",
        ("Alma", "Fulfillment", "Resource Sharing"),
        "nbenson@uoregon.edu",
        "UO",
        "Since the September release new borrowing requests stay in 'Ready to be sent'; none reach the "
        "lender.\n"
        + GOOD.format(
            steps="Create a borrowing request from Primo. 2. Open it in Alma's Borrowing Requests list.",
            impact="about 60 requests a day for the whole campus are blocked.",
            tried="re-running the Send Requests job and re-saving the partner record",
        ),
    )
    w.google_group(
        local(9, 21, 15, 30),
        "alliance-fulfillment",
        "nbenson@uoregon.edu",
        "Borrowing requests stuck in 'Ready to be sent'?",
        "Hi all,\n\nSince the release our new borrowing requests never leave 'Ready to be sent'. "
        "We opened SF case 10800007. Is anyone else seeing this?",
    )
    w.comment(
        "10800007",
        local(9, 22, 11, 40),
        "Priya Raman",
        "Thank you. We reproduced the issue and passed it to the Resource Sharing team.",
    )
    w.status("10800007", local(9, 24, 14, 10), "In Progress - Tier 2")
    w.created(
        "10800008",
        local(9, 23, 9, 30),
        "Analytics: Fund Transactions report double-counts invoices",
        "Normal",
        ("Alma", "Analytics", "Reports"),
        "pkim@reed.edu",
        "REED",
        "The Fund Transactions report counts an invoice twice when it has more than one line.\n"
        + GOOD.format(
            steps="Run the shared Fund Transactions report for FY27. 2. Compare with the fund's balance.",
            impact="our fund reports to the college are wrong by about 8%.",
            tried="rebuilding the report from the subject area",
        ),
    )
    w.comment(
        "10800008",
        local(9, 25, 13, 15),
        "Yael Ben-David",
        "We reproduced the issue and opened defect URM-245118. It is planned for a future release.",
    )


def _october(w: Writer) -> None:
    local = w.local
    # WWU: the whole ladder, by reply commands.
    w.created(
        "10800006",
        local(10, 1, 10, 12),
        "Courtesy notices not sent after the September release",
        "Normal",
        ("Alma", "Fulfillment", "Letters"),
        "jdoe@wwu.edu",
        "WWU",
        "Since the September release no courtesy notices have been sent.\n"
        + GOOD.format(
            steps="Run the Send Courtesy Notices job. 2. Check the letter activity report.",
            impact="about 1,200 patrons a week are not reminded; fines disputes are rising.",
            tried="re-running the job and checking the letter configuration",
        ),
    )
    w.comment(
        "10800006",
        local(10, 2, 9, 40),
        "Moshe Levi",
        "Thank you for the details. We are checking the letter job logs of your environment.",
    )
    # LC: the vendor waits for us.
    w.created(
        "10800016",
        local(10, 5, 11, 20),
        "Import profile ignores the 035 match point for EOD records",
        "Normal",
        ("Alma", "Resource Management", "Import Profiles"),
        "rhart@lclark.edu",
        "LC",
        "EOD records from our vendor create duplicates instead of overlaying by 035.\n"
        + GOOD.format(
            steps="Load the weekly EOD file with the 'EOD Overlay' profile. 2. Search the 035.",
            impact="about 300 duplicate records a week.",
            tried="re-running the job with the match method set to 035 only",
        ),
    )
    w.comment(
        "10800016",
        local(10, 7, 9, 5),
        "Daniel Weiss",
        "Could you please attach the import job ID and the file you loaded?",
    )
    w.status("10800016", local(10, 7, 9, 6), "Pending Customer Input")
    w.awaiting("10800016", local(10, 14, 9, 0))
    w.member(
        "10800016",
        local(10, 19, 13, 30),
        "Hello Daniel,\n\nThe job ID is 7012345670004561 and the file is attached.",
    )
    w.status("10800016", local(10, 20, 10, 0), "In Progress")
    w.comment(
        "10800016",
        local(10, 27, 11, 45),
        "Daniel Weiss",
        "The match method of the profile was corrected in your environment; please check the next load.",
    )
    w.member("10800016", local(10, 29, 10, 15), "The load of this morning overlaid every record. Thank you!")
    w.closed("10800016", local(10, 30, 9, 30), "The import profile's match method was corrected.")


def _course_reserves(w: Writer) -> None:
    """WSU, OSU, UW and REED, one problem; the PM names a case of record."""
    local = w.local
    title = "Course reserves citations lose their reading-list section"
    w.created(
        "10800009",
        local(10, 15, 13, 20),
        title,
        "High",
        ("Leganto", "Course Reserves", "Reading Lists"),
        "lwong@wsu.edu",
        "WSU",
        "Citations moved to another section of a reading list disappear from both sections.\n"
        + GOOD.format(
            steps="Open a reading list with two sections. 2. Drag a citation into the other section.",
            impact="300 courses this term; instructors are re-entering their lists.",
            tried="another browser and a new list",
        ),
    )
    w.created(
        "10800010",
        local(10, 16, 8, 5),
        "Citations disappear from reading-list sections",
        "Normal",
        ("Leganto", "Course Reserves", "Reading Lists"),
        "asilva@oregonstate.edu",
        "OSU",
        "Citations moved to another section disappear.",
    )
    w.listserv(
        local(10, 18, 14, 30),
        "ALMA-L",
        "knguyen@pdx.edu",
        "Reading list sections disappearing?",
        "Hi all,\n\nWe see the same thing at Portland State. WSU opened SF case 10800009 and Oregon "
        "State has case #10800010 on it. Is anyone else affected?",
    )
    w.comment(
        "10800009",
        local(10, 20, 11, 0),
        "Noa Peretz",
        "We could reproduce this. Development is analysing the reading-list service.",
    )
    w.created(
        "10800011",
        local(10, 21, 9, 45),
        "Leganto: citations vanish when moved between sections",
        "Normal",
        ("Leganto", "Course Reserves", "Reading Lists"),
        "rpatel@uw.edu",
        "UW",
        "Same as case 10800009 at WSU: a citation moved to another section disappears.\n"
        + GOOD.format(
            steps="Open a list with two sections. 2. Move a citation.",
            impact="about 120 courses.",
            tried="clearing the cache",
        ),
    )
    w.mailman(
        local(10, 22, 16, 0),
        "alliance-reserves",
        "mlopez@orbiscascade.org",
        "Alliance case of record for reading-list sections",
        "Hello course reserves community,\n\nWe have opened an Alliance-level case that will serve as "
        "the case of record: Case 10800012. Please reference it in your own cases; cases 10800009, "
        "10800010 and 10800011 are related.",
    )
    w.created(
        "10800013",
        local(10, 27, 10, 40),
        "Reading-list sections drop citations",
        "Normal",
        ("Leganto", "Course Reserves", "Reading Lists"),
        "pkim@reed.edu",
        "REED",
        "This is the Alliance case of record 10800012 (also cases 10800009 and 10800011): moved "
        "citations disappear.\n"
        + GOOD.format(
            steps="Move a citation to another section.",
            impact="40 courses.",
            tried="a new list",
        ),
    )
    # WSU's second case, low priority: its reminder is where the owner says she is leaving.
    w.created(
        "10800014",
        local(10, 26, 14, 0),
        "Loan receipts print the wrong library name",
        "Low",
        ("Alma", "Fulfillment", "Loans"),
        "lwong@wsu.edu",
        "WSU",
        "Loan receipts from the Vancouver campus print 'Terrell Library'.\n"
        + GOOD.format(
            steps="Loan an item at the Vancouver desk. 2. Print the receipt.",
            impact="every loan at Vancouver.",
            tried="checking the letter's library field",
        ),
    )
    # After the handover the successor asked Ex Libris to change the primary contact.
    w.comment(
        "10800009",
        local(11, 3, 10, 30),
        "Noa Peretz",
        "As requested the primary contact is now Alex Kim. A fix is planned for the December release.",
        to="akim@wsu.edu",
    )
    w.comment(
        "10800010",
        local(11, 3, 10, 35),
        "Noa Peretz",
        "This is the same defect as the Alliance case 10800012; a fix is planned for the December release.",
    )


def _ebsco(w: Writer) -> None:
    """The vendor's side of the bundled EBSCO / CDI thread: UPS's and WOU's own cases."""
    local = w.local
    w.known(
        "10800003",
        "Activated EBSCO portfolios missing from Primo VE after CDI rebuild",
        "moyelaran@ewu.edu",
        "thread::Ew7tM4bJc9Fa_6zNq3UhLs::",
        "<Ew7tM000000000000000000000000000000000000000000000TJ4K2W00f6Jk3Sd8pYc2vNu@sfdc.net>",
    )
    area = ("Alma", "Electronic Resources", "CDI Activation")
    w.created(
        "10800004",
        local(10, 22, 9, 10),
        "EBSCO Academic Search Complete portfolios missing in Primo VE",
        "Normal",
        area,
        "jreyes@pugetsound.edu",
        "UPS",
        "After the CDI rebuild about 2,400 activated portfolios no longer appear in Primo VE.\n"
        + GOOD.format(
            steps="Search Primo VE for a title of the collection.",
            impact="2,400 full-text titles cannot be found.",
            tried="re-activating one portfolio",
        ),
    )
    w.created(
        "10800005",
        local(10, 23, 13, 0),
        "Activated EBSCO portfolios not discoverable after CDI rebuild",
        "Normal",
        area,
        "jlarkin@wou.edu",
        "WOU",
        "Several hundred activated EBSCO portfolios are missing from Primo VE since the CDI rebuild.\n"
        + GOOD.format(
            steps="Search Primo VE for any title of the collection.",
            impact="students cannot find a core collection.",
            tried="re-running the activation job",
        ),
    )


def _november(w: Writer) -> None:
    local = w.local
    w.listserv(
        local(11, 2, 16, 10),
        "PRIMO-L",
        "cyoung@whitman.edu",
        "Get It tab empty for remote storage items",
        "Hello PRIMO-L,\n\nSince the weekend the Get It tab is empty for our remote-storage items. "
        "We have SF case 10800015 open. Does anyone see the same?",
        dmarc=True,
    )
    w.created(
        "10800015",
        local(11, 3, 10, 0),
        "Get It tab is empty for items in remote storage",
        "Normal",
        ("Primo VE", "Display", "Get It"),
        "cyoung@whitman.edu",
        "WHIT",
        "Get It shows nothing for remote storage items.",
    )
    # WWU: Ex Libris answers after the call, Jane confirms, it is closed.
    w.comment(
        "10800006",
        local(11, 9, 9, 15),
        "Moshe Levi",
        "A fix was deployed to your environment; tonight's courtesy notices job should send them.",
    )
    w.member("10800006", local(11, 10, 14, 0), "Confirmed: last night's notices went out. Thank you!")
    w.closed("10800006", local(11, 12, 8, 30), "A fix for the letter job was deployed.")
    # UO: Ex Libris answers after the call (its update reminder is snoozed by reply).
    w.comment(
        "10800007",
        local(11, 6, 10, 30),
        "Priya Raman",
        "Development has a fix for the December release. Until then, send requests one by one "
        "from the request's row actions.",
    )
    w.status("10800015", local(11, 5, 9, 10), "In Progress")
    # EWU's case of record moves: the PM is told to update the community (record_update).
    w.comment(
        "10800003",
        local(11, 12, 10, 20),
        "Tamar Cohen",
        "Our CDI team found the cause: the rebuild dropped the activation of EBSCO collections. A "
        "correction job runs this week; we will confirm when the portfolios are back in Primo VE.",
    )
    w.closed("10800008", local(11, 18, 11, 0), "Fixed in the November release (URM-245118).")
    w.newsletter(
        local(11, 19, 6, 0),
        "Alma November 2026 release notes: resolved cases",
        "The November release resolves, among others, cases 10800008 and 10712345 (URM-245118).\n",
    )
    w.comment(
        "10800011",
        local(11, 24, 13, 5),
        "Noa Peretz",
        "A fix is planned for the December release, see the Alliance case 10800012.",
    )
