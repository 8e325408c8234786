"""Playing the story through the real daemon on a simulated clock (the shell of the demo).

Twice a day (``story.CYCLES``) from ``story.START`` to ``story.END`` the player does what the
daemon's mailbox and clock would: it reads every message of the mailbox whose ``Date`` has
passed (``daemon.ingest.ingest``, exactly as ``casewatch ingest`` does), then runs one cycle
(``daemon.cycle.run_cycle``) as of that instant, with a ``FileTransport``. After each cycle it
looks at the mail casewatch sent: when a message is one the story expects an answer to
(``story.ANSWERS``), it writes the staff's reply to the message's ``Reply-To`` into the
mailbox, dated a little later, to be read at a later cycle like any other mail.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from daemon.config import Config
from daemon.cycle import run_cycle
from daemon.demo import mail, story
from daemon.demo.mail import Answer, Letter
from daemon.ingest import Counts, ingest
from daemon.model import RawMessage
from daemon.outbound.transports import FileTransport
from daemon.policy.calendar import wall_time
from daemon.store import Store
from daemon.store.db import OutboxRow


@dataclass(frozen=True)
class Answered:
    """A staff reply the story wrote: to which message, by whom, when, and where it is."""

    answer: Answer
    message_id: str
    sender: str
    at: datetime
    path: Path


@dataclass
class Played:
    """What a play did."""

    counts: Counts = field(default_factory=Counts)
    cycles: int = 0
    letters: int = 0  # messages of the story's mailbox (answers not included)
    answered: list[Answered] = field(default_factory=list)
    unanswered: list[Answer] = field(default_factory=list)  # expected reminders that never came


def instants(tz: ZoneInfo) -> list[datetime]:
    """The cycles: every day from START to END, at each time of CYCLES (local)."""
    out: list[datetime] = []
    day = story.START
    while day <= story.END:
        out.extend(wall_time(day, clock, tz) for clock in story.CYCLES)
        day += timedelta(days=1)
    return out


class Player:
    """Plays the story into ``store``; the mailbox folder receives every message it reads."""

    def __init__(
        self,
        store: Store,
        config: Config,
        mailbox: Path,
        transport: FileTransport,
        say: Callable[[str], None] = lambda line: None,
    ) -> None:
        self.store, self.config, self.mailbox = store, config, mailbox
        self.transport, self.say = transport, say
        self.tz = config.tz
        self.pending: list[tuple[datetime, Path]] = []
        self.answers = list(story.ANSWERS)
        self.seen: set[int] = set()  # outbox rows already looked at
        self.played = Played()
        self.names = {**story.PEOPLE, **{pm.email.lower(): pm.name for pm in config.program_managers}}

    def write(self, at: datetime, name: str, data: bytes) -> Path:
        """Put a message in the mailbox folder (named by its local date, so ``ls`` is the story)."""
        stem = f"{at.astimezone(self.tz):%Y-%m-%d-%H%M}-{name}"
        path = self.mailbox / f"{stem}.eml"
        n = 1
        while path.exists():
            n += 1
            path = self.mailbox / f"{stem}-{n}.eml"
        path.write_bytes(data)
        self.pending.append((at, path))
        return path

    def play(self, letters: Sequence[Letter]) -> Played:
        self.mailbox.mkdir(parents=True, exist_ok=True)
        for letter in letters:
            self.write(letter.at, letter.name, letter.data)
        self.played.letters = len(letters)
        week = _Week()
        for now in instants(self.tz):
            local = now.astimezone(self.tz)
            if local.weekday() == 0 and local.time() == story.CYCLES[0] and week.cycles:
                self.say(week.line())
                week = _Week()
            week.start = week.start or local
            week.read.add(self.read(now))
            run_cycle(self.store, self.config, now, self.transport)
            self.played.cycles += 1
            week.cycles += 1
            for row in self.sent():
                week.messages += 1
                week.sent.update(str(row["kinds"]).split(","))
                week.answers += self.answer(row)
        self.say(week.line())
        self.played.unanswered = self.answers
        return self.played

    def read(self, now: datetime) -> Counts:
        """Ingest every message of the mailbox dated at or before ``now``, in date order."""
        due = sorted((item for item in self.pending if item[0] <= now), key=lambda item: (item[0], item[1]))
        if not due:
            return Counts()
        self.pending = [item for item in self.pending if item[0] > now]
        raw = [RawMessage(data=path.read_bytes(), origin=path.as_posix()) for _, path in due]
        counts = ingest(self.store, self.config, raw)
        self.played.counts.add(counts)
        return counts

    def sent(self) -> list[OutboxRow]:
        rows = [r for r in self.store.outbox("sent") if r["id"] not in self.seen]
        self.seen.update(int(r["id"]) for r in rows)
        return rows

    def answer(self, row: OutboxRow) -> int:
        """Write the staff's reply to a message casewatch sent, when the story has one for it
        (return how many: 0 or 1)."""
        kinds = str(row["kinds"]).split(",")
        cases = str(row["cases"]).split(",")
        found = next((a for a in self.answers if a.kind in kinds and a.case in cases), None)
        if found is None:
            return 0
        recipients = [str(r) for r in row["recipients"]] if isinstance(row["recipients"], list) else []
        sender = self.sender(found, recipients)
        if sender is None:
            return 0
        self.answers.remove(found)
        sent_at = datetime.fromisoformat(str(row["sent_at"]))
        at = sent_at + found.after
        if found.not_before:
            month, day, hour, minute = found.not_before
            at = max(at, wall_time(date(story.YEAR, month, day), time(hour, minute), self.tz))
        at = at.astimezone(self.tz)
        reminder = self.transport.path_of(str(row["message_id"])).read_bytes()
        name = self.names.get(sender, sender.partition("@")[0])
        data = mail.answer(found, reminder, sender, name, at, self.config.outbound.from_address)
        label = found.client if found.client in ("bounce", "auto-reply") else found.text.split()[0].lower()
        path = self.write(at, f"answer-{label}-{found.case}", data)
        self.played.answered.append(Answered(found, str(row["message_id"]), sender, at, path))
        return 1

    def sender(self, a: Answer, recipients: list[str]) -> str | None:
        if a.by == "pm":
            return next((r for r in recipients if self.config.is_pm(r)), None)
        if a.by == "owner":
            case = self.store.case(a.case)
            return case.owner if case is not None and case.owner else None
        return a.by


@dataclass
class _Week:
    """One simulated week, for the progress line."""

    start: datetime | None = None
    cycles: int = 0
    messages: int = 0
    answers: int = 0
    read: Counts = field(default_factory=Counts)
    sent: Counter[str] = field(default_factory=Counter)

    def line(self) -> str:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.sent.items(), key=lambda kv: (-kv[1], kv[0])))
        begun = f"{self.start:%a %Y-%m-%d}" if self.start else "?"
        return (
            f"  week of {begun}: read {self.read.read} message(s), sent {self.messages}"
            + (f" ({kinds})" if kinds else "")
            + (f"; {self.answers} staff answer(s) written" if self.answers else "")
        )
