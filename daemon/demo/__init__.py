"""The embedded default (``casewatch demo``): a bundled mailbox played into a fresh database.

The mailbox (``mailbox/*.eml``, shipped as package data) tells one story across
five Alliance libraries in October and November 2026: a case that waits on the
customer and moves on, a system-down case closed the same day, a case whose
owner asks for an update and then escalates, the same problem cited on an
Alliance Google Group and on ALMA-L, and noise (an auto-reply, a bounce).

The demo never touches the configured database: it always starts over in
``state/demo/casewatch.db`` under the current directory.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime, time, timedelta
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from daemon.cli import _case_line
from daemon.config import Config, ProgramManager
from daemon.cycle import run_cycle
from daemon.errors import EXIT_OK, RuntimeFailure
from daemon.ingest import Counts, ingest
from daemon.model import Case
from daemon.outbound.transports import FileTransport
from daemon.policy.calendar import wall_time
from daemon.sources.files import read_paths
from daemon.store import Store

#: Where the demo keeps its database and writes its mail, relative to the current directory.
DEMO_DB = Path("state") / "demo" / "casewatch.db"
DEMO_OUTBOX = Path("state") / "demo" / "outbox"
#: Program managers for the demo when the config names none (mail to PMs needs someone).
DEMO_PMS = (
    ProgramManager("Maria Lopez", "mlopez@orbiscascade.org", ("fulfillment", "systems")),
    ProgramManager("Dan Ortiz", "dortiz@orbiscascade.org", ("discovery", "technical services")),
)
#: Days after the last message the demo keeps playing, so later reminders show too.
AFTER_LAST = timedelta(days=14)

_HEADER = f"  {'case':<9} {'state':<16} {'priority':<11} {'inst':<6} {'owner':<26} title"


def mailbox() -> list[Traversable]:
    """The bundled demo messages, in file-name order (which is the story's order)."""
    box = resources.files("daemon.demo") / "mailbox"
    return sorted((e for e in box.iterdir() if e.name.endswith(".eml")), key=lambda e: e.name)


def fresh_database(db: Path = DEMO_DB) -> None:
    """Delete the database and its WAL files, so a rerun starts clean."""
    for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise RuntimeFailure(
                f"cannot remove the old demo database {path}: {exc.strerror or exc}"
            ) from None


def _links(cases: list[Case]) -> list[tuple[str, str]]:
    pairs = {tuple(sorted((c.number, other))) for c in cases for other in c.related}
    return sorted((a, b) for a, b in pairs)


def _pick(cases: list[Case], events: dict[str, int]) -> str:
    """The case most worth a look: from the vendor, linked, with the longest timeline."""
    best = max(
        cases,
        key=lambda c: (c.source == "vendor", len(c.related), events[c.number], -int(c.number)),
    )
    return best.number


def summary(counts: Counts, cases: list[Case], events: dict[str, int], db: Path) -> Iterator[str]:
    """The lines the demo prints (nothing in them depends on the clock)."""
    yield f"casewatch demo: played the bundled mailbox into a fresh database, {db.as_posix()}"
    yield ""
    yield f"Read {counts.read} messages: {counts}."
    yield "  (ignored: mail that changes no case, such as auto-replies and bounces)"
    yield ""
    states = {s: sum(1 for c in cases if c.state == s) for s in ("open", "pending_customer", "closed")}
    listed = sum(1 for c in cases if c.source == "list")
    yield (
        f"{len(cases)} cases: {states['open']} open, {states['pending_customer']} waiting on the "
        f"customer, {states['closed']} closed, {listed} known only from mailing-list mentions"
    )
    yield _HEADER
    for c in cases:
        line = "  " + _case_line(c)
        if c.source == "list" and not c.title:
            line += "(seen only on a mailing list)"
        yield line.rstrip()
    yield ""
    links = _links(cases)
    if links:
        yield "Links between cases (cited together: probably the same problem):"
        for a, b in links:
            yield f"  {a} -- {b}"
    else:
        yield "No links between cases."
    yield ""
    if cases:
        pick = _pick(cases, events)
        yield f"Try next: the demo database is {db.as_posix()}. To explore it, save these two lines"
        yield "as demo.toml in this folder:"
        yield "    [state]"
        yield f'    db = "{db.as_posix()}"'
        yield "then run:"
        yield f"    casewatch --config demo.toml show {pick}   # one case and its timeline"
        yield "    casewatch --config demo.toml cases --json   # every case, as JSON"
        yield "Without --config, casewatch uses ./config.toml (or $CASEWATCH_CONFIG) and its own database."


def demo_config(cfg: Config) -> Config:
    """The config with the demo's database, a file outbox, and PMs when it names none."""
    return dataclasses.replace(
        cfg,
        state=dataclasses.replace(cfg.state, db=str(DEMO_DB)),
        outbound=dataclasses.replace(cfg.outbound, transport="file", folder=str(DEMO_OUTBOX)),
        program_managers=cfg.program_managers or DEMO_PMS,
    )


def play(store: Store, cfg: Config) -> list[dict[str, object]]:
    """Run one cycle at 10:00 local on every day from the first message to 14 days after the
    last, as the daemon would have; return the outbox."""
    first, last = store.conn.execute("SELECT min(at), max(at) FROM events").fetchone()
    if first is None:
        return []
    day = datetime.fromisoformat(first).astimezone(cfg.tz).date()
    end = (datetime.fromisoformat(last) + AFTER_LAST).astimezone(cfg.tz).date()
    with FileTransport(cfg.outbound.folder) as transport:
        while day <= end:
            run_cycle(store, cfg, wall_time(day, time(10, 0), cfg.tz), transport)
            day += timedelta(days=1)
    return store.outbox()


def mail_lines(outbox: list[dict[str, object]], cfg: Config) -> Iterator[str]:
    yield f"Mail written to {DEMO_OUTBOX.as_posix()}/ (one .eml per message), playing each day at 10:00:"
    for row in outbox:
        at = datetime.fromisoformat(str(row["sent_at"] or row["send_after"])).astimezone(cfg.tz)
        to = ", ".join(row["recipients"]) if isinstance(row["recipients"], list) else ""
        kinds = str(row["kinds"]).replace(",", ", ")
        cases = str(row["cases"]).replace(",", ", ") or "-"
        yield f"  {at:%Y-%m-%d %H:%M}  {kinds:<34} {cases:<28} to {to or 'nobody'}"
    yield f"{len(outbox)} message(s)."


def run_demo(cfg: Config) -> int:
    """Ingest the bundled mailbox into ``state/demo/casewatch.db``, play the daemon over it
    day by day into ``state/demo/outbox``, and print a summary."""
    db = DEMO_DB
    fresh_database(db)
    shutil.rmtree(DEMO_OUTBOX, ignore_errors=True)
    demo_cfg = demo_config(cfg)
    with Store(db) as store, ExitStack() as stack:
        paths = [stack.enter_context(resources.as_file(entry)) for entry in mailbox()]
        counts = ingest(store, demo_cfg, read_paths(paths))
        outbox = play(store, demo_cfg)
        cases = store.cases()
        events = {c.number: len(store.events(c.number)) for c in cases}
    for line in summary(counts, cases, events, db):
        print(line)
    print()
    for line in mail_lines(outbox, demo_cfg):
        print(line)
    return EXIT_OK
