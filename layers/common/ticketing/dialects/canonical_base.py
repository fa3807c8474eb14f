"""The canonical ticket API's own conventions, shared by its routes: errors as RFC 9457
``application/problem+json``, Bearer tokens, dialect name ``canonical``.  The routes live by
what they do, so that each function imports only its own (issue 15: own imports):
``canonical_reads`` (GET), ``canonical_create``, ``canonical_patch``, ``canonical_tasks``,
``canonical_reference``, ``canonical_webhooks``; ``canonical_views`` renders a ticket, its tasks
and its history; ``canonical`` lists every route's ``OPERATIONS`` and its response documents."""

from http import HTTPStatus
from typing import Any

from pydantic import BaseModel, ConfigDict

from ticketing import auth
from ticketing.dialects.common import json_body
from ticketing.errors import BadRequest, DomainError, UnsupportedMediaType
from ticketing.http import BaseDialect, Request, Response

NAME = "canonical"
PROBLEM = "application/problem+json"
JSON_TYPES = {"application/json", "application/merge-patch+json", ""}


class Canonical(BaseDialect):
    name = NAME

    def render_error(self, error: DomainError, request: Request | None) -> Response:
        body: dict[str, Any] = {
            "type": f"urn:tickets:problem:{error.code}",
            "title": HTTPStatus(error.status).phrase,
            "status": error.status,
            "detail": error.message,
        }
        if request is not None:
            body["instance"] = request.path
            body["request_id"] = request.request_id
        if error.errors:
            body["errors"] = [{"field": e.field, "message": e.message} for e in error.errors]
        if "current_version" in error.detail:
            body["current_version"] = error.detail["current_version"]
        headers = {"WWW-Authenticate": 'Bearer realm="tickets"'} if error.status == 401 else {}
        return Response(error.status, body, headers=headers, content_type=PROBLEM)


DIALECT = Canonical()


def client_of(request: Request, *, with_catalog: bool = False) -> auth.Client:
    """The caller (``with_catalog``: a route that reads the status catalog next, ``auth.lookup_hash``)."""
    return auth.client_for(request.header("authorization"), NAME, with_catalog=with_catalog)


def json_object(request: Request) -> Any:
    if request.media_type not in JSON_TYPES:
        raise UnsupportedMediaType(f"Send the body as application/json, not {request.media_type}.")
    body = json_body(request)
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    return body


class ProblemDocument(BaseModel):
    """RFC 9457 problem details, as every canonical error is rendered."""

    model_config = ConfigDict(defer_build=True)  # for the OpenAPI document only

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[dict[str, str]] | None = None
    current_version: int | None = None
