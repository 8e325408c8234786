"""Mail from files: single messages, folders of them, Maildir folders and mbox files.

Only moves bytes. Every path is checked before anything is read, so a typo
fails at once (``UsageError``) instead of after half an import.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from daemon.errors import UsageError
from daemon.model import RawMessage

_FROM_LINE = re.compile(rb"^From \S+.*$")
_ESCAPED_FROM = re.compile(rb"^>(>*From )", re.MULTILINE)


def check_paths(paths: Sequence[str | Path]) -> list[Path]:
    """The paths as ``Path`` objects; ``UsageError`` naming the first that can't be read."""
    checked = []
    for p in paths:
        path = Path(p)
        if not path.exists():
            raise UsageError(f"no such file or folder: {path}")
        if not os.access(path, os.R_OK):
            raise UsageError(f"cannot read {path}: permission denied")
        checked.append(path)
    return checked


def is_mbox(head: bytes) -> bool:
    first = head.split(b"\n", 1)[0].rstrip(b"\r")
    return bool(_FROM_LINE.match(first))


def split_mbox(data: bytes) -> list[bytes]:
    """The messages of an mbox: split at ``From `` lines that follow a blank line."""
    messages: list[bytes] = []
    current: list[bytes] = []
    previous_blank = True
    for line in data.splitlines(keepends=True):
        bare = line.rstrip(b"\r\n")
        if previous_blank and _FROM_LINE.match(bare) and (current or not messages):
            if current:
                messages.append(b"".join(current))
            current = []
            previous_blank = False
            continue
        current.append(line)
        previous_blank = bare == b""
    if current:
        messages.append(b"".join(current))
    return [_ESCAPED_FROM.sub(rb"\1", m) for m in messages]


def _is_maildir(path: Path) -> bool:
    return (path / "cur").is_dir() and (path / "new").is_dir()


def _files(path: Path) -> Iterator[Path]:
    if path.is_file():
        yield path
        return
    if _is_maildir(path):
        for sub in ("new", "cur"):
            yield from sorted(p for p in (path / sub).iterdir() if p.is_file())
        return
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "tmp")
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(root) / name


def read_paths(paths: Sequence[str | Path]) -> Iterator[RawMessage]:
    """Every message under the paths, in a stable order (sorted names)."""
    for path in check_paths(paths):
        for file in _files(path):
            try:
                data = file.read_bytes()
            except OSError as exc:
                raise UsageError(f"cannot read {file}: {exc.strerror or exc}") from None
            if is_mbox(data[:1024]):
                for i, message in enumerate(split_mbox(data), start=1):
                    yield RawMessage(data=message, origin=f"{file}#{i}")
            else:
                yield RawMessage(data=data, origin=str(file))
