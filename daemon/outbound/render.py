"""Rendering: an action's context through its templates into a subject, a text and an HTML part.

Templates live in ``templates/`` (beside the package); a site folder named by ``[sending]
templates`` overrides any of them by name. Per kind there are three: ``<kind>.subject.txt``
(one line), ``<kind>.txt`` and ``<kind>.html`` (the body of that action); ``mail.txt`` and
``mail.html`` wrap the bodies of one message (one action, or several folded into one) with the
greeting and the reply commands. Jinja2 runs with ``StrictUndefined`` and autoescapes ``.html``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
SUBJECT_LIMIT = 200


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


@lru_cache(maxsize=8)
def environment(site: str = "") -> Environment:
    """The template environment: the site folder first (when given), then the built-in one."""
    loaders = [FileSystemLoader(site)] if site else []
    loaders.append(FileSystemLoader(str(TEMPLATES)))
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


def render(contexts: Sequence[dict[str, Any]], site: str = "") -> Rendered:
    """One message carrying the actions of ``contexts`` (each built by ``context.build``)."""
    env = environment(site)
    parts = []
    subjects = []
    for ctx in contexts:
        kind = ctx["kind"]
        subjects.append(one_line(env.get_template(f"{kind}.subject.txt").render(ctx)))
        parts.append(
            {
                "kind": kind,
                "subject": subjects[-1],
                "text": env.get_template(f"{kind}.txt").render(ctx).strip("\n"),
                "html": Markup(env.get_template(f"{kind}.html").render(ctx)),
            }
        )
    first = contexts[0]
    commands = list({c["syntax"]: c for ctx in contexts for c in ctx["commands"]}.values())
    wrapper = {
        "parts": parts,
        "consortium": first["consortium"],
        "reply_to": first["reply_to"],
        "now": first["now"],
        "commands": commands,
    }
    if len(subjects) == 1:
        subject = subjects[0]
    else:
        numbers = list(
            dict.fromkeys(
                n
                for ctx in contexts
                for n in ([ctx["case"]["number"]] if ctx["case"] else [c["number"] for c in ctx["cases"]])
            )
        )
        about = f"Case {numbers[0]}" if len(numbers) == 1 else "Cases " + ", ".join(numbers)
        subject = f"{about}: {len(subjects)} reminders" if numbers else f"{len(subjects)} reminders"
    return Rendered(
        subject=one_line(subject),
        text=env.get_template("mail.txt").render(wrapper),
        html=env.get_template("mail.html").render(wrapper),
    )
