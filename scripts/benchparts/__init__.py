"""The pieces of ``scripts/bench.py`` (``make bench``): generated stores and mail, the daemon's
ticks, the command line, the backfill, and the machine. Each part measures; none asserts."""
