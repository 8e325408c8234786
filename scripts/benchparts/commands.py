"""``casewatch`` commands run as subprocesses: CPU (user + sys) and peak RSS of each.

Each command runs under a small Python wrapper that ``os.wait4``s it: ``ru_maxrss`` of a child
starts from what its forking parent had mapped, so the bench (with its mail and stores in memory)
must not be the direct parent; the wrapper's few MB are the floor instead.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from daemon.store import Store, schedule

WRAPPER = """
import json, os, subprocess, sys
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
err = p.stderr.read()
_, status, ru = os.wait4(p.pid, 0)
print(json.dumps({"cpu": ru.ru_utime + ru.ru_stime, "rss_mb": ru.ru_maxrss / 1024,
                  "status": os.waitstatus_to_exitcode(status), "err": err.decode()[-400:]}))
"""

STATUS = ["status", "--at", "2026-11-20T18:00:00+00:00"]
#: (label, arguments after ``casewatch --config X``)
COMMANDS = (
    ("status", STATUS),
    ("due --json", ["due", "--json", "--at", "2026-11-20T18:00:00+00:00"]),
    ("digest", ["digest", "--at", "2026-11-20T18:00:00+00:00"]),
    ("cases --json", ["cases", "--json"]),
)


def run_command(config: Path, args: list[str]) -> dict[str, Any]:
    """One run of ``casewatch --config config *args``: cpu seconds, peak RSS MB, exit status."""
    argv = [sys.executable, "-m", "daemon", "--config", str(config), *args]
    out = subprocess.run(
        [sys.executable, "-c", WRAPPER, *argv], capture_output=True, text=True, check=True
    ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def command_costs(config: Path, db: Path, repeat: int = 2) -> dict[str, dict[str, Any]]:
    """Each command, best CPU of ``repeat`` runs and the largest peak RSS seen. Before each run of
    ``status`` the store's schedule is dropped (``forget``), so that every run meets a store with
    no standing schedule, as if never ticked (a run may leave one for the next)."""
    costs: dict[str, dict[str, Any]] = {}
    for label, args in COMMANDS:
        runs = []
        for _ in range(repeat):
            if label == "status":
                forget_schedule(db)
            runs.append(run_command(config, args))
        costs[label] = {
            "cpu": min(r["cpu"] for r in runs),
            "rss_mb": max(r["rss_mb"] for r in runs),
            "status": max(r["status"] for r in runs),
            "err": next((r["err"] for r in runs if r["status"] not in (0, 1)), ""),
        }
    return costs


def forget_schedule(db: Path) -> None:
    """Drop the stored schedule of the store at ``db``: the next command or tick decides in full."""
    with Store(db) as store, store.transaction():
        schedule.forget(store)
