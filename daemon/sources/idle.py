"""IMAP IDLE as a wake-up hint: ``IdleWatcher.wait(seconds)`` returns early when mail may have come.

IDLE is only a hint: the runner's periodic UID SEARCH is the truth. Servers drop IDLE after
about 30 minutes and sometimes silently, and imapclient's ``idle_check`` keeps returning
nothing after the link has died, so silence proves nothing: IDLE is restarted every
``[daemon] idle_restart`` (9 minutes), the socket has a timeout and TCP keepalive, and any
error closes the connection; the next ``wait`` reconnects after a growing, jittered pause.
A server without IDLE makes ``wait`` a plain sleep.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import Any

from daemon.config import Mailbox
from daemon.errors import CasewatchError
from daemon.sources.imap import ImapSource

log = logging.getLogger(__name__.replace("daemon", "casewatch", 1))  # one namespace: casewatch.*
SLICE = 1.0  # seconds: how often a wait looks at the stop flag


class Backoff:
    """Capped exponential backoff with jitter: 1 s, 2 s, 4 s ... up to ``cap``, each +-20 %."""

    def __init__(self, cap: float, first: float = 1.0, rng: random.Random | None = None) -> None:
        self.cap, self.first, self.failures = cap, first, 0
        self.rng = rng or random.Random()

    def next(self) -> float:
        delay = min(self.cap, self.first * (1 << min(self.failures, 30)))
        self.failures += 1
        return delay * self.rng.uniform(0.8, 1.2)

    def reset(self) -> None:
        self.failures = 0


class IdleWatcher:
    """One IMAP connection idling on a folder, reconnected when it breaks."""

    def __init__(
        self,
        mailbox: Mailbox,
        credentials: Any,
        folder: str,
        restart_every: float,
        stop: threading.Event,
        backoff_cap: float = 300.0,
    ) -> None:
        self.mailbox, self.credentials, self.folder = mailbox, credentials, folder
        self.restart_every, self.stop = restart_every, stop
        self.backoff = Backoff(backoff_cap)
        self._source: ImapSource | None = None
        self._idling_since = 0.0
        self._retry_at = 0.0
        self.supported: bool | None = None  # unknown until connected

    def close(self) -> None:
        source, self._source = self._source, None
        if source is not None:
            source.end_idle()
            source.close()

    def _start(self) -> bool:
        """Connect and start IDLE; False when that is not possible now."""
        if time.monotonic() < self._retry_at:
            return False
        try:
            password, token = self.credentials()
            source = ImapSource(self.mailbox, password, token)
            source.connect()
            self.supported = source.has_idle()
            if not self.supported:
                source.close()
                log.info("the IMAP server has no IDLE: polling every interval only")
                return False
            source.start_idle(self.folder)
        except (CasewatchError, OSError, Exception) as e:
            self._retry_at = time.monotonic() + self.backoff.next()
            log.warning("IMAP IDLE unavailable, retrying later: %s", e)
            return False
        self._source = source
        self._idling_since = time.monotonic()
        self.backoff.reset()
        return True

    def wait(self, seconds: float) -> bool:
        """Wait up to ``seconds``; True as soon as the server reports new mail (a hint only)."""
        deadline = time.monotonic() + max(0.0, seconds)
        while not self.stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if self._source is None and self.supported is not False and not self._start():
                self.stop.wait(min(left, SLICE))
                continue
            if self._source is None:  # no IDLE on this server
                self.stop.wait(min(left, SLICE))
                continue
            try:
                if time.monotonic() - self._idling_since > self.restart_every:
                    self._source.restart_idle()
                    self._idling_since = time.monotonic()
                responses = self._source.idle_check(min(left, SLICE))
            except Exception as e:
                log.warning("IMAP IDLE connection lost: %s", e)
                self._source.mark_broken()
                self.close()
                self._retry_at = time.monotonic() + self.backoff.next()
                continue
            if any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses):
                return True
        return False
