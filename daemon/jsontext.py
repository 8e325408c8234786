"""JSON text as the command line prints it: exactly ``json.dumps(value, indent=2)``, made fast.

With an indent, ``json.dumps`` runs the pure-Python encoder over every value (a second for
ten thousand actions); here the containers are laid out in Python and every leaf and key is
encoded by the C encoder (``json.dumps`` without an indent), which writes the same text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TextIO

_leaf = json.JSONEncoder().encode  # the C encoder: ensure_ascii, allow_nan, like json.dumps


def indented(value: Any, pad: str = "\n") -> str:
    """``json.dumps(value, indent=2)`` with each line after the first prefixed by ``pad[1:]``
    (``pad`` is a newline and the indentation ``value`` starts at)."""
    inner = pad + "  "
    if isinstance(value, dict) and value:
        if not all(isinstance(k, str) for k in value):
            # Keys json turns into strings (numbers, booleans, None): its own encoder.
            return json.dumps(value, indent=2).replace("\n", pad)
        items = [f"{_leaf(k)}: {indented(v, inner)}" for k, v in value.items()]
        return "{" + inner + ("," + inner).join(items) + pad + "}"
    if isinstance(value, list | tuple) and value:
        return "[" + inner + ("," + inner).join([indented(v, inner) for v in value]) + pad + "]"
    return _leaf(value)


def write_list(items: Iterable[Any], out: TextIO) -> None:
    """Write ``json.dumps(list(items), indent=2)`` and a newline item by item, never the whole
    text at once (the items may be read from the store as they are written)."""
    sep = "[\n  "
    for item in items:
        out.write(sep)
        out.write(indented(item, "\n  "))
        sep = ",\n  "
    out.write("[]\n" if sep.startswith("[") else "\n]\n")
