"""Domain exceptions. No HTTP here: ``chalicelib.web.http`` maps each to a status code.

Every error carries a stable snake_case ``code`` (part of the API contract) and a message
written for the person who will read it.
"""
from __future__ import annotations


class EsoError(Exception):
    """Base of every error the product raises on purpose."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field  # the request field at fault, when one is
        if code is not None:
            self.code = code


class SettingsError(EsoError):
    """A required setting is missing or malformed (an operator's mistake, not a user's)."""

    code = "configuration"


class ValidationError(EsoError):
    """The request is malformed: wrong type, missing or unknown field, bad value."""

    code = "invalid_request"


class UnsupportedMediaTypeError(ValidationError):
    code = "unsupported_media_type"


class PayloadTooLargeError(ValidationError):
    code = "body_too_large"


class NotFoundError(EsoError):
    code = "not_found"


class ConflictError(EsoError):
    code = "conflict"


class UnprocessableError(EsoError):
    """Well-formed but refers to something that cannot be used (e.g. another partner's click)."""

    code = "unprocessable"


class AuthenticationError(EsoError):
    code = "not_authenticated"


class ForbiddenError(EsoError):
    code = "forbidden"


class RateLimitedError(EsoError):
    code = "too_many_attempts"

    def __init__(self, message: str, *, retry_after: int = 60, code: str | None = None):
        super().__init__(message, code=code)
        self.retry_after = retry_after


class UnavailableError(EsoError):
    """A dependency is throttling or down; the request may be retried later."""

    code = "unavailable"

    def __init__(self, message: str, *, retry_after: int = 1):
        super().__init__(message)
        self.retry_after = retry_after
