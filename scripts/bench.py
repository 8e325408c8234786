"""``make bench``: prints figures and writes ``bench/results.md``; asserts nothing.

In one run, on this machine:

1. backfill: N synthetic notification-sized messages (default 100,000) are put in a Dovecot
   that the bench starts (as Maildir files, indexed by Dovecot before the clock starts), then
   read into a fresh state database by ``poll_imap`` in a child process (its peak RSS is
   measured); against it, a bare loop of ``mailparser.parse_from_bytes`` over the same bytes;
2. a poll with nothing new, on a folder of 1,000 and one of N messages;
3. decide over 1,000 and 10,000 open cases of ~20 events;
4. a PM's weekly digest over 10,000 open cases, computed and rendered.

Targets (issue 8): backfill >= 0.8 of the bare parser's rate; peak RSS <= 200 MB; the empty poll
on N messages <= 1.5 x the one on 1,000; decide linear in open cases.

Usage: python scripts/bench.py [--messages N] [--out bench/results.md]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the test suite's Dovecot driver

from daemon.config import Config, parse  # noqa: E402
from daemon.model import Event, Link  # noqa: E402
from daemon.policy.engine import CaseFile, Snapshot, decide  # noqa: E402
from daemon.timeline import project  # noqa: E402

NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
INSTITUTIONS = ["WWU", "UW", "WSU", "OSU", "UO", "REED", "WHIT", "LC", "PSU", "GU"]
CONFIG = parse(
    {
        "program_managers": [
            {"name": "Maria Lopez", "email": "mlopez@orbiscascade.org", "areas": ["fulfillment"]},
            {"name": "Sam Reyes", "email": "sreyes@orbiscascade.org", "areas": ["systems"]},
        ]
    }
)

# --------------------------------------------------------------------------- the mail

NOTIFICATION = """\
From: Ex Libris Support <support@exlibrisgroup.com>
To: {owner}
Cc: casewatch@orbiscascade.org
Subject: {subject}
Date: {date}
Message-ID: <bench.{n}@salesforce.example>
MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: 7bit
X-SFDC-EntityId: 500Hs00001{case}

{opening}

Case Number: {case}
Subject: {title}
Priority: {priority}
Status: {status}
Asset: Alma
Category: Fulfillment
Sub-Category: Letters
Contact: Staff Member ({owner})
Account: 01ALLIANCE_{inst}

{comment}

To reply, simply reply to this email. Please do not change the subject line.
You can also view and update your case in the Ex Libris Support Portal.

Thank you,
Ex Libris Customer Support
https://support.exlibrisgroup.com

ref:_00D1a2b3c._500Hs00001{case}:ref
"""
COMMENTS = [
    "We have reproduced the issue in our test environment and are analysing the logs.",
    "Could you please send the letter activity report and an example user ID?",
    "The fix is planned for the next service pack; we will update you when it is deployed.",
    "Thank you for the information. We forwarded it to the development team.",
]


def messages(n: int, seed: int = 7) -> list[bytes]:
    """n notification-sized messages (about 1.2 KB): created, comments and status changes."""
    rng = random.Random(seed)
    out = []
    start = datetime(2025, 1, 6, 16, 0, tzinfo=UTC)
    for i in range(n):
        case = 11000000 + i // 5
        kind = i % 5
        inst = INSTITUTIONS[case % len(INSTITUTIONS)]
        owner = f"staff{case % 97}@{inst.lower()}.edu"
        title = f"Overdue notices not sent for patron group {case % 13}"
        if kind == 0:
            subject, opening = (
                f"Case {case} has been created: {title}",
                f"Your case {case} has been received.",
            )
        elif kind == 4:
            subject, opening = f"Case {case} status changed", f"The status of your case {case} has changed."
        else:
            subject, opening = (
                f"New comment on Case {case}: {title}",
                "A new comment has been added to your case.",
            )
        at = start + timedelta(minutes=7 * i)
        out.append(
            NOTIFICATION.format(
                owner=owner,
                subject=subject,
                date=at.strftime("%a, %d %b %Y %H:%M:%S +0000"),
                n=i,
                case=case,
                opening=opening,
                title=title,
                priority=rng.choice(["High", "Normal", "Normal", "Low"]),
                status=rng.choice(["In Progress - Tier 2", "New", "Pending Customer Input"]),
                inst=inst,
                comment=rng.choice(COMMENTS)
                + "\n"
                + "Details: "
                + " ".join(rng.choice(COMMENTS) for _ in range(3)),
            )
            .replace("\n", "\r\n")
            .encode()
        )
    return out


# --------------------------------------------------------------------------- Dovecot


def fill(dovecot, folder: str, data: list[bytes]) -> None:  # type: ignore[no-untyped-def]
    """Put the messages in a Maildir folder as Dovecot's own files, then let it index them."""
    dovecot.create_folder(folder)
    cur = Path(dovecot.dir) / "home" / "Maildir" / f".{folder}" / "cur"
    uid, gid = dovecot._uid, dovecot._gid
    stamp = int(time.time())
    for i, raw in enumerate(data):
        path = cur / f"{stamp}.M{i}P1.bench:2,"
        path.write_bytes(raw)
        if os.geteuid() == 0:
            os.chown(path, uid, gid)
    with dovecot.client() as c:  # Dovecot indexes the folder now, not during the timed backfill
        c.select_folder(folder, readonly=True)
        c.search(["ALL"])


def backfill_child(args: argparse.Namespace) -> None:
    """Runs in its own process: read the folder into a fresh database; print time and peak RSS."""
    import dataclasses

    from daemon.ingest import poll_imap
    from daemon.store import Store

    cfg = Config(mailbox=Config().mailbox)
    cfg = dataclasses.replace(
        cfg,
        mailbox=dataclasses.replace(
            cfg.mailbox,
            host="127.0.0.1",
            port=args.port,
            security="plain",
            username=args.user,
            folders=(args.folder,),
            timeout=60.0,
        ),
    )
    with Store(args.db) as store:
        start = time.perf_counter()
        counts = poll_imap(store, cfg, args.password)
        seconds = time.perf_counter() - start
        again = []
        for _ in range(5):
            start = time.perf_counter()
            poll_imap(store, cfg, args.password)
            again.append(time.perf_counter() - start)
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the forking parent (the bench,
    # with all the generated mail in memory), while VmHWM starts again with the new program.
    peak_kb = next(
        int(line.split()[1])
        for line in Path("/proc/self/status").read_text().splitlines()
        if line.startswith("VmHWM:")
    )
    workers_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the largest parsing worker
    print(
        json.dumps(
            {
                "seconds": seconds,
                "read": counts.read,
                "ingested": counts.ingested,
                "empty_poll": min(again),
                "peak_mb": peak_kb / 1024,
                "worker_peak_mb": workers_kb / 1024,
            }
        )
    )


def run_backfill(dovecot, folder: str) -> dict[str, float]:  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [sys.executable, __file__, "--backfill-child", "--db", str(Path(tmp) / "cw.db"),
             "--port", str(dovecot.port), "--user", dovecot.user, "--password", dovecot.password,
             "--folder", folder],
            capture_output=True, text=True, check=True, cwd=ROOT,
        )  # fmt: skip
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# --------------------------------------------------------------------------- the engine


def timeline(number: str, rng: random.Random, n_events: int = 20) -> list[Event]:
    inst = rng.choice(INSTITUTIONS)
    at = NOW - timedelta(days=rng.uniform(5, 120))
    events = [
        Event(number, at, "case_opened", "vendor", f"<{number}.0@x>", "opened",
              {"state": "open", "priority": rng.choice(["system_down", "high", "normal", "normal", "low"]),
               "owner": f"staff{rng.randint(1, 99)}@{inst.lower()}.edu", "institution": inst,
               "asset": "Alma", "category": rng.choice(["Fulfillment", "Acquisitions", "Analytics"]),
               "subcategory": "Letters", "title": f"Problem {number}",
               "description": "It fails. Impact: 40 patrons. Steps: 1. open 2. save."})
    ]  # fmt: skip
    step = (NOW - at) / (n_events + 1)
    for i in range(1, n_events):
        at += step * rng.uniform(0.5, 1.0)
        kind, actor, data = rng.choice(
            [
                ("vendor_comment", "vendor", {}),
                ("member_comment", "member", {}),
                ("status_changed", "vendor", {"status": "In Progress", "state": "open"}),
                ("update_requested", "member", {}),
                ("list_mention", "list", {}),
                ("escalation_acknowledged", "vendor", {}),
            ]
        )
        events.append(Event(number, at, kind, actor, f"<{number}.{i}@x>", kind, data))
    return events


def files(n: int, seed: int = 7) -> Snapshot:
    rng = random.Random(seed)
    numbers = [f"{10800000 + i:08d}" for i in range(n)]
    case_files = []
    for num in numbers:
        events = tuple(timeline(num, rng))
        case_files.append(CaseFile(num, events, (), project(num, events)))
    links = tuple(
        Link.of(rng.choice(numbers), rng.choice(numbers), "cited together", NOW - timedelta(days=3))
        for _ in range(n // 20)
    )
    return Snapshot(tuple(case_files), links)


def best_of(fn, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def time_decide(n: int) -> float:
    snap = files(n)
    gc.collect()
    gc.freeze()  # as `casewatch due` and the daemon do with a loaded snapshot
    try:
        decide(snap, NOW, CONFIG)
        return best_of(lambda: decide(snap, NOW, CONFIG))
    finally:
        gc.unfreeze()


def time_digest(n: int) -> float:
    from daemon.digest import digest
    from daemon.model import Action
    from daemon.outbound.context import build
    from daemon.outbound.render import render
    from daemon.policy.engine import candidates

    snap = files(n)
    pm = CONFIG.program_managers[0]
    action = Action(
        "digest", None, (pm.email,), NOW, "bench", "digest:bench", data={"period_end": NOW.isoformat()}
    )

    def run() -> None:
        ctxs, actions = candidates(snap, NOW, CONFIG)
        data = digest(pm, ctxs, actions, NOW, CONFIG)
        render([build(action, None, [], NOW, "casewatch@orbiscascade.org", CONFIG, data)])

    gc.collect()
    gc.freeze()
    try:
        return best_of(run)
    finally:
        gc.unfreeze()


# --------------------------------------------------------------------------- the report


def machine() -> list[str]:
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    dovecot = subprocess.run(
        ["dovecot", "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores; memory {mem_kb / 1024 / 1024:.1f} GB",
        f"- OS: {platform.platform()}",
        f"- Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"Dovecot {dovecot or 'unknown'}",
    ]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--messages", type=int, default=100_000, help="messages to backfill (default 100,000)")
    p.add_argument("--out", default=str(ROOT / "bench" / "results.md"), help="where to write the report")
    p.add_argument("--backfill-child", action="store_true", help=argparse.SUPPRESS)
    for name in ("--db", "--port", "--user", "--password", "--folder"):
        p.add_argument(name, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.backfill_child:
        args.port = int(args.port)
        backfill_child(args)
        return

    import mailparser
    from dovecot import Dovecot

    n = args.messages
    print(f"casewatch bench, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    for line in machine():
        print(line)
    print(f"generating {n:,} notification-sized messages ...", flush=True)
    data = messages(n)
    small = data[:1000]
    size = sum(map(len, data)) / len(data)

    print("bare mailparser loop ...", flush=True)
    start = time.perf_counter()
    for raw in data:
        mailparser.parse_from_bytes(raw)
    bare = time.perf_counter() - start

    with Dovecot() as dovecot:
        print("filling Dovecot (Maildir files, then indexing) ...", flush=True)
        fill(dovecot, "big", data)
        fill(dovecot, "small", small)
        del data
        print("backfill ...", flush=True)
        big = run_backfill(dovecot, "big")
        little = run_backfill(dovecot, "small")

    print("decide ...", flush=True)
    d1, d10 = time_decide(1_000), time_decide(10_000)
    print("digest ...", flush=True)
    dg = time_digest(10_000)

    bare_rate = n / bare
    fill_rate = big["read"] / big["seconds"]
    rows = [
        ("bare `mailparser.parse_from_bytes` loop", f"{bare_rate:,.0f} msg/s", ""),
        (f"backfill of {n:,} messages from Dovecot", f"{fill_rate:,.0f} msg/s",
         f"ratio {fill_rate / bare_rate:.2f} (target >= 0.8)"),
        ("peak RSS of the backfill (the storing process)", f"{big['peak_mb']:.0f} MB", "target <= 200 MB"),
        ("peak RSS of a parsing worker", f"{big.get('worker_peak_mb', 0):.0f} MB", "(one per core)"),
        ("poll with nothing new, 1,000 messages", f"{little['empty_poll'] * 1000:.1f} ms", ""),
        (f"poll with nothing new, {n:,} messages", f"{big['empty_poll'] * 1000:.1f} ms",
         f"ratio {big['empty_poll'] / little['empty_poll']:.2f} (target <= 1.5)"),
        ("decide, 1,000 open cases", f"{d1:.3f} s", ""),
        ("decide, 10,000 open cases", f"{d10:.3f} s", f"ratio {d10 / d1:.1f} (linear: about 10)"),
        ("digest for 10,000 open cases (decide + data + render)", f"{dg:.3f} s", "target well under 2 s"),
    ]  # fmt: skip
    width = max(len(r[0]) for r in rows)
    print()
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>14}  {note}")

    report = [
        "# casewatch bench results",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC in one run of `make bench` "
        f"(`python scripts/bench.py --messages {n}`).",
        "",
        *machine(),
        f"- Mail: {n:,} synthetic vendor notifications of {size:,.0f} bytes on average "
        "(created, comments, status changes; ~5 per case).",
        "",
        "| measure | figure | note |",
        "|---|---:|---|",
        *(f"| {name} | {value} | {note} |" for name, value, note in rows),
        "",
    ]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(report) + "\n")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
