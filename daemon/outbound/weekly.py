"""Rendering a digest for any past or present week, the same way every time (the shell side).

The digest of the week ending at the last digest time at or before ``at`` is read from the
store as it stood at that time (events up to it), so rendering it again gives the same mail.
"""

from __future__ import annotations

from datetime import datetime

from daemon.config import Config, ProgramManager
from daemon.digest import digest
from daemon.model import Action
from daemon.outbound.context import build
from daemon.outbound.render import Rendered, render
from daemon.policy import candidates
from daemon.policy.calls import digest_slot
from daemon.store import Store


def render_digest(store: Store, pm: ProgramManager, at: datetime, config: Config) -> Rendered:
    slot = digest_slot(at, config)
    snapshot = store.snapshot(slot)
    ctxs, actions = candidates(snapshot, slot, config)
    action = Action(
        "digest",
        None,
        (pm.email,),
        slot,
        f"The weekly digest for {pm.name} ({', '.join(pm.areas)}).",
        f"digest:{pm.email.lower()}:{slot.date().isoformat()}",
        area=pm.areas[0] if pm.areas else None,
        data={"period_end": slot.isoformat()},
    )
    data = digest(pm, ctxs, actions, slot, config)
    ctx = build(action, None, [], slot, config.outbound.from_address, config, data)
    return render([ctx], config.sending.templates)
