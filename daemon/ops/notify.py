"""systemd's readiness and watchdog protocol (sd_notify), without libsystemd.

Under ``Type=notify`` systemd passes the path of a datagram socket in ``$NOTIFY_SOCKET``; the
service sends it newline-separated ``KEY=value`` assignments::

    notify("READY=1", "STATUS=polling every 5 min")   # start-up is complete
    notify("WATCHDOG=1")                              # still alive (every watchdog_interval())
    notify("STOPPING=1")                              # shutting down

Outside systemd (no ``$NOTIFY_SOCKET``) every call is a no-op that returns False, so the
daemon needs no "am I under systemd?" branch. A failure to send is logged at debug and never
raised: losing a status line must not stop the daemon (a missed ``WATCHDOG=1`` is what the
watchdog is there to notice).
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__.replace("daemon", "casewatch", 1))  # one namespace: casewatch.*

NOTIFY_SOCKET = "NOTIFY_SOCKET"
WATCHDOG_USEC = "WATCHDOG_USEC"
WATCHDOG_PID = "WATCHDOG_PID"


def _address(value: str) -> str | None:
    """The socket address for an AF_UNIX socket: a path, or "@name" for the abstract namespace."""
    if value.startswith("@"):
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    return None  # e.g. "vsock:..." (systemd 253+): not an AF_UNIX socket


def notify(*lines: str) -> bool:
    """Sends the assignments (``"READY=1"``, ``"STATUS=..."``...) to systemd as one datagram.

    Returns True when the datagram was sent; False when ``$NOTIFY_SOCKET`` is unset or empty
    (nothing is done), when there is nothing to send, or when sending failed (logged at debug).
    A newline inside one assignment would start another one, so it is replaced by a space.
    """
    value = os.environ.get(NOTIFY_SOCKET, "")
    if not value or not lines:
        return False
    address = _address(value)
    if address is None:
        log.debug("sd_notify: unsupported %s=%r; not sent: %s", NOTIFY_SOCKET, value, lines)
        return False
    payload = "\n".join(line.replace("\r", " ").replace("\n", " ") for line in lines).encode()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(payload)
    except OSError as exc:
        log.debug("sd_notify: could not send to %s: %s", value, exc)
        return False
    return True


def watchdog_interval() -> float | None:
    """How often to send ``WATCHDOG=1``, in seconds: half of ``$WATCHDOG_USEC``.

    None when the watchdog is off for this process: ``$WATCHDOG_USEC`` unset, not a positive
    integer, or ``$WATCHDOG_PID`` set to another process's id (or to something not a number).
    """
    usec = os.environ.get(WATCHDOG_USEC, "")
    try:
        micros = int(usec)
    except ValueError:
        return None
    if micros <= 0:
        return None
    pid = os.environ.get(WATCHDOG_PID, "")
    if pid:
        try:
            if int(pid) != os.getpid():
                return None
        except ValueError:
            return None
    return micros / 2_000_000
