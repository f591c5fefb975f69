"""Helpers for browser tests: signed-in contexts, phone and desktop viewports, axe-core."""
from __future__ import annotations

from pathlib import Path

from tests.integration.helpers import PASSWORD

ROOT = Path(__file__).resolve().parents[2]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
VIEWPORTS = {"390px": PHONE, "1280px": DESKTOP}

AXE = ROOT / ".local" / "node" / "node_modules" / "axe-core" / "axe.min.js"
# The rules of WCAG 2.0, 2.1 and 2.2, levels A and AA.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
BLOCKING = ("serious", "critical")


def log_in(context, base: str, email: str, password: str = PASSWORD) -> None:
    """Sign the browser context in through the JSON API (it shares the context's cookies)."""
    response = context.request.post(base + "/api/v1/session",
                                    data={"email": email, "password": password})
    assert response.status == 200, response.text()


def open_every_details(page) -> None:
    page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")


def horizontal_overflow(page) -> dict | None:
    """None when the page fits its viewport's width; else the widths and the widest elements."""
    return page.evaluate("""() => {
        const root = document.documentElement;
        if (root.scrollWidth <= window.innerWidth) return null;
        const wide = [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
            .slice(0, 5)
            .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                 + (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ').join('.') : '')
                 + ' right=' + Math.round(e.getBoundingClientRect().right));
        return {scrollWidth: root.scrollWidth, innerWidth: window.innerWidth, widest: wide};
    }""")


def axe_violations(page) -> list:
    """axe-core's serious and critical WCAG 2.x A/AA violations on the page as it is now."""
    assert AXE.is_file(), f"{AXE} is missing: run scripts/install-local-servers.sh (make install)"
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""tags => axe.run(document, {runOnly: {type: 'tag', values: tags},
                                                      resultTypes: ['violations']})""", WCAG_TAGS)
    return [v for v in result["violations"] if v["impact"] in BLOCKING]


def describe(violations: list) -> str:
    """Violations as lines a person can act on: rule, impact, what, and where."""
    lines = []
    for v in violations:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:5]:
            lines.append(f"      at {' '.join(node['target'])}: {node['failureSummary']}"
                         .replace("\n", " "))
    return "\n".join(lines)


OPERATOR_PASSWORD = "quiet harbour lantern 2026 operator"


def set_up_operator_with_app(page, base: str, email: str) -> str:
    """Add an operator as the CLI does and set it up in ``page`` with an authenticator app:
    the browser ends signed in to the console. Returns the app's secret."""
    import re

    import pyotp

    from chalicelib import operators

    link = operators.add(email)["setup_url"]
    page.goto(base + link[link.index("/admin/setup"):])
    page.fill("#password", OPERATOR_PASSWORD)
    with page.expect_navigation():
        page.click("#admin-setup button[type=submit]")
    secret = page.locator("#totp-secret").inner_text()
    assert re.fullmatch(r"[A-Z2-7]+", secret)
    page.fill("#code", pyotp.TOTP(secret).now())
    with page.expect_navigation():
        page.click("#admin-totp button[type=submit]")
    assert page.locator("#recovery-codes li").count() == 10
    return secret
