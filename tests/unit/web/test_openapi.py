"""The OpenAPI document is true: the app's JSON routes, their methods, their very schemas."""
import json
import subprocess
import sys

import pytest

from chalicelib.web import members_api, openapi, partner_api, partner_pages, sign_in_api

JSON_PREFIXES = ("/api/", "/partner/", "/healthz")
# Documented too, though not JSON: the redirect behind every link of promotional e-mail.
LINK_ROUTES = {("/r/{token}", "get")}
METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
# The body schema each operation validates with: the module constant itself, not a copy.
BODY_SCHEMAS = {
    ("/api/v1/members", "post"): members_api.REGISTER,
    ("/api/v1/members/verify", "post"): members_api.VERIFY,
    ("/api/v1/session", "post"): members_api.LOGIN,
    ("/api/v1/me/consents", "put"): members_api.CONSENTS,
    ("/api/v1/me/preferences", "put"): members_api.PREFERENCES,
    ("/api/v1/me/snooze", "put"): members_api.SNOOZE,
    ("/api/v1/me", "delete"): members_api.DELETE_ME,
    ("/api/v1/me", "patch"): members_api.UPDATE_ME,
    ("/api/v1/me/password", "put"): members_api.CHANGE_PASSWORD,
    ("/api/v1/session/totp", "post"): sign_in_api.SECOND_FACTOR,
    ("/api/v1/session/passkey", "post"): sign_in_api.PASSKEY_SIGN_IN,
    ("/api/v1/me/passkeys", "post"): sign_in_api.ADD_PASSKEY,
    ("/api/v1/me/passkeys/options", "post"): sign_in_api.PASSWORD_ONLY,
    ("/api/v1/me/totp", "post"): sign_in_api.PASSWORD_ONLY,
    ("/api/v1/me/totp", "delete"): sign_in_api.DISABLE_TOTP,
    ("/api/v1/me/totp/confirm", "post"): sign_in_api.CODE_ONLY,
    ("/api/v1/me/totp/recovery-codes", "post"): sign_in_api.PASSWORD_ONLY,
    ("/api/v1/me/email", "post"): members_api.CHANGE_EMAIL,
    ("/api/v1/me/email/confirm", "post"): members_api.TOKEN_ONLY,
    ("/api/v1/me/email/undo", "post"): members_api.TOKEN_ONLY,
    ("/api/v1/consent-receipts/verify", "post"): members_api.VERIFY_RECEIPT,
    ("/api/v1/me/policy", "post"): members_api.CONFIRM_POLICY,
    ("/api/v1/password-reset", "post"): members_api.RESET,
    ("/api/v1/password-reset/confirm", "post"): members_api.RESET_CONFIRM,
    ("/api/v1/contact", "post"): members_api.CONTACT,
    ("/api/v1/partners/{partner_id}/contact", "post"): partner_pages.CONTACT,
    ("/partner/v1/transactions", "post"): partner_api.TRANSACTION,
    ("/partner/v1/transactions/{order_id}/reverse", "post"): partner_api.REVERSE,
    ("/partner/v1/promotions", "post"): partner_api.PROMOTION,
    ("/partner/v1/webhook", "put"): partner_api.WEBHOOK,
}


def _operations(document):
    return {(path, method): operation for path, item in document["paths"].items()
            for method, operation in item.items() if method in METHODS}


def test_every_json_route_is_documented_with_its_methods_and_nothing_else():
    from app import app

    routes = {(path, method.lower()) for path, entries in app.routes.items()
              if path.startswith(JSON_PREFIXES) for method in entries}
    assert LINK_ROUTES <= {(path, method.lower()) for path, entries in app.routes.items()
                           for method in entries}
    assert set(_operations(openapi.document())) == routes | LINK_ROUTES


def test_request_bodies_are_the_schemas_the_views_validate_with():
    operations = _operations(openapi.document())
    with_body = {key for key, op in operations.items() if "requestBody" in op}
    assert with_body == set(BODY_SCHEMAS)
    for key, schema in BODY_SCHEMAS.items():
        documented = operations[key]["requestBody"]["content"]["application/json"]["schema"]
        assert documented is schema, key


def test_responses_use_the_error_model_and_security_matches_the_route():
    for (path, method), op in _operations(openapi.document()).items():
        statuses = {int(s) for s in op["responses"]}
        assert statuses & ({302} if (path, method) in LINK_ROUTES else {200, 201, 202, 204}), (
            path, method)
        for status, response in op["responses"].items():
            if int(status) >= 400:
                assert response["content"]["application/json"]["schema"] is openapi.ERROR
        if "requestBody" in op:
            assert {400, 413, 415} <= statuses, (path, method)
        security = op.get("security")
        if path.startswith("/partner/"):
            assert security == [{"partnerKey": []}] and 401 in statuses
        elif security:
            assert security == [{"sessionCookie": []}] and 401 in statuses
    schemes = openapi.document()["components"]["securitySchemes"]
    assert schemes["partnerKey"] == {**schemes["partnerKey"], "type": "http", "scheme": "bearer"}
    assert schemes["sessionCookie"]["in"] == "cookie"
    assert schemes["sessionCookie"]["name"] == "__Host-eso_session"


@pytest.mark.parametrize("path", ["/api/v1/me", "/api/v1/me/consents", "/api/v1/offers"])
def test_member_only_routes_declare_the_session_cookie(path):
    item = openapi.document()["paths"][path]
    assert all(op["security"] == [{"sessionCookie": []}] for op in item.values())


def test_served_document_is_the_document(client):
    response = client.http.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json_body == json.loads(json.dumps(openapi.document()))
    assert response.json_body["openapi"].startswith("3.")


def test_the_document_is_a_valid_openapi_schema_for_schemathesis():
    import schemathesis

    schema = schemathesis.openapi.from_dict(json.loads(json.dumps(openapi.document())))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == len(_operations(openapi.document()))


def test_document_is_not_built_at_import():
    """Cold start: importing the app neither builds the document nor imports its module."""
    probe = "import sys, app; print('chalicelib.web.openapi' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, cwd=str(openapi.__file__).rsplit("/chalicelib/", 1)[0])
    assert out.stdout.strip() == "False"
