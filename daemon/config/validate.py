"""The checks of a built config: each problem is appended to one list, with its key and a hint.

Types are checked while the config is built (``daemon.config.loading``), and durations and clock
times read then (``read_duration``, ``read_clock``); these are the checks of values: names,
ranges, addresses, regular expressions, business time in a daemon timer, paths.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Sequence
from datetime import date, time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from daemon.config.actions import CHECKLIST, PRIORITY_NAMES
from daemon.config.schema import Config, Mailbox, Smtp
from daemon.errors import Problem
from daemon.timeparts import WEEKDAYS, Duration, check_holidays, duration, parse_clock

#: The tables whose durations are timers of the daemon, which count real time (no business time).
ELAPSED_TABLES = ("daemon",)

_HINTS = {
    "consortium.timezone": "an IANA zone name such as America/Los_Angeles",
    "outbound.transport": 'either "smtp" or "file"',
    "mailbox.security": 'one of "tls", "starttls", "plain"',
    "smtp.security": 'one of "tls", "starttls", "plain"',
}


def read_duration(key: str, text: str, problems: list[Problem]) -> Duration | None:
    """The duration ``text`` of ``key`` (read when the config is loaded); None and a problem when
    it is unreadable."""
    try:
        return duration(text)
    except ValueError as exc:
        units = (
            'seconds, minutes, hours, days or weeks, e.g. "30 seconds", "5 minutes"'
            if key.partition(".")[0] in ELAPSED_TABLES
            else 'seconds, minutes, hours, days, weeks, business hours or business days, e.g. "4 hours", '
            '"2 business days"'
        )
        problems.append(Problem(key, str(exc).split(" (write")[0], f"a number and a unit: {units}"))
        return None


def read_clock(key: str, text: str, problems: list[Problem]) -> time | None:
    """The time of day ``text`` of ``key``; None and a problem when it is unreadable."""
    try:
        return parse_clock(text)
    except ValueError as exc:
        problems.append(Problem(key, str(exc), 'a 24-hour local time, e.g. "08:00"'))
        return None


def validate(cfg: Config, problems: list[Problem]) -> None:
    """Every check of ``cfg``, in order: the sections, the paths, the calendar and actions."""
    _validate_sections(cfg, problems)
    _validate_paths(cfg, problems)
    _validate_policy(cfg, problems)


def _validate_sections(cfg: Config, problems: list[Problem]) -> None:
    """The sections' own values: names, ranges, addresses, the secrets' settings, patterns."""
    try:
        ZoneInfo(cfg.consortium.timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        problems.append(
            Problem(
                "consortium.timezone",
                f"unknown time zone {cfg.consortium.timezone!r}",
                _HINTS["consortium.timezone"],
            )
        )
    if cfg.outbound.transport not in ("smtp", "file"):
        problems.append(
            Problem(
                "outbound.transport",
                f"unknown transport {cfg.outbound.transport!r}",
                _HINTS["outbound.transport"],
            )
        )
    if "@" not in cfg.outbound.from_address:
        problems.append(
            Problem("outbound.from_address", "must be an e-mail address", "e.g. casewatch@example.org")
        )
    if cfg.mailbox.security not in ("tls", "starttls", "plain"):
        problems.append(
            Problem(
                "mailbox.security",
                f"unknown value {cfg.mailbox.security!r}",
                _HINTS["mailbox.security"],
            )
        )
    if not math.isfinite(cfg.mailbox.timeout) or cfg.mailbox.timeout <= 0:
        problems.append(Problem("mailbox.timeout", "must be more than 0 seconds"))
    if cfg.smtp.security not in ("tls", "starttls", "plain"):
        problems.append(
            Problem("smtp.security", f"unknown value {cfg.smtp.security!r}", _HINTS["smtp.security"])
        )
    if not math.isfinite(cfg.smtp.timeout) or cfg.smtp.timeout <= 0:
        problems.append(Problem("smtp.timeout", "must be more than 0 seconds"))
    if not 0 <= cfg.smtp.port <= 65535:
        problems.append(Problem("smtp.port", "must be a TCP port (0 for the default)"))
    if cfg.outbound.transport == "smtp" and not cfg.smtp.host:
        problems.append(Problem("smtp.host", 'is required when outbound.transport = "smtp"'))
    if cfg.replies.help_per_day < 0:
        problems.append(Problem("replies.help_per_day", "must not be negative", "0 sends no help replies"))
    if cfg.replies.help_per_hour < 0:
        problems.append(Problem("replies.help_per_hour", "must not be negative", "0 sends no help replies"))
    if cfg.replies.token_days < 1:
        problems.append(
            Problem("replies.token_days", "must be at least 1", "days a message's reply address stays valid")
        )
    if cfg.replies.require_authentication and not cfg.replies.authserv_id:
        problems.append(
            Problem(
                "replies.authserv_id",
                "is required with replies.require_authentication = true: without it a forged "
                "Authentication-Results header written by the sender would be believed",
                'set it to the authserv-id your own mail server writes, e.g. "mx.orbiscascade.org"',
            )
        )
    if cfg.lists.max_citations < 1:
        problems.append(
            Problem(
                "lists.max_citations",
                f"must be at least 1, not {cfg.lists.max_citations}",
                "the most case numbers one list post may cite and still open cases (default 25)",
            )
        )
    if cfg.sending.daily_cap < 1:
        problems.append(Problem("sending.daily_cap", "must be at least 1", "messages per recipient per day"))
    if cfg.sending.templates and not Path(cfg.sending.templates).is_dir():
        problems.append(
            Problem(
                "sending.templates",
                f"not a folder: {cfg.sending.templates}",
                "a folder of .txt/.html templates",
            )
        )
    if not 1 <= cfg.mailbox.batch_size <= 1000:
        problems.append(Problem("mailbox.batch_size", "must be between 1 and 1000"))
    if cfg.mailbox.fetch_retries < 0:
        problems.append(Problem("mailbox.fetch_retries", "must not be negative"))
    if not 0 <= cfg.mailbox.port <= 65535:
        problems.append(Problem("mailbox.port", "must be a TCP port (0 for the default)"))
    if cfg.mailbox.host and not cfg.mailbox.username:
        problems.append(Problem("mailbox.username", "is required when mailbox.host is set"))
    _validate_oauth2("mailbox", cfg.mailbox, problems, username_reported=bool(cfg.mailbox.host))
    _validate_oauth2("smtp", cfg.smtp, problems, username_reported=False)
    seen: set[str] = set()
    for i, inst in enumerate(cfg.institutions):
        if inst.code in seen:
            problems.append(Problem(f"institutions[{i}].code", f"duplicate code {inst.code!r}"))
        seen.add(inst.code)
    for i, pm in enumerate(cfg.program_managers):
        if "@" not in pm.email:
            problems.append(Problem(f"program_managers[{i}].email", "must be an e-mail address"))
    for section, obj in (
        ("recognize", cfg.recognize),
        ("actions.description_gaps", cfg.actions.description_gaps),
    ):
        for f in dataclasses.fields(obj):
            if section != "recognize" and f.name in ("enabled", "required", "window"):
                continue
            _check_patterns(f"{section}.{f.name}", getattr(obj, f.name), problems)


def _check_patterns(key: str, patterns: Sequence[str], problems: list[Problem]) -> None:
    """Each of ``patterns`` (the list at ``key``) a regular expression, or a problem naming it."""
    for i, pattern in enumerate(patterns):
        try:
            re.compile(pattern)
        except re.error as exc:
            problems.append(
                Problem(
                    f"{key}[{i}]",
                    f"not a valid regular expression: {exc}",
                    "use single quotes in TOML so backslashes stay as written",
                )
            )


def _validate_oauth2(
    section: str, table: Mailbox | Smtp, problems: list[Problem], *, username_reported: bool
) -> None:
    """An OAuth 2 token command replaces the password: not both, and only with a login name."""
    if not table.oauth2_token_command:
        return
    if table.password_command:
        problems.append(
            Problem(
                f"{section}.oauth2_token_command",
                f"cannot be combined with {section}.password_command",
                "set one of them: with a token command the password is not used",
            )
        )
    if not table.username and not username_reported:
        problems.append(
            Problem(
                f"{section}.username",
                f"is required when {section}.oauth2_token_command is set",
                "the account the token was issued for, e.g. casewatch@example.org",
            )
        )


def _validate_policy(cfg: Config, problems: list[Problem]) -> None:
    """The calendar, the support call and the action thresholds."""

    def weekday(key: str, name: str) -> None:
        if name.lower() not in WEEKDAYS:
            problems.append(Problem(key, f"not a weekday: {name!r}", 'e.g. "monday"'))

    def priorities(key: str, names: tuple[str, ...]) -> None:
        for i, name in enumerate(names):
            if name not in PRIORITY_NAMES:
                problems.append(
                    Problem(f"{key}[{i}]", f"not a priority: {name!r}", f"one of {', '.join(PRIORITY_NAMES)}")
                )

    cal = cfg.calendar
    for i, name in enumerate(cal.workdays):
        weekday(f"calendar.workdays[{i}]", name)
    if not cal.workdays:
        problems.append(Problem("calendar.workdays", "must name at least one weekday"))
    unread = {p.key for p in problems}  # an unreadable time of day: its default is no answer
    if {"calendar.day_starts", "calendar.day_ends"}.isdisjoint(unread) and cal.day_ends <= cal.day_starts:
        problems.append(Problem("calendar.day_ends", "must be later than calendar.day_starts"))
    why = check_holidays(cal.holidays_country, cal.holidays_subdivision)
    if why:
        key = "calendar.holidays_subdivision" if "subdivision" in why else "calendar.holidays_country"
        problems.append(
            Problem(key, f"the holidays package does not know it: {why}", 'e.g. "US", or "" for no holidays')
        )
    for i, text in enumerate(cal.closures):
        try:
            date.fromisoformat(text)
        except ValueError:
            problems.append(Problem(f"calendar.closures[{i}]", f"not a date: {text!r}", 'e.g. "2026-11-27"'))
    priorities("calendar.around_the_clock", cal.around_the_clock)
    for n, inst in enumerate(cfg.institutions):
        why = check_holidays(cal.holidays_country, inst.holidays_subdivision)
        if why:
            problems.append(
                Problem(
                    f"institutions[{n}].holidays_subdivision",
                    f"the holidays package does not know it: {why}",
                    'a subdivision of calendar.holidays_country such as "WA", or "" for the consortium\'s',
                )
            )
        for i, text in enumerate(inst.closures):
            try:
                date.fromisoformat(text)
            except ValueError:
                problems.append(
                    Problem(f"institutions[{n}].closures[{i}]", f"not a date: {text!r}", 'e.g. "2026-11-27"')
                )

    call = cfg.support_call
    weekday("support_call.weekday", call.weekday)
    if call.week not in (1, 2, 3, 4, -1):
        problems.append(Problem("support_call.week", "must be 1, 2, 3, 4 or -1 (the last)"))
    if call.coordinator and "@" not in call.coordinator:
        problems.append(Problem("support_call.coordinator", 'must be an e-mail address, or "" for none'))

    acts = cfg.actions
    _check_patterns("actions.pm_stalled_high.no_progress", acts.pm_stalled_high.no_progress, problems)
    _check_patterns("actions.survey.still_there", acts.survey.still_there, problems)
    priorities("actions.pm_stalled_high.priorities", acts.pm_stalled_high.priorities)
    priorities("actions.share_on_list.priorities", acts.share_on_list.priorities)
    for i, item in enumerate(acts.description_gaps.required):
        if item not in CHECKLIST:
            problems.append(
                Problem(
                    f"actions.description_gaps.required[{i}]",
                    f"not a checklist item: {item!r}",
                    f"one of {', '.join(CHECKLIST)}",
                )
            )
    if acts.widespread.institutions < 2:
        problems.append(Problem("actions.widespread.institutions", "must be at least 2"))
    for name in ("poll_every", "idle_restart", "backoff_max"):
        timer: Duration = getattr(cfg.daemon, name)
        if timer.business:
            problems.append(
                Problem(
                    f"daemon.{name}",
                    f"{timer.as_written!r}: business time does not apply here, the daemon's timers run on "
                    "the clock",
                    'write elapsed time, e.g. "30 seconds", "5 minutes" or "2 hours"',
                )
            )
    if cfg.daemon.admin and "@" not in cfg.daemon.admin:
        problems.append(Problem("daemon.admin", 'must be an e-mail address, or "" for none'))
    if cfg.daemon.alert_after < 1:
        problems.append(Problem("daemon.alert_after", "must be at least 1"))
    weekday("actions.digest.weekday", acts.digest.weekday)


def file_in_the_way(path: str | Path) -> Path | None:
    """The first existing folder of ``path`` (its parent, its parent's parent ...) that is no
    folder but a file, so that nothing can be created there; None when there is none."""
    for part in reversed(Path(path).parents):
        try:
            if not part.is_dir():
                return part if part.exists() else None
        except OSError:  # a folder on the way this user may not enter: not for us to judge
            return None
    return None


def _validate_paths(cfg: Config, problems: list[Problem]) -> None:
    """Paths that cannot be created because a folder on the way is a file (the rest is found on use)."""
    under_a_folder = "choose a path under a folder, e.g. /var/lib/casewatch/casewatch.db"
    # (key, the path, a path inside whose folders must all be folders, hint)
    checks = [("state.db", cfg.state.db, cfg.state.db, under_a_folder)]
    if cfg.outbound.transport == "file":
        inside = str(Path(cfg.outbound.folder) / "message.eml")
        checks.append(
            (
                "outbound.folder",
                cfg.outbound.folder,
                inside,
                "choose a folder, e.g. /var/lib/casewatch/outbox",
            )
        )
    if cfg.daemon.metrics_file:
        checks.append(
            (
                "daemon.metrics_file",
                cfg.daemon.metrics_file,
                cfg.daemon.metrics_file,
                'a path under a folder, or "" for none',
            )
        )
    for key, path, inside, hint in checks:
        blocker = file_in_the_way(inside)
        if blocker is not None:
            problems.append(
                Problem(key, f"{blocker} is a file, not a folder, so {path} cannot be created", hint)
            )
    try:
        is_folder = Path(cfg.state.db).is_dir()
    except OSError:
        is_folder = False
    if is_folder:
        example = Path(cfg.state.db) / "casewatch.db"
        problems.append(
            Problem("state.db", f"{cfg.state.db} is a folder", f"name the database file, e.g. {example}")
        )
