"""The embedded default (``casewatch demo``): ten weeks of an Alliance mailbox, played through
the daemon on a simulated clock.

``story`` writes the mailbox (several institutions, cases that call for every action of the
policy, list traffic with a case of record, noise) and the staff's answers to casewatch's
reminders; ``play`` runs the real daemon over it, twice a day; ``summary`` says what happened.

Everything the demo writes is under the current directory and starts over on every run:
``state/demo/mailbox/`` (the mail read), ``state/demo/casewatch.db`` (the database),
``state/demo/demo.toml`` (a config to explore it with) and ``state/outbox/`` (the mail sent, as
``.eml`` files). Of the user's config it keeps the consortium (name, time zone), the reply
address, the institutions, the program managers and the support-call coordinator; the
story's institutions are added to those, and its PMs and coordinator stand in when the config
names none. The policy, calendar and recognizers are the built-in defaults, which the story is
written for. The configured database is never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from daemon.config import Config, Institution, Outbound, State, SupportCall
from daemon.demo import story
from daemon.demo.play import Player
from daemon.demo.summary import summary
from daemon.errors import EXIT_OK, RuntimeFailure, UsageError
from daemon.outbound.transports import FileTransport
from daemon.store import Store

#: Where the demo keeps its state and writes its mail, relative to the current directory.
DEMO_DIR = Path("state") / "demo"
DEMO_DB = DEMO_DIR / "casewatch.db"
DEMO_MAILBOX = DEMO_DIR / "mailbox"
DEMO_CONFIG = DEMO_DIR / "demo.toml"
DEMO_OUTBOX = Path("state") / "outbox"
#: The mark of an outbox folder the demo wrote (only such a folder is emptied on a rerun).
OUTBOX_MARK = ".casewatch-demo"


def demo_config(cfg: Config) -> Config:
    """The demo's config: the user's consortium and people, the story's where they are missing."""
    codes = {i.code.upper() for i in cfg.institutions}
    domains = {d.lower() for i in cfg.institutions for d in i.domains}
    extra = tuple(
        i for i in story.INSTITUTIONS if i.code not in codes and not any(d in domains for d in i.domains)
    )
    institutions: tuple[Institution, ...] = (*cfg.institutions, *extra)
    return Config(
        consortium=cfg.consortium,
        state=State(db=DEMO_DB.as_posix()),
        institutions=institutions,
        program_managers=cfg.program_managers or story.PROGRAM_MANAGERS,
        outbound=Outbound(cfg.outbound.from_address, "file", DEMO_OUTBOX.as_posix()),
        support_call=SupportCall(coordinator=cfg.support_call.coordinator or story.COORDINATOR),
    )


def config_toml(cfg: Config) -> str:
    """``cfg``'s consortium, state, people and outbox as TOML (for ``--config``)."""

    def s(value: str) -> str:
        return json.dumps(value)

    def path(value: str) -> str:
        """A path of the current folder as seen from the config's (relative paths in a config
        file are relative to its folder)."""
        return s(value if Path(value).is_absolute() else os.path.relpath(value, DEMO_CONFIG.parent))

    lines = [
        "# Written by `casewatch demo`: the demo's config, to explore its database with",
        "#     casewatch --config state/demo/demo.toml cases",
        "[consortium]",
        f"name = {s(cfg.consortium.name)}",
        f"timezone = {s(cfg.consortium.timezone)}",
        "",
        "[state]",
        f"db = {path(cfg.state.db)}",
        "",
        "[outbound]",
        f"from_address = {s(cfg.outbound.from_address)}",
        'transport = "file"',
        f"folder = {path(cfg.outbound.folder)}",
        "",
        "[support_call]",
        f"coordinator = {s(cfg.support_call.coordinator)}",
    ]
    for i in cfg.institutions:
        domains = ", ".join(s(d) for d in i.domains)
        lines += [
            "",
            "[[institutions]]",
            f"code = {s(i.code)}",
            f"name = {s(i.name)}",
            f"domains = [{domains}]",
        ]
    for pm in cfg.program_managers:
        areas = ", ".join(s(a) for a in pm.areas)
        lines += ["", "[[program_managers]]", f"name = {s(pm.name)}", f"email = {s(pm.email)}"]
        lines.append(f"areas = [{areas}]")
    return "\n".join(lines) + "\n"


def start_clean() -> None:
    """Remove what an earlier run left: the database, the mailbox, the config and the outbox.

    The outbox folder is emptied only when the demo wrote it (it holds ``OUTBOX_MARK``) or it
    holds no mail: ``state/outbox`` is also the default folder of the file transport, and mail
    the daemon wrote there is not the demo's to delete."""
    try:
        for path in (
            DEMO_DB,
            DEMO_DB.with_name(DEMO_DB.name + "-wal"),
            DEMO_DB.with_name(DEMO_DB.name + "-shm"),
        ):
            path.unlink(missing_ok=True)
        DEMO_CONFIG.unlink(missing_ok=True)
        shutil.rmtree(DEMO_MAILBOX, ignore_errors=True)
        if DEMO_OUTBOX.is_dir():
            ours = (DEMO_OUTBOX / OUTBOX_MARK).exists()
            if not ours and any(DEMO_OUTBOX.glob("*.eml")):
                raise UsageError(
                    f"{DEMO_OUTBOX.as_posix()}/ holds mail the demo did not write (the file transport's "
                    "default folder?) (hint: move it away, or run the demo in another folder)"
                )
            shutil.rmtree(DEMO_OUTBOX)
        DEMO_MAILBOX.mkdir(parents=True)
        DEMO_OUTBOX.mkdir(parents=True)
        (DEMO_OUTBOX / OUTBOX_MARK).write_text("written by `casewatch demo`, emptied by its next run\n")
    except OSError as exc:
        raise RuntimeFailure(f"cannot prepare the demo's folders under state/: {exc}") from None


def run_demo(cfg: Config) -> int:
    """Write the story's mailbox, play the daemon over it, print what happened."""
    start_clean()
    demo = demo_config(cfg)
    DEMO_CONFIG.write_text(config_toml(demo), encoding="utf-8")
    letters = story.letters(demo.tz, demo.outbound.from_address)

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    say(
        f"casewatch demo: playing {story.START:%a %Y-%m-%d} to {story.END:%a %Y-%m-%d}, a cycle at "
        + " and ".join(f"{c:%H:%M}" for c in story.CYCLES)
        + f" every day ({demo.consortium.timezone})"
    )
    with Store(DEMO_DB) as store, FileTransport(demo.outbound.folder) as transport:
        played = Player(store, demo, DEMO_MAILBOX, transport, say).play(letters)
        lines = list(summary(store, demo, played, DEMO_MAILBOX, DEMO_CONFIG))
    print("\n".join(lines))
    return EXIT_OK
