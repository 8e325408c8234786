"""``make bench``: measures issue 17's targets in one run and writes ``bench/results.md``.

It asserts nothing: each figure is printed and written with its ratio, its target and whether
the target is met. In one run, on this machine, with a Dovecot the bench starts:

1. stores of N open cases are generated (1k, 10k, 50k; ``benchparts.stores``);
2. ``status``, ``due --json``, ``digest`` and ``cases --json`` run on each as subprocesses: CPU
   (user + sys) and peak RSS (``benchparts.commands``);
3. the daemon's real tick (``Runner.tick``, Dovecot configured) at 1k and 50k: a first tick,
   then the idle tick (no new mail, nothing newly due; best of 5), then a tick with one new
   message (best of 3) (``benchparts.ticks``);
4. RSS of this process after 100 and after 1,000 ticks with steady mail (3 new messages and a
   minute of clock before each tick) on a small store;
5. the realistic mail mix (``benchparts.mail``), BENCH_MESSAGES of it (default 100,000), put in
   Dovecot; then 3 rounds of (a bare ``mailparser.parse_from_bytes`` loop over the same files on a
   pool of os.cpu_count() processes, then a backfill into a fresh database), each in a child
   process, interleaved; best of 3 each (``benchparts.backfill``).

Usage: python scripts/bench.py [--messages N] [--quick] [--out PATH]
``--quick`` (or BENCH_QUICK=1): 2,000 messages, 1k/5k cases, 200 ticks; writes to --out only.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the test suite's Dovecot driver
sys.path.insert(0, str(ROOT / "scripts"))

from benchparts import backfill, commands, mail, stores, ticks  # noqa: E402


@dataclass(frozen=True)
class Plan:
    messages: int
    cases: tuple[int, ...]  # the first is the base of every ratio, the last its top
    tick_cases: tuple[int, int]
    ticks: int
    early: int
    memory_cases: int
    quick: bool


def plan(args: argparse.Namespace) -> Plan:
    if args.quick:
        return Plan(args.messages or 2000, (1000, 5000), (1000, 5000), 200, 100, 50, True)
    n = args.messages or int(os.environ.get("BENCH_MESSAGES", "100000"))
    return Plan(n, (1000, 10_000, 50_000), (1000, 50_000), 1000, 100, 200, False)


@dataclass(frozen=True)
class Row:
    measure: str
    figures: str
    ratio: str = ""
    target: str = ""
    met: bool | None = None  # None: a figure without a target

    def cells(self) -> list[str]:
        verdict = "" if self.met is None else ("met" if self.met else "**missed**")
        return [self.measure, self.figures, self.ratio, self.target, verdict]


def machine() -> list[str]:
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    try:
        dovecot = subprocess.run(["dovecot", "--version"], capture_output=True, text=True, check=False)
        version = dovecot.stdout.strip()
    except OSError:
        version = ""
    try:
        release = platform.freedesktop_os_release().get("PRETTY_NAME", "")
    except OSError:
        release = ""
    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores (load average at the start: "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())})",
        f"- Memory: {mem_kb / 1024 / 1024:.1f} GB",
        f"- OS: {release or platform.system()} ({platform.platform()})",
        f"- Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"Dovecot {version or 'unknown'}",
    ]


def say(text: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {text}", flush=True)


def k(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else f"{n:,}"


def measure(p: Plan, dovecot: Any, tmp: Path) -> tuple[list[Row], list[str]]:
    rows: list[Row] = []
    notes: list[str] = []
    dbs: dict[int, Path] = {}
    for n in sorted({*p.cases, *p.tick_cases, p.memory_cases}):
        say(f"building a store of {n:,} cases ...")
        start = time.perf_counter()
        dbs[n] = tmp / f"cases{n}" / "casewatch.db"
        dbs[n].parent.mkdir()
        stores.build(dbs[n], n, 17)
        notes.append(f"store of {n:,} cases built in {time.perf_counter() - start:.0f} s")

    # Commands first, on the stores as built (the ticks then queue and send what is due).
    costs: dict[int, dict[str, dict[str, float]]] = {}
    for n in p.cases:
        say(f"commands at {n:,} cases ...")
        cfg = stores.write_config(dbs[n].parent / "cli.toml", dbs[n], dbs[n].parent / "cli-outbox")
        costs[n] = commands.command_costs(cfg, dbs[n], 1 if p.quick else 2)
        for label, c in costs[n].items():
            if c["status"] not in (0, 1):
                notes.append(f"`{label}` at {n:,} cases exited {c['status']:.0f}: {c['err']}")
    base, top = p.cases[0], p.cases[-1]
    for label, _ in commands.COMMANDS:
        limit = 10.0
        cpu = {n: costs[n][label]["cpu"] for n in p.cases}
        ratio = cpu[top] / cpu[base] if cpu[base] else float("inf")
        rows.append(
            Row(
                f"`{label}` CPU" + (", no schedule yet (a store never ticked)" if label == "status" else ""),
                " / ".join(f"{k(n)}: {cpu[n]:.2f} s" for n in p.cases),
                f"{k(top)}/{k(base)} = {ratio:.1f}",
                f"<= {limit:g} × its {k(base)} figure",
                ratio <= limit,
            )
        )
    for label, _ in commands.COMMANDS:
        rss = {n: costs[n][label]["rss_mb"] for n in p.cases}
        rows.append(
            Row(
                f"`{label}` peak RSS" + (", no schedule yet" if label == "status" else ""),
                " / ".join(f"{k(n)}: {rss[n]:.0f} MB" for n in p.cases),
                "",
                "<= 200 MB",
                max(rss.values()) <= 200,
            )
        )

    extra = mail.messages(6, 99)
    tick: dict[int, dict[str, float]] = {}
    for n in p.tick_cases:
        say(f"daemon ticks at {n:,} cases ...")
        tick[n] = ticks.tick_costs(dovecot, dbs[n], f"tick{n}", extra)
        notes.append(f"first tick at {n:,} cases (may evaluate and queue): {tick[n]['first']:.2f} s CPU")
    lo, hi = p.tick_cases
    # ``status`` as staff meet it: on a store the daemon runs on, with the daemon's own config (its
    # fingerprint is part of the schedule), after an idle tick of it left the schedule standing.
    shown: dict[int, dict[str, float]] = {}
    for n in p.tick_cases:
        say(f"status after the ticks at {n:,} cases ...")
        status = ["status", "--at", ticks.SETTLED.isoformat()]
        runs = [commands.run_command(dbs[n].with_suffix(".toml"), status) for _ in range(3)]
        shown[n] = {"cpu": min(r["cpu"] for r in runs), "rss_mb": max(r["rss_mb"] for r in runs)}
        if any(r["status"] not in (0, 1) for r in runs):
            notes.append(f"`status` after the ticks at {n:,} cases failed: {runs[0]['err']}")
    ratio = shown[hi]["cpu"] / shown[lo]["cpu"] if shown[lo]["cpu"] else float("inf")
    rows.append(
        Row(
            "`status` CPU on a store the daemon runs on (after an idle tick)",
            f"{k(lo)}: {shown[lo]['cpu']:.2f} s / {k(hi)}: {shown[hi]['cpu']:.2f} s",
            f"{k(hi)}/{k(lo)} = {ratio:.1f}",
            f"<= 1.5 × its {k(lo)} figure",
            ratio <= 1.5,
        )
    )
    rows.append(
        Row(
            "`status` peak RSS on a store the daemon runs on",
            f"{k(lo)}: {shown[lo]['rss_mb']:.0f} MB / {k(hi)}: {shown[hi]['rss_mb']:.0f} MB",
            "",
            "<= 200 MB",
            max(r["rss_mb"] for r in shown.values()) <= 200,
        )
    )
    ratio = tick[hi]["idle"] / tick[lo]["idle"] if tick[lo]["idle"] else float("inf")
    rows.append(
        Row(
            "idle tick CPU (no new mail, nothing newly due)",
            f"{k(lo)}: {tick[lo]['idle'] * 1000:.0f} ms / {k(hi)}: {tick[hi]['idle'] * 1000:.0f} ms",
            f"{k(hi)}/{k(lo)} = {ratio:.1f}",
            "<= 1.5",
            ratio <= 1.5,
        )
    )
    rows.append(
        Row(
            "tick with one new message, CPU",
            f"{k(lo)}: {tick[lo]['one_new'] * 1000:.0f} ms / {k(hi)}: {tick[hi]['one_new'] * 1000:.0f} ms",
            f"{k(hi)}/{k(lo)} = {tick[hi]['one_new'] / tick[lo]['one_new']:.1f}",
            "none (a figure)",
        )
    )

    say(f"{p.ticks:,} ticks with steady mail at {p.memory_cases:,} cases ...")
    memory = backfill.run_child(
        ["--child", "memory", "--db", str(dbs[p.memory_cases]), *backfill.imap_args(dovecot),
         "--folder", "steady", "--ticks", f"{p.early}/{p.ticks}"]
    )  # fmt: skip
    growth = memory["late"] / memory["early"] - 1
    rows.append(
        Row(
            f"daemon RSS after {p.early:,} / {p.ticks:,} ticks",
            f"{memory['early']:.0f} MB / {memory['late']:.0f} MB",
            f"{growth:+.1%}",
            "within 10 %",
            abs(growth) <= 0.10,
        )
    )
    notes.append(
        f"{p.ticks:,} ticks with 3 new messages each at {p.memory_cases:,} cases: {memory['seconds']:.0f} s"
    )

    say(f"generating {p.messages:,} messages of the realistic mix and filling Dovecot ...")
    size = 0
    for start in range(0, p.messages, 5000):
        batch = mail.messages(min(5000, p.messages - start), 1000 + start)
        if start:  # each batch is generated on its own: its Message-IDs must not repeat an earlier one's
            batch = [mail.renamed(raw, f"b{start}") for raw in batch]
        size += sum(map(len, batch))
        mail.fill_more(dovecot, "mix", batch, start)
    mail.index(dovecot, "mix")
    notes.append(f"mail mix: {p.messages:,} messages of {size / p.messages / 1024:.1f} KB on average")
    say("bare loop and backfill, interleaved, 3 rounds ...")
    result = backfill.compare(dovecot, "mix")
    bare = min(result["bare"], key=lambda r: r["wall"])
    fill = min(result["backfill"], key=lambda r: r["wall"])
    bare_cpu = min(r["cpu"] / r["n"] for r in result["bare"])
    fill_cpu = min(r["cpu"] / r["n"] for r in result["backfill"])
    bare_rate, fill_rate = bare["n"] / bare["wall"], fill["n"] / fill["wall"]
    cores = os.cpu_count() or 1
    rows += [
        Row(
            f"backfill from Dovecot vs bare parse on {cores} processes, rate",
            f"{fill_rate:,.0f} vs {bare_rate:,.0f} msg/s",
            f"{fill_rate / bare_rate:.2f}",
            ">= 1.0",
            fill_rate / bare_rate >= 1.0,
        ),
        Row(
            "backfill vs bare parse, CPU per message (all processes)",
            f"{fill_cpu * 1e6:,.0f} vs {bare_cpu * 1e6:,.0f} µs",
            f"{fill_cpu / bare_cpu:.2f}",
            "<= 1.5",
            fill_cpu / bare_cpu <= 1.5,
        ),
        Row(
            f"backfill total RSS (all processes) at {p.messages:,} messages",
            f"{max(r['rss_mb'] for r in result['backfill']):.0f} MB peak",
            "",
            "<= 200 MB at 100,000 messages",
            max(r["rss_mb"] for r in result["backfill"]) <= 200 if p.messages >= 100_000 else None,
        ),
    ]
    notes.append(
        f"backfill: {fill['n']:,.0f} messages read, {fill['stored']:,.0f} stored as new; "
        "backfill rounds (wall s): "
        + ", ".join(f"{r['wall']:.1f}" for r in result["backfill"])
        + "; bare rounds: "
        + ", ".join(f"{r['wall']:.1f}" for r in result["bare"])
        + "; bare loop peak RSS (all processes): "
        + f"{max(r['rss_mb'] for r in result['bare']):.0f} MB"
    )
    return rows, notes


def report(p: Plan, rows: list[Row], notes: list[str], seconds: float, argv: list[str]) -> str:
    table = [
        "| measure | figures | ratio | target | |",
        "|---|---|---:|---|---|",
        *("| " + " | ".join(r.cells()) + " |" for r in rows),
    ]
    met = sum(1 for r in rows if r.met)
    targets = sum(1 for r in rows if r.met is not None)
    return "\n".join(
        [
            "# casewatch bench results" + (" (quick mode)" if p.quick else ""),
            "",
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC in one run of `make bench` "
            f"(`python scripts/bench.py {' '.join(argv)}`), {seconds / 60:.0f} minutes; "
            f"{met} of {targets} targets met. CPU is user + sys; ratios compare figures of this one run. "
            "Timings are noisy when other work shares the cores (see the load average).",
            "",
            *machine(),
            "",
            *table,
            "",
            *(f"- {n}" for n in notes),
            "",
        ]
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--messages", type=int, default=0, help="messages (default $BENCH_MESSAGES or 100,000)")
    p.add_argument("--quick", action="store_true", default=os.environ.get("BENCH_QUICK") == "1")
    p.add_argument("--out", help="where to write the report (default bench/results.md; needed with --quick)")
    p.add_argument("--child", choices=["backfill", "bare", "memory"], help=argparse.SUPPRESS)
    for name in ("--db", "--port", "--user", "--password", "--folder", "--maildir", "--ticks"):
        p.add_argument(name, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child == "backfill":
        backfill.backfill_child(args)
        return
    if args.child == "bare":
        backfill.bare_child(args)
        return
    if args.child == "memory":
        ticks.memory_child(args)
        return
    if args.quick and not args.out:
        p.error("--quick writes its figures to --out PATH, not over bench/results.md")
    from dovecot import Dovecot

    settings = plan(args)
    out = Path(args.out or ROOT / "bench" / "results.md")
    started = time.perf_counter()
    say(f"casewatch bench: {settings}")
    with tempfile.TemporaryDirectory(prefix="casewatch-bench-") as tmp, Dovecot() as dovecot:
        rows, notes = measure(settings, dovecot, Path(tmp))
    text = report(settings, rows, notes, time.perf_counter() - started, sys.argv[1:])
    print("\n" + text)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    say(f"wrote {out}")


if __name__ == "__main__":
    main()
