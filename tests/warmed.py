"""A warmed ``casewatch``: one interpreter imports the daemon once, then forks a process per run.

Starting ``python -m daemon`` costs an interpreter and the daemon's imports (about a second on
two loaded cores) before any work, and tests/test_faults.py runs it three times for each of
its kill points. ``Warmed`` starts one server process that imports what ``casewatch`` needs and
nothing else (no database, no socket, no thread), then, for each run, forks a child that sets
the run's environment, working folder and output files and calls ``daemon.cli.main``, exactly
as ``python -m daemon`` would after its imports. The child is a real process of its own: a
crash point's ``kill -9`` (daemon/faults.py) kills it and nothing else, and ``run`` returns its
exit status as ``subprocess`` would (``-9`` for SIGKILL).
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

#: The server: it reads one JSON request a line on stdin and writes the child's pid, then its
#: exit status, on stdout.
SERVER = r"""
import json, os, sys, traceback
import daemon.cli, daemon.cycle, daemon.runner, daemon.ops.logs, daemon.outbound.transports
import daemon.sources.imap

requests = sys.stdin.buffer
replies = os.fdopen(os.dup(1), "w", buffering=1)
for line in requests:
    job = json.loads(line)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.chdir(job["cwd"])
            os.environ.clear()
            os.environ.update(job["env"])
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            out = os.open(job["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            err = os.open(job["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(out, 1)
            os.dup2(err, 2)
            for fd in (null, out, err):
                os.close(fd)
            replies.close()
            sys.argv = ["casewatch", *job["argv"]]
            code = daemon.cli.main(job["argv"])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    replies.write(json.dumps({"pid": pid}) + "\n")
    _, status = os.waitpid(pid, 0)
    replies.write(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}) + "\n")
"""


@dataclass(frozen=True)
class Finished:
    """What ``subprocess.run`` would have returned: the exit status and both outputs."""

    returncode: int
    pid: int
    stdout: bytes
    stderr: bytes


class Warmed:
    """The server process; ``run(argv, env, cwd)`` runs ``casewatch argv`` in a fresh fork."""

    def __init__(self) -> None:
        root = Path(__file__).resolve().parent.parent
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
        }
        self._proc = subprocess.Popen(
            [sys.executable, "-c", SERVER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=root,
        )

    def __enter__(self) -> Warmed:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        try:
            self._proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        finally:
            assert self._proc.stdout is not None
            self._proc.stdout.close()

    def _reply(self, out: IO[bytes], deadline: float) -> dict[str, int]:
        with selectors.DefaultSelector() as sel:
            sel.register(out, selectors.EVENT_READ)
            if not sel.select(max(0.0, deadline - time.monotonic())):
                raise subprocess.TimeoutExpired("casewatch (warmed)", 0)
        line = out.readline()
        if not line:
            raise RuntimeError(f"the warmed casewatch server ended (exit {self._proc.wait()})")
        reply: dict[str, int] = json.loads(line)
        return reply

    def run(self, argv: list[str], env: dict[str, str], cwd: Path, timeout: float = 120) -> Finished:
        """Run ``casewatch *argv`` in a child forked from the warmed server; its output goes to
        files in ``cwd`` (read back afterwards, as ``capture_output`` would give it)."""
        assert self._proc.stdin is not None
        assert self._proc.stdout is not None
        stdout, stderr = cwd / ".warmed.out", cwd / ".warmed.err"
        job = {"argv": argv, "env": env, "cwd": str(cwd), "stdout": str(stdout), "stderr": str(stderr)}
        self._proc.stdin.write(json.dumps(job).encode() + b"\n")
        self._proc.stdin.flush()
        deadline = time.monotonic() + timeout
        pid = self._reply(self._proc.stdout, deadline)["pid"]
        try:
            code = self._reply(self._proc.stdout, deadline)["returncode"]
        except subprocess.TimeoutExpired:
            os.kill(pid, signal.SIGKILL)
            raise
        return Finished(code, pid, stdout.read_bytes(), stderr.read_bytes())
