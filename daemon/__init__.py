"""casewatch: keeps a library consortium's vendor support cases from stalling.

The package reads as the flow of the program:

- ``sources/``   where mail comes from (IMAP, files): moves bytes, nothing else;
- ``recognize/`` what a message is (pure functions from bytes to facts);
- ``timeline``   what those facts mean for each case (pure: facts -> events -> case);
- ``store/``     where it is all kept (SQLite);
- ``ingest``     the shell that wires sources, recognizers and the store together;
- ``cli``        the command line, a thin layer over the above.

Note: the unrelated PyPI package ``python-daemon`` also installs a module named
``daemon``; casewatch does not use it and must not be installed beside it.
"""

__version__ = "0.1.0"
