"""The file transport: each message written atomically as ``<folder>/<name>.eml``.

``daemon.outbound.transports`` re-exports ``FileTransport`` and ``file_name``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from daemon.outbound.failures import TemporaryFailure

_SAFE = re.compile(r"[a-z0-9][a-z0-9.@+=-]*")
_UNSAFE = re.compile(r"[^A-Za-z0-9.@+=-]")
NAME_LIMIT = 150


def file_name(message_id: str) -> str:
    """The file name of a message, from its Message-ID: the same ID, the same name.

    An ID of lower-case letters, digits and ``.@+=-`` (as casewatch makes them) is the
    name as it is, without its angle brackets; any other is made safe and gets ``_`` and
    a hash of the ID, so that two IDs never share a file, even on a case-insensitive disk.
    """
    mid = message_id.strip()
    if mid.startswith("<") and mid.endswith(">"):
        mid = mid[1:-1].strip()
    if not mid:
        raise ValueError("a message without a Message-ID cannot be written to a file")
    if len(mid) <= NAME_LIMIT and _SAFE.fullmatch(mid):
        return f"{mid}.eml"
    digest = hashlib.sha256(mid.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    stem = _UNSAFE.sub("_", mid[:100]).lstrip(".")
    return f"{stem}_{digest}.eml"


class FileTransport:
    """Writes each message to ``folder/<name>.eml`` (see ``file_name``), atomically.

    The bytes go to a temporary file in the folder (``.<name>.<random>.tmp``), flushed to
    disk, then renamed over the final name: a reader sees the old file or the new one,
    never a part. The folder is created when missing. Files are private to their owner.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def __repr__(self) -> str:
        return f"FileTransport({str(self.folder)!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def path_of(self, message_id: str) -> Path:
        """Where the message with this Message-ID is written."""
        return self.folder / file_name(message_id)

    def send(self, sender: str, recipients: Sequence[str], message: bytes, message_id: str) -> None:
        target = self.path_of(message_id)
        tmp: str | None = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.stem[:60]}.", suffix=".tmp", dir=self.folder)
            with os.fdopen(fd, "wb") as out:
                out.write(message)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
            tmp = None
        except OSError as e:
            raise TemporaryFailure(f"cannot write message {message_id} to {target}: {e}") from e
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)

    def close(self) -> None:
        pass
