"""Cases about one problem: clusters of linked cases, and when they became widespread (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from daemon.model import Link


@dataclass(frozen=True)
class Cluster:
    """Linked cases; ``grown_at`` is when it last gained an institution."""

    cases: tuple[str, ...]
    institutions: tuple[str, ...]
    grown_at: datetime | None


class _Sets:
    """Union-find over case numbers, each root carrying its institutions."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}
        self.insts: dict[str, set[str]] = {}
        self.grown: dict[str, datetime | None] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        self.insts.setdefault(x, set())
        self.grown.setdefault(x, None)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def add_institution(self, case: str, inst: str, at: datetime | None) -> None:
        root = self.find(case)
        if inst not in self.insts[root]:
            self.insts[root].add(inst)
            self.grown[root] = at

    def union(self, a: str, b: str, at: datetime | None) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if len(self.insts[ra]) < len(self.insts[rb]):
            ra, rb = rb, ra
        before = len(self.insts[ra])
        self.insts[ra] |= self.insts.pop(rb)
        self.grown.pop(rb)
        self.parent[rb] = ra
        if len(self.insts[ra]) > before:  # else it still has the size it reached before
            self.grown[ra] = at


def clusters(
    institutions: Mapping[str, tuple[str, datetime | None]],
    links: Iterable[Link],
    now: datetime,
) -> list[Cluster]:
    """Clusters of two or more cases, as the links made up to ``now`` join them.

    ``institutions`` maps a case to its institution and since when that is known.
    """
    steps: list[tuple[datetime | None, int, str, str]] = []
    for case, (inst, at) in institutions.items():
        steps.append((at, 0, case, inst))
    for link in links:
        if link.at is None or link.at <= now:
            steps.append((link.at, 1, link.a, link.b))
    steps.sort(key=lambda s: (s[0] is not None, s[0] or now, s[1]))
    sets = _Sets()
    for at, what, x, y in steps:
        if what == 0:
            sets.add_institution(x, y, at)
        else:
            sets.union(x, y, at)
    members: dict[str, list[str]] = {}
    for case in list(sets.parent):
        members.setdefault(sets.find(case), []).append(case)
    return [
        Cluster(tuple(sorted(cases)), tuple(sorted(sets.insts[root])), sets.grown[root])
        for root, cases in members.items()
        if len(cases) > 1
    ]


def marks(cases: Sequence[str], size: int) -> tuple[str, ...]:
    """The keys a widespread alert uses up: one per member case and cluster size."""
    return tuple(f"widespread:{c}:{size}" for c in cases)
