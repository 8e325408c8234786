"""Rendering a digest for any past or present week, the same way every time (the shell side).

The digest of the week ending at the last digest time at or before ``at`` is read from the
store as it stood at that time (events up to it), so rendering it again gives the same mail.
``write_calendar`` writes the iCalendar file of ``casewatch calendar`` (support calls, agenda
cut-offs, what falls due in the coming week), as of ``at``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from pathlib import Path

from daemon import ics
from daemon.config import Config, ProgramManager
from daemon.digest import Weekly, calendar_for
from daemon.errors import UsageError
from daemon.outbound.context import build
from daemon.outbound.render import FORMATS, Rendered, render
from daemon.policy.calls import digest_slot
from daemon.policy.engine import digest_action
from daemon.store import Store


def render_digest(store: Store, pm: ProgramManager, at: datetime, config: Config) -> Rendered:
    return next(render_digests(store, [pm], at, config))


def render_digests(
    store: Store,
    pms: Sequence[ProgramManager],
    at: datetime,
    config: Config,
    formats: Collection[str] = FORMATS,
) -> Iterator[Rendered]:
    """The digest of each of ``pms``, in turn: one snapshot and one evaluation for all of them.
    ``formats``: the bodies rendered (``casewatch digest`` prints one; the others are empty)."""
    slot = digest_slot(at, config)
    weekly = Weekly(store.streamed(slot), config, store.unread_since())
    for pm in pms:
        data = weekly.for_pm(pm, slot)
        ctx = build(digest_action(pm, slot), None, [], slot, config.outbound.from_address, config, data)
        yield render([ctx], config.sending.templates, formats)


def calendar_name(config: Config, pm: ProgramManager | None) -> str:
    return f"casewatch, {config.consortium.name}" + (f": {pm.name}" if pm else "")


def write_calendar(store: Store, path: str, at: datetime, config: Config, pm: ProgramManager | None) -> int:
    """Write the calendar file as of ``at`` to ``path``; the number of events written."""
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"--ics: {path} is a folder (hint: name a file, e.g. {target / 'casewatch.ics'})")
    if not target.parent.is_dir():
        raise UsageError(f"--ics: the folder {target.parent} does not exist (hint: create it first)")
    entries = calendar_for(store.snapshot(at), at, config, pm)
    data = ics.calendar(entries, at, calendar_name(config, pm))
    partial = target.with_name(f".{target.name}.partial")
    try:  # whole or not at all: a calendar served from this file is never read half written
        partial.write_bytes(data)
        partial.replace(target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise UsageError(f"--ics: cannot write {path}: {exc.strerror or exc}") from None
    return len(entries)
