"""Acceptance checks against ../shared (when present): run by .ci/run, not by pytest.

1. ``ingest ../shared/samples`` then ``cases --json`` / ``show --json`` give exactly the
   cases and fields of ``samples/expected.json``, and ``due --at T --json`` lists (or does
   not list) each action of its ``due`` part;
2. every message of ``../shared/corpus`` is stored, ignored or quarantined: no traceback,
   and the counts add up.

Usage: python scripts/check_shared.py [SHARED_DIR]   (exit 1 on any failure)
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from daemon.cli import main

EVENT_COUNTS = {
    "vendor_comments": ("vendor_comment",),
    "member_comments": ("member_comment", "update_requested"),
    "list_mentions": ("list_mention",),
}


def run(config: Path, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["--config", str(config), *argv])
    return code, out.getvalue(), err.getvalue()


def check_case(number: str, want: dict[str, Any], got: dict[str, Any]) -> list[str]:
    problems = []
    kinds = [e["kind"] for e in got["events"]]
    for key, value in want.items():
        base = key.removesuffix("_min")
        if base in EVENT_COUNTS:
            n = sum(kinds.count(k) for k in EVENT_COUNTS[base])
            if (key.endswith("_min") and n < value) or (not key.endswith("_min") and n != value):
                problems.append(f"{number}: {key} expected {value}, got {n}")
        elif key == "escalation_requested":
            if ("escalation_requested" in kinds) != value:
                problems.append(f"{number}: escalation_requested expected {value}")
        elif key == "related_includes":
            missing = set(value) - set(got["related"])
            if missing:
                problems.append(f"{number}: related lacks {sorted(missing)}")
        elif got.get(key) != value:
            problems.append(f"{number}: {key} expected {value!r}, got {got.get(key)!r}")
    return problems


def check_due(config: Path, due: list[dict[str, Any]]) -> list[str]:
    """Each ``{"at", "case", "kind", "expect"}``: is that action due at that instant?"""
    problems = []
    for want in due:
        code, out, err = run(config, "due", "--at", want["at"], "--json")
        if code:
            problems.append(f"due --at {want['at']}: exit {code}: {err}")
            continue
        found = any(a["kind"] == want["kind"] and a["case"] == want["case"] for a in json.loads(out))
        if found != want["expect"]:
            problems.append(
                f"due --at {want['at']}: {want['kind']} for {want['case']} "
                f"{'missing' if want['expect'] else 'listed but must not be'}"
            )
    return problems


REPLAY_PMS = """
[outbound]
transport = "file"
folder = "{folder}"

[[program_managers]]
name = "Maria Lopez"
email = "mlopez@orbiscascade.org"
areas = ["fulfillment", "systems"]

[[program_managers]]
name = "Dan Ortiz"
email = "dortiz@orbiscascade.org"
areas = ["discovery", "technical services"]
"""


def check_replay(samples: Path, tmp: Path, expected: dict[str, Any]) -> list[str]:
    """``poll --once --at T`` at each instant of the due list: each expected action is mailed,
    to its owner or a PM, or (due more than ``[sending] stale_after`` before the instant) listed
    in a PM's ``backlog`` message; replaying every instant again mails nothing more."""
    import email
    import email.policy

    folder = tmp / "replay-outbox"
    config = tmp / "replay.toml"
    config.write_text(f'[state]\ndb = "{tmp / "replay.db"}"\n' + REPLAY_PMS.format(folder=folder))
    problems = []
    code, _, err = run(config, "ingest", str(samples))
    instants = sorted({d["at"] for d in expected.get("due", [])}, key=datetime.fromisoformat)
    for at in instants:
        code, _, err = run(config, "poll", "--once", "--at", at)
        if code:
            problems.append(f"poll --once --at {at}: exit {code}: {err}")
    files = sorted(folder.glob("*.eml"))
    for at in instants:
        run(config, "poll", "--once", "--at", at)
    if len(sorted(folder.glob("*.eml"))) != len(files):
        problems.append("replaying the instants again sent more mail")
    carried = []
    for path in files:
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        people = {
            a.strip().lower() for h in ("To", "Cc") for a in str(msg.get(h, "")).split(",") if a.strip()
        }
        cases = [c for c in str(msg.get("X-Casewatch-Case", "")).split(",") if c]
        for kind in str(msg["X-Casewatch-Action"]).split(","):
            for case in [None] if kind in ("widespread", "digest", "agenda") else cases:
                carried.append((kind, case, people))
        if str(msg["X-Casewatch-Action"]) == "backlog":  # its lines: "N. KIND, case CASE, due ..."
            body = msg.get_body(preferencelist=("plain",))
            text = body.get_content() if body is not None else ""
            for kind, case in re.findall(r"^\d+\. (\w+)(?:, case (\d{8}))?, due ", text, re.MULTILINE):
                carried.append((kind, case or None, people))
    for want in expected.get("due", []):
        if want["expect"] and not any(k == want["kind"] and c == want["case"] for k, c, _ in carried):
            problems.append(f"replay: {want['kind']} for {want['case']} was never mailed")
    print(f"replay: {len(instants)} instants, {len(files)} messages")
    return problems


def check_samples(samples: Path, tmp: Path, name: str = "samples", config_text: str = "") -> list[str]:
    config = tmp / f"{name}.toml"
    config.write_text(f'[state]\ndb = "{tmp / (name + ".db")}"\n{config_text}')
    expected = json.loads((samples / "expected.json").read_text())
    code, out, err = run(config, "ingest", str(samples))
    problems = [f"ingest exit {code}: {err}"] if code else []
    if "Traceback" in err:
        problems.append(f"traceback while ingesting samples:\n{err}")
    code, out, _ = run(config, "cases", "--json")
    got = {c["case"]: c for c in json.loads(out)}
    if set(got) != set(expected["cases"]):
        problems.append(
            f"cases differ: missing {sorted(set(expected['cases']) - set(got))}, "
            f"extra {sorted(set(got) - set(expected['cases']))}"
        )
    for number in expected.get("not_cases", []):
        if number in got:
            problems.append(f"{number} must not be a case")
    for number, want in expected["cases"].items():
        if number in got:
            _, shown, _ = run(config, "show", number, "--json")
            problems += check_case(number, want, json.loads(shown))
    problems += check_due(config, expected.get("due", []))
    problems += check_replay(samples, tmp, expected)
    print(f"{name}: {len(got)} cases, {len(expected.get('due', []))} due checks, {len(problems)} problem(s)")
    return problems


def check_corpus(corpus: Path, tmp: Path) -> list[str]:
    config = tmp / "corpus.toml"
    config.write_text(f'[state]\ndb = "{tmp / "corpus.db"}"\n')
    files = [p for p in corpus.rglob("*") if p.is_file() and not p.name.startswith(".")]
    code, out, err = run(config, "ingest", "--json", str(corpus))
    problems = []
    if code != 0:
        problems.append(f"corpus ingest exit {code}")
    if "Traceback" in err or "internal error" in err:
        problems.append("traceback or internal error while ingesting the corpus:\n" + err[-4000:])
    counts = json.loads(out) if code == 0 else {}
    if counts:
        accounted = sum(counts[k] for k in ("ingested", "duplicates", "ignored", "quarantined"))
        if accounted != counts["read"] or counts["read"] < len(files):
            problems.append(f"unaccounted messages: {counts} for {len(files)} files")
    print(f"corpus: {len(files)} files, {counts}")
    return problems


def main_check(shared: Path) -> int:
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if (shared / "samples" / "expected.json").exists():
            problems += check_samples(shared / "samples", tmp)
        else:
            print(f"no samples under {shared}: skipped")
        if (shared / "corpus").is_dir():
            problems += check_corpus(shared / "corpus", tmp)
        else:
            print(f"no corpus under {shared}: skipped")
    for p in problems:
        print(f"FAIL {p}")
    print("shared checks: " + ("ok" if not problems else f"{len(problems)} failure(s)"))
    return 1 if problems else 0


if __name__ == "__main__":
    os.environ.pop("CASEWATCH_CONFIG", None)
    sys.exit(main_check(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared")))
