"""The streamed evaluation (``Store.streamed``: case files read one at a time; ``decide`` keeping a
slim context of each case) gives what the whole snapshot gives: the same case files, the same
candidates, the same due actions, on the demo mail and on a generated store of 2,000 cases."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from daemon.config import Config, load
from daemon.ingest import ingest
from daemon.model import Action
from daemon.policy import backlog
from daemon.policy.across import FLAGGING, calls_for
from daemon.policy.engine import candidates, decide, due_among, due_by, evaluate, slim
from daemon.sources.files import read_paths
from daemon.store import Store

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "scripts"))
import scalestore  # noqa: E402

DEMO_CONFIG = load(str(HERE / "fixtures" / "digest" / "config.toml"))
DEMO_MAIL = [
    *sorted((HERE / "fixtures" / "due" / "other-words").glob("*.eml")),
    *sorted((HERE.parent / "daemon" / "demo" / "mailbox").glob("*.eml")),
]
DEMO_INSTANTS = [
    datetime(2026, 10, 5, 16, tzinfo=UTC) + timedelta(days=d, hours=h)
    for d in range(0, 60, 3)
    for h in (0, 7)
]
SCALE_INSTANTS = [
    scalestore.NOW - timedelta(days=30),
    scalestore.NOW,
    scalestore.NOW + timedelta(days=2, hours=5),
]


def whole_decide(store: Store, at: datetime, config: Config) -> list[Action]:
    """The reference: ``decide`` as it was, over the whole snapshot with every full context."""
    snapshot = store.snapshot(at)
    ctxs, actions = candidates(snapshot, at, config)
    return backlog.listed(due_among(ctxs, actions, snapshot.sent, at), at, config)


@pytest.fixture(scope="module")
def demo() -> Iterator[Store]:
    with Store(":memory:") as s:
        assert ingest(s, DEMO_CONFIG, read_paths(DEMO_MAIL)).quarantined == 0
        yield s


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Config]]:
    folder = tmp_path_factory.mktemp("scale")
    db = scalestore.build(folder / "cw.db", 2000, seed=11)
    config = load(str(scalestore.config(db, folder / "config.toml")))
    with Store(db) as s:
        yield s, config


def same_everywhere(store: Store, at: datetime, config: Config) -> int:
    streamed = store.streamed(at)
    whole = store.snapshot(at)
    assert tuple(streamed.files) == whole.files
    assert (streamed.links, streamed.sent, streamed.summarized) == (whole.links, whole.sent, whole.summarized)
    expected = whole_decide(store, at, config)
    assert decide(streamed, at, config) == expected
    assert decide(whole, at, config) == expected
    # the slim contexts give the same candidates; evaluate (which renders) still has full contexts
    assert candidates(streamed, at, config, keep=slim)[1] == candidates(whole, at, config)[1]
    assert evaluate(streamed, at, config) == evaluate(whole, at, config)
    return len(expected)


def test_the_demo_store_streamed_decides_as_the_whole_snapshot(demo: Store) -> None:
    due = [same_everywhere(demo, at, DEMO_CONFIG) for at in DEMO_INSTANTS]
    assert sum(due) > 0


def test_a_generated_store_streamed_decides_as_the_whole_snapshot(generated: tuple[Store, Config]) -> None:
    store, config = generated
    due = [same_everywhere(store, at, config) for at in SCALE_INSTANTS]
    assert sum(due) > 0
    # the cross-case rules that read events are exercised: their actions are among the due ones
    kinds = {a.kind for a in decide(store.streamed(scalestore.NOW), scalestore.NOW, config)}
    assert {"widespread", "owner_unreachable"} <= kinds


def test_a_slim_context_keeps_what_the_rules_across_cases_read(generated: tuple[Store, Config]) -> None:
    store, config = generated
    snapshot = store.snapshot(scalestore.NOW)
    full, _ = candidates(snapshot, scalestore.NOW, config)
    for ctx in full:
        kept = slim(ctx)
        assert len(kept.events) < len(ctx.events)
        assert kept.events[0].at == next(e.at for e in ctx.events if e.data.get("institution"))
        assert kept.route == ctx.route
        clocks = ("state", "turn", "closed_at", "commands")
        assert [getattr(kept.clocks, f) for f in clocks] == [getattr(ctx.clocks, f) for f in clocks]
        read_across = ("number", "owner", "institution", "priority", "state", "source", "case_of_record")
        for f in (*read_across, "opened_at"):
            assert getattr(kept.case, f) == getattr(ctx.case, f)
        assert (kept.case.title, kept.case.description) == (None, None)  # let go: not read across
        failed = [e for e in ctx.events if e.kind == "reminder_sent" and e.data.get("delivery") == "failed"]
        assert list(kept.events[1:]) == failed


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_paused_while_deciding_and_left_as_it_was(demo, enabled):
    """``decide`` and the streamed files pause the cyclic collector (each full collection would
    walk every slim context kept so far), and give it back as they found it."""
    seen: list[bool] = []
    snapshot = demo.streamed(DEMO_INSTANTS[-1])
    files = snapshot.files
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        for _ in files:
            seen.append(gc.isenabled())
        assert seen
        assert not any(seen)
        assert gc.isenabled() == enabled
        assert decide(snapshot, DEMO_INSTANTS[-1], DEMO_CONFIG)
        assert gc.isenabled() == enabled
    finally:
        (gc.enable if was else gc.disable)()


@pytest.mark.parametrize("at", SCALE_INSTANTS)
def test_decide_keeps_of_later_actions_what_the_support_call_reads(generated, at):
    """``decide`` lets go of the case rules' actions due later than now (``due_by``), except what
    ``calls_for`` reads of those that flag a case for the call: the same calls either way."""
    store, config = generated
    ctxs, actions = candidates(store.snapshot(at), at, config)
    assert any(a.kind in FLAGGING and a.due_at > at for a in actions)  # there is something to keep
    kept = [k for k in map(due_by(at), actions) if k is not None]
    assert len(kept) < len(actions)
    assert calls_for(ctxs, kept, at, config) == calls_for(ctxs, actions, at, config)
