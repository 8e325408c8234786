"""``python -m daemon`` is the same as the ``casewatch`` command."""

from daemon.cli import main

raise SystemExit(main())
