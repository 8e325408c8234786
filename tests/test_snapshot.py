"""What the store hands the policy engine: events up to an instant, links with their times,
and cached projections only where they are the case as of that instant."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from policytools import t

from daemon.config import Config
from daemon.ingest import ingest
from daemon.model import Event
from daemon.policy.engine import decide
from daemon.sources.files import read_paths
from daemon.store import Store

FOLDER = Path(__file__).parent / "fixtures" / "due" / "other-words"
MAIL = sorted(FOLDER.glob("*.eml"))


@pytest.fixture
def store(tmp_path: Path):
    with Store(tmp_path / "cw.db") as s:
        yield s


@pytest.mark.parametrize(
    "at", ["2026-09-19 08:20", "2026-10-20 10:00", "2026-11-05 12:00", "2026-11-10 10:00", "2026-12-01 09:00"]
)
def test_cached_cases_give_the_same_decisions_as_projecting_again(store, at):
    ingest(store, Config(), read_paths(MAIL))
    snapshot = store.snapshot(t(at))
    fresh = dataclasses.replace(
        snapshot, files=tuple(dataclasses.replace(f, case=None) for f in snapshot.files)
    )
    used_cache = [f.number for f in snapshot.files if f.case is not None]
    assert used_cache  # the cache is really used for some cases at every instant here
    assert decide(snapshot, t(at), Config()) == decide(fresh, t(at), Config())


def test_a_case_with_later_mail_is_projected_again(store):
    ingest(store, Config(), read_paths(MAIL))
    snapshot = store.snapshot(t("2026-10-20 10:00"))
    by_number = {f.number: f for f in snapshot.files}
    # 10810220 gets a status change on 10/22: its cached case (status Under Investigation) is not it yet.
    assert by_number["10810220"].case is None
    # 10810110 closed in September: nothing of it is later, the cache stands for it.
    assert by_number["10810110"].case is not None


def test_links_keep_the_time_of_the_mail_that_made_them_whatever_the_reading_order(tmp_path):
    with Store(tmp_path / "forward.db") as forward, Store(tmp_path / "backward.db") as backward:
        ingest(forward, Config(), read_paths(MAIL))
        for path in reversed(MAIL):
            ingest(backward, Config(), read_paths([path]))
        assert forward.links() == backward.links()
        times = {(link.a, link.b): link.at for link in forward.links()}
    # The Google Group post of Mon 2026-11-09 13:10 first tied 10812350 to 10812370.
    assert times[("10812350", "10812370")] == t("2026-11-09 13:10")
    assert all(at is not None for at in times.values())


def test_links_made_after_the_instant_are_left_out(store):
    ingest(store, Config(), read_paths(MAIL))
    assert store.links(t("2026-11-09 13:09")) != store.links(t("2026-11-09 13:10"))
    assert ("10812350", "10812370") not in {(x.a, x.b) for x in store.links(t("2026-11-09 13:09"))}


def test_cases_closed_long_ago_are_not_read_for_decisions(store):
    from policytools import ev, opened

    from daemon.store.db import CLOSED_HORIZON

    with store.transaction():
        store.add_events(
            [
                opened("2026-01-05 10:00", case="10700001"),
                ev("case_closed", "2026-01-06 10:00", case="10700001", state="closed"),
                opened("2026-03-02 10:00", case="10700002"),
                ev("case_closed", "2026-03-03 10:00", case="10700002", state="closed"),
                opened("2026-01-05 10:00", case="10700003"),  # open for months: always read
            ],
            None,
        )
        for n in ("10700001", "10700002", "10700003"):
            store.refresh_case(n)
    at = t("2026-04-01 10:00")
    assert CLOSED_HORIZON.days == 60
    # 10700001 closed 85 days before: left out; 10700002 closed 29 days before: read.
    assert [f.number for f in store.snapshot(at).files] == ["10700002", "10700003"]
    # As of an instant when it was still recent, it is read.
    assert [f.number for f in store.snapshot(t("2026-02-01 10:00")).files] == ["10700001", "10700003"]


def test_events_read_from_the_store_are_the_events_written(store):
    """The store builds its events without the dataclass's ``__init__`` (``stored_event``): each is
    still equal to, hashes and prints as the event made the usual way, field for field."""
    ingest(store, Config(), read_paths(MAIL))
    events = [e for f in store.snapshot(t("2026-12-01 09:00")).files for e in f.events]
    assert any(e.data for e in events)
    assert any(e.message_id for e in events)
    for e in events:
        made = Event(e.case, e.at, e.kind, e.actor, e.message_id, e.summary, e.data)
        assert (e, hash(e), repr(e)) == (made, hash(made), repr(made))
        assert type(e) is Event
