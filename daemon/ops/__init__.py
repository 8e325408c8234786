"""Running casewatch unattended: what a service needs besides the work itself.

notify.py   systemd's sd_notify protocol (READY, STATUS, WATCHDOG, STOPPING), no dependencies
logs.py     logging to stdout: human lines on a terminal, JSON lines for the journal, redacted
metrics.py  the health counts in Prometheus text format, written atomically for a textfile collector
"""
