"""The canonical API's ``POST /tickets``: create a ticket, exactly once under an
``Idempotency-Key`` (``canonical_base`` has the API's conventions)."""

from typing import Any

from pydantic import ConfigDict

from ticketing import idempotency, service
from ticketing.dialects.canonical_base import DIALECT, NAME, client_of, json_object
from ticketing.dialects.canonical_views import ticket_response
from ticketing.dialects.common import actor_for, validate
from ticketing.http import Request, Response, entrypoint
from ticketing.moments import UtcDateTime
from ticketing.new_ticket import NewTicket


class NewTicketBody(NewTicket):
    """What a new ticket may be given.  Unknown fields are refused, not ignored."""

    model_config = ConfigDict(defer_build=False)  # the request's validator: built at import

    follow_up_at: UtcDateTime | None = None  # with its offset; kept in UTC, within ticketing.moments' range


def create_ticket(request: Request, context: Any) -> Response:
    client = client_of(request, with_catalog=True)

    def run() -> Response:
        spec = validate(NewTicketBody, json_object(request))
        ticket = service.create_ticket(spec, actor_for(client, NAME, request), access=client.access)
        return ticket_response(201, ticket, Location=f"/tickets/{ticket.id}")

    return idempotency.once(request, client.client_id, run, context)


create_handler = entrypoint(DIALECT, create_ticket)
