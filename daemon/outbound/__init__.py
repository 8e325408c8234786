"""How mail goes out: what a cycle sends is planned, rendered and composed into messages,
and a transport (``transports.py``) hands each message to an SMTP server or writes it as an
``.eml`` file (``folder.py``); ``failures.py`` holds the send failures, temporary or permanent.
"""
