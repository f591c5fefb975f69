"""An e-mail's HTML as readable text for a terminal: paragraphs and line breaks kept, lists
as "- " lines, links as "text (url)", nothing of scripts or styles.

Python's ``html.parser`` is enough for the HTML eSO sends (its own templates around partner
HTML already cleaned to an allowlist); no browser-grade layout is attempted.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCKS = {"address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "figcaption",
           "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "li", "main",
           "nav", "ol", "p", "pre", "section", "table", "tbody", "thead", "tfoot", "tr", "ul"}
_SKIPPED = {"head", "script", "style", "template", "title"}
_SPACES = re.compile(r"[ \t\r\n\f\v]+")


class _Reader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.lines: list = [""]
        self.links: list = []   # (href, index of the line and column where its text began)
        self.lists: list = []   # "ul" / "ol" counters
        self.skipping = 0
        self.pre = 0

    # -- output --------------------------------------------------------------------------------

    def _write(self, text: str) -> None:
        if self.pre:
            parts = text.split("\n")
            self.lines[-1] += parts[0]
            self.lines.extend(parts[1:])
            return
        text = _SPACES.sub(" ", text)
        if not self.lines[-1] or self.lines[-1].endswith((" ", "\u00a0")):
            text = text.lstrip(" ")
        self.lines[-1] += text

    def _break(self, blank: bool = False) -> None:
        self.lines[-1] = self.lines[-1].rstrip(" ")
        if self.lines[-1]:
            self.lines.append("")
        if blank and len(self.lines) > 1 and self.lines[-2] != "":
            self.lines.append("")

    # -- parser events -------------------------------------------------------------------------

    def handle_starttag(self, tag, attrs):
        if tag in _SKIPPED:
            self.skipping += 1
            return
        if self.skipping:
            return
        attrs = dict(attrs)
        if tag == "br":
            self.lines[-1] = self.lines[-1].rstrip(" ")
            self.lines.append("")
        elif tag == "hr":
            self._break(blank=True)
            self.lines[-1] = "-" * 40
            self._break(blank=True)
        elif tag in ("ul", "ol"):
            self._break()
            self.lists.append([tag, 0])
        elif tag == "li":
            self._break()
            marker = "-"
            if self.lists and self.lists[-1][0] == "ol":
                self.lists[-1][1] += 1
                marker = f"{self.lists[-1][1]}."
            self.lines[-1] = "  " * max(len(self.lists) - 1, 0) + marker + " "
        elif tag in ("td", "th"):
            if self.lines[-1].strip():
                self.lines[-1] = self.lines[-1].rstrip(" ") + "  "
        elif tag == "img":
            alt = (attrs.get("alt") or "").strip()
            if alt:
                self._write(f"[image: {alt}]")
        elif tag in _BLOCKS:
            self._break(blank=tag in ("p", "blockquote", "table", "pre")
                        or tag.startswith("h"))
            if tag == "pre":
                self.pre += 1
        if tag == "a":
            self.links.append((attrs.get("href") or "", len(self.lines) - 1,
                               len(self.lines[-1])))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag == "a":
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag in _SKIPPED:
            self.skipping = max(self.skipping - 1, 0)
            return
        if self.skipping:
            return
        if tag == "a" and self.links:
            href, line, column = self.links.pop()
            label = "\n".join([self.lines[line][column:], *self.lines[line + 1:]]).strip()
            if href and not href.startswith("#") and href != label and \
                    href.removeprefix("mailto:") != label:
                self._write(f" ({href})" if label else href)
        elif tag in ("ul", "ol"):
            if self.lists:
                self.lists.pop()
            self._break(blank=not self.lists)
        elif tag == "pre":
            self.pre = max(self.pre - 1, 0)
            self._break(blank=True)
        elif tag in _BLOCKS:
            self._break(blank=tag in ("p", "blockquote", "table") or tag.startswith("h"))

    def handle_data(self, data):
        if not self.skipping:
            self._write(data)


def html_to_text(html: str) -> str:
    """Readable text of ``html``: blocks on their own lines, links as "text (url)"."""
    reader = _Reader()
    reader.feed(html or "")
    reader.close()
    lines = [line.rstrip() for line in reader.lines]
    text = "\n".join(lines).strip("\n")
    return re.sub(r"\n{3,}", "\n\n", text)
