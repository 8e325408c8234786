"""A throwaway Dovecot IMAP server, and a TCP proxy that cuts connections, for the tests.

``Dovecot`` runs the real server (Debian's ``dovecot-imapd``) from a temporary
directory with its own ``dovecot.conf`` (nothing of ``/etc/dovecot`` is read),
listening on 127.0.0.1 on a free port, with one user ``casewatch`` / ``secret``
whose Maildir lives in that directory. Tests set the server up through IMAP
(``append``, ``create_folder`` ...) and ``doveadm`` (``reset_uidvalidity``).

With ``oauth2=True`` the server also accepts SASL XOAUTH2 (OAuth 2 bearer tokens, as
Microsoft 365 and Gmail do) for that user, through Dovecot's own ``oauth2`` passdb
validating JWTs locally (``introspection_mode = local``) against an HMAC key in the
server's directory: ``token()`` makes such a JWT (HS256, signed with ``OAUTH2_KEY`` or
another key), so no identity provider is needed.

Started by root, Dovecot refuses mail access as root: the mail user is then
``nobody`` and the server's internal and login users are ``dovecot`` and
``dovenull`` (Debian's, from the package) or ``nobody``. Started by anyone else,
everything runs as that user, as in Dovecot's rootless setup.

``CuttingProxy`` sits between a client and the server and cuts every connection
on demand, immediately or after the server has sent so many more bytes.
"""

from __future__ import annotations

import base64
import contextlib
import grp
import hashlib
import hmac
import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from imapclient import IMAPClient

from daemon.config import Mailbox

HOST = "127.0.0.1"
USER = "casewatch"
PASSWORD = "secret"
OAUTH2_KEY = b"casewatch-test-oauth2-hmac-key-not-a-secret"  # signs the test JWTs (HS256)
_SEARCH_PATH = os.pathsep.join(
    [os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/bin"]
)


def find_dovecot() -> str | None:
    """The ``dovecot`` binary, or None when Dovecot is not installed."""
    return shutil.which("dovecot", path=_SEARCH_PATH)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


class DovecotError(RuntimeError):
    """The test server could not be started or driven."""


class Dovecot:
    """A private Dovecot on 127.0.0.1; ``start()`` / ``stop()`` or a ``with`` block.

    With ``tls=True`` it also gets a self-signed certificate (``cert_file``, for
    ``localhost`` and 127.0.0.1): STARTTLS on ``port`` and implicit TLS on ``tls_port``.
    """

    user = USER
    password = PASSWORD
    host = HOST

    def __init__(
        self,
        binary: str | None = None,
        *,
        tls: bool = False,
        oauth2: bool = False,
        start_timeout: float = 30.0,
    ) -> None:
        found = binary or find_dovecot()
        if found is None:
            raise DovecotError("dovecot is not installed (Debian: apt-get install dovecot-imapd)")
        self.binary = found
        self.doveadm_binary = shutil.which("doveadm", path=_SEARCH_PATH) or str(
            Path(found).with_name("doveadm")
        )
        self.tls = tls
        self.oauth2 = oauth2
        self.start_timeout = start_timeout
        self.dir: Path | None = None
        self.port = 0
        self.tls_port = 0
        self.cert_file: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._output: Any = None
        self._uid = self._gid = -1  # of the mail user, set by start()

    # ----------------------------------------------------------------- lifecycle

    def __enter__(self) -> Dovecot:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def conf(self) -> Path:
        assert self.dir is not None, "the server is not started"
        return self.dir / "dovecot.conf"

    def start(self) -> None:
        if self._proc is not None:
            return
        self.dir = Path(tempfile.mkdtemp(prefix="casewatch-dovecot-"))
        try:
            self._prepare()
            for _attempt in range(3):  # a free port may be taken before dovecot binds it
                self.port = free_port()
                self.tls_port = free_port() if self.tls else 0
                self.conf.write_text(self._config())
                if self._launch():
                    return
            raise DovecotError(f"dovecot found no free port three times:\n{self.log_tail()}")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)
        if self._output is not None:
            self._output.close()
            self._output = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def halt(self) -> None:
        """Stop the server as a crash or a maintenance would, keeping its mail and its port."""
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=15)

    def resume(self) -> None:
        """Start the halted server again, on the same port, with the same mail."""
        if self._proc is None and not self._launch():
            raise DovecotError(f"dovecot could not take its port {self.port} again")

    def _prepare(self) -> None:
        assert self.dir is not None
        # The login, auth and mail processes run as other users: they must get in.
        self.dir.chmod(0o755)
        for sub in ("run", "state", "home"):
            (self.dir / sub).mkdir()
        if os.geteuid() == 0:
            mail = pwd.getpwnam("nobody")
            uid, gid = mail.pw_uid, mail.pw_gid
            os.chown(self.dir / "home", uid, gid)
        else:
            uid, gid = os.getuid(), os.getgid()
        self._uid, self._gid = uid, gid
        (self.dir / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{self.dir / 'home'}::\n")
        if self.oauth2:
            # The key of a JWT without "azp" and "kid", for the dict key shared/default/HS256/default.
            keys = self.dir / "oauth2-keys"
            (keys / "default" / "HS256").mkdir(parents=True)
            (keys / "default" / "HS256" / "default").write_text(base64.b64encode(OAUTH2_KEY).decode())
            for path in (keys, keys / "default", keys / "default" / "HS256"):
                path.chmod(0o755)  # the auth process runs as another user when started by root
            (keys / "default" / "HS256" / "default").chmod(0o644)
            # username_attribute: the claim that must equal the user logging in.
            (self.dir / "oauth2.conf").write_text(
                f"introspection_mode = local\n"
                f"local_validation_key_dict = fs:posix:prefix={keys}/\n"
                f"username_attribute = sub\n"
            )
        if self.tls:
            self.cert_file = self.dir / "cert.pem"
            try:
                subprocess.run(
                    ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                     "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                     "-subj", "/CN=localhost",
                     "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                     "-keyout", str(self.dir / "key.pem"), "-out", str(self.cert_file)],
                    check=True, capture_output=True, timeout=60,
                )  # fmt: skip
            except (OSError, subprocess.SubprocessError) as e:
                raise DovecotError(f"could not make a test certificate with openssl: {e}") from e

    def _config(self) -> str:
        assert self.dir is not None
        d = self.dir
        if os.geteuid() == 0:
            internal = "dovecot" if _user_exists("dovecot") else "nobody"
            login = "dovenull" if _user_exists("dovenull") else "nobody"
            group = ""  # Dovecot's default group, "dovecot"
            chroot = ""  # login processes keep Dovecot's default chroot
        else:
            internal = login = pwd.getpwuid(os.getuid()).pw_name
            group = grp.getgrgid(os.getgid()).gr_name
            chroot = "  chroot =\n"  # chroot needs root
        if self.oauth2:
            mechanisms = "plain login xoauth2"
            # Passwords for PLAIN and LOGIN only: a token is checked by the oauth2 passdb alone.
            passdbs = (
                f"passdb {{\n  driver = passwd-file\n  mechanisms = plain login\n"
                f"  args = scheme=PLAIN {d / 'passwd'}\n}}\n"
                f"passdb {{\n  driver = oauth2\n  mechanisms = xoauth2\n  args = {d / 'oauth2.conf'}\n}}\n"
            )
        else:
            mechanisms = "plain login"
            passdbs = f"passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN {d / 'passwd'}\n}}\n"
        if self.tls:
            ssl = f"ssl = yes\nssl_cert = <{d / 'cert.pem'}\nssl_key = <{d / 'key.pem'}\n"
            imaps = f"    address = {HOST}\n    port = {self.tls_port}\n    ssl = yes\n"
        else:
            ssl = "ssl = no\n"
            imaps = "    port = 0\n"
        return (
            f"# casewatch test server; written by tests/dovecot.py\n"
            f"base_dir = {d / 'run'}\n"
            f"state_dir = {d / 'state'}\n"
            f"log_path = {d / 'dovecot.log'}\n"
            f"info_log_path = {d / 'dovecot.log'}\n"
            f"protocols = imap\n"
            f"listen = {HOST}\n"
            f"{ssl}"
            f"disable_plaintext_auth = no\n"
            f"auth_mechanisms = {mechanisms}\n"
            f"auth_failure_delay = 0\n"
            f"default_internal_user = {internal}\n"
            f"default_login_user = {login}\n"
            f"{f'default_internal_group = {group}' if group else ''}\n"
            f"first_valid_uid = {self._uid}\n"
            f"first_valid_gid = {self._gid}\n"
            f"{passdbs}"
            f"userdb {{\n  driver = passwd-file\n  args = {d / 'passwd'}\n}}\n"
            f"mail_location = maildir:~/Maildir\n"
            f"service imap-login {{\n{chroot}"
            f"  inet_listener imap {{\n    address = {HOST}\n    port = {self.port}\n  }}\n"
            f"  inet_listener imaps {{\n{imaps}  }}\n"
            f"}}\n"
            # No auth penalty: a test's wrong password must not slow the next login.
            f"service anvil {{\n{chroot}"
            f"  unix_listener anvil-auth-penalty {{\n    mode = 0\n  }}\n"
            f"}}\n"
        )

    def _launch(self) -> bool:
        """Start the master; True once it greets, False if its port was taken."""
        assert self.dir is not None
        if self._output is None:
            self._output = (self.dir / "master.out").open("ab")
        proc = subprocess.Popen(
            [self.binary, "-F", "-c", str(self.conf)],
            stdin=subprocess.DEVNULL,
            stdout=self._output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._proc = proc
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                self._proc = None
                if "Address already in use" in self.log_tail():
                    return False
                raise DovecotError(
                    f"dovecot exited with status {proc.returncode} at start:\n{self.log_tail()}"
                )
            if self._greets():
                return True
            time.sleep(0.05)
        raise DovecotError(
            f"dovecot did not accept connections on {HOST}:{self.port} within "
            f"{self.start_timeout:.0f}s:\n{self.log_tail()}"
        )

    def _greets(self) -> bool:
        try:
            with socket.create_connection((HOST, self.port), timeout=2) as s:
                return s.recv(64).startswith(b"* OK")
        except OSError:
            return False

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the server's log and of the master's own output."""
        if self.dir is None:
            return "(no server directory)"
        text = []
        for name in ("master.out", "dovecot.log"):
            path = self.dir / name
            if path.exists():
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                text.append(f"--- {name}\n" + "\n".join(tail))
        return "\n".join(text) or "(no log written)"

    # ----------------------------------------------------------------- driving it

    def token(
        self, user: str = USER, *, key: bytes = OAUTH2_KEY, expires_in: int = 600, **claims: Any
    ) -> str:
        """An OAuth 2 access token for ``user`` that this server (``oauth2=True``) accepts:
        a JWT signed with HS256 under ``key``, valid from now for ``expires_in`` seconds.
        Another ``key``, another ``user`` or a past expiry makes one it refuses."""

        def b64url(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        now = int(time.time())
        header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        body = b64url(json.dumps({"sub": user, "iat": now, "exp": now + expires_in, **claims}).encode())
        signature = hmac.new(key, f"{header}.{body}".encode(), hashlib.sha256).digest()
        return f"{header}.{body}.{b64url(signature)}"

    def mailbox(self, **changes: Any) -> Mailbox:
        """A ``[mailbox]`` configuration for this server (plain, on loopback)."""
        base = Mailbox(host=HOST, port=self.port, security="plain", username=USER, timeout=10.0)
        return replace(base, **changes)

    @contextlib.contextmanager
    def client(self) -> Iterator[Any]:
        """A logged-in ``IMAPClient``, logged out at the end of the ``with`` block."""
        c = IMAPClient(HOST, port=self.port, ssl=False, timeout=10)
        try:
            c.login(USER, PASSWORD)
            yield c
        finally:
            try:
                c.logout()
            except Exception:
                with contextlib.suppress(Exception):
                    c.shutdown()

    def create_folder(self, folder: str) -> None:
        with self.client() as c:
            c.create_folder(folder)

    def delete_folder(self, folder: str) -> None:
        with self.client() as c:
            c.delete_folder(folder)

    def append(
        self,
        folder: str,
        raw: bytes,
        internaldate: datetime | None = None,
        flags: tuple[bytes, ...] = (),
    ) -> int:
        """Append a message; returns its UID (from the server's APPENDUID answer)."""
        with self.client() as c:
            answer = c.append(folder, raw, flags=flags, msg_time=internaldate)
        match = re.search(rb"APPENDUID \d+ (\d+)", answer)
        if match is None:
            raise DovecotError(f"APPEND answer without APPENDUID: {answer!r}")
        return int(match.group(1))

    def uidvalidity(self, folder: str) -> int:
        with self.client() as c:
            return int(c.folder_status(folder, ["UIDVALIDITY"])[b"UIDVALIDITY"])

    def flags(self, folder: str) -> dict[int, tuple[bytes, ...]]:
        """The flags of every message of ``folder``, by UID (read-only, changes nothing)."""
        with self.client() as c:
            c.select_folder(folder, readonly=True)
            uids = c.search("ALL")
            return {int(u): tuple(f) for u, f in c.get_flags(uids).items()} if uids else {}

    def message_file(self, folder: str, uid: int) -> Path:
        """The Maildir file holding message ``uid`` of ``folder`` (a Dovecot internal)."""
        assert self.dir is not None
        maildir = self.dir / "home" / "Maildir"
        if folder.upper() != "INBOX":
            maildir /= "." + folder
        for line in (maildir / "dovecot-uidlist").read_text().splitlines()[1:]:
            if line.split(" ", 1)[0] == str(uid):
                base = line.split(":", 1)[1]
                break
        else:
            raise DovecotError(f"UID {uid} is not in the uidlist of {folder}")
        files = [
            f
            for sub in ("new", "cur")
            for f in (maildir / sub).iterdir()
            if f.name == base or f.name.startswith(base + ":")
        ]
        if len(files) != 1:
            raise DovecotError(f"UID {uid} of {folder}: message files {files}")
        return files[0]

    def remove_message_file(self, folder: str, uid: int) -> None:
        """Delete a message's file behind the server's back.

        A session that already listed the UID gets a FETCH answer without its body.
        """
        self.message_file(folder, uid).unlink()

    def make_message_unreadable(self, folder: str, uid: int) -> None:
        """Take the read permission off a message's file (Dovecot then answers BYE)."""
        self.message_file(folder, uid).chmod(0)

    def doveadm(self, *args: str) -> str:
        proc = subprocess.run(
            [self.doveadm_binary, "-c", str(self.conf), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if proc.returncode != 0:
            raise DovecotError(f"doveadm {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
        return proc.stdout

    def reset_uidvalidity(self, folder: str) -> int:
        """Give ``folder`` a new UIDVALIDITY, same messages and UIDs; returns the new value.

        This is what a server does after losing its index: every UID the client
        knows is void, even though the numbers look the same.
        """
        old = self.uidvalidity(folder)
        new = old + 1 if old < 2**32 - 1 else 1
        self.doveadm("mailbox", "update", "-u", USER, "--uid-validity", str(new), folder)
        now = self.uidvalidity(folder)
        if now != new:
            raise DovecotError(f"UIDVALIDITY of {folder} is {now} after setting it to {new}")
        return new


class CuttingProxy:
    """A TCP proxy on 127.0.0.1 to ``target_port`` that can cut its connections.

    ``cut()`` closes every current connection now; ``cut_after(n)`` lets the server
    send ``n`` more bytes (in total, over all connections) and then cuts. Threads
    are daemons, every socket has a timeout, and the proxy stops itself after
    ``lifetime`` seconds; ``close()`` (or the end of a ``with`` block) stops it.
    """

    def __init__(self, target_port: int, *, target_host: str = HOST, lifetime: float = 120.0) -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server((HOST, 0))
        self._listener.settimeout(0.2)
        self.port = int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._budget: int | None = None
        self._stopped = threading.Event()
        self._deadline = time.monotonic() + lifetime
        self.connections = 0
        self._threads: list[threading.Thread] = []
        self._spawn(self._accept_loop)

    def __enter__(self) -> CuttingProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _spawn(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stopped.is_set() and time.monotonic() < self._deadline:
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            try:
                server = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            for s in (client, server):
                s.settimeout(60)
            with self._lock:
                self._pairs.append((client, server))
                self.connections += 1
            self._spawn(self._pump, client, server, False)
            self._spawn(self._pump, server, client, True)
        self._stopped.set()
        self.cut()

    def _pump(self, src: socket.socket, dst: socket.socket, from_server: bool) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    dst.shutdown(socket.SHUT_WR)
                    return
                cut = False
                if from_server:
                    with self._lock:
                        if self._budget is not None:
                            if len(data) >= self._budget:
                                data, cut = data[: self._budget], True
                            else:
                                self._budget -= len(data)
                if data:
                    dst.sendall(data)
                if cut:
                    self.cut()
                    return
        except OSError:
            return

    def cut_after(self, nbytes: int) -> None:
        """Cut every connection once the server has sent ``nbytes`` more bytes."""
        if nbytes <= 0:
            self.cut()
            return
        with self._lock:
            self._budget = nbytes

    def cut(self) -> None:
        """Close every current connection, both ways, now."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
            self._budget = None
        for pair in pairs:
            for s in pair:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

    def close(self) -> None:
        self._stopped.set()
        self._listener.close()
        self.cut()
        for thread in list(self._threads):
            thread.join(timeout=5)
