"""HTML to readable text: block elements end lines, table rows of label / value become
``label: value`` lines (how the vendor's notifications carry their fields). Pure.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from daemon.recognize.decoding import note

_WS = re.compile(r"\s+")


class _HtmlText(HTMLParser):
    """HTML to text: block elements end lines, table cells become ``a: b`` pairs."""

    BLOCKS = frozenset(
        [
            "p",
            "div",
            "br",
            "tr",
            "li",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "table",
            "blockquote",
            "pre",
            "hr",
            "ul",
            "ol",
            "dl",
            "dt",
            "dd",
            "section",
        ]
    )
    SKIP = frozenset(("script", "style", "head", "title"))

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.line: list[str] = []
        self.cells: list[str] | None = None
        self.skipping = 0

    def _flush(self) -> None:
        text = _WS.sub(" ", "".join(self.line)).strip()
        if text:
            self.lines.append(text)
        elif self.lines and self.lines[-1] != "":
            self.lines.append("")
        self.line = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag == "tr":
            self._flush()
            self.cells = []
        elif tag in ("td", "th") and self.cells is not None:
            self.cells.append("".join(self.line))
            self.line = []
        elif self.cells is not None and tag in self.BLOCKS:  # <p> inside a cell (Outlook)
            self.line.append(" ")
        elif tag in self.BLOCKS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag == "tr" and self.cells is not None:
            self.cells.append("".join(self.line))
            cells = [_WS.sub(" ", c).strip() for c in self.cells]
            cells = [c for c in cells if c]
            if len(cells) == 2 and not cells[0].endswith(":"):
                self.line = [f"{cells[0]}: {cells[1]}"]
            else:
                self.line = [" ".join(cells)]
            self.cells = None
            self._flush()
        elif self.cells is not None and tag in self.BLOCKS:
            self.line.append(" ")
        elif tag in self.BLOCKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.line.append(data)

    def text(self) -> str:
        self._flush()
        return "\n".join(self.lines).strip()


def html_to_text(markup: str, notes: list[str] | None = None) -> str:
    """Readable text from HTML; tables of label / value rows become ``label: value`` lines.
    Markup the parser cannot read has its tags stripped instead (said in ``notes``)."""
    parser = _HtmlText()
    try:
        parser.feed(markup)
        parser.close()
        return parser.text()
    except Exception as exc:  # HTMLParser on broken markup (AssertionError, ValueError, ...)
        if notes is not None:
            note(notes, f"HTML body unreadable ({type(exc).__name__}): tags stripped instead")
        return html.unescape(re.sub(r"<[^<>]*>", " ", markup))
