"""Domain errors.  Each dialect renders them in its own format, in one place."""

from __future__ import annotations

import re
from typing import NamedTuple


class FieldError(NamedTuple):
    """One field's error: where (a dotted path) and what."""

    field: str
    message: str


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, errors: list[FieldError] | None = None, **detail):
        super().__init__(message)
        self.message = message
        self.errors = errors or []
        self.detail = detail


class BadRequest(DomainError):
    status, code = 400, "bad_request"


class ValidationFailed(BadRequest):
    code = "validation_failed"


class LimitExceeded(BadRequest):
    """A relay limit (recipients per notice, notices per ticket, messages per client) would be
    passed: nothing was changed.  ``errors`` names the limit and the field that asked for it."""

    code = "limit_exceeded"


class Unauthenticated(DomainError):
    status, code = 401, "unauthenticated"


class Forbidden(DomainError):
    status, code = 403, "forbidden"


class NotFound(DomainError):
    status, code = 404, "not_found"


class Conflict(DomainError):
    status, code = 409, "conflict"


class PreconditionFailed(DomainError):
    status, code = 412, "precondition_failed"


class PayloadTooLarge(DomainError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(DomainError):
    status, code = 415, "unsupported_media_type"


class IdempotencyMismatch(DomainError):
    """The same Idempotency-Key was sent before with another request body."""

    status, code = 422, "idempotency_key_reused"


class Unavailable(DomainError):
    """The store stayed throttled or unreachable after retries; nothing was applied."""

    status, code = 503, "unavailable"


_UNSHOWN = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def quoted(value: object, limit: int = 64) -> str:
    """A caller's value in an error message: in single quotes, as it was sent (no Python
    escapes such as ``\\x01`` or doubled backslashes); control characters, line separators
    and lone surrogates shown as ``\\uXXXX``; at most ``limit`` characters."""
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return "'" + _UNSHOWN.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "'"
