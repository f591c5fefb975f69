"""Helpers for the console's pages about ads, partners and members (tests/integration/operators)."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta

from chalicelib.operators import audit
from chalicelib.platform import clock
from chalicelib.web.cookies import VISITOR_COOKIE


def audit_about(target: str) -> list:
    """Today's and yesterday's audit entries about ``target`` (an ad, partner or member id)."""
    day = clock.now().date()
    found = audit.entries_of_day(day) + audit.entries_of_day(day - timedelta(days=1))
    return [e for e in found if e["target"] == target]


def actions_about(target: str) -> list:
    return sorted(e["action"] for e in audit_about(target))


def new_visitor() -> dict:
    """The Cookie header of a browser ads have never seen."""
    return {"Cookie": f"{VISITOR_COOKIE}={uuid.uuid4().hex}{uuid.uuid4().hex[:8]}"}


def location_id(answer, prefix: str) -> str:
    """The id in a redirect to ``prefix<id>`` (``?…`` dropped)."""
    assert answer.status_code == 303, (answer.status_code, answer.body[:2000])
    match = re.fullmatch(re.escape(prefix) + r"([^/?]+)(\?.*)?", answer.headers["Location"])
    assert match, answer.headers["Location"]
    return match.group(1)


def posts_under(app, prefix: str) -> list:
    """Every POST route of the app under ``prefix``."""
    return sorted(path for path, methods in app.routes.items()
                  if path.startswith(prefix) and "POST" in methods)
