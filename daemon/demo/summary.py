"""What the demo prints after the play: the cases, the mail by kind and by person, where to look,
and the first weekly digest in full. Nothing in it depends on the real clock."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from daemon.config import Config
from daemon.demo import story
from daemon.demo.play import Played
from daemon.model import ACTION_KINDS
from daemon.outbound.weekly import render_digest
from daemon.policy.calls import digest_slot
from daemon.store import Store
from daemon.store.db import OutboxRow

#: Kinds of mail that answer a staff reply rather than carry an action.
REPLIES = ("confirmation", "help")


def _kinds(row: OutboxRow) -> list[str]:
    return [k for k in str(row["kinds"]).split(",") if k]


def summary(store: Store, cfg: Config, played: Played, mailbox: Path, config_path: Path) -> Iterator[str]:
    tz = cfg.tz
    outbox = store.outbox()
    sent = [r for r in outbox if r["status"] == "sent"]
    cases = store.cases()
    c = played.counts
    yield ""
    yield f"casewatch demo: {cfg.consortium.name}, ten weeks of case mail played through the daemon"
    yield ""
    automatic = sum(1 for a in played.answered if a.answer.client in ("auto-reply", "bounce"))
    yield (
        f"Read {c.read} messages from {mailbox.as_posix()}/: {played.letters} in the story, and "
        f"{len(played.answered) - automatic} staff replies and {automatic} automatic answers to "
        "casewatch's mail."
    )
    yield (
        f"  ingested {c.ingested}, duplicates {c.duplicates}, ignored {c.ignored} (mail that changes no "
        f"case: auto-replies, bounces), quarantined {c.quarantined}"
    )
    yield f"Ran {played.cycles} cycles; wrote {len(sent)} messages to {cfg.outbound.folder}/."
    yield ""
    yield f"Cases ({len(cases)}; * the Alliance's case of record):"
    yield f"  {'case':<9} {'state':<16} {'priority':<11} {'inst':<5} {'owner':<23} title"
    for case in cases:
        title = case.title or ("(known from a list post only)" if case.source == "list" else "")
        yield (
            f"  {case.number}{'*' if case.case_of_record else ' '} {case.state:<16} "
            f"{case.priority or '-':<11} {case.institution or '-':<5} {case.owner or '-':<23} {title[:48]}"
        ).rstrip()
    yield ""
    yield "Actions by kind (the X-Casewatch-Action header of the mail written):"
    by_kind = Counter(k for r in sent for k in _kinds(r))
    cells = [f"{k} {by_kind[k]}" for k in ACTION_KINDS]
    for i in range(0, len(cells), 5):
        yield "  " + ", ".join(cells[i : i + 5])
    answers = [f"{k} {by_kind[k]}" for k in REPLIES if by_kind[k]]
    if answers:
        yield "  and, answering staff replies: " + ", ".join(answers)
    missing = [k for k in ACTION_KINDS if not by_kind[k]]
    if missing:
        yield f"  NOT SEEN: {', '.join(missing)}"
    yield ""
    yield "Who got what:"
    people: dict[str, Counter[str]] = {}
    messages: Counter[str] = Counter()
    for r in sent:
        recipients = r["recipients"] if isinstance(r["recipients"], list) else []
        for person in recipients:
            messages[person] += 1
            people.setdefault(person, Counter()).update(_kinds(r))
    width = max((len(p) for p in people), default=10)
    for person in sorted(people, key=lambda p: (-messages[p], p)):
        kinds = ", ".join(
            f"{k} {n}" for k, n in sorted(people[person].items(), key=lambda kv: (-kv[1], kv[0]))
        )
        yield f"  {person:<{width}} {messages[person]:>3}: {kinds}"
    yield ""
    yield "Staff answers the story wrote (each to the Reply-To of the message it answers):"
    for a in sorted(played.answered, key=lambda a: a.at):
        what = a.answer.text.splitlines()[0] if a.answer.text else a.answer.client
        yield (
            f"  {a.at:%a %m-%d %H:%M}  {a.sender:<24} {what!r:<28} to {a.answer.kind} {a.answer.case}"
            f" ({a.answer.why})"
        )
    for missed in played.unanswered:
        wanted = missed.text or missed.client
        yield f"  NOT WRITTEN: no {missed.kind} about {missed.case} came, for {wanted!r}"
    yield ""
    yield "Where to look:"
    places = (
        (f"{cfg.outbound.folder}/", "the mail casewatch wrote, one .eml per message"),
        (f"{mailbox.as_posix()}/", "the mail it read, the staff's answers included"),
        (cfg.state.db, "its database (docs/browsing.md: browse it with Datasette)"),
        (config_path.as_posix(), "the demo's config; explore with it:"),
    )
    width = max(len(p) for p, _ in places)
    for place, what in places:
        yield f"  {place:<{width}}  {what}"
    explore = f"casewatch --config {config_path.as_posix()}"
    yield f"    {explore} cases"
    yield f"    {explore} show {story.SHOW}"
    yield f"    {explore} explain {story.EXPLAIN[0]} --at {story.EXPLAIN[1]}"
    digests = [r for r in sent if _kinds(r) == ["digest"]]
    if digests:
        first = digests[0]
        pm_email = str(first["recipients"][0]) if isinstance(first["recipients"], list) else ""
        pm = next((p for p in cfg.program_managers if p.email == pm_email), None)
        at = datetime.fromisoformat(str(first["created_at"]))
        slot = digest_slot(at, cfg)
        yield f"    {explore} digest --at {slot.astimezone(tz).date().isoformat()}T09:00 --pm {pm_email}"
        if pm is not None:
            rendered = render_digest(store, pm, slot, cfg)
            yield ""
            when = f"{slot.astimezone(tz):%a %Y-%m-%d %H:%M}"
            yield f"The first weekly digest, as mailed to {pm.name} on {when}:"
            yield f"Subject: {rendered.subject}"
            yield ""
            yield rendered.text.rstrip()
