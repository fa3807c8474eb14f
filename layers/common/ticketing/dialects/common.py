"""Helpers every dialect adapter uses (none of them branches on a dialect)."""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ValidationError

from ticketing.errors import BadRequest, FieldError, PreconditionFailed, ValidationFailed, quoted
from ticketing.http import Request
from ticketing.model import Actor

# What DynamoDB keeps of a JSON value (free-form fields such as ``metadata``): numbers of at
# most 38 digits within its magnitude range, finite; map keys not empty; text without lone
# surrogates; 32 levels of nesting in an item, where a field's value sits up to 3 levels
# down (an audit entry's change), hence 16 for the value itself.
MAX_NESTING = 16
MAX_NUMBER_DIGITS = 38


def merge_patch(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``current`` with ``changes`` merged key by key (RFC 7396 at the top level): a null
    value removes its key, any other replaces it."""
    merged = dict(current)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def actor_for(client: Any, dialect: str, request: Request) -> Actor:
    return Actor(client_id=client.client_id, name=client.name, dialect=dialect, request_id=request.request_id)


def field_errors(err: ValidationError, *, alias: dict[str, str] | None = None) -> list[FieldError]:
    out = []
    for e in err.errors(include_url=False):
        loc = ".".join(str(p) for p in e["loc"] if p != "__root__") or "body"
        if alias:
            loc = alias.get(loc, loc)
        out.append(FieldError(loc, e["msg"]))
    return out


def validate(model: type[BaseModel], data: Any, *, alias: dict[str, str] | None = None) -> Any:
    """Validate ``data`` against ``model``; a ValidationFailed naming every bad field,
    values the store cannot keep (``storable_errors``) included."""
    try:
        result = model.model_validate(data)
    except ValidationError as err:
        errors = field_errors(err, alias=alias)
        summary = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
        raise ValidationFailed(f"The request is invalid: {summary}.", errors=errors) from err
    errors = storable_errors(result, alias=alias)
    if errors:
        summary = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
        raise ValidationFailed(f"The request is invalid: {summary}.", errors=errors)
    return result


def utf8(text: str) -> bool:
    """Text that can be stored and answered: no lone surrogates (JSON's "\\ud800")."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, as JSON's \\ud800 parses
        return False
    return True


def unstorable(value: Any, depth: int = 0) -> str | None:
    """Why DynamoDB cannot keep ``value`` as it is, or None when it can."""
    if depth > MAX_NESTING:
        return f"is nested deeper than {MAX_NESTING} levels"
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not key:
                return "has an empty key"
            if not utf8(key):
                return "has a key that is not valid Unicode text"
            reason = unstorable(item, depth + 1)
            if reason:
                return reason
        return None
    if isinstance(value, (list, tuple, set, frozenset)):
        return next((r for r in (unstorable(v, depth + 1) for v in value) if r), None)
    if isinstance(value, str):
        return None if utf8(value) else "holds text that is not valid Unicode (a lone surrogate)"
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if len(str(abs(value))) > MAX_NUMBER_DIGITS:
            return f"holds a number of more than {MAX_NUMBER_DIGITS} digits"
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return "holds a number that is not finite"
        if value != 0 and not 1e-129 < abs(value) < 1e125:
            return "holds a number out of range (magnitude 1e-129 to 1e125)"
    return None  # None, datetimes and the other values pydantic writes as text


def storable_errors(model: BaseModel, *, alias: dict[str, str] | None = None) -> list[FieldError]:
    """The fields of a validated request whose value the store cannot keep (an error, not a 500)."""
    errors = []
    for name, value in model.model_dump().items():
        reason = unstorable(value)
        if reason:
            field = (alias or {}).get(name, name)
            errors.append(FieldError(field, reason))
    return errors


def json_body(request: Request) -> Any:
    """``request.json()`` (None for an empty body), refusing what parses but is not text that
    can be kept or answered: nesting too deep for the parser, lone surrogates (JSON's ``\\ud800``)."""
    try:
        data = request.json()
    except RecursionError as err:
        raise BadRequest("The request body is not valid JSON: it is nested too deeply.") from err
    stack = [data]
    while stack:  # iterative: the value may be nested as deep as the parser allows
        value = stack.pop()
        if isinstance(value, str):
            if not utf8(value):
                raise BadRequest("The request body is not valid JSON text: it holds a lone surrogate (\\ud800).")
        elif isinstance(value, dict):
            stack.extend(value)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return data


def if_match(request: Request) -> int | None:
    """The version an ``If-Match`` header demands (``"3"``, ``W/"3"`` or ``3``)."""
    raw = request.header("if-match")
    if raw is None or raw.strip() == "*":
        return None
    value = raw.strip()
    if value.startswith("W/"):
        value = value[2:]
    value = value.strip('"')
    if not (value.isascii() and value.isdigit()):
        raise PreconditionFailed(f"If-Match {quoted(raw)} names no version of this ticket.")
    return int(value)


def etag(version: int) -> str:
    return f'"{version}"'
