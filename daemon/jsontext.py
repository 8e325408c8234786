"""JSON text as the command line prints it: exactly ``json.dumps(value, indent=2)``, made fast.

With an indent, ``json.dumps`` runs the pure-Python encoder over every value (a second for
ten thousand actions); here the containers are laid out in Python and every leaf and key is
encoded by the C encoder (``json.dumps`` without an indent), which writes the same text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any, TextIO

_leaf = json.JSONEncoder().encode  # the C encoder: ensure_ascii, allow_nan, like json.dumps
_text: Callable[[str], str] = json.encoder.encode_basestring_ascii  # what _leaf does with a str
_CONSTANTS = {None: "null", True: "true", False: "false"}


def indented(value: Any, pad: str = "\n") -> str:
    """``json.dumps(value, indent=2)`` with each line after the first prefixed by ``pad[1:]``
    (``pad`` is a newline and the indentation ``value`` starts at)."""
    kind = type(value)
    if kind is str:
        return _text(value)
    if kind is dict and value:
        inner = pad + "  "
        if not all(type(k) is str for k in value):
            # Keys json turns into strings (numbers, booleans, None): its own encoder.
            return json.dumps(value, indent=2).replace("\n", pad)
        items = [
            f"{_text(k)}: {_text(v) if type(v) is str else indented(v, inner)}" for k, v in value.items()
        ]
        return "{" + inner + ("," + inner).join(items) + pad + "}"
    if (kind is list or kind is tuple) and value:
        inner = pad + "  "
        if all(type(v) is str for v in value):  # e.g. addresses, case numbers: no recursion
            return "[" + inner + ("," + inner).join(map(_text, value)) + pad + "]"
        return "[" + inner + ("," + inner).join([indented(v, inner) for v in value]) + pad + "]"
    if kind is bool or value is None:
        return _CONSTANTS[value]
    if isinstance(value, dict | list | tuple) and value:
        # A subclass (a dict or list of another type): json's own encoder, shifted to ``pad``.
        return json.dumps(value, indent=2).replace("\n", pad)
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
