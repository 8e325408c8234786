"""Crash points for the fault tests: ``point(name)`` kills the process at a chosen moment.

With ``CASEWATCH_CRASH=name:n`` in the environment, the n-th time the program reaches
``point(name)`` it sends itself SIGKILL, as ``kill -9`` would: no cleanup, no flush, no
rollback beyond what SQLite's journal guarantees. Without that variable ``point`` does
nothing. Only the fault tests set it (tests/test_faults.py).
"""

from __future__ import annotations

import os
import signal

ENV = "CASEWATCH_CRASH"
_hits: dict[str, int] = {}


def point(name: str) -> None:
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    target, _, nth = wanted.partition(":")
    if target != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] == int(nth or "1"):
        os.kill(os.getpid(), signal.SIGKILL)
