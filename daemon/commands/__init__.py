"""Reply commands: what staff write on the first lines of a reply to casewatch, and what it does.

``grammar`` reads the commands from the new text of a reply (pure).
"""
