"""The canned queries of docs/datasette.json run on a real state database and return what they say."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from policytools import ev, opened

from daemon.store import Store

METADATA = Path(__file__).parent.parent / "docs" / "datasette.json"
QUERIES = json.loads(METADATA.read_text(encoding="utf-8"))["databases"]["casewatch"]["queries"]


@pytest.fixture
def store(tmp_path: Path):
    with Store(tmp_path / "cw.db") as s:
        with s.transaction():
            s.add_events(
                [
                    opened("2026-09-14 10:00"),
                    opened("2026-09-15 10:00", case="10700002", priority="high", institution="UW"),
                    opened("2026-09-16 10:00", case="10700003"),
                    ev("case_closed", "2026-09-17 10:00", case="10700003", state="closed"),
                ],
                None,
            )
            for n in ("10700001", "10700002", "10700003"):
                s.refresh_case(n)
        yield s


def rows(store: Store, name: str, **params: str) -> list[tuple]:
    return list(store.conn.execute(QUERIES[name]["sql"], params))


def test_open_cases_leave_out_closed_ones_oldest_first(store):
    assert [r[0] for r in rows(store, "open_cases")] == ["10700001", "10700002"]


def test_cases_per_institution(store):
    assert rows(store, "cases_per_institution") == [("UW", 1, 1), ("WWU", 1, 0)]


def test_every_canned_query_runs(store):
    for name in QUERIES:
        rows(store, name, case="10700001")
    assert [r[1] for r in rows(store, "timeline", case="10700003")] == ["case_opened", "case_closed"]
