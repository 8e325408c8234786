"""Shared fixtures of the test suite."""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
from collections.abc import Iterator

import pytest
from dovecot import Dovecot, find_dovecot
from hypothesis import HealthCheck, settings
from smtpserver import SmtpServer, find_openssl

# --------------------------------------------------------------------------- Hypothesis

# The profiles set how many examples the tests that do not fix their own count run: above all
# tests/test_fuzz.py. "ci" (the default): a few thousand, the same ones on every run
# (derandomized, so CI is reproducible), under a minute on two cores. "long"
# (``pytest tests/test_fuzz.py --hypothesis-profile=long``): 100,000 new random ones, for a
# local run of an hour or two. Never a deadline: timing is no assert here.
_SLOW_IS_FINE = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile(
    "ci", max_examples=2_000, deadline=None, derandomize=True, suppress_health_check=_SLOW_IS_FINE
)
settings.register_profile(
    "long",
    max_examples=100_000,
    deadline=None,
    derandomize=False,
    suppress_health_check=_SLOW_IS_FINE,
    print_blob=True,
)
settings.load_profile("ci")

# --------------------------------------------------------------------------- order

#: The longest test files, started first: with one worker per core (`make test` runs pytest
#: -n auto) the short tests then fill the cores around them, instead of one core waiting on
#: the year-long soak at the end while the other is idle.
LONGEST_FIRST = ("test_soak.py", "test_fuzz.py", "test_install.py", "test_faults.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: else as collected


@pytest.fixture(autouse=True)
def _root_logging_kept() -> Iterator[None]:
    """The root logger as it was before the test: ``main()`` points it at the test's captured
    stderr, which is closed afterwards, and a server thread that logs later (aiosmtpd) would
    then print a "Logging error" into the run's output (seen in the order pytest -n runs)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


# --------------------------------------------------------------------------- IMAP

_REQUIRE_DOVECOT = "CASEWATCH_REQUIRE_DOVECOT"
_folder_numbers = itertools.count(1)


def _dovecot_or_skip(tls: bool = False) -> Dovecot:
    binary = find_dovecot()
    if binary is None:
        reason = (
            "DOVECOT IS NOT INSTALLED: the IMAP tests did NOT run "
            "(Debian: apt-get install dovecot-imapd, or `make dovecot`)"
        )
        if os.environ.get(_REQUIRE_DOVECOT) == "1":
            pytest.fail(f"{reason}; {_REQUIRE_DOVECOT}=1 requires them", pytrace=False)
        pytest.skip(f"{reason}; set {_REQUIRE_DOVECOT}=1 to make this a failure")
    server = Dovecot(binary, tls=tls)
    server.start()
    return server


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """A real Dovecot on 127.0.0.1 for the whole session (plain IMAP, no TLS)."""
    server = _dovecot_or_skip()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def dovecot_tls() -> Iterator[Dovecot]:
    """A second Dovecot with a self-signed certificate: STARTTLS and implicit TLS."""
    server = _dovecot_or_skip(tls=True)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def imap_folder(dovecot: Dovecot) -> Iterator[str]:
    """A fresh, empty folder on the session's server; deleted afterwards."""
    name = f"test{next(_folder_numbers)}-{os.getpid()}"
    dovecot.create_folder(name)
    yield name
    with contextlib.suppress(Exception):
        dovecot.delete_folder(name)


# --------------------------------------------------------------------------- SMTP


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpServer]:
    """A real aiosmtpd server on 127.0.0.1 for the whole session (``tests/smtpserver.py``).

    AUTH is offered (``casewatch`` / ``secret``); with ``openssl`` installed it also has a
    self-signed certificate: STARTTLS on ``port``, implicit TLS on ``tls_port``.
    """
    with SmtpServer(tls=find_openssl() is not None) as server:
        yield server


@pytest.fixture
def smtp(smtp_server: SmtpServer) -> SmtpServer:
    """The session's SMTP server, with no message, connection or injected failure yet."""
    smtp_server.reset()
    return smtp_server
