"""The skeleton's HTTP contract: health, visitor cookie, policy, errors, security headers."""
import json
import re

import pytest

from chalicelib.platform.assets import hashed_name
from chalicelib.platform.policy import POLICY_FILE
from chalicelib.web.cookies import VISITOR_COOKIE


def set_cookies(response):
    value = response.headers.get("set-cookie") or response.headers.get("Set-Cookie")
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def test_healthz_answers_ok(client):
    response = client.http.get("/healthz")
    assert response.status_code == 200
    assert response.json_body == {"status": "ok"}


def test_visitor_cookie_has_the_exact_attributes_of_the_spec(client):
    response = client.http.get("/healthz")
    cookies = [c for c in set_cookies(response) if c.startswith(VISITOR_COOKIE + "=")]
    assert len(cookies) == 1
    name_value, *attributes = [part.strip() for part in cookies[0].split(";")]
    value = name_value.split("=", 1)[1]
    assert re.fullmatch(r"[A-Za-z0-9_-]{24}", value)  # 144 random bits, URL-safe
    assert sorted(attributes) == sorted(
        ["Max-Age=31536000", "Path=/", "Secure", "HttpOnly", "SameSite=Lax"])
    assert not any(a.lower().startswith(("domain", "expires")) for a in attributes)


def test_visitor_cookie_values_are_unique(client):
    values = set()
    for _ in range(20):
        cookie = set_cookies(client.http.get("/healthz"))[0]
        values.add(cookie.split(";")[0])
    assert len(values) == 20


def test_a_valid_visitor_cookie_is_kept(client):
    headers = {"Cookie": f"{VISITOR_COOKIE}=AAAAAAAAAAAAAAAAAAAAAAAA"}
    assert set_cookies(client.http.get("/healthz", headers=headers)) == []


@pytest.mark.parametrize("bad", ["", "short", "a b c d e f g h i j k l m n", "é" * 30,
                                 "x" * 300, "<script>alert(1)</script>xxxxxxxxxxx"])
def test_a_malformed_visitor_cookie_gets_a_fresh_one(client, bad):
    response = client.http.get("/healthz", headers={"Cookie": f"{VISITOR_COOKIE}={bad}"})
    assert response.status_code == 200
    fresh = set_cookies(response)
    assert len(fresh) == 1 and fresh[0].startswith(VISITOR_COOKIE + "=")


def test_privacy_api_serves_the_policy_text_with_its_version(client):
    response = client.http.get("/api/v1/privacy")
    assert response.status_code == 200
    policy = response.json_body["policy"]
    assert policy["text"] == POLICY_FILE.read_text(encoding="utf-8")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", policy["version"])
    assert len(policy["sha256"]) == 64


@pytest.mark.parametrize("path", ["/", "/privacy", "/does-not-exist"])
def test_every_html_page_carries_the_security_headers(client, path):
    response = client.http.get(path, headers={"Accept": "text/html"})
    assert response.headers["Content-Type"].startswith("text/html")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]


def test_privacy_page_renders_the_policy(client):
    response = client.http.get("/privacy")
    html = response.body.decode()
    assert response.status_code == 200
    assert "<h1>Privacy Policy</h1>" in html
    assert "<h2>Information Requests</h2>" in html
    assert "Contact me with special offers and services" in html
    assert "Version 2026-11-28" in html


def test_home_page_has_a_cookie_notice_linking_to_the_policy(client):
    html = client.http.get("/").body.decode()
    assert 'class="cookie-notice"' in html and 'href="/privacy"' in html


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("path", ["/nope", "/api/v1/nope", "/api/v2/x/y", "/a/b/c/d/e"])
def test_unknown_paths_are_404_in_the_error_model(client, method, path):
    response = client.http.request(method, path, headers={"Accept": "application/json"},
                                   body=b"")
    assert response.status_code == 404
    assert response.json_body == {"error": {"code": "not_found",
                                            "message": "There is nothing at this path."}}


def test_unknown_page_for_a_browser_is_an_html_404(client):
    response = client.http.get("/no-such-page", headers={"Accept": "text/html,*/*"})
    assert response.status_code == 404
    assert "Page not found" in response.body.decode()


def test_wrong_method_on_a_known_path_uses_the_error_model(client):
    response = client.http.post("/healthz", body=b"{}", headers={"Content-Type": "application/json"})
    assert response.status_code == 405
    assert response.json_body["error"]["code"] == "method_not_allowed"


def _linked_assets(page_html: str) -> list:
    return re.findall(r'(?:href|src)="(/assets/[^"]+)"', page_html)


def test_pages_link_assets_by_content_hash_and_those_are_kept_a_year(client):
    page = client.http.get("/login", headers={"Accept": "text/html"}).body.decode()
    linked = _linked_assets(page)
    assert {re.sub(r"\.[0-9a-f]{12}\.", ".", url) for url in linked} >= {
        "/assets/site.css", "/assets/site.js", "/assets/passkeys.js"}
    for url in linked:
        response = client.http.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        name = url.rsplit("/", 1)[1]
        source = re.sub(r"\.[0-9a-f]{12}\.", ".", name)
        body = response.body if isinstance(response.body, bytes) else response.body.encode()
        assert name == hashed_name(source, body), "the name is the hash of what is served"
    css = client.http.get(next(u for u in linked if u.endswith(".css")))
    assert css.headers["Content-Type"].startswith("text/css")
    assert '<link rel="icon" href="data:image/svg+xml,' in page   # no request of its own


def _directives(csp: str) -> dict:
    return {d.split()[0]: d.split()[1:] for d in (p.strip() for p in csp.split(";")) if d}


def test_without_an_asset_origin_everything_is_same_origin(client, monkeypatch):
    monkeypatch.delenv("ESO_ASSETS_ORIGIN", raising=False)
    response = client.http.get("/login", headers={"Accept": "text/html"})
    page = response.body.decode()
    assert _linked_assets(page) and "https://" not in " ".join(
        re.findall(r'(?:href|src)="([^"]*/assets/[^"]*)"', page))
    policy = _directives(response.headers["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]


def test_with_an_asset_origin_pages_link_it_and_the_csp_allows_exactly_it(client, monkeypatch):
    origin = "https://d1234.cloudfront.net"
    monkeypatch.setenv("ESO_ASSETS_ORIGIN", origin)
    response = client.http.get("/login", headers={"Accept": "text/html"})
    page = response.body.decode()
    linked = re.findall(r'(?:href|src)="([^"]*/assets/[^"]+)"', page)
    assert len(linked) >= 3 and all(url.startswith(origin + "/assets/") for url in linked)
    policy = _directives(response.headers["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'", origin]
    assert policy["style-src"] == ["'self'", origin]
    assert origin in policy["img-src"]
    # nothing else is loosened: the API, forms, frames and the rest stay the site's own
    for name in ("default-src", "connect-src", "form-action"):
        assert policy[name] == ["'self'"], name
    assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]
    # JSON answers carry the same policy (one per stage, whatever the response)
    api = client.http.get("/healthz")
    assert api.headers["Content-Security-Policy"] == response.headers["Content-Security-Policy"]


@pytest.mark.parametrize("path", [
    "/assets/site.css",                    # the name without its hash
    "/assets/site.000000000000.css",       # an old or made-up hash
    "/assets/../app.py", "/assets/secret.txt", "/assets/site.py"])
def test_unhashed_old_and_unknown_asset_names_are_404(client, path):
    response = client.http.get(path)
    assert response.status_code == 404
    assert "immutable" not in response.headers.get("Cache-Control", "")


def test_favicon_ico_is_the_site_icon_not_a_404(client):
    response = client.http.get("/favicon.ico", headers={"Accept": "image/*,*/*;q=0.8"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/svg+xml"
    assert response.body.decode().startswith("<svg")
    assert "max-age=604800" in response.headers["Cache-Control"]


def test_error_bodies_are_json(client):
    response = client.http.get("/nope")
    assert json.loads(response.body)["error"]["code"] == "not_found"


def test_a_bad_asset_origin_setting_stops_a_request_before_it_does_anything(monkeypatch):
    # The setting is read before the route runs: a misconfigured stage refuses work rather
    # than doing it and then failing to answer.
    from chalicelib.platform.errors import SettingsError
    from chalicelib.web import middleware

    class Request:
        headers, context, lambda_context, method, path = {}, {}, None, "POST", "/api/v1/contact"
        query_params, uri_params = None, None

    ran = []
    monkeypatch.setenv("ESO_ASSETS_ORIGIN", "https://*.cloudfront.net")
    with pytest.raises(SettingsError):
        middleware.eso_http_middleware(Request(), lambda request: ran.append(request))
    assert ran == []


@pytest.mark.parametrize("path, counted", [
    ("/", True), ("/privacy", True), ("/admin", False), ("/admin/audit", False),
    ("/administer", True)])
def test_the_consoles_pages_are_not_visits_of_the_portal(path, counted):
    from chalicelib.web import middleware

    class Request:
        method, context = "GET", {}

        def to_original_event(self):
            return {"path": path}

    class Response:
        status_code, headers = 200, {"Content-Type": "text/html; charset=utf-8"}

    assert middleware._is_visit(Request(), Response()) is counted
