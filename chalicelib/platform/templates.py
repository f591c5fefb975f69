"""Jinja2 templates (pages and e-mails), the environment built once per container on first use."""
from __future__ import annotations

import functools
from pathlib import Path

from chalicelib.platform.assets import asset_url, favicon_data_url

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def possessive(name: str) -> str:
    """``name`` + "'s", or just an apostrophe after a final s ("Demo Office Supplies'")."""
    name = str(name)
    return f"{name}'" if name.endswith(("s", "S")) else f"{name}'s"


@functools.lru_cache(maxsize=1)
def _environment():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        # HTML is escaped; the .txt e-mail templates are plain text and must not be.
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["possessive"] = possessive
    env.globals["asset_url"] = asset_url
    env.globals["favicon_data_url"] = favicon_data_url
    return env


def render_text(template: str, **context) -> str:
    text = _environment().get_template(template).render(**context)
    # Input is checked to be text before it is stored; should anything older slip through, a
    # page or an e-mail still renders (a lone surrogate becomes "?") rather than fail.
    return text.encode("utf-8", "replace").decode("utf-8")


def add_filters(filters: dict | None = None, tests: dict | None = None) -> None:
    """Make formatting functions of a caller (e.g. the report's suppression rule) available
    to its templates as filters and tests."""
    env = _environment()
    env.filters.update(filters or {})
    env.tests.update(tests or {})
