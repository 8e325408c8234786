"""Rendering a digest for any past or present week, the same way every time (the shell side).

The digest of the week ending at the last digest time at or before ``at`` is read from the
store as it stood at that time (events up to it), so rendering it again gives the same mail.
"""

from __future__ import annotations

from datetime import datetime

from daemon.config import Config, ProgramManager
from daemon.digest import Weekly
from daemon.outbound.context import build
from daemon.outbound.render import Rendered, render
from daemon.policy.calls import digest_slot
from daemon.policy.engine import digest_action
from daemon.store import Store


def render_digest(store: Store, pm: ProgramManager, at: datetime, config: Config) -> Rendered:
    slot = digest_slot(at, config)
    data = Weekly(store.snapshot(slot), config, store.unread_since()).for_pm(pm, slot)
    ctx = build(digest_action(pm, slot), None, [], slot, config.outbound.from_address, config, data)
    return render([ctx], config.sending.templates)
