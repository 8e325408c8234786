"""The new part of a reply, as real clients write replies, and prose that must not be cut.

Each body is the whole text a client sends (the reply above the quoted reminder); the
expected value is what ``new_text`` keeps.
"""

from __future__ import annotations

from textwrap import dedent

import pytest

from daemon.recognize.quotes import new_text

ADDRESS = "casewatch+3f9a0c1d@orbiscascade.org"
REMINDER = dedent("""\
    Case 10712345 (Fulfillment: loans not renewed) has had no response from Ex Libris
    for 2 business days. Please ask for an update.

    Reply "done" when you have, or "snooze 3d".
    """)


def body(reply: str, quoted: str) -> str:
    return dedent(reply) + dedent(quoted)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            body(
                """\
                snooze 3d

                Nora Lindqvist | Resource Sharing Coordinator
                Eastern Washington University Libraries

                """,
                f"""\
                ________________________________
                From: casewatch <{ADDRESS}>
                Sent: Tuesday, December 1, 2026 10:00 AM
                To: Nora Lindqvist <nlindqvist@ewu.edu>
                Subject: Case 10712345: ask Ex Libris for an update

                """,
            )
            + REMINDER,
            "snooze 3d\n\nNora Lindqvist | Resource Sharing Coordinator\n"
            "Eastern Washington University Libraries",
            id="outlook-desktop-separator",
        ),
        pytest.param(
            body(
                """\
                done
                """,
                f"""\

                From: casewatch <{ADDRESS}>
                Sent: Tuesday, December 1, 2026 10:00 AM
                To: Nora Lindqvist <nlindqvist@ewu.edu>
                Cc: Program Manager <pm@orbiscascade.org>
                Subject: Case 10712345: ask Ex Libris for an update
                """,
            )
            + REMINDER,
            "done",
            id="outlook-header-block",
        ),
        pytest.param(
            body(
                """\
                done
                Merci,
                Claire
                """,
                f"""\

                De\u00a0: casewatch <{ADDRESS}>
                Envoyé\u00a0: mardi 1 décembre 2026 10:00
                À\u00a0: Claire Martin <cmartin@uw.edu>
                Objet\u00a0: Case 10712345: ask Ex Libris for an update
                """,
            )
            + REMINDER,
            "done\nMerci,\nClaire",
            id="outlook-french",
        ),
        pytest.param(
            body(
                """\
                escalated
                """,
                f"""\

                Von: casewatch <{ADDRESS}>
                Gesendet: Dienstag, 1. Dezember 2026 10:00
                An: Jonas Weber <jweber@pdx.edu>
                Betreff: Case 10712345: ask Ex Libris for an update
                """,
            )
            + REMINDER,
            "escalated",
            id="outlook-german",
        ),
        pytest.param(
            body(
                """\
                hecho
                """,
                f"""\

                De: casewatch <{ADDRESS}>
                Enviado: martes, 1 de diciembre de 2026 10:00
                Para: Lucía Gómez <lgomez@uoregon.edu>
                Asunto: Case 10712345: ask Ex Libris for an update
                """,
            )
            + REMINDER,
            "hecho",
            id="outlook-spanish",
        ),
        pytest.param(
            body(
                """\
                done
                """,
                f"""\

                *From:* casewatch <{ADDRESS}>
                *Sent:* Tuesday, December 1, 2026 10:00 AM
                *To:* Nora Lindqvist <nlindqvist@ewu.edu>
                *Subject:* Case 10712345: ask Ex Libris for an update
                """,
            )
            + REMINDER,
            "done",
            id="outlook-html-bold-headers",
        ),
        pytest.param(
            f"mute\nFrom: casewatch <{ADDRESS}> Sent: Tuesday, December 1, 2026 10:00 AM "
            "To: Nora Lindqvist <nlindqvist@ewu.edu> Subject: Case 10712345: ask Ex Libris for an update\n"
            + REMINDER,
            "mute",
            id="outlook-html-headers-on-one-line",
        ),
        pytest.param(
            body(
                """\
                agenda
                """,
                f"""\

                From: casewatch <{ADDRESS}>
                Date: Tuesday, December 1, 2026 at 10:00 AM
                To: Nora Lindqvist <nlindqvist@ewu.edu>
                Subject: Case 10712345: ask Ex Libris for an update
                """,
            )
            + REMINDER,
            "agenda",
            id="outlook-mac",
        ),
        pytest.param(
            body(
                """\
                priority high
                Thanks
                """,
                f"""\
                -----Original Message-----
                From: casewatch [mailto:{ADDRESS}]
                Sent: Tuesday, December 01, 2026 10:00 AM
                """,
            )
            + REMINDER,
            "priority high\nThanks",
            id="original-message",
        ),
        pytest.param(
            body(
                """\
                done
                """,
                f"""\

                -----Ursprüngliche Nachricht-----
                Von: casewatch <{ADDRESS}>
                """,
            )
            + REMINDER,
            "done",
            id="original-message-german",
        ),
        pytest.param(
            body(
                """\
                snooze until 2026-12-15

                """,
                f"""\
                On Tue, Dec 1, 2026 at 10:00 AM casewatch <{ADDRESS}> wrote:

                > Case 10712345 (Fulfillment: loans not renewed) has had no response
                > from Ex Libris for 2 business days.
                """,
            ),
            "snooze until 2026-12-15",
            id="gmail",
        ),
        pytest.param(
            body(
                """\
                snooze 2d

                Toby
                """,
                f"""\

                On Tue, Dec 1, 2026 at 10:00 AM casewatch <
                {ADDRESS}> wrote:

                > Case 10712345 (Fulfillment: loans not renewed) has had no response
                """,
            ),
            "snooze 2d\n\nToby",
            id="gmail-wrapped-before-address",
        ),
        pytest.param(
            body(
                """\
                done
                """,
                f"""\

                On Tue, Dec 1, 2026 at 10:00 AM Casewatch Reminders (Orbis Cascade) <{ADDRESS}>
                wrote:

                > Case 10712345 (Fulfillment: loans not renewed) has had no response
                """,
            ),
            "done",
            id="gmail-wrapped-before-wrote",
        ),
        pytest.param(
            body(
                """\
                resume
                """,
                f"""\

                On Tuesday, December 1, 2026 at 10:00:00 AM UTC-8 Casewatch Reminders for the
                Orbis Cascade Alliance <{ADDRESS}>
                wrote:

                > Case 10712345
                """,
            ),
            "resume",
            id="gmail-wrapped-over-three-lines",
        ),
        pytest.param(
            body(
                """\
                done

                """,
                f"""\
                On Dec 1, 2026, at 10:00, casewatch <{ADDRESS}> wrote:

                Case 10712345 (Fulfillment: loans not renewed) has had no response
                """,
            ),
            "done",
            id="apple-mail",
        ),
        pytest.param(
            body(
                """\
                commented

                Sent from my iPhone

                """,
                f"""\
                > On Dec 1, 2026, at 10:00, casewatch <{ADDRESS}> wrote:
                >
                > Case 10712345 (Fulfillment: loans not renewed) has had no response
                """,
            ),
            "commented\n\nSent from my iPhone",
            id="apple-mail-iphone-quoted-attribution",
        ),
        pytest.param(
            body(
                """\
                done, danke

                """,
                f"""\
                Am 01.12.2026 um 10:00 schrieb casewatch <{ADDRESS}>:
                > Case 10712345
                """,
            ),
            "done, danke",
            id="german",
        ),
        pytest.param(
            body(
                """\
                done
                """,
                f"""\

                Am Di., 1. Dez. 2026 um 10:00 Uhr schrieb casewatch <
                {ADDRESS}>:
                """,
            ),
            "done",
            id="german-gmail-wrapped",
        ),
        pytest.param(
            body(
                """\
                feedback

                """,
                f"""\
                Le mar. 1 déc. 2026 à 10:00, casewatch <{ADDRESS}> a écrit\u00a0:

                > Case 10712345
                """,
            ),
            "feedback",
            id="french",
        ),
        pytest.param(
            body(
                """\
                closed

                """,
                f"""\
                El mar, 1 dic 2026 a las 10:00, casewatch (<{ADDRESS}>) escribió:

                > Case 10712345
                """,
            ),
            "closed",
            id="spanish",
        ),
        pytest.param(
            body(
                """\
                undo

                """,
                f"""\
                Op di 1 dec. 2026 om 10:00 schreef casewatch <{ADDRESS}>:

                > Case 10712345
                """,
            ),
            "undo",
            id="dutch",
        ),
        pytest.param(
            body(
                """\
                undo
                """,
                f"""\

                Op di 1 dec. 2026 om 10:00 schreef casewatch Orbis Cascade <
                {ADDRESS}>:
                """,
            ),
            "undo",
            id="dutch-wrapped",
        ),
        pytest.param(
            body(
                """\
                done

                """,
                f"""\
                Il giorno mar 1 dic 2026 alle ore 10:00 casewatch <{ADDRESS}> ha scritto:

                > Case 10712345
                """,
            ),
            "done",
            id="italian",
        ),
        pytest.param(
            body(
                """\
                done

                """,
                """\
                On 12/1/2026 10:00 AM, casewatch wrote:
                > Case 10712345
                """,
            ),
            "done",
            id="thunderbird-no-address",
        ),
        pytest.param(
            f"On it.\nOn Tue, Dec 1, 2026 at 10:00 AM casewatch <{ADDRESS}> wrote:\n> Case 10712345\n",
            "On it.",
            id="reply-line-starting-with-on",
        ),
        pytest.param(
            "On 2026-12-03 we escalated again.\n"
            f"On Tue, Dec 1, 2026 at 10:00 AM casewatch <\n{ADDRESS}> wrote:\n> Case 10712345\n",
            "On 2026-12-03 we escalated again.",
            id="dated-reply-line-before-a-wrapped-attribution",
        ),
        pytest.param(
            "done\n\n> Case 10712345 has had no response\n> for 2 business days.\n",
            "done",
            id="quoted-lines-only",
        ),
        pytest.param(
            f"snooze 1w\r\n\r\nOn Tue, Dec 1, 2026 at 10:00 AM casewatch <{ADDRESS}> wrote:\r\n> Case\r\n",
            "snooze 1w",
            id="crlf",
        ),
        pytest.param(
            body(
                """\
                FYI, see below.

                """,
                f"""\
                ---------- Forwarded message ---------
                From: casewatch <{ADDRESS}>
                Date: Tue, Dec 1, 2026 at 10:00 AM
                """,
            ),
            "FYI, see below.",
            id="gmail-forward",
        ),
    ],
)
def test_new_text_of_a_reply(text: str, expected: str) -> None:
    assert new_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            "The wrong due dates come from: the loan policy, not the calendar.\nCan you check?",
            id="from-mid-sentence",
        ),
        pytest.param(
            "From: our side everything is configured as the analyst asked.\nThe job still skips loans.",
            id="line-starting-from-without-headers",
        ),
        pytest.param(
            "Moved the items\nFrom: Main Library\nTo: Annex\nas the analyst asked.",
            id="from-and-to-lines-without-date-or-subject",
        ),
        pytest.param(
            "De: acuerdo con el analista, el problema está resuelto.\nGracias.",
            id="spanish-de-without-headers",
        ),
        pytest.param(
            "On Monday the analyst wrote:\nthe fix is scheduled for the next release.",
            id="on-wrote-without-a-date",
        ),
        pytest.param(
            "On 3 occasions the vendor wrote:\nplease clear the cache.",
            id="on-wrote-with-a-number-but-no-date",
        ),
        pytest.param(
            "Am Montag schrieb der Analyst:\nder Fehler ist behoben.",
            id="german-am-schrieb-without-a-date",
        ),
        pytest.param(
            "Le problème persiste depuis le 1 décembre 2026.\nEl analista dice que no.",
            id="le-and-el-starting-prose",
        ),
        pytest.param(
            "On Dec 1, 2026 the analyst asked for logs.\nThey are attached.",
            id="on-with-a-date-but-no-wrote",
        ),
        pytest.param(
            "Steps:\n----------\n1. Open the loan.\n2. Renew it.\nTo: the desk staff",
            id="dashes-and-a-to-line",
        ),
        pytest.param(
            "The analyst said the fix is coming (see 5 > 3 in the log).\nDone on our side.",
            id="greater-than-mid-line",
        ),
    ],
)
def test_prose_is_not_cut(text: str) -> None:
    assert new_text(text) == text.strip()


def test_text_without_quotes_is_kept_whole() -> None:
    assert new_text("\n  done\n\nThanks,\nNora\n") == "done\n\nThanks,\nNora"
