"""Request parsing and JSON responses (the error map is ``chalicelib.web.errors``)."""
from __future__ import annotations

import json
import re
from typing import Any, Optional
from urllib.parse import parse_qs

from chalice import Response

from chalicelib.platform import errors
from chalicelib.platform.text import check_text

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
MAX_BODY_BYTES = 16 * 1024
# Routes accept any media type and check it themselves, so a wrong one gets the error model.
ANY_CONTENT = ["*/*"]
# What a 5xx says: never the detail (that is logged), always what to do.
INTERNAL_ERROR = "Something went wrong on our side. Try again in a few minutes."

def error_body(code: str, message: str, field: str | None = None) -> dict:
    error = {"code": code, "message": message}
    if field:
        error["field"] = field
    return {"error": error}


def json_response(body: Any, status_code: int = 200, headers: Optional[dict] = None) -> Response:
    all_headers = {"Content-Type": JSON, "Cache-Control": "no-store"}
    all_headers.update(headers or {})
    return Response(body=json.dumps(body, separators=(",", ":")), status_code=status_code,
                    headers=all_headers)


def error_response(code: str, message: str, status_code: int,
                   headers: Optional[dict] = None, field: str | None = None) -> Response:
    return json_response(error_body(code, message, field), status_code, headers)


# --- request bodies ----------------------------------------------------------------------------

_validators: dict = {}


def _validator(schema: dict):
    key = id(schema)
    validator = _validators.get(key)
    if validator is None:
        import fastjsonschema  # only paths that take a body pay for it

        validator = _validators[key] = (fastjsonschema.compile(schema), fastjsonschema)
    return validator


def _field(exc) -> str | None:
    """The offending field as the text checks name it: ``variants[1].subject``."""
    field = "".join(f"[{p}]" if str(p).isdigit() else f".{p}" for p in exc.path[1:])
    return field.lstrip(".") or None


def _friendly(exc) -> str:
    field = _field(exc) or "body"
    if exc.rule == "required":
        missing = re.findall(r"'([^']+)'", exc.message) or [field]
        prefix = "" if field == "body" else f"{field}."
        names = ", ".join(prefix + name for name in missing)
        return f"Add the missing field{'s' if len(missing) > 1 else ''} {names} and try again."
    if exc.rule == "additionalProperties":
        unknown = re.findall(r"'([^']+)'", exc.message)
        where = "" if field == "body" else f" in {field}"
        return (f"Remove the unknown field{'s' if len(unknown) > 1 else ''}{where}: "
                f"{', '.join(unknown)}, and try again.")
    problem = exc.message.replace("data.", "", 1).replace("data ", "body ", 1)
    return f"The request is not valid: {problem}. Correct it and try again."


def validate(data: Any, schema: dict) -> dict:
    """Check ``data`` against a JSON Schema; raise ValidationError with a readable message."""
    validator, module = _validator(schema)
    try:
        return validator(data)
    except module.JsonSchemaValueException as exc:
        raise errors.ValidationError(_friendly(exc), field=_field(exc)) from None


def check_json_text(data: Any, schema: dict, path: str = "") -> None:
    """Every string (and key) of ``data`` is text; multi-line only where the schema says
    ``x-multiline``. Runs before schema validation, so bad text is always ``invalid_text``."""
    if isinstance(data, str):
        check_text(data, path or "body", multiline=bool(schema.get("x-multiline")))
    elif isinstance(data, dict):
        properties = schema.get("properties") or {}
        for key, value in data.items():
            where = f"{path}.{key}" if path else str(key)
            check_text(key, where)
            check_json_text(value, properties.get(key) or {}, where)
    elif isinstance(data, list):
        items = schema.get("items") or {}
        for i, value in enumerate(data):
            check_json_text(value, items, f"{path}[{i}]" if path else f"[{i}]")


def raw_body(request, max_bytes: int = MAX_BODY_BYTES) -> bytes:
    body = request.raw_body or b""
    if len(body) > max_bytes:
        raise errors.PayloadTooLargeError(f"The request body is larger than {max_bytes} bytes. Send less.")
    return body


def media_type(request) -> str:
    return (request.headers.get("content-type") or "").split(";")[0].strip().lower()


def json_body(request, schema: dict, max_bytes: int = MAX_BODY_BYTES) -> dict:
    """The request's JSON object, validated against ``schema`` (unknown fields refused)."""
    if media_type(request) != JSON:
        raise errors.UnsupportedMediaTypeError("Send the body as application/json.")
    body = raw_body(request, max_bytes)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.ValidationError("The body is not valid UTF-8 text. Send it as UTF-8.", code="invalid_text",
                                     field="body") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: deep nesting
        raise errors.ValidationError("The body is not valid JSON. Correct it and try again.", code="invalid_json") from None
    check_json_text(data, schema)
    return validate(data, schema)


def form_body(request, multiline: tuple = ()) -> dict:
    """An HTML form's fields (first value of each), each checked to be text; only the fields
    named in ``multiline`` may hold line breaks."""
    body = raw_body(request)
    try:
        text = body.decode("utf-8")
        pairs = parse_qs(text, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise errors.ValidationError("The form is not valid UTF-8 text. Reload the page and try again.",
                                     code="invalid_text") from None
    fields = {}
    for key, values in pairs.items():
        check_text(key, "form")
        fields[key] = check_text(values[0], key, multiline=key in multiline)
    return fields


def request_path(request) -> str:
    """The path the client asked for (``request.path`` is the route template in Chalice)."""
    event = request.to_original_event()
    return event.get("path") or event.get("requestContext", {}).get("path") or request.path


def client_address(request) -> str:
    return ((request.context or {}).get("identity") or {}).get("sourceIp") or "unknown"


def query_param(request, name: str) -> Optional[str]:
    params = request.query_params or {}
    return params.get(name)
