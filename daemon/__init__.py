"""casewatch: keeps a library consortium's vendor support cases from stalling.

The package reads as the flow of the program (README.md's "How it works" has the same map):

- ``sources/``    where mail comes from (IMAP, files, IMAP IDLE): moves bytes, nothing else;
- ``recognize/``  what a message is (pure functions from bytes to facts);
- ``timeline``    what those facts mean for each case (pure: facts -> events -> case);
- ``commands/``   reply commands: their grammar, who may act, the events they add;
- ``policy/``     what is due (pure): business time, clocks, routing, rules per case and across, the engine,
                  and until when a decision stands (the schedule);
- ``timeparts``   the parts business time is written in (durations, clock times, weekdays);
- ``store/``      where it is all kept (SQLite): schema, the Store, its outbox, the snapshot,
                  the decision schedule;
- ``ingest``      the shell that wires sources, recognizers and the store together;
- ``cycle``       one gather -> decide -> apply cycle: new mail, what is due, queue and send;
- ``outbound/``   how mail goes out: planned, rendered, composed, queued, sent by a transport;
- ``digest``      the weekly digest of one program manager (pure);
- ``response_times``  vendor response times and their attainment of the thresholds (pure);
- ``digest_calendar``  what falls due soon, and the digest's iCalendar events (pure);
- ``ics``         iCalendar files (pure);
- ``alerts``      the admin alert after failures in a row, and on recovery;
- ``runner``      ``casewatch run``: the daemon loop, one cycle per tick;
- ``ops/``        what a service needs: JSON logs, Prometheus metrics, systemd notify;
- ``faults``      crash points for the fault tests;
- ``preflight``   the example config and what ``check-config`` checks beyond the file;
- ``config/``     the TOML configuration: schema, loading and validation, secrets;
- ``model``       domain values (frozen dataclasses);
- ``errors``      the one exception family;
- ``jsontext``    JSON text as the command line prints it (``json.dumps(indent=2)``, fast);
- ``cli``         the command line, a thin layer over the above (``__main__``: ``python -m daemon``);
- ``demo/``       the embedded default: a ten-week story played through the daemon;
- ``templates/``  the built-in mail templates.

Note: the unrelated PyPI package ``python-daemon`` also installs a module named
``daemon``; casewatch does not use it and must not be installed beside it.
"""

__version__ = "0.1.0"
