"""Server-rendered HTML pages (Jinja2, autoescaped), built once per container on first use."""
from __future__ import annotations

import functools
from pathlib import Path

from chalice import Response

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
HTML = "text/html; charset=utf-8"


@functools.lru_cache(maxsize=1)
def _environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        # HTML is escaped; the .txt e-mail templates are plain text and must not be.
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_text(template: str, **context) -> str:
    text = _environment().get_template(template).render(**context)
    # Input is checked to be text before it is stored; should anything older slip through, a
    # page or an e-mail still renders (a lone surrogate becomes "?") rather than fail.
    return text.encode("utf-8", "replace").decode("utf-8")


def page(template: str, status_code: int = 200, headers: dict | None = None,
         **context) -> Response:
    """An HTML response; pages are private to the browser that asked for them."""
    all_headers = {"Content-Type": HTML, "Cache-Control": "no-store"}
    all_headers.update(headers or {})
    return Response(body=render_text(template, **context), status_code=status_code,
                    headers=all_headers)


def redirect(location: str, headers: dict | None = None, status_code: int = 303) -> Response:
    """A redirect to a path of this site (never to a location taken from the request)."""
    if not location.startswith("/") or location.startswith("//"):
        raise ValueError("redirects stay on this site")
    all_headers = {"Location": location, "Cache-Control": "no-store"}
    all_headers.update(headers or {})
    return Response(body="", status_code=status_code, headers=all_headers)
