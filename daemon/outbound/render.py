"""Rendering: an action's context through its templates into a subject, a text and an HTML part.

The built-in templates ship inside the package (``daemon/templates``: in a checkout, a link to the
top-level ``templates/`` folder, which is the one to edit) and are read with ``importlib.resources``,
so a wheel or any other install has them; a site folder named by ``[sending] templates``
overrides any of them by name. Per kind there are three: ``<kind>.subject.txt``
(one line), ``<kind>.txt`` and ``<kind>.html`` (the body of that action); ``mail.txt`` and
``mail.html`` wrap the bodies of one message (one action, or several folded into one) with the
greeting and the reply commands. Jinja2 runs with ``StrictUndefined`` and autoescapes ``.html``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    select_autoescape,
)
from jinja2.loaders import split_template_path
from markupsafe import Markup

from daemon.outbound.context import ActionContext, MailContext, Part

#: The built-in templates, as the installed package holds them (a folder, or inside a zip).
TEMPLATES: Traversable = resources.files("daemon") / "templates"
SUBJECT_LIMIT = 200
#: Each kind in a few words, for the subject of a message that folds several actions together.
KIND_WORDS = {
    "request_update": "update request",
    "escalate": "escalation",
    "pm_assist": "help needed",
    "pm_system_down": "System/Component Down",
    "pm_stalled_high": "stalled case",
    "customer_turn": "our answer is due",
    "survey": "survey",
    "share_on_list": "list post",
    "description_gaps": "missing details",
    "widespread": "widespread problem",
    "agenda": "support-call agenda",
    "coordinator_contact": "ask the coordinator",
    "post_call_followup": "support-call follow-up",
    "handover": "handover",
    "pm_escalation": "escalation requested",
    "owner_inactive": "owner inactive",
    "owner_unreachable": "owner unreachable",
    "record_update": "case of record update",
    "digest": "weekly digest",
    "backlog": "backlog",
}


class BuiltinLoader(BaseLoader):
    """The templates shipped in the package, read through ``importlib.resources``."""

    def __init__(self, root: Traversable = TEMPLATES) -> None:
        self.root = root

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        item = self.root.joinpath(*split_template_path(template))
        if not item.is_file():
            raise TemplateNotFound(template)
        filename = str(item) if isinstance(item, Path) else None
        return item.read_text(encoding="utf-8"), filename, lambda: True

    def list_templates(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if p.is_file() and not p.name.startswith("."))


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@lru_cache(maxsize=8)
def environment(site: str = "") -> Environment:
    """The template environment: the site folder first (when given), then the built-in one."""
    loaders: list[BaseLoader] = [FileSystemLoader(site)] if site else []
    loaders.append(BuiltinLoader())
    return Environment(
        loader=ChoiceLoader(loaders),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def one_line(text: str, limit: int = SUBJECT_LIMIT) -> str:
    """A header-safe single line: every run of whitespace (CR and LF included) is one space."""
    line = re.sub(r"\s+", " ", text).strip()
    return line if len(line) <= limit else line[: limit - 3].rstrip() + "..."


#: The formats of a message's body: its text part and its HTML part.
FORMATS = ("text", "html")


def render(contexts: Sequence[ActionContext], site: str = "", formats: Collection[str] = FORMATS) -> Rendered:
    """One message carrying the actions of ``contexts`` (each built by ``context.build``).
    ``formats``: the bodies to render (a mail has both; ``casewatch digest`` prints one, and
    the other is left empty)."""
    env = environment(site)
    return wrap(env, contexts, [part(env, ctx, formats) for ctx in contexts], formats)


def part(env: Environment, ctx: ActionContext, formats: Collection[str] = FORMATS) -> Part:
    """One action's part of a message: its subject line and its text and HTML bodies (those of
    ``formats``; the others empty)."""
    kind = ctx["kind"]
    return {
        "kind": kind,
        "subject": one_line(env.get_template(f"{kind}.subject.txt").render(ctx)),
        "text": env.get_template(f"{kind}.txt").render(ctx).strip("\n") if "text" in formats else "",
        "html": Markup(env.get_template(f"{kind}.html").render(ctx) if "html" in formats else ""),
    }


def wrap(
    env: Environment,
    contexts: Sequence[ActionContext],
    parts: Sequence[Part],
    formats: Collection[str] = FORMATS,
) -> Rendered:
    """The message: ``parts`` (one per context) in the ``mail.*`` wrappers (those of ``formats``;
    the others empty), and its subject."""
    subjects = [p["subject"] for p in parts]
    first = contexts[0]
    commands = list({c["syntax"]: c for ctx in contexts for c in ctx["commands"]}.values())
    subject = one_line(subjects[0] if len(subjects) == 1 else folded_subject(contexts))
    wrapper: MailContext = {
        "parts": list(parts),
        "consortium": first["consortium"],
        "reply_to": first["reply_to"],
        "now": first["now"],
        "commands": commands,
        "subject": subject,
    }
    return Rendered(
        subject=subject,
        text=env.get_template("mail.txt").render(wrapper) if "text" in formats else "",
        html=env.get_template("mail.html").render(wrapper) if "html" in formats else "",
    )


def words(items: Sequence[str]) -> str:
    """``["a"]`` -> "a", ``["a", "b"]`` -> "a and b", ``["a", "b", "c"]`` -> "a, b and c"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def folded_subject(contexts: Sequence[ActionContext]) -> str:
    """The subject of several actions in one message: their cases, then their kinds in words
    ("Cases 10800001, 10800002: handover", "Case 10800009: update request and list post")."""
    numbers = list(
        dict.fromkeys(
            n
            for ctx in contexts
            for n in ([ctx["case"]["number"]] if ctx["case"] else [c["number"] for c in ctx["cases"]])
        )
    )
    kinds = list(
        dict.fromkeys(KIND_WORDS.get(ctx["kind"], ctx["kind"].replace("_", " ")) for ctx in contexts)
    )
    what = words(kinds)
    if not numbers:
        return what[:1].upper() + what[1:]
    about = f"Case {numbers[0]}" if len(numbers) == 1 else "Cases " + ", ".join(numbers)
    return f"{about}: {what}"
