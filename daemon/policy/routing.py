"""Who gets an action: the owner, the PM of the case's area, the coordinator (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from daemon.config import Config
from daemon.model import Case


@dataclass(frozen=True)
class Route:
    """Where one case's actions go, and why, in words."""

    owner: str | None
    area: str
    area_why: str  # e.g. 'its category "Alma / Fulfillment / Letters" maps to fulfillment'
    pms: tuple[str, ...]
    pms_why: str  # empty when the area's own PM is found

    def owner_or_pm(self) -> tuple[tuple[str, ...], tuple[str, ...], str]:
        """(to, cc, note): the owner, or the area's PM when no owner is known."""
        if self.owner:
            return (self.owner,), (), ""
        return self.pms, (), f"No owner is known for this case, so this goes to the PM of {self.area}."

    def pm_cc_owner(self) -> tuple[tuple[str, ...], tuple[str, ...], str]:
        """(to, cc, note): the area's PM, with the owner in copy."""
        cc = (self.owner,) if self.owner and self.owner not in self.pms else ()
        return self.pms, cc, self.pms_why


def area_of(case: Case, config: Config) -> tuple[str, str]:
    """The case's functional area from its asset / category / subcategory, and why."""
    parts = [p for p in (case.asset, case.category, case.subcategory) if p]
    label = " / ".join(parts)
    text = label.lower()
    if text:
        for needle, area in config.areas.by_category.items():
            if needle in text:
                return area, f'its category "{label}" maps to {area}'
        return (
            config.areas.fallback,
            f'no area is mapped for "{label}"; the fallback area is {config.areas.fallback}',
        )
    return config.areas.fallback, f"its category is unknown; the fallback area is {config.areas.fallback}"


def pms_for(area: str, config: Config) -> tuple[tuple[str, ...], str]:
    """The PMs of an area (else of the fallback area, else every PM), and a note when not the area's own."""
    own = tuple(pm.email for pm in config.program_managers if area in pm.areas)
    if own:
        return own, ""
    fallback = config.areas.fallback
    spare = tuple(pm.email for pm in config.program_managers if fallback in pm.areas)
    if spare:
        return spare, f"No PM is configured for {area}, so this goes to the PM of {fallback}."
    every = tuple(pm.email for pm in config.program_managers)
    if every:
        return every, f"No PM is configured for {area} or {fallback}, so this goes to every PM."
    return (), "No program manager is configured ([[program_managers]]), so nobody can be told."


def route(case: Case, config: Config) -> Route:
    area, why = area_of(case, config)
    pms, pms_why = pms_for(area, config)
    return Route(case.owner, area, why, pms, pms_why)


class Router:
    """``route`` for many cases of one config, remembering each category's area, each area's PMs
    and each owner's route for a category."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._areas: dict[tuple[str | None, ...], tuple[str, str]] = {}
        self._pms: dict[str, tuple[tuple[str, ...], str]] = {}
        # One Route for the cases of one owner and one category (a Route is a value).
        self._routes: dict[tuple[str | None, ...], Route] = {}

    def __call__(self, case: Case) -> Route:
        label = (case.asset, case.category, case.subcategory)
        known = self._routes.get((case.owner, *label))
        if known is not None:
            return known
        if label not in self._areas:
            self._areas[label] = area_of(case, self.config)
        area, why = self._areas[label]
        if area not in self._pms:
            self._pms[area] = pms_for(area, self.config)
        pms, pms_why = self._pms[area]
        made = self._routes[(case.owner, *label)] = Route(case.owner, area, why, pms, pms_why)
        return made
