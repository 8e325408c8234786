"""A realistic mix of the mail casewatch reads, for the bench and the backfill profile.

``messages(n, seed)`` gives ``n`` raw messages (bytes), deterministic for a seed, mixed as the
shared mailbox sees them (issue 17):

- 60 % vendor notifications in the real wording (../shared/spec/real-mail.md: "A new comment has
  been added to case  N.", Case Title, Last Comment, Status / Priority after the comment,
  Description, the Clarivate footer), multipart/alternative text + an HTML alternative with the
  vendor's inline styling and a table of fields, ~29 KB on average (10–40 KB);
- ~15 % list posts (ALMA-L, Alliance lists, Mailman / LISTSERV / Google Groups headers) citing
  cases, replying with a quoted thread underneath, some with a site's CAUTION banner;
- ~10 % member replies to our reminders (In-Reply-To one of ours, plus-addressed Reply-To), a
  command line and the reminder quoted;
- ~15 % noise: auto-replies, out-of-office, delivery reports and vendor newsletters.

Case numbers are drawn from a pool that grows with ``n`` (about one case per 20 messages) and
each case's notifications come in time order, so the mail builds realistic timelines.
"""

from __future__ import annotations

import binascii
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

__all__ = ["messages"]

START = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
OUR_DOMAIN = "orbiscascade.org"
INSTITUTIONS = [
    ("WWU", "wwu.edu"),
    ("UW", "uw.edu"),
    ("WSU", "wsu.edu"),
    ("OSU", "oregonstate.edu"),
    ("UO", "uoregon.edu"),
    ("REED", "reed.edu"),
    ("WHIT", "whitman.edu"),
    ("LC", "lclark.edu"),
    ("PSU", "pdx.edu"),
    ("SPU", "spu.edu"),
]
FIRST = ["Mark", "Jane", "Kim", "Ana", "Luis", "Priya", "Tom", "Hana", "Omar", "Ruth", "Eli", "Sofia"]
LAST = ["McFate", "Doe", "Nguyen", "Ortiz", "Brandt", "Okafor", "Larsen", "Chen", "Haddad", "Stone"]
ANALYSTS = ["Sabine", "Moshe", "Dana", "Avi", "Noa", "Ilan", "Keren"]
TOPICS = [
    "Alma Chat - Assigning Handles to existing digital titles",
    "Overdue notices not sent after October release",
    "Primo VE facets missing after reindex",
    "Fulfillment - Loan policy ignores terms of use",
    "Analytics report times out on physical items",
    "Alma Chat - user roles expiring at patron load",
    "Resource sharing requests stuck in Ready to be sent",
    "Course reserves: reading list sections disappearing",
    "Letters - Courtesy notice sent twice",
    "Network zone records not publishing to Primo",
]
STATUSES = ["New", "In Progress", "In Progress - Tier 1", "In Progress - Tier 2", "Update Received"]
PRIORITIES = ["Medium", "Medium", "Medium", "Low", "High"]
SENTENCES = [
    "Thank you for your patience while we looked into this.",
    "I checked the configuration for your institution and the job ran as scheduled.",
    "The job that assigns handles (ID {job}) ran on {dmy} and assigned 11084/{handle} to MMS {mms}.",
    "Could you confirm whether the remaining records should be handled the same way?",
    "Our development team has reproduced the issue on a test environment.",
    "Please send us the letter activity log for {dmy} and an example user ID.",
    "The fix is planned for the next service pack; I will keep the case open until then.",
    "Status: COMPLETED (job report pasted below for reference)",
    "Search query: any,contains,{mms} AND library_code,exact,MAIN",
    "I am escalating this to Tier 2 so that a developer can look at the logs.",
]
FOOTER = (
    "Thank you,\nClarivate Support\nClarivate(TM) is home for ProQuest(TM), Ex Libris(TM), "
    "Innovative(TM) and other leading information solutions."
)
STYLE = """<style type="text/css">
body{margin:0;padding:0;background:#f4f5f7;font-family:'Segoe UI',Arial,Helvetica,sans-serif;
font-size:14px;line-height:1.45;color:#222}
table.wrap{width:100%;background:#f4f5f7;border-collapse:collapse}
table.card{width:640px;margin:24px auto;background:#ffffff;border:1px solid #d9dce1;
border-radius:4px;border-collapse:separate}
td.hd{background:#5e33bf;color:#ffffff;padding:18px 24px;font-size:18px;font-weight:600}
td.bd{padding:20px 24px}
td.lbl{width:150px;color:#5a5f6b;vertical-align:top;padding:4px 8px 4px 0;font-weight:600}
td.val{vertical-align:top;padding:4px 0}
td.ft{padding:16px 24px;font-size:11px;color:#80858f;border-top:1px solid #e6e8eb}
p{margin:0 0 12px 0}
a{color:#5e33bf;text-decoration:underline}
@media only screen and (max-width:660px){table.card{width:100% !important}
td.lbl{display:block;width:auto !important}td.val{display:block}}
</style>"""


def _qp(text: str) -> str:
    """Quoted-printable body (soft line breaks at 76), as the vendor's mailer writes HTML."""
    return binascii.b2a_qp(text.encode("utf-8"), istext=True).decode("ascii")


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _Mix:
    def __init__(self, n: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.n = n
        self.count = 0
        pool = max(5, n // 20)
        self.cases = [f"{7_900_000 + self.rng.randrange(2_000_000):08d}" for _ in range(pool)]
        self.opened: dict[str, dict[str, str]] = {}
        self.ours: list[str] = []  # Message-IDs of our reminders (replies point at them)

    # ------------------------------------------------------------------ shared pieces
    def person(self) -> tuple[str, str, str, str]:
        first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
        code, domain = self.rng.choice(INSTITUTIONS)
        return first, last, f"{first[0].lower()}{last.lower()}@{domain}", code

    def when(self, i: int) -> datetime:
        return START + timedelta(minutes=7 * i + self.rng.randrange(7))

    def case(self) -> tuple[str, dict[str, str]]:
        number = self.rng.choice(self.cases)
        info = self.opened.get(number)
        if info is None:
            first, last, addr, code = self.person()
            info = {
                "title": self.rng.choice(TOPICS),
                "first": first,
                "last": last,
                "owner": addr,
                "code": code,
                "status": "New",
                "priority": self.rng.choice(PRIORITIES),
            }
            self.opened[number] = info
        elif self.rng.random() < 0.5:
            info["status"] = self.rng.choice(STATUSES[1:])
        return number, info

    def comment(self, lines: int) -> list[str]:
        out = []
        for _ in range(lines):
            s = self.rng.choice(SENTENCES)
            out.append(
                s.format(
                    job=f"73367252{self.rng.randrange(10**8):08d}",
                    dmy=f"{self.rng.randrange(1, 29):02d}/{self.rng.randrange(1, 13):02d}/2026",
                    handle=1762286371 + self.rng.randrange(10**6),
                    mms=f"99{self.rng.randrange(10**14):014d}104641",
                )
            )
        return out

    def mid(self, host: str) -> str:
        self.count += 1
        return f"<{self.rng.getrandbits(96):024x}.{self.count}@{host}>"

    # ------------------------------------------------------------------ the four families
    def notification(self, i: int) -> bytes:
        number, info = self.case()
        analyst = self.rng.choice(ANALYSTS)
        greeting = self.rng.random() < 0.6
        # ~29 KB on average: the comment's length and the HTML's styled padding vary (10-40 KB)
        words = self.comment(self.rng.randrange(6, 50))
        description = (
            f"{self.when(0):%y%m%d_%H%M%S}; NA03; 01ALLIANCE_{info['code']}; {info['last']}, {info['first']}"
        )
        plain_lines = [f"Hello {info['first']},", ""] if greeting else []
        plain_lines += [
            f"A new comment has been added to case  {number}.",
            "",
            f"Case Title: {info['title']}",
            "Last Comment:",
            f"Dear {info['first']},",
            "",
            *words,
            "",
            "Best regards,",
            analyst,
            "",
            f"Status: {info['status']}",
            f"Priority: {info['priority']}",
            "Description:",
            description,
        ]
        if self.rng.random() < 0.3:
            plain_lines.append(f"Direct Link:  {number}")
        plain_lines.append(FOOTER)
        plain = "\n".join(plain_lines) + "\n"

        rows = [
            ("Case Title", _esc(info["title"])),
            ("Status", info["status"]),
            ("Priority", info["priority"]),
            ("Description", _esc(description)),
        ]
        spacer = '<tr><td colspan="2" style="height:6px;line-height:6px;font-size:1px">&nbsp;</td></tr>\n'
        pad = self.rng.randrange(40, 170)  # Outlook-style spacer rows and nested wrappers
        html = (
            '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN">\n<html><head>'
            '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
            f"<title>Case {number}</title>{STYLE}</head>\n"
            '<body style="margin:0;padding:0;background:#f4f5f7">\n'
            '<table class="wrap" role="presentation" cellpadding="0" cellspacing="0" border="0"><tr><td>\n'
            '<table class="card" role="presentation" cellpadding="0" cellspacing="0" border="0">\n'
            '<tr><td class="hd" style="background:#5e33bf;color:#ffffff;padding:18px 24px">'
            "Clarivate Support</td></tr>\n"
            '<tr><td class="bd" style="padding:20px 24px;font-family:Arial,sans-serif">\n'
            + (f'<p style="margin:0 0 12px 0">Hello {info["first"]},</p>\n' if greeting else "")
            + f'<p style="margin:0 0 12px 0">A new comment has been added to case&nbsp; {number}.</p>\n'
            '<table role="presentation" cellpadding="0" cellspacing="0" border="0" width="100%">\n'
            + spacer * pad
            + "".join(
                f'<tr><td class="lbl" style="width:150px;color:#5a5f6b;font-weight:600">{k}:</td>'
                f'<td class="val" style="vertical-align:top">{v}</td></tr>\n'
                for k, v in rows[:1]
            )
            + '<tr><td class="lbl" style="width:150px;color:#5a5f6b;font-weight:600">Last Comment:</td>'
            '<td class="val" style="vertical-align:top">'
            + f'<div style="font-family:Arial,sans-serif">Dear {info["first"]},<br><br>'
            + "".join(f'<span style="font-size:14px">{_esc(w)}</span><br>\n' for w in words)
            + f"<br>Best regards,<br>{analyst}</div></td></tr>\n"
            + "".join(
                f'<tr><td class="lbl" style="width:150px;color:#5a5f6b;font-weight:600">{k}:</td>'
                f'<td class="val" style="vertical-align:top">{v}</td></tr>\n'
                for k, v in rows[1:]
            )
            + spacer * pad
            + "</table>\n"
            f'<p style="margin:12px 0 0 0"><a href="https://support.clarivate.com/s/case/500Hs00001{number}">'
            "View the case in the Support Portal</a></p>\n"
            "</td></tr>\n"
            '<tr><td class="ft" style="font-size:11px;color:#80858f">Thank you,<br>Clarivate Support<br>'
            "Clarivate(TM) is home for ProQuest(TM), Ex Libris(TM), Innovative(TM) and other leading "
            "information solutions.</td></tr>\n</table>\n</td></tr></table>\n</body></html>\n"
        )
        boundary = f"----=_Part_{self.rng.randrange(10**6)}_{self.rng.randrange(10**9)}.{i}"
        to = (
            f"casewatch@{OUR_DOMAIN}"
            if self.rng.random() < 0.3
            else f"{info['first']} {info['last']} <{info['owner']}>"
        )
        head = [
            "Return-Path: <support@proquest.com>",
            f"Received: from mx.proquest.com (mx.proquest.com [192.0.2.{i % 250 + 1}]) by mail.{OUR_DOMAIN}"
            f" with ESMTPS id {self.rng.getrandbits(40):010x}; {format_datetime(self.when(i))}",
            "From: Clarivate Support <support@proquest.com>",
            f"To: {to}",
            f"Cc: casewatch@{OUR_DOMAIN}" if not to.startswith("casewatch") else "",
            f"Subject: {self.rng.choice(['', 'Case ' + number + ': '])}{info['title']}",
            f"Date: {format_datetime(self.when(i))}",
            f"Message-ID: {self.mid('sfdc.net')}",
            f"X-SFDC-EntityId: 500Hs00001{number[-6:]}",
            "X-SFDC-EmailCategory: workflowActionAlert",
            "MIME-Version: 1.0",
            f'Content-Type: multipart/alternative; boundary="{boundary}"',
        ]
        body = (
            f"--{boundary}\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 7bit\n\n"
            f"{plain}\n--{boundary}\nContent-Type: text/html; charset=UTF-8\n"
            f"Content-Transfer-Encoding: quoted-printable\n\n{_qp(html)}\n--{boundary}--\n"
        )
        return self.wire(head, body)

    def list_post(self, i: int) -> bytes:
        number, info = self.case()
        first, last, addr, code = self.person()
        kind = self.rng.randrange(3)
        lst, tag, list_id = [
            ("ALMA-L@LISTSERV.ND.EDU", "ALMA-L", "<alma-l.listserv.nd.edu>"),
            (
                f"alliance-fulfillment@lists.{OUR_DOMAIN}",
                "alliance-fulfillment",
                f"<alliance-fulfillment.lists.{OUR_DOMAIN}>",
            ),
            ("wactclc-alma@googlegroups.com", "wactclc-alma", "<wactclc-alma.googlegroups.com>"),
        ][kind]
        subject = f"Re: [{tag}] {info['title']}"
        if self.rng.random() < 0.2:
            subject = f"[EXTERNAL] - {subject}"
        own = [
            f"We see the same thing at {code}. We opened SF case {number} on it last week.",
            "Is anyone else affected? Any workaround would be welcome.",
        ]
        quoted: list[str] = []
        depth = self.rng.randrange(1, 6)  # a quoted thread underneath, deeper each reply
        for level in range(1, depth + 1):
            who = f"{self.rng.choice(FIRST)} {self.rng.choice(LAST)}"
            quoted.append(
                f"{'>' * (level - 1)}{' ' if level > 1 else ''}"
                f"On {format_datetime(self.when(i - level * 30))}, {who} wrote:"
            )
            for line in self.comment(self.rng.randrange(2, 8)):
                quoted.append(f"{'>' * level} {line}")
            quoted.append(f"{'>' * level} ")
        banner = (
            [
                "CAUTION: This email came from outside the organization. "
                "Do not click links or open attachments",
                "",
            ]
            if self.rng.random() < 0.25
            else []
        )
        body = (
            "\n".join([*banner, "Hi all,", "", *own, "", f"{first} {last}", f"{code} Library", "", *quoted])
            + "\n"
        )
        head = [
            f"From: {first} {last} <{addr}>",
            f"To: {lst}",
            f"Subject: {subject}",
            f"Date: {format_datetime(self.when(i))}",
            f"Message-ID: {self.mid(addr.partition('@')[2])}",
            f"Sender: {tag} Discussion <{lst.replace('@', '-bounces@') if kind == 1 else lst}>",
            f"List-Id: {list_id}",
            "Precedence: list",
            "MIME-Version: 1.0",
            'Content-Type: text/plain; charset="utf-8"',
            "Content-Transfer-Encoding: 8bit",
        ]
        return self.wire(head, body)

    def reply(self, i: int) -> bytes:
        number, info = self.case()
        token = f"{self.rng.getrandbits(64):016x}"
        ours = f"casewatch.{self.rng.getrandbits(96):024x}@{OUR_DOMAIN}"
        command = self.rng.choice(
            [
                "done",
                "snooze 3d",
                f"case of record {number}",
                "I pinged the analyst this morning, will report back.",
                "owner " + info["owner"],
            ]
        )
        body = "\n".join(
            [
                command,
                "",
                f"{info['first']}",
                "",
                f"On {format_datetime(self.when(i - 60))}, casewatch <casewatch@{OUR_DOMAIN}> wrote:",
                f"> Case {number} ({info['title']}) has had no vendor response for 5 business days.",
                "> Reply to this message with a command (done, snooze 3d, owner <address>).",
                f"> Status: {info['status']}; Priority: {info['priority']}",
            ]
        )
        head = [
            f"From: {info['first']} {info['last']} <{info['owner']}>",
            f"To: casewatch+{token}@{OUR_DOMAIN}",
            f"Subject: Re: [casewatch] Case {number}: no vendor response",
            f"Date: {format_datetime(self.when(i))}",
            f"Message-ID: {self.mid(info['owner'].partition('@')[2])}",
            f"In-Reply-To: <{ours}>",
            f"References: <{ours}>",
            "MIME-Version: 1.0",
            'Content-Type: text/plain; charset="utf-8"',
            "Content-Transfer-Encoding: 7bit",
        ]
        return self.wire(head, body + "\n")

    def noise(self, i: int) -> bytes:
        first, last, addr, _code = self.person()
        pick = self.rng.randrange(4)
        if pick == 0:  # out of office
            head = [
                f"From: {first} {last} <{addr}>",
                f"To: casewatch@{OUR_DOMAIN}",
                f"Subject: Automatic reply: Case {self.rng.choice(self.cases)} update",
                "Auto-Submitted: auto-replied",
                "X-Autoreply: yes",
            ]
            body = f"I am out of the office until Monday with limited access to e-mail.\n\n{first}\n"
        elif pick == 1:  # a bounce
            boundary = f"bounce{i}"
            head = [
                "From: Mail Delivery System <MAILER-DAEMON@mail.orbiscascade.org>",
                f"To: casewatch@{OUR_DOMAIN}",
                "Subject: Undelivered Mail Returned to Sender",
                "Auto-Submitted: auto-replied",
                f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"',
                "MIME-Version: 1.0",
            ]
            body = (
                f"--{boundary}\nContent-Type: text/plain; charset=us-ascii\n\n"
                f"This is the mail system at host mail.{OUR_DOMAIN}.\nI'm sorry to have to inform you"
                f" that your message could not be delivered.\n\n<{addr}>: host said: 550 5.1.1 unknown user\n"
                f"\n--{boundary}\nContent-Type: message/delivery-status\n\n"
                f"Reporting-MTA: dns; mail.{OUR_DOMAIN}\n\n"
                f"Final-Recipient: rfc822; {addr}\nAction: failed\nStatus: 5.1.1\n\n"
                f"--{boundary}\nContent-Type: text/rfc822-headers\n\nFrom: casewatch@{OUR_DOMAIN}\n"
                f"To: {addr}\nMessage-ID: <casewatch.{self.rng.getrandbits(96):024x}@{OUR_DOMAIN}>\n"
                f"Subject: reminder\n\n--{boundary}--\n"
            )
        else:  # a vendor newsletter or a vendor mailing, with HTML
            cited = ", ".join(self.rng.sample(self.cases, min(3, len(self.cases))))
            boundary = f"news{i}"
            text = (
                "Ex Libris Customer Newsletter\n\nThis month's release notes are available.\n"
                f"Resolved in this release: cases {cited}.\n\nUnsubscribe: https://example.invalid/u\n"
            )
            html = (
                f"<html><head>{STYLE}</head><body><h1>Ex Libris Customer Newsletter</h1>"
                + "<p>This month's release notes are available.</p>" * 20
                + f"<p>Resolved in this release: cases {cited}.</p></body></html>\n"
            )
            head = [
                "From: Ex Libris Communications <news@exlibrisgroup.com>",
                f"To: casewatch@{OUR_DOMAIN}",
                "Subject: Ex Libris Customer Newsletter - release notes",
                "List-Unsubscribe: <https://example.invalid/u>",
                "Precedence: bulk",
                "MIME-Version: 1.0",
                f'Content-Type: multipart/alternative; boundary="{boundary}"',
            ]
            body = (
                f"--{boundary}\nContent-Type: text/plain; charset=utf-8\n\n{text}\n"
                f"--{boundary}\nContent-Type: text/html; charset=utf-8\n"
                "Content-Transfer-Encoding: quoted-printable\n\n"
                f"{_qp(html)}\n--{boundary}--\n"
            )
        if not any(h.startswith("MIME-Version") for h in head):
            head += ["MIME-Version: 1.0", 'Content-Type: text/plain; charset="utf-8"']
        head += [f"Date: {format_datetime(self.when(i))}", f"Message-ID: {self.mid('mx.example.invalid')}"]
        return self.wire(head, body)

    @staticmethod
    def wire(head: list[str], body: str) -> bytes:
        text = "\n".join(h for h in head if h) + "\n\n" + body
        return text.replace("\n", "\r\n").encode("utf-8")


def messages(n: int, seed: int) -> list[bytes]:
    """``n`` raw messages (CRLF line ends, as IMAP gives them) in arrival order: 60 %
    notifications, ~15 % list posts, ~10 % replies to our reminders, ~15 % noise."""
    mix = _Mix(n, seed)
    out = []
    for i in range(n):
        r = mix.rng.random()
        if r < 0.60:
            out.append(mix.notification(i))
        elif r < 0.75:
            out.append(mix.list_post(i))
        elif r < 0.85:
            out.append(mix.reply(i))
        else:
            out.append(mix.noise(i))
    return out


if __name__ == "__main__":
    import sys

    sample = messages(int(sys.argv[1]) if len(sys.argv) > 1 else 200, 17)
    sizes = sorted(len(m) for m in sample)
    print(
        f"{len(sample)} messages, mean {sum(sizes) / len(sizes) / 1024:.1f} KB, "
        f"median {sizes[len(sizes) // 2] / 1024:.1f} KB"
    )
