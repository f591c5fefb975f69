"""HTML responses: server-rendered pages (templates from ``platform.templates``) and redirects."""
from __future__ import annotations

from chalice import Response

HTML = "text/html; charset=utf-8"


def page(template: str, status_code: int = 200, headers: dict | None = None,
         **context) -> Response:
    """An HTML response; pages are private to the browser that asked for them."""
    all_headers = {"Content-Type": HTML, "Cache-Control": "no-store"}
    all_headers.update(headers or {})
    from chalicelib.platform.templates import render_text  # with the first page, not at import

    return Response(body=render_text(template, **context), status_code=status_code,
                    headers=all_headers)


def redirect(location: str, headers: dict | None = None, status_code: int = 303) -> Response:
    """A redirect to a path of this site (never to a location taken from the request)."""
    if not location.startswith("/") or location.startswith("//"):
        raise ValueError("redirects stay on this site")
    all_headers = {"Location": location, "Cache-Control": "no-store"}
    all_headers.update(headers or {})
    return Response(body="", status_code=status_code, headers=all_headers)


def qr_code(text: str) -> str:
    """``text`` as a QR code, an SVG ``data:`` URI for an ``<img>`` (the CSP allows data images;
    segno is small, pure Python, and loaded only when a QR code is drawn)."""
    import segno

    return segno.make(text, error="m").svg_data_uri(scale=4, light="#fff")
