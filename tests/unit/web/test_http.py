"""Request parsing: every malformed body is a 4xx domain error, never an exception."""
import pytest

from chalicelib.platform import errors
from chalicelib.web import errors as web_errors
from chalicelib.web import http

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["email"],
    "properties": {"email": {"type": "string", "maxLength": 20},
                   "consents": {"type": "object", "additionalProperties": False,
                                "properties": {"offers": {"type": "boolean"}}}},
}


class FakeRequest:
    def __init__(self, body: bytes, content_type="application/json"):
        self.raw_body = body
        self.headers = {"content-type": content_type} if content_type else {}


def test_a_valid_body_is_returned():
    assert http.json_body(FakeRequest(b'{"email": "a@b.c"}'), SCHEMA) == {"email": "a@b.c"}


def test_charset_parameter_is_accepted():
    request = FakeRequest(b'{"email": "x"}', "application/json; charset=utf-8")
    assert http.json_body(request, SCHEMA) == {"email": "x"}


@pytest.mark.parametrize("body, code, status, words", [
    (b"{not json", "invalid_json", 400, "not valid JSON"),
    (b"\xff\xfe", "invalid_text", 400, "not valid UTF-8"),
    (b"", "invalid_json", 400, "not valid JSON"),
    (b"[]", "invalid_request", 400, "must be object"),
    (b"{}", "invalid_request", 400, "Add the missing field email and try again."),
    (b'{"email": 5}', "invalid_request", 400, "email must be string"),
    (b'{"email": "a", "admin": true}', "invalid_request", 400, "unknown field: admin, and try again"),
    (b'{"email": "a", "consents": {"x": true}}', "invalid_request", 400,
     "Remove the unknown field in consents: x, and try again."),
    (b'{"email": "a", "consents": {"offers": "yes"}}', "invalid_request", 400,
     "consents.offers must be boolean"),
    (b'{"email": "' + b"a" * 30 + b'"}', "invalid_request", 400, "shorter than or equal to 20"),
    (b'{"email": "' + b"a" * 20000 + b'"}', "body_too_large", 413, "larger than"),
])
def test_malformed_bodies_are_refused_with_a_clear_message(body, code, status, words):
    with pytest.raises(errors.ValidationError) as caught:
        http.json_body(FakeRequest(body), SCHEMA)
    assert caught.value.code == code
    assert web_errors.status_for(caught.value) == status
    assert words in caught.value.message


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_other_media_types_are_415(content_type):
    with pytest.raises(errors.UnsupportedMediaTypeError) as caught:
        http.json_body(FakeRequest(b'{"email": "a"}', content_type), SCHEMA)
    assert web_errors.status_for(caught.value) == 415


def test_domain_errors_map_to_statuses_in_one_place():
    assert web_errors.status_for(errors.AuthenticationError("x")) == 401
    assert web_errors.status_for(errors.ForbiddenError("x")) == 403
    assert web_errors.status_for(errors.NotFoundError("x")) == 404
    assert web_errors.status_for(errors.ConflictError("x")) == 409
    assert web_errors.status_for(errors.UnprocessableError("x")) == 422
    limited = web_errors.json_error(errors.RateLimitedError("slow down", retry_after=30))
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "30"


def test_an_operator_mistake_is_a_500_without_detail():
    response = web_errors.json_error(errors.SettingsError("missing required setting ESO_X"))
    assert response.status_code == 500
    assert "ESO_X" not in response.body


def test_form_bodies_are_parsed():
    request = FakeRequest(b"a=1&b=&a=2&c=%C3%A9", "application/x-www-form-urlencoded")
    assert http.form_body(request) == {"a": "1", "b": "", "c": "é"}
