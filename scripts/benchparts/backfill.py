"""The backfill from Dovecot against a bare ``mailparser.parse_from_bytes`` loop over the same
bytes on all cores: both in child processes, interleaved, best of 3; CPU summed over each child and
its workers; the backfill's total RSS (it and its children) sampled while it runs."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent.parent / "bench.py"
CHUNK = 100  # messages per task handed to a bare-loop worker


def _cpu(who: int) -> float:
    ru = resource.getrusage(who)
    return ru.ru_utime + ru.ru_stime


def _report(wall: float, cpu0: float, n: int, stored: int = 0) -> None:
    cpu = _cpu(resource.RUSAGE_SELF) - cpu0 + _cpu(resource.RUSAGE_CHILDREN)
    print(json.dumps({"wall": wall, "cpu": cpu, "n": n, "stored": stored}))


def backfill_child(args: argparse.Namespace) -> None:
    """Child process: read the folder into a fresh database with ``poll_imap`` (its workers too)."""
    from daemon.config import Config
    from daemon.ingest import poll_imap
    from daemon.store import Store

    cfg = Config()
    cfg = dataclasses.replace(
        cfg,
        mailbox=dataclasses.replace(
            cfg.mailbox, host="127.0.0.1", port=int(args.port), security="plain",
            username=args.user, folders=(args.folder,), timeout=120.0,
        ),
    )  # fmt: skip
    with Store(args.db) as store:
        cpu0 = _cpu(resource.RUSAGE_SELF)
        start = time.perf_counter()
        counts = poll_imap(store, cfg, args.password)
        wall = time.perf_counter() - start
    _report(wall, cpu0, counts.read, counts.ingested)


def _parse_chunk(chunk: list[bytes]) -> int:
    import mailparser

    for raw in chunk:
        mailparser.parse_from_bytes(raw)
    return len(chunk)


def _chunks(folder: Path) -> Iterator[list[bytes]]:
    names = sorted(folder.iterdir())
    for i in range(0, len(names), CHUNK):
        yield [p.read_bytes() for p in names[i : i + CHUNK]]


def bare_child(args: argparse.Namespace) -> None:
    """Child process: the same files parsed by a pool of os.cpu_count() processes, nothing else."""
    import mailparser  # noqa: F401  (imported before the clock, as the backfill's modules are)

    cpu0 = _cpu(resource.RUSAGE_SELF)
    start = time.perf_counter()
    with ProcessPoolExecutor(os.cpu_count() or 1) as pool:
        n = sum(pool.map(_parse_chunk, _chunks(Path(args.maildir))))
    wall = time.perf_counter() - start
    _report(wall, cpu0, n)


def _tree_rss_mb(pid: int) -> float:
    """VmRSS of ``pid`` and all its descendants, summed, in MB."""
    from benchparts.ticks import vm_rss_mb

    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += vm_rss_mb(p)
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                todo += [int(c) for c in task.read_text().split()]
    return total


def _run_child(argv: list[str]) -> dict[str, float]:
    """Run ``bench.py`` as a child with ``argv``; its JSON answer and the peak of its tree's RSS."""
    # Files, not pipes: this loop samples without reading, and a child that logs more than a
    # pipe holds (the backfill logs each batch) would block on its write for ever.
    with tempfile.TemporaryFile("w+") as out_file, tempfile.TemporaryFile("w+") as err_file:
        proc = subprocess.Popen(
            [sys.executable, str(BENCH), *argv], stdout=out_file, stderr=err_file, text=True
        )
        peak = 0.0
        while proc.poll() is None:
            peak = max(peak, _tree_rss_mb(proc.pid))
            time.sleep(0.05)  # the sampling period; a measurement, not a wait for a result
        out_file.seek(0)
        err_file.seek(0)
        out, err = out_file.read(), err_file.read()
    if proc.returncode:
        raise RuntimeError(f"bench child {argv[:2]} failed: {err[-2000:]}")
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    result["rss_mb"] = peak
    return result


def imap_args(dovecot: Any) -> list[str]:
    return ["--port", str(dovecot.port), "--user", dovecot.user, "--password", dovecot.password]


def run_child(argv: list[str]) -> dict[str, float]:
    return _run_child(argv)


def compare(dovecot: Any, folder: str, rounds: int = 3) -> dict[str, Any]:
    """``rounds`` × (bare loop, then backfill into a fresh database), interleaved; all figures."""
    maildir = Path(dovecot.dir) / "home" / "Maildir" / f".{folder}" / "cur"
    bare, fill = [], []
    for _ in range(rounds):
        bare.append(_run_child(["--child", "bare", "--maildir", str(maildir)]))
        with tempfile.TemporaryDirectory() as tmp:
            db = str(Path(tmp) / "cw.db")
            fill.append(
                _run_child(["--child", "backfill", "--db", db, *imap_args(dovecot), "--folder", folder])
            )
    return {"bare": bare, "backfill": fill}
