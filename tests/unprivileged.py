"""``python -m daemon`` as an unprivileged user, wherever the checkout lives.

As root, a few tests re-run casewatch as ``nobody`` (uid 65534) to see what a user without
rights gets. ``nobody`` may not enter the checkout's folder when it lives in root's home or in a
``mktemp -d`` folder (mode 0700), nor a venv or an interpreter kept there: run from the
checkout, such a command dies with "No module named daemon" before casewatch says a word. So
the command runs a copy of what it needs, made once per test session in a folder anyone may
read: the ``daemon`` package under test and the installed distributions it requires (nothing
else: no pip, no test tools), with an interpreter of the same version that ``nobody`` can run
(``-S``: no site-packages but the copy). Not root, the command is this interpreter, as the
same user, with nothing copied.
"""

from __future__ import annotations

import atexit
import functools
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

NOBODY = 65534
#: Installers that a dependency declares but casewatch never imports.
NOT_IMPORTED = frozenset({"pip", "setuptools", "wheel"})


def casewatch() -> tuple[list[str], dict[str, str] | None]:
    """The command that runs ``python -m daemon`` without privileges, and its environment."""
    if os.geteuid() != 0:
        return [sys.executable, "-m", "daemon"], None
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv to drop privileges")
    found = _as_nobody(setpriv)
    if isinstance(found, str):
        pytest.skip(found)
    return found


def _drop(setpriv: str) -> list[str]:
    return [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


@functools.cache
def _as_nobody(setpriv: str) -> tuple[list[str], dict[str, str]] | str:
    """The command and environment, or why there is none (the reason to skip)."""
    root = Path(tempfile.mkdtemp(prefix="casewatch-unprivileged-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    try:
        _copy_runtime(root)
    except OSError as exc:
        return f"cannot copy casewatch for the user nobody into {root}: {exc}"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(root), "LANG": "C.UTF-8"}
    want = f"{sys.version_info.major}.{sys.version_info.minor}"
    probe = "import sys, daemon.cli; print('%d.%d' % sys.version_info[:2])"
    tried = []
    for python in _interpreters(want):
        argv = [*_drop(setpriv), python, "-S"]
        try:
            done = subprocess.run(
                [*argv, "-c", probe], capture_output=True, timeout=60, check=False, cwd="/", env=env
            )
        except OSError as exc:
            tried.append(f"{python}: {exc}")
            continue
        said = done.stdout.decode(errors="replace").strip()
        if done.returncode == 0 and said == want:
            return [*argv, "-m", "daemon"], env
        last = (done.stderr.decode(errors="replace").strip().splitlines() or [said])[-1]
        tried.append(f"{python}: {last}")
    return f"no Python {want} that the user nobody may run imports casewatch from {root}: " + "; ".join(tried)


def _interpreters(version: str) -> list[str]:
    """Interpreters that may be this one's version, this one's first."""
    names = [
        sys.executable,
        getattr(sys, "_base_executable", ""),
        os.path.realpath(sys.executable),
        shutil.which(f"python{version}") or "",
        f"/usr/bin/python{version}",
        f"/usr/local/bin/python{version}",
    ]
    return [n for n in dict.fromkeys(names) if n and os.path.exists(n)]


def _copy_runtime(root: Path) -> None:
    """The ``daemon`` package being tested and its runtime dependencies, readable by anyone."""
    import daemon

    root.chmod(0o755)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(Path(daemon.__file__).parent, root / "daemon", ignore=ignore)
    for dist in _requirements("casewatch"):
        for file in dist.files or ():
            parts = Path(str(file)).parts
            if not parts or parts[0] == ".." or "__pycache__" in parts:
                continue
            target = root.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(str(dist.locate_file(file))), target)
    for folder, dirs, files in os.walk(root):
        for d in dirs:
            Path(folder, d).chmod(0o755)
        for f in files:
            Path(folder, f).chmod(0o644)


def _requirements(name: str) -> list[importlib.metadata.Distribution]:
    """The installed distributions ``name`` requires, directly or not (extras left out)."""
    seen: dict[str, importlib.metadata.Distribution] = {}
    todo = list(importlib.metadata.requires(name) or [])
    while todo:
        requirement = todo.pop()
        if "extra" in requirement.partition(";")[2]:
            continue
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
        if match is None:
            continue
        key = re.sub(r"[-_.]+", "-", match.group(1)).lower()
        if key in seen or key in NOT_IMPORTED:
            continue
        try:
            dist = importlib.metadata.distribution(key)
        except importlib.metadata.PackageNotFoundError:
            continue  # not for this platform or Python (a marker says so)
        seen[key] = dist
        todo.extend(dist.requires or [])
    return list(seen.values())
