"""The command line: parses options, calls the library, prints. Nothing else.

Errors become exit codes only here: 2 for the user's mistakes (config, usage),
3 for failures of the world (IMAP, SMTP, disk), 4 for bugs.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from daemon import __version__, jsontext
from daemon import config as config_mod
from daemon.errors import EXIT_BUG, EXIT_OK, EXIT_UNHEALTHY, CasewatchError, UsageError
from daemon.ingest import Counts, ingest
from daemon.model import Case
from daemon.policy.engine import candidates, decide, evaluate
from daemon.policy.explain import explain
from daemon.recognize.casenumbers import normalize
from daemon.sources.files import check_paths, read_paths
from daemon.store import Store

log = logging.getLogger("casewatch")
ISSUES_URL = "https://github.com/orbiscascade/casewatch/issues"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="casewatch",
        description="Keeps the Alliance's Ex Libris support cases from stalling.",
    )
    p.add_argument(
        "--config",
        metavar="PATH",
        help=f"config file (default: ${config_mod.ENV_VAR}, else ./{config_mod.DEFAULT_PATH}, "
        "else built-in defaults)",
    )
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    p.add_argument("--version", action="version", version=f"casewatch {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    s = sub.add_parser("ingest", help="read .eml files, folders, Maildir folders and mbox files")
    s.add_argument("paths", nargs="+", metavar="PATH", help="files or folders to read")
    s.add_argument("--json", action="store_true", help="print the counts as JSON")

    sub.add_parser("run", help="the daemon: poll, decide, send and digest until SIGTERM or SIGINT")

    s = sub.add_parser("poll", help="one cycle: read new mail, decide what is due, send it")
    s.add_argument("--once", action="store_true", required=True, help="one cycle, then exit")
    s.add_argument("--at", metavar="ISO8601", help="run the cycle as if it were that instant")

    s = sub.add_parser("send", help="what the next cycle would send, rendered (with --dry-run)")
    s.add_argument("--dry-run", action="store_true", required=True, help="show the messages; send nothing")
    s.add_argument("--at", metavar="ISO8601", help="as of that instant (default: now)")

    s = sub.add_parser("digest", help="render a PM's weekly digest to stdout (sends nothing)")
    s.add_argument("--at", metavar="ISO8601", help="the week ending at the digest time at or before this")
    s.add_argument("--pm", metavar="EMAIL", help="the program manager (default: every one)")
    s.add_argument("--format", choices=("text", "html"), default="text", help="text (default) or html")

    s = sub.add_parser(
        "calendar", help="write an iCalendar file: support calls, agenda cut-offs, what falls due this week"
    )
    s.add_argument("--ics", metavar="PATH", required=True, help="the .ics file to write (replaced)")
    s.add_argument("--pm", metavar="EMAIL", help="only what falls due in this PM's areas (default: all)")
    s.add_argument("--at", metavar="ISO8601", help="as of that instant (default: now)")

    s = sub.add_parser("cases", help="every case known")
    s.add_argument("--json", action="store_true", help="print JSON (the contract's shape)")

    s = sub.add_parser("show", help="one case with its timeline")
    s.add_argument("case", metavar="CASE", help="the case number")
    s.add_argument("--json", action="store_true", help="print JSON (the contract's shape)")

    s = sub.add_parser("due", help="actions due at an instant and not yet sent (sends nothing)")
    s.add_argument("--at", metavar="ISO8601", help="as of that instant (default: now)")
    s.add_argument("--json", action="store_true", help="print JSON (the contract's shape)")

    s = sub.add_parser("explain", help="the clock arithmetic behind one case's actions")
    s.add_argument("case", metavar="CASE", help="the case number")
    s.add_argument("--at", metavar="ISO8601", help="as of that instant (default: now)")

    s = sub.add_parser("status", help="health: last poll, messages, quarantine, cases, what is due")
    s.add_argument("--at", metavar="ISO8601", help="count what is due as of that instant (default: now)")
    s.add_argument("--json", action="store_true", help="print JSON")

    sub.add_parser(
        "check-config",
        help="validate the config, render every template once, check the state folder is writable; "
        "report every problem at once",
    )
    s = sub.add_parser("init", help="write the commented example config to start from (never overwrites)")
    s.add_argument(
        "path",
        nargs="?",
        default=config_mod.DEFAULT_PATH,
        metavar="PATH",
        help="where (default: ./config.toml)",
    )
    sub.add_parser("demo", help="the embedded default: a generated ten-week story played through the daemon")
    return p


def _store(cfg: config_mod.Config) -> Store:
    return Store(cfg.state.db)


def _normalize_case(number: str) -> str:
    digits = number.strip().lstrip("#")
    normalized = normalize(digits) if digits.isdigit() else None
    if normalized is None:
        raise UsageError(f"not a case number: {number!r} (hint: 8 digits, e.g. 10712345)")
    return normalized


def _progress(counts: Counts) -> None:
    sys.stderr.write(f"\r{counts.read} messages read: {counts}")
    sys.stderr.flush()


def cmd_ingest(cfg: config_mod.Config, args: argparse.Namespace) -> int:
    check_paths(args.paths)
    show_progress = sys.stderr.isatty()
    with _store(cfg) as store:
        counts = ingest(store, cfg, read_paths(args.paths), _progress if show_progress else None)
    if show_progress:
        sys.stderr.write("\n")
    if args.json:
        print(json.dumps({**counts.__dict__, "read": counts.read}))
    else:
        print(counts)
    return EXIT_OK


def cmd_run(cfg: config_mod.Config, args: argparse.Namespace) -> int:
    from daemon.ops import logs
    from daemon.runner import Runner, single_instance

    logs.setup(max(args.verbose, 1))  # info and up; JSON lines when not on a terminal
    with single_instance(cfg.state.db), _store(cfg) as store:
        runner = Runner(cfg, store, config_path=args.config)
        runner.install_signals()
        runner.run()
    return EXIT_OK


def cmd_poll(cfg: config_mod.Config, args: argparse.Namespace) -> int:
    from daemon.cycle import run_cycle
    from daemon.outbound.transports import transport_for

    at = _instant(args.at, cfg)
    with _store(cfg) as store, transport_for(cfg) as transport:
        result = run_cycle(store, cfg, at, transport)
    nothing = "no mailbox configured ([mailbox] host): nothing to read"
    print(result.read if result.read is not None else nothing)
    print(f"{result.due} action(s) due at {at.astimezone(cfg.tz):%Y-%m-%d %H:%M %Z}: {result.sending}")
    return EXIT_OK


def cmd_send(cfg: config_mod.Config, args: argparse.Namespace) -> int:
    from daemon.outbound.outbox import drafts

    at = _instant(args.at, cfg)
    with _store(cfg) as store:
        snapshot = store.snapshot(at)
        ctxs, due = evaluate(snapshot, at, cfg)
        # Drafts read the store (references, caps) but write nothing but the token secret.
        with store.transaction():
            messages = drafts(store, ctxs, due, at, cfg, snapshot)
    for d in messages:
        p = d.planned
        when = p.send_after.astimezone(cfg.tz)
        print(f"===== {d.message_id}  (to be sent {when:%Y-%m-%d %H:%M %Z})")
        if p.problem:
            print(f"!!!!! not sendable: {p.problem}")
        print(d.raw.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace").replace("\r", ""))
        print()
        print(_text_part(d.raw))
    stamp = f"{at.astimezone(cfg.tz):%Y-%m-%d %H:%M %Z}"
    print(f"{len(messages)} message(s) for {len(due)} action(s) due at {stamp}")
    return EXIT_OK


def cmd_digest(cfg: config_mod.Config, args: argparse.Namespace) -> int:
    from daemon.outbound.weekly import render_digests

    at = _instant(args.at, cfg)
    pms = [pm for pm in cfg.program_managers if pm.areas]
    if args.pm:
        pms = [pm for pm in pms if pm.email.lower() == args.pm.lower()]
        if not pms:
            raise UsageError(
                f"--pm: no program manager with areas has the address {args.pm} "
                "(hint: [[program_managers]] in the config)"
            )
    if not pms:
        raise UsageError("no program manager with areas is configured (hint: [[program_managers]] areas)")
    with _store(cfg) as store:
        for i, rendered in enumerate(render_digests(store, pms, at, cfg, (args.format,))):
            if i:
                print("\n" if args.format == "text" else "\n<!-- next digest -->\n")
            if args.format == "text":
                print(f"Subject: {rendered.subject}\n")
                print(rendered.text, end="")
            else:
                print(rendered.html, end="")
    return EXIT_OK


def cmd_calendar(cfg: config_mod.Config, args: argparse.Namespace) -> int:
    from daemon.outbound.weekly import write_calendar

    at = _instant(args.at, cfg)
    pm = None
    if args.pm:
        pm = next((p for p in cfg.program_managers if p.email.lower() == args.pm.lower()), None)
        if pm is None:
            raise UsageError(
                f"--pm: no program manager has the address {args.pm} (hint: [[program_managers]])"
            )
    with _store(cfg) as store:
        n = write_calendar(store, args.ics, at, cfg, pm)
    print(f"wrote {args.ics}: {n} event(s) as of {at.astimezone(cfg.tz):%Y-%m-%d %H:%M %Z}")
    return EXIT_OK


def _text_part(raw: bytes) -> str:
    import email
    import email.policy

    msg = email.message_from_bytes(raw, policy=email.policy.default)
    body = msg.get_body(preferencelist=("plain",))
    return str(body.get_content()) if body is not None else ""


def _case_line(c: Case) -> str:
    return (
        f"{c.number}  {c.state:<16} {c.priority or '-':<11} {c.institution or '-':<6} "
        f"{c.owner or '-':<26} {(c.title or '')[:60]}"
    )


def _print_json_list(items: Iterable[dict[str, Any]]) -> None:
    """Print ``json.dumps(list(items), indent=2)`` item by item, never the whole text at once."""
    jsontext.write_list(items, sys.stdout)


def cmd_cases(cfg: config_mod.Config, args: argparse.Namespace) -> int:
    with _store(cfg) as store:
        cases = store.each_case()  # one at a time: never all cases held at once
        if args.json:
            _print_json_list(c.to_json() for c in cases)
            return EXIT_OK
        print(f"{'case':<9} {'state':<16} {'priority':<11} {'inst':<6} {'owner':<26} title")
        n = 0
        for c in cases:
            print(_case_line(c))
            n += 1
        print(f"{n} case(s)")
    return EXIT_OK


def cmd_show(cfg: config_mod.Config, args: argparse.Namespace) -> int:
    number = _normalize_case(args.case)
    with _store(cfg) as store:
        case = store.case(number)
        if case is None:
            raise UsageError(f"no case {number} is known (hint: `casewatch cases` lists them)")
        events = store.events(number)
    if args.json:
        print(json.dumps({**case.to_json(), "events": [e.to_json() for e in events]}, indent=2))
        return EXIT_OK
    print(_case_line(case))
    if case.related:
        print(f"related: {', '.join(case.related)}")
    for e in events:
        print(f"  {e.at.astimezone(cfg.tz):%Y-%m-%d %H:%M %Z}  {e.kind:<26} {e.actor:<7} {e.summary}")
    return EXIT_OK


def _instant(text: str | None, cfg: config_mod.Config) -> datetime:
    """``--at``: ISO 8601; without an offset it is the consortium's local time."""
    if not text:
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"--at: not an ISO 8601 instant: {text!r} (hint: e.g. 2026-11-20T10:00:00-08:00)"
        ) from None
    return at if at.tzinfo else at.replace(tzinfo=cfg.tz)


def cmd_due(cfg: config_mod.Config, args: argparse.Namespace) -> int:
    at = _instant(args.at, cfg)
    with _store(cfg) as store:
        # Read case by case as the engine goes: at no time are all the cases' events held.
        actions = decide(store.streamed(at), at, cfg)
    if args.json:
        _print_json_list(a.to_json() for a in actions)
        return EXIT_OK
    for a in actions:
        target = a.case or ", ".join(a.cases) or "-"
        stale = "  (stale: listed in a PM's backlog, not mailed alone)" if a.stale else ""
        print(f"{a.due_at.astimezone(cfg.tz):%Y-%m-%d %H:%M %Z}  {a.kind:<20} {target}{stale}")
        print(f"    to: {', '.join(a.to) or 'nobody'}" + (f"  cc: {', '.join(a.cc)}" if a.cc else ""))
        print(f"    {a.reason}")
    print(f"{len(actions)} action(s) due at {at.astimezone(cfg.tz):%Y-%m-%d %H:%M %Z}")
    return EXIT_OK


def cmd_explain(cfg: config_mod.Config, args: argparse.Namespace) -> int:
    number = _normalize_case(args.case)
    at = _instant(args.at, cfg)
    with _store(cfg) as store:
        if store.case(number) is None:
            raise UsageError(f"no case {number} is known (hint: `casewatch cases` lists them)")
        snapshot = store.snapshot(at)
    ctxs, actions = candidates(snapshot, at, cfg)
    ctx = next((c for c in ctxs if c.number == number), None)
    if ctx is None:
        print(f"Case {number} has no event at or before {at.astimezone(cfg.tz):%Y-%m-%d %H:%M %Z}.")
        return EXIT_OK
    print(explain(ctx, actions, snapshot.sent))
    return EXIT_OK


def cmd_status(cfg: config_mod.Config, args: argparse.Namespace) -> int:
    from daemon.store import schedule

    now = _instant(args.at, cfg)
    with _store(cfg) as store:
        health: dict[str, Any] = store.health()
        # The daemon's last evaluation while it stands; else the engine, case by case.
        due_now, nxt = schedule.status(store, cfg, now)
    health["db"] = str(cfg.state.db)
    health["due_now"] = due_now
    health["next_due"] = nxt and {"kind": nxt.kind, "case": nxt.case, "due_at": nxt.due_at.isoformat()}
    # Monitoring reads the exit code: 1 while any stage is failing (see the README).
    code = EXIT_UNHEALTHY if health["failures"] else EXIT_OK
    if args.json:
        print(json.dumps(health, indent=2))
        return code
    for f in health["failures"]:
        print(
            f"FAILING:      {f['kind']}: {f['count']} time(s) in a row since {_local(f['since'], cfg)}; "
            f"last error: {f['last_error']}"
        )
    print(f"database:     {health['db']}")
    print(f"last cycle:   {_local(health['last_cycle'], cfg)}")
    read = max((r for r in (health["last_poll"], health["last_ingest"]) if r), default=None)
    print(f"last read:    {_local(read, cfg)}" + (" (IMAP)" if read and read == health["last_poll"] else ""))
    print(f"last sent:    {_local(health['last_sent'], cfg)}")
    print(f"messages:     {health['messages']}")
    print(f"quarantined:  {health['quarantined']}")
    print(f"cases:        {health['cases']} ({health['open_cases']} open)")
    box = health["outbox"]
    queued, sent, failed = (box.get(k, 0) for k in ("queued", "sent", "failed"))
    print(f"outbox:       {queued} queued, {sent} sent, {failed} failed")
    print(f"due now:      {health['due_now']} action(s) (`casewatch due` lists them)")
    nxt = health["next_due"]
    if nxt:
        when = datetime.fromisoformat(nxt["due_at"]).astimezone(cfg.tz)
        print(f"next due:     {nxt['kind']} {nxt['case'] or ''} at {when:%Y-%m-%d %H:%M %Z}")
    for c in health["cursors"]:
        print(f"folder {c['folder']}: uidvalidity {c['uidvalidity']}, last uid {c['last_uid']}")
    print("health:       " + ("FAILING (exit 1)" if code else "ok"))
    return code


def _local(stamp: str | None, cfg: config_mod.Config) -> str:
    """A stored UTC stamp in the consortium's time, or "never"."""
    if not stamp:
        return "never"
    return f"{datetime.fromisoformat(stamp).astimezone(cfg.tz):%Y-%m-%d %H:%M %Z}"


def cmd_check_config(cfg: config_mod.Config, args: argparse.Namespace) -> int:
    from daemon import preflight

    checked = preflight.check(cfg)
    print(f"config ok: {cfg.path or 'built-in defaults'}")
    for line in checked:
        print(f"  {line}")
    return EXIT_OK


def cmd_init(cfg: config_mod.Config, args: argparse.Namespace) -> int:
    from pathlib import Path

    from daemon import preflight

    path = preflight.init(Path(args.path))
    print(f"wrote {path}: edit it, then check it with `casewatch --config {path} check-config`")
    return EXIT_OK


def cmd_demo(cfg: config_mod.Config, args: argparse.Namespace) -> int:
    from daemon.demo import run_demo

    return run_demo(cfg)


COMMANDS = {
    "run": cmd_run,
    "ingest": cmd_ingest,
    "poll": cmd_poll,
    "send": cmd_send,
    "digest": cmd_digest,
    "calendar": cmd_calendar,
    "cases": cmd_cases,
    "show": cmd_show,
    "due": cmd_due,
    "explain": cmd_explain,
    "status": cmd_status,
    "check-config": cmd_check_config,
    "init": cmd_init,
    "demo": cmd_demo,
}


def _logging(verbosity: int) -> None:
    level = logging.WARNING - 10 * min(verbosity, 2)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("casewatch: %(levelname)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    _logging(args.verbose)
    try:
        # `init` makes the config: it reads none (a broken ./config.toml must not stop it).
        cfg = config_mod.Config() if args.command == "init" else config_mod.load(args.config)
        return COMMANDS[args.command](cfg, args)
    except CasewatchError as exc:
        print(f"casewatch: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception:
        log.exception("internal error")
        print(f"casewatch: internal error (a bug): please report it at {ISSUES_URL}", file=sys.stderr)
        return EXIT_BUG
