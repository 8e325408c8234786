"""The one exception family of casewatch.

::

    CasewatchError                 base; never raised itself
    ├── UserError                  the user can fix it: exit 2, no traceback
    │   ├── ConfigError            bad configuration: every problem at once
    │   └── UsageError             bad command line, missing path, unreadable file
    └── RuntimeFailure             the world failed (IMAP/SMTP unreachable, disk): exit 3

Anything else escaping to the CLI is a bug: exit 4 with where to report it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

EXIT_OK = 0
EXIT_UNHEALTHY = 1  # `casewatch status`: a stage (imap, smtp, decide, store) is failing
EXIT_USER = 2
EXIT_RUNTIME = 3
EXIT_BUG = 4


class CasewatchError(Exception):
    """Base of every error casewatch raises on purpose."""

    exit_code = EXIT_BUG


class UserError(CasewatchError):
    """A mistake the user can fix; reported in one or a few lines, exit 2."""

    exit_code = EXIT_USER


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the configuration: which key, what, and how to fix it."""

    key: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.key}: {self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text


class ConfigError(UserError):
    """The configuration has one or more problems; all of them are listed."""

    def __init__(self, problems: Sequence[Problem], source: str = "config") -> None:
        self.problems = tuple(problems)
        self.source = source
        lines = [f"{source}: {len(self.problems)} problem(s)"]
        lines += [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))


class UsageError(UserError):
    """A bad command line or a path that cannot be read."""


class RuntimeFailure(CasewatchError):
    """Something outside casewatch failed (network, server, disk): exit 3."""

    exit_code = EXIT_RUNTIME


class StoreError(RuntimeFailure):
    """The database cannot be opened or written (permissions, disk full, corruption): exit 3.

    ``transaction()`` and ``savepoint()`` raise it for any ``sqlite3.Error`` inside them, so
    callers outside the store never see the driver's exceptions."""
