"""The site's static files under content-hashed names (``/assets/site.<hash>.css``).

A file's URL changes exactly when its content does, so browsers and CloudFront may keep it for a
year without asking again (``immutable``): a visit costs its pages only, not the stylesheet and
scripts each time. Where ``ESO_ASSETS_ORIGIN`` is set (the packaged deployment: the CloudFront
distribution in front of the assets bucket) pages link them on that origin. The names are
computed once per container, on the first page or asset request (a few small files, well under
a millisecond), from the bytes that are deployed.
"""
from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from chalicelib.platform.settings import get_settings

STATIC = Path(__file__).resolve().parent.parent / "static"
PREFIX = "/assets/"
# The files served, with their media types; nothing else under static/ is ever served.
MEDIA_TYPES = {
    "site.css": "text/css; charset=utf-8",
    "site.js": "text/javascript; charset=utf-8",
    "webauthn.js": "text/javascript; charset=utf-8",
    "passkeys.js": "text/javascript; charset=utf-8",
    "admin.css": "text/css; charset=utf-8",
    "admin.js": "text/javascript; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
HASH_LENGTH = 12  # hex digits of SHA-256: 48 bits, no collision among a handful of files
IMMUTABLE = "public, max-age=31536000, immutable"
# /favicon.ico cannot change its name: browsers that ask for it keep it a week.
FAVICON_CACHE = "public, max-age=604800"


@dataclass(frozen=True)
class Asset:
    """One static file: its source name, its hashed name, media type and bytes."""

    name: str
    hashed_name: str
    media_type: str
    body: bytes

    @property
    def url(self) -> str:
        return PREFIX + self.hashed_name


def hashed_name(name: str, body: bytes) -> str:
    """``site.css`` → ``site.<first 12 hex digits of SHA-256>.css``."""
    stem, dot, extension = name.rpartition(".")
    digest = hashlib.sha256(body).hexdigest()[:HASH_LENGTH]
    return f"{stem}.{digest}{dot}{extension}"


@functools.lru_cache(maxsize=1)
def manifest() -> dict:
    """Every served file by its source name, read and hashed once per container."""
    assets = {}
    for name, media_type in MEDIA_TYPES.items():
        body = (STATIC / name).read_bytes()
        assets[name] = Asset(name, hashed_name(name, body), media_type, body)
    return assets


@functools.lru_cache(maxsize=1)
def _by_hashed_name() -> dict:
    return {asset.hashed_name: asset for asset in manifest().values()}


def asset_url(name: str) -> str:
    """The URL pages use for ``name`` (a Jinja global): changes whenever the file does. On
    the asset origin (``ESO_ASSETS_ORIGIN``, the CloudFront distribution) when one is set,
    else on the pages' own origin."""
    return (get_settings().assets_origin or "") + manifest()[name].url


@functools.lru_cache(maxsize=1)
def favicon_data_url() -> str:
    """The site icon as a ``data:`` URL, for the pages' ``<link rel="icon">``: a first visit
    gets it with the page instead of asking for it separately (a few hundred bytes)."""
    svg = manifest()["favicon.svg"].body.decode("utf-8").strip()
    return "data:image/svg+xml," + quote(svg, safe=" /=:;,.-")


def find(hashed: str):
    """The asset whose current hashed name is ``hashed``, or None (old and unknown names)."""
    return _by_hashed_name().get(hashed)
