"""Before the first run: the example config to start from, and what ``check-config`` checks
beyond the file itself.

``init`` writes the commented example config (shipped in the package) to a new file.
``check`` renders every template once, as the daemon will, from representative contexts built
by the same code the outbox uses (so a site template that names an unknown variable, a
built-in template missing from a broken install, a syntax error are all found before the first
mail is due), and checks that the folders casewatch writes in are writable. Every problem is
reported at once, as a ``ConfigError``.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Any

from jinja2 import Environment, FileSystemLoader, TemplateError, TemplateNotFound, TemplateSyntaxError
from markupsafe import Markup

from daemon.config import Config, ProgramManager
from daemon.digest import Weekly
from daemon.errors import ConfigError, Problem, UsageError
from daemon.model import ACTION_KINDS, Action, Basis, Event, EventKind, Link
from daemon.outbound.context import ActionContext, CaseView, Part, build
from daemon.outbound.render import environment, wrap
from daemon.policy.backlog import backlog
from daemon.policy.calls import digest_slot
from daemon.policy.engine import CaseFile, Snapshot, contexts, digest_action

EXAMPLE = "config.example.toml"

# --------------------------------------------------------------------------- init


def example_config() -> str:
    """The commented example config, as shipped in the package."""
    return (resources.files("daemon") / EXAMPLE).read_text(encoding="utf-8")


def init(path: Path) -> Path:
    """Write the example config to ``path``, which must not exist yet (never overwritten)."""
    try:
        with path.open("x", encoding="utf-8") as out:  # exclusive: fails on anything there
            out.write(example_config())
    except FileExistsError:
        raise UsageError(
            f"{path} already exists: not overwritten (hint: move it away first, or name another "
            "file: casewatch init PATH)"
        ) from None
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


# --------------------------------------------------------------------------- check-config


def check(config: Config) -> list[str]:
    """What was checked, one line each; a ``ConfigError`` listing every problem found instead."""
    templates, rendered = template_problems(config)
    problems = [*templates, *state_problems(config)]
    if problems:
        raise ConfigError(problems, config.path or "built-in defaults")
    site = config.sending.templates
    done = [
        f"templates: {rendered} compiled, every kind rendered" + (f" (site folder {site})" if site else "")
    ]
    done += [f"{key}: {folder} is writable" for key, folder in _folders(config)]
    return done


#: The instant the sample contexts are written at: a Wednesday morning, local time.
SAMPLE_AT = (2026, 11, 18, 10, 0)
SAMPLE_CASES = ("10712345", "10712346")
SAMPLE_OWNER = "jdoe@wwu.edu"
#: What the engine puts in ``Action.data`` per kind, with representative values.
SAMPLE_DATA: dict[str, dict[str, Any]] = {
    "escalate": {"suggest_feedback": True},
    "pm_assist": {"suggest_feedback": True},
    "description_gaps": {"missing": ["steps", "impact"]},
    "handover": {"successor": "kim@wwu.edu", "previous_owner": SAMPLE_OWNER},
    "widespread": {"institutions": ["WWU", "UW"]},
}
CALL_KINDS = ("agenda", "coordinator_contact", "post_call_followup")
CLUSTER_KINDS = ("widespread", "agenda")


def _event(case: str, at: datetime, kind: EventKind, actor: str, **data: Any) -> Event:
    return Event(case, at, kind, actor, None, kind.replace("_", " "), data)


def _opened(case: str, at: datetime, institution: str, priority: str) -> Event:
    fields = {
        "state": "open",
        "priority": priority,
        "title": "Hold shelf letters are not sent",
        "owner": SAMPLE_OWNER if institution == "WWU" else f"staff@{institution.lower()}.edu",
        "institution": institution,
        "asset": "Alma",
        "category": "Fulfillment",
        "subcategory": "Letters",
        "description": "Since the upgrade no hold shelf letters are sent.",
    }
    return _event(case, at, "case_opened", "vendor", **fields)


def sample_contexts(config: Config) -> dict[str, ActionContext]:
    """Per message kind, a template context built as the outbox builds it, from two sample cases."""
    now = datetime(*SAMPLE_AT, tzinfo=config.tz)
    one, two = SAMPLE_CASES
    days = timedelta(days=1)
    files = (
        CaseFile(
            one,
            (
                _opened(one, now - 30 * days, "WWU", "high"),
                _event(one, now - 20 * days, "vendor_comment", "vendor"),
                _event(one, now - 6 * days, "update_requested", "member"),
                _event(one, now - 3 * days, "escalation_requested", "member"),
            ),
        ),
        CaseFile(two, (_opened(two, now - 25 * days, "UW", "normal"),)),
    )
    snapshot = Snapshot(files, (Link.of(one, two, "cited together", now - 20 * days),))
    views = {c.case.number: CaseView(c.case, c.events, c) for c in contexts(snapshot, now, config)}
    pm = next(
        (p for p in config.program_managers if p.areas),
        ProgramManager("A program manager", "pm@example.org", ("fulfillment",)),
    )
    reply_to = config.outbound.from_address
    out: dict[str, ActionContext] = {}
    made: dict[str, Action] = {}
    for kind in ACTION_KINDS:
        if kind == "digest":
            slot = digest_slot(now, config)
            data = Weekly(snapshot, config).for_pm(pm, slot)
            out[kind] = build(digest_action(pm, slot), None, [], slot, reply_to, config, data)
            continue
        cluster = kind in CLUSTER_KINDS
        extra = {"call_at": (now + 6 * days).isoformat()} if kind in CALL_KINDS else {}
        action = Action(
            kind,
            None if cluster else one,
            (SAMPLE_OWNER,),
            now - timedelta(hours=1),
            "A sample reason: the vendor has not answered the update request of 12 November.",
            f"check-config:{kind}",
            cc=(pm.email,),
            cases=SAMPLE_CASES if cluster else (),
            area=pm.areas[0],
            basis=Basis(
                "vendor owes us",
                now - 6 * days,
                "the update request",
                "2 business days",
                business=True,
                before=kind == "agenda",
            ),
            data={**SAMPLE_DATA.get(kind, {}), **extra},
        )
        view = None if cluster else views[one]
        members = [views[n] for n in SAMPLE_CASES] if cluster else []
        made[kind] = action
        out[kind] = build(action, view, members, now, reply_to, config)
    # What a PM gets instead of actions that fell due too long ago: two of the above, as stale.
    stale = [
        dataclasses.replace(made[k], due_at=now - 40 * days, stale=True)
        for k in ("request_update", "escalate")
    ]
    for summary in backlog(stale, now, config)[:1]:
        out[summary.kind] = build(summary, None, [], now, reply_to, config)
    return out


class _Attempts:
    """Runs each rendering, turning what a template raises into a ``Problem`` (each once)."""

    def __init__(self, site: str) -> None:
        self.site = site
        self.site_names = set(FileSystemLoader(site).list_templates()) if site else set()
        self.problems: list[Problem] = []
        self.count = 0

    def __call__(self, name: str, run: Callable[[], object]) -> None:
        try:
            run()
        except TemplateNotFound as exc:
            self._add(
                str(exc.name),
                f"template {exc.name} is missing (needed for {name})",
                "the built-in templates are part of the package: reinstall casewatch",
            )
        except TemplateSyntaxError as exc:
            where = exc.name or name
            self._add(where, f"{where} line {exc.lineno}: {exc.message}")
        # A template runs code of its own (filters, tests, attribute access): whatever it raises
        # is a mistake in that template, reported with the line it is on.
        except (TemplateError, ArithmeticError, LookupError, TypeError, ValueError) as exc:
            where = _template_line(exc.__traceback__) or name
            self._add(where.split(" ")[0], f"{where}: {exc}")
        else:
            self.count += 1

    def _add(self, template: str, message: str, hint: str = "") -> None:
        if template in self.site_names:
            key = "sending.templates"
            message = f"{message} (in {self.site})"
        else:
            key = "templates"
            hint = hint or "a built-in template failed: please report it"
        problem = Problem(key, message, hint)
        if problem not in self.problems:
            self.problems.append(problem)


def _template_line(tb: TracebackType | None) -> str:
    """``"name.txt line 3"``: the innermost template line in a traceback (Jinja2 puts them there)."""
    found = ""
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith((".txt", ".html")):
            found = f"{Path(filename).name} line {tb.tb_lineno}"
        tb = tb.tb_next
    return found


def template_problems(config: Config) -> tuple[list[Problem], int]:
    """Every template compiled, and each kind's three and the mail wrappers rendered once."""
    site = config.sending.templates
    env = environment(site)
    attempt = _Attempts(site)
    names = [n for n in env.list_templates() if n.endswith((".txt", ".html"))]
    for name in names:
        attempt(name, partial(env.get_template, name))
    samples = sample_contexts(config)
    for kind, ctx in samples.items():
        for suffix in (".subject.txt", ".txt", ".html"):
            name = f"{kind}{suffix}"
            attempt(name, partial(_render, env, name, ctx))
    # The wrappers, alone: one action, and two folded into one message.
    pair = [samples["request_update"], samples["escalate"]]
    parts: list[Part] = [
        {
            "kind": ctx["kind"],
            "subject": f"Sample subject {i}",
            "text": f"Sample text {i}",
            "html": Markup(f"<p>Sample HTML {i}</p>"),
        }
        for i, ctx in enumerate(pair, 1)
    ]
    attempt("mail.txt, mail.html", lambda: wrap(env, pair[:1], parts[:1]))
    attempt("mail.txt, mail.html", lambda: wrap(env, pair, parts))
    return attempt.problems, len(names)


def _render(env: Environment, name: str, ctx: ActionContext) -> str:
    return env.get_template(name).render(ctx)


def _folders(config: Config) -> list[tuple[str, Path]]:
    """The folders casewatch writes in, by the key that names them."""
    out = []
    if config.state.db != ":memory:":
        out.append(("state.db", Path(config.state.db).absolute().parent))
    if config.outbound.transport == "file":
        out.append(("outbound.folder", Path(config.outbound.folder).absolute()))
    return out


def state_problems(config: Config) -> list[Problem]:
    """The state folder (and the file transport's) can be written, or made, by this user."""
    problems = []
    for key, folder in _folders(config):
        hint = f"let the user casewatch runs as (uid {os.geteuid()}) write there: chown, or install -d -o"
        message = _unwritable(folder)
        if message:
            problems.append(Problem(key, message, hint))
    db = Path(config.state.db)
    if config.state.db != ":memory:" and not problems:
        try:
            if db.is_dir():
                problems.append(Problem("state.db", f"{db} is a folder", "name the database file in it"))
            elif db.exists() and not os.access(db, os.R_OK | os.W_OK):
                problems.append(
                    Problem("state.db", f"{db} is not readable and writable by this user", "check its owner")
                )
        except OSError as exc:
            problems.append(Problem("state.db", f"cannot reach {db}: {exc.strerror or exc}"))
    return problems


def _unwritable(folder: Path) -> str:
    """Why ``folder`` cannot be written in (or made), or ``""`` when it can."""
    existing = folder
    try:
        while not existing.exists():
            if existing.parent == existing:
                break
            existing = existing.parent
        if not existing.is_dir():
            return f"{existing} is a file, not a folder (the path {folder} goes through it)"
    except OSError as exc:  # e.g. a folder on the way that this user may not enter
        return f"cannot reach {folder}: {exc.strerror or exc}"
    if existing != folder:  # made on first use: its nearest existing parent must allow that
        if not os.access(existing, os.W_OK | os.X_OK):
            return f"{folder} does not exist and cannot be made: {existing} is not writable"
        return ""
    try:
        with tempfile.TemporaryFile(dir=folder):  # made and gone at once
            pass
    except OSError as exc:
        return f"cannot write in {folder}: {exc.strerror or exc}"
    return ""
