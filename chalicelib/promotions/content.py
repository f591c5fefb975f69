"""A promotion's content as members get it: partner HTML cleaned to an allowlist, the links it
holds, each variant's subject, text and HTML, and its links rewritten to go through ``/r/``.

Links are found once, when the promotion is created, and stored with it (``Promotion.links``):
the ``http``/``https`` targets of the HTML's ``<a href>`` and the URLs written in the text, in
order of first appearance across the promotion and its variants, each target once. A message
links to ``/r/<token>`` (``clicks.py``) in place of each stored target; a target the stored list
does not hold is left as written, so a promotion stored before links were recorded keeps its
links unchanged. The footer's links (unsubscribe, the member's choices, privacy policies) are
the templates' own and never rewritten.
"""
from __future__ import annotations

import re
from typing import Callable, Iterable, NamedTuple, Optional

from chalicelib.promotions.limits import MAX_VARIANTS

MAX_LINKS = 50             # different link targets in one promotion, variants included
MAX_LINK_LENGTH = 2_000    # characters of one target
VARIANT_LABELS = ("A", "B", "C")[:MAX_VARIANTS]
# URLs written in plain text: up to white space or a character that cannot end one; closing
# punctuation after it is the sentence's, not the URL's.
_TEXT_URL = re.compile(r"https?://[^\s<>\"'`{}|\\^]+", re.IGNORECASE)
_TRAILING = ".,;:!?'\")]}"
_LINK_SCHEMES = ("http://", "https://")
# What an <a href> of a promotion may be: a full http(s) address with its host, or mailto:.
# Anything else (``//host``, ``https:host``, a backslash, white space around or inside, a
# relative path) a browser may read another way than the review and the counting do.
_PROPER_HREF = re.compile(r"(?:https?://[^/\\\s?#@]+(?:[/?#][^\\\s]*)?|mailto:[^\\\s]+)\Z",
                          re.IGNORECASE)


class Content(NamedTuple):
    subject: str
    text: str
    html: Optional[str]


def _sanitise(html: str, attribute_filter=None) -> str:
    import nh3  # only where a promotion is created or rendered

    options = {"attribute_filter": attribute_filter} if attribute_filter else {}
    return nh3.clean(html, tags=nh3.ALLOWED_TAGS - {"img", "area", "map"},
                     url_schemes={"https", "http", "mailto"}, **options)


def clean_html(html: str) -> str:
    """Partner HTML as it may appear in eSO's mail: an allowlist of tags and attributes (nh3),
    re-serialised so no comment or open tag can hide the footer (unsubscribe link, postal
    address, privacy notice), and no images or styles: a remote image would tell the partner
    who opened the mail and when."""
    return _sanitise(html)


def improper_links(html: str) -> list:
    """The ``<a href>`` values of ``html`` that are not a full http(s) address or mailto:."""
    found = []

    def collect(tag, attribute, value):
        if tag == "a" and attribute == "href" and not _PROPER_HREF.match(value):
            found.append(value)
        return value

    _sanitise(html, collect)
    return found


def improper_text_links(text: str) -> list:
    """The addresses written in ``text`` that are not a full http(s) address (user info)."""
    return [url for url in text_links(text) if not _PROPER_HREF.match(url)]


def _is_link(url: str) -> bool:
    return url.lower().startswith(_LINK_SCHEMES)


def _trimmed(url: str) -> str:
    while url and url[-1] in _TRAILING:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break  # a URL's own parentheses (a wiki page's title)
        url = url[:-1]
    return url


def text_links(text: str) -> list:
    return [u for u in (_trimmed(m.group(0)) for m in _TEXT_URL.finditer(text)) if _is_link(u)]


def html_links(html: str) -> list:
    found = []

    def collect(tag, attribute, value):
        if tag == "a" and attribute == "href" and _is_link(value):
            found.append(value)
        return value

    _sanitise(html, collect)
    return found


def find_links(contents: Iterable[Content]) -> list:
    """The link targets of ``contents``, in order of first appearance, each once."""
    links: list = []
    for content in contents:
        for url in [*html_links(content.html or ""), *text_links(content.text)]:
            if url not in links:
                links.append(url)
    return links


def rewrite_text(text: str, links: list, url_for: Callable[[int], str]) -> str:
    """``text`` with each stored link target replaced by its ``url_for(index)``."""
    index = {url: i for i, url in enumerate(links)}

    def replace(match: re.Match) -> str:
        url = _trimmed(match.group(0))
        if url not in index:
            return match.group(0)
        return url_for(index[url]) + match.group(0)[len(url):]

    return _TEXT_URL.sub(replace, text)


def rewrite_html(html: str, links: list, url_for: Callable[[int], str]) -> str:
    """``html`` (already clean) with each ``<a href>`` of a stored target going to its
    ``url_for(index)``; cleaned again on the way, with the same allowlist."""
    index = {url: i for i, url in enumerate(links)}

    def replace(tag, attribute, value):
        if tag == "a" and attribute == "href" and value in index:
            return url_for(index[value])
        return value

    return _sanitise(html, replace)


def variant_count(promotion) -> int:
    """How many variants members are split into: 1 for a promotion without variants."""
    return len(promotion.variants or ()) or 1


def variant_label(variant: int) -> str:
    return VARIANT_LABELS[variant]


def variant_content(promotion, variant: Optional[int] = None) -> Content:
    """What variant ``variant`` says: its own subject, text and HTML, the promotion's where it
    gives none. ``None`` (or a promotion without variants): the promotion's own content."""
    if not promotion.variants or variant is None:
        return Content(promotion.subject, promotion.text, promotion.html)
    own = promotion.variants[variant]
    return Content(own.subject or promotion.subject, own.text or promotion.text,
                   own.html if own.html is not None else promotion.html)


def all_contents(promotion) -> list:
    """Every content members may get: the variants' when there are variants, else its own."""
    if promotion.variants:
        return [variant_content(promotion, v) for v in range(len(promotion.variants))]
    return [variant_content(promotion)]
