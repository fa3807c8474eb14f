"""The canonical API's reads: a ticket, and its history (``canonical_base`` has the API's
conventions)."""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ticketing import service
from ticketing.dialects.canonical_base import DIALECT, client_of
from ticketing.dialects.canonical_views import render_entry, ticket_response
from ticketing.dialects.common import etag, validate
from ticketing.http import Request, Response, entrypoint


def get_ticket(request: Request, context: Any) -> Response:
    service.read_ahead(request.path_params.get("id"))
    client = client_of(request, with_catalog=True)
    ticket = service.get_ticket(request.path_params.get("id", ""), access=client.access)
    if request.header("if-none-match") == etag(ticket.version):
        return Response(304, None, headers={"ETag": etag(ticket.version)})
    return ticket_response(200, ticket)


class HistoryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=25, ge=1, le=100)
    cursor: Annotated[str, StringConstraints(max_length=512)] | None = None


def ticket_history(request: Request, context: Any) -> Response:
    service.read_ahead(request.path_params.get("id"))
    client = client_of(request)
    query = validate(HistoryQuery, request.query)
    ticket, entries, next_cursor = service.history(
        request.path_params.get("id", ""), access=client.access, limit=query.limit, cursor=query.cursor
    )
    headers = {}
    if next_cursor:
        headers["Link"] = f'</tickets/{ticket.id}/history?limit={query.limit}&cursor={next_cursor}>; rel="next"'
    return Response(
        200,
        {"ticket_id": ticket.id, "items": [render_entry(e) for e in entries], "next_cursor": next_cursor},
        headers=headers,
    )


get_handler = entrypoint(DIALECT, get_ticket)
history_handler = entrypoint(DIALECT, ticket_history)
