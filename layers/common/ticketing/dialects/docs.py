"""What each route accepts and answers, declared beside the code that does it.

Every adapter lists its ``Operation``s in ``OPERATIONS``; ``devkit.openapi`` builds
the OpenAPI document from them, with the schemas of the very pydantic models that
validate the requests, so the document cannot drift from the code.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple


class Operation(NamedTuple):
    """One route as the OpenAPI document tells it."""

    method: str
    path: str
    summary: str
    dialect: str
    security: str  # a key of devkit.openapi.SECURITY_SCHEMES: "bearer" | "basic"
    request: Any = None  # a pydantic model class, or a JSON schema dict
    request_media_types: tuple[str, ...] = ("application/json",)
    responses: Mapping[int, Any] = MappingProxyType({})  # status -> model class | schema dict | None
    response_media_types: tuple[str, ...] = ("application/json",)
    error_media_types: tuple[str, ...] = ()  # for 4xx/5xx bodies, when not response_media_types
    parameters: tuple[dict[str, Any], ...] = ()  # extra OpenAPI parameter objects (query, header)
    description: str = ""


# Header parameters several routes share (a route's own wording: ``variant``).
IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": 'The ticket version the change applies to, e.g. "3" (412 if it is no longer current).',
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": "Replays the first successful result of this key, for this client, for 24 hours.",
}


def variant(parameter: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A shared parameter with some of its keys changed for one route, e.g.
    ``variant(IDEMPOTENCY_KEY, description="Replays the first answer to this batch ...")``."""
    return {**parameter, **changes}
