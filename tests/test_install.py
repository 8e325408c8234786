"""Installing casewatch: what the package ships, `casewatch init`, `check-config`'s checks, and a
wheel installed in a clean venv outside the checkout that sends mail (demo, and `run` against
the session's Dovecot)."""

from __future__ import annotations

import email
import email.policy
import email.utils
import fnmatch
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dovecot import Dovecot
from mailmaker import created
from smtpserver import SmtpServer

from daemon import preflight
from daemon.cli import main
from daemon.outbound.render import TEMPLATES, BuiltinLoader

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_FOLDER = ROOT / "templates"
EXAMPLE = ROOT / "config.example.toml"
#: What a build needs of the checkout (pyproject.toml names the readme).
SOURCES = ("pyproject.toml", "README.md", "config.example.toml", "daemon", "templates")
#: The wheel test fails instead of skipping when the package index is out of reach.
REQUIRE = "CASEWATCH_REQUIRE_INSTALL"


def template_files() -> list[Path]:
    return sorted(p for p in TEMPLATE_FOLDER.iterdir() if p.is_file() and not p.name.startswith("."))


def package_data() -> list[str]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"][
        "daemon"
    ]


# --------------------------------------------------------------------------- what ships


def test_the_built_in_templates_are_the_templates_folder_read_as_package_resources():
    assert template_files(), "no templates?"
    assert BuiltinLoader(TEMPLATES).list_templates() == [p.name for p in template_files()]
    for path in template_files():
        assert (TEMPLATES / path.name).read_text(encoding="utf-8") == path.read_text(encoding="utf-8")


def test_every_template_and_the_example_config_are_package_data():
    patterns = package_data()
    for path in template_files():
        name = f"templates/{path.name}"
        assert any(fnmatch.fnmatch(name, p) for p in patterns), f"{name} would not be in a wheel"
    assert "config.example.toml" in patterns
    assert preflight.example_config() == EXAMPLE.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- casewatch init


def test_init_writes_the_commented_example_and_it_passes_check_config(tmp_path, capsys):
    target = tmp_path / "etc" / "config.toml"
    target.parent.mkdir()

    assert main(["init", str(target)]) == 0

    assert target.read_text(encoding="utf-8") == EXAMPLE.read_text(encoding="utf-8")
    assert str(target) in capsys.readouterr().out
    assert main(["--config", str(target), "check-config"]) == 0
    assert "config ok" in capsys.readouterr().out


def test_init_writes_config_toml_here_and_never_overwrites(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CASEWATCH_CONFIG", raising=False)
    assert main(["init"]) == 0
    assert (tmp_path / "config.toml").read_text(encoding="utf-8") == EXAMPLE.read_text(encoding="utf-8")
    capsys.readouterr()
    mine = "[[not toml, and mine\n"
    (tmp_path / "config.toml").write_text(mine)  # a broken config here must not stop init either

    assert main(["init"]) == 2

    err = capsys.readouterr().err
    assert "config.toml already exists: not overwritten" in err
    assert "Traceback" not in err
    assert (tmp_path / "config.toml").read_text() == mine


def test_init_into_a_missing_folder_is_a_usage_error(tmp_path, capsys):
    assert main(["init", str(tmp_path / "nowhere" / "config.toml")]) == 2
    err = capsys.readouterr().err
    assert "cannot write" in err
    assert "Traceback" not in err


# --------------------------------------------------------------------------- check-config


def test_check_config_renders_every_template(tmp_path, capsys):
    config = tmp_path / "config.toml"
    config.write_text(f'[state]\ndb = "{(tmp_path / "state" / "cw.db").as_posix()}"\n')

    assert main(["--config", str(config), "check-config"]) == 0

    out = capsys.readouterr().out
    assert f"templates: {len(template_files())} compiled" in out
    assert f"state.db: {tmp_path / 'state'} is writable" in out


def test_check_config_reports_bad_site_templates_and_an_unwritable_state_folder_at_once():
    """The state folder exists but this user may not write in it (as root, casewatch runs as
    nobody: root writes anywhere)."""
    from unprivileged import casewatch

    command, env = casewatch()
    base = Path(tempfile.mkdtemp(prefix="casewatch-check-"))  # pytest's tmp_path is 0700
    try:
        base.chmod(0o755)
        site = base / "site"
        site.mkdir(mode=0o755)
        (site / "request_update.subject.txt").write_text("Case {{ case.numbr }}\n")
        (site / "escalate.txt").write_text("Hello\n{{ no_such_name }}\n")
        (site / "mail.html").write_text("{% if parts %}never closed\n")
        state = base / "state"
        state.mkdir(mode=0o555)
        config = base / "config.toml"
        config.write_text('[state]\ndb = "state/cw.db"\n[sending]\ntemplates = "site"\n')
        for path in (*site.iterdir(), config):
            path.chmod(0o644)

        done = subprocess.run(
            [*command, "--config", str(config), "check-config"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd="/",
            env=env,
        )
    finally:
        shutil.rmtree(base, ignore_errors=True)

    assert done.returncode == 2, done.stdout + done.stderr
    err = done.stderr
    assert "Traceback" not in err
    assert "5 problem(s)" in err, err
    assert (
        "sending.templates: request_update.subject.txt line 1: 'dict object' has no attribute 'numbr'" in err
    )
    assert "sending.templates: escalate.txt line 2: 'no_such_name' is undefined" in err
    assert "sending.templates: mail.html line 1:" in err
    assert f"state.db: cannot write in {state}: Permission denied" in err
    assert (
        f"outbound.folder: {state / 'outbox'} does not exist and cannot be made: {state} is not writable"
        in err
    )


# --------------------------------------------------------------------------- from a wheel


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    bin: Path

    def env(self) -> dict[str, str]:
        """The environment of an operator's shell: nothing pointing into the checkout."""
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "CASEWATCH_", "VIRTUAL_ENV"))
        }
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        return env

    def run(self, *argv: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / "casewatch"), *argv],
            cwd=cwd,
            env={**self.env(), **env},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )


def _pip(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *argv],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def _offline(done: subprocess.CompletedProcess[str]) -> bool:
    said = done.stdout + done.stderr
    return (
        re.search(
            r"NewConnectionError|Name or service not known|Temporary failure in name|"
            r"Network is unreachable|No matching distribution found",
            said,
        )
        is not None
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """casewatch built as a wheel from a copy of the checkout's sources and installed, with its
    dependencies from the package index, in a new venv in a temporary folder."""
    started = time.monotonic()
    base = tmp_path_factory.mktemp("install")
    source = base / "source"  # a copy: an in-tree build would leave build/ in the checkout
    source.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, source / name)
    built = _pip("wheel", "--no-deps", "--wheel-dir", str(base / "dist"), str(source))
    if built.returncode != 0 and _offline(built) and os.environ.get(REQUIRE) != "1":
        pytest.skip(f"cannot build the wheel without the package index (set {REQUIRE}=1 to fail)")
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (base / "dist").glob("casewatch-*.whl")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    done = _pip("--python", str(venv / "bin" / "python"), "install", "--quiet", str(wheel))
    if done.returncode != 0 and _offline(done) and os.environ.get(REQUIRE) != "1":
        pytest.skip(f"cannot install the dependencies without the package index (set {REQUIRE}=1 to fail)")
    assert done.returncode == 0, done.stdout + done.stderr
    print(f"\nwheel built and installed in a clean venv in {time.monotonic() - started:.1f} s")
    return Installed(wheel, venv, venv / "bin")


@pytest.mark.install
@pytest.mark.xdist_group("install")  # one worker builds the wheel, once
def test_the_wheel_holds_the_templates_and_the_example_config(installed):
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    missing = [p.name for p in template_files() if f"daemon/templates/{p.name}" not in names]
    assert missing == []
    assert "daemon/config.example.toml" in names


@pytest.mark.install
@pytest.mark.xdist_group("install")  # one worker builds the wheel, once
def test_the_installed_casewatch_is_the_wheel_not_the_checkout(installed, tmp_path):
    done = subprocess.run(
        [str(installed.bin / "python"), "-c", "import daemon; print(daemon.__file__)"],
        cwd=tmp_path,
        env=installed.env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert Path(done.stdout.strip()).is_relative_to(installed.venv)


@pytest.mark.install
@pytest.mark.xdist_group("install")  # one worker builds the wheel, once
def test_the_wheel_takes_its_version_from_the_package(installed, tmp_path):
    """One version source: pyproject reads ``daemon.__version__``; the wheel's name, its
    metadata and ``casewatch --version`` all carry it."""
    written = re.search(r'^__version__ = "([^"]+)"$', (ROOT / "daemon" / "__init__.py").read_text(), re.M)
    assert written is not None
    version = written.group(1)

    assert installed.wheel.name.startswith(f"casewatch-{version}-")
    done = installed.run("--version", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"casewatch {version}"
    script = "from importlib.metadata import version; print(version('casewatch'))"
    meta = subprocess.run(
        [str(installed.bin / "python"), "-c", script],
        cwd=tmp_path,
        env=installed.env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert meta.stdout.strip() == version


@pytest.mark.install
@pytest.mark.xdist_group("install")  # one worker builds the wheel, once
def test_demo_from_the_wheel_writes_its_mail(installed, tmp_path):
    done = installed.run("demo", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    sent = sorted((tmp_path / "state" / "outbox").glob("*.eml"))
    assert sent
    first = email.message_from_bytes(sent[0].read_bytes(), policy=email.policy.default)
    assert first["X-Casewatch-Action"]


@pytest.mark.install
@pytest.mark.xdist_group("install")  # one worker builds the wheel, once
def test_init_and_check_config_from_the_wheel(installed, tmp_path):
    done = installed.run("init", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "config.toml").read_text(encoding="utf-8") == EXAMPLE.read_text(encoding="utf-8")

    done = installed.run("check-config", cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert f"templates: {len(template_files())} compiled" in done.stdout


@pytest.mark.install
@pytest.mark.xdist_group("install")  # one worker builds the wheel, once
@pytest.mark.imap
def test_run_from_the_wheel_reads_dovecot_and_sends_mail(
    installed, tmp_path, dovecot: Dovecot, imap_folder: str, smtp: SmtpServer
):
    opened = email.utils.format_datetime(datetime.now(UTC) - timedelta(hours=1))
    dovecot.append(imap_folder, created("10712345", date=opened))  # a description lacking steps
    mailbox, relay = dovecot.mailbox(), smtp.smtp()
    (tmp_path / "config.toml").write_text(
        f"""
[state]
db = "state/casewatch.db"

[[institutions]]
code = "WWU"
name = "Western Washington University"
domains = ["wwu.edu"]

[mailbox]
host = "{mailbox.host}"
port = {mailbox.port}
security = "plain"
username = "{mailbox.username}"
password_env = "TEST_IMAP_PASSWORD"
folders = ["{imap_folder}"]

[smtp]
host = "{relay.host}"
port = {relay.port}
security = "plain"

[outbound]
transport = "smtp"

[sending]
quiet_hours = false

[daemon]
idle = false
poll_every = "1 hours"
""",
        encoding="utf-8",
    )
    proc = subprocess.Popen(
        [str(installed.bin / "casewatch"), "run"],
        cwd=tmp_path,
        env={**installed.env(), "TEST_IMAP_PASSWORD": dovecot.password, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    lines: list[bytes] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # the first cycle: read, decide, send
            lines.append(line)
            if b"cycle:" in line:
                break
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, b"".join(lines).decode()
        lines.append(proc.stdout.read())
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    log = b"".join(lines).decode()
    assert "Traceback" not in log
    assert "decide failed" not in log
    sent = [email.message_from_bytes(m.data, policy=email.policy.default) for m in smtp.messages]
    assert [str(m["X-Casewatch-Action"]) for m in sent] == ["description_gaps"], log
    assert "10712345" in str(sent[0]["Subject"])
