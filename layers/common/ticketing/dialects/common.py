"""Helpers every dialect adapter uses (none of them branches on a dialect)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from ticketing.errors import FieldError, PreconditionFailed, ValidationFailed
from ticketing.http import Request
from ticketing.model import Actor


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
    """Validate ``data`` against ``model``; a ValidationFailed naming every bad field."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        errors = field_errors(err, alias=alias)
        summary = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
        raise ValidationFailed(f"The request is invalid: {summary}.", errors=errors) from err


def if_match(request: Request) -> int | None:
    """The version an ``If-Match`` header demands (``"3"``, ``W/"3"`` or ``3``)."""
    raw = request.header("if-match")
    if raw is None or raw.strip() == "*":
        return None
    value = raw.strip()
    if value.startswith("W/"):
        value = value[2:]
    value = value.strip('"')
    if not value.isdigit():
        raise PreconditionFailed(f"If-Match {raw!r} names no version of this ticket.")
    return int(value)


def etag(version: int) -> str:
    return f'"{version}"'
