"""The route: ``PUT /api/tickets/{ticket}`` ("Update a ticket"), and its OpenAPI declaration."""

from __future__ import annotations

import re
from typing import Any

from ticketing import auth, idempotency, service
from ticketing.commands import UpdateResult
from ticketing.dialects.common import actor_for, etag, if_match
from ticketing.dialects.docs import IDEMPOTENCY_KEY, IF_MATCH, Operation
from ticketing.dialects.spp.change import command_for, plan
from ticketing.dialects.spp.dialect import (
    DEFAULT_VERSION,
    DIALECT,
    NAME,
    PERMISSION,
    SUPPORTED_VERSIONS,
    VERSION_HEADER,
    check_version,
    invalid,
)
from ticketing.dialects.spp.rendering import render
from ticketing.dialects.spp.request import FORM_TYPE, SaveTicketRequest, in_field_order, read_body
from ticketing.dialects.spp.resources import SppError, SppTicketResource
from ticketing.errors import Forbidden, NotFound
from ticketing.grants import Access
from ticketing.http import Request, Response, entrypoint
from ticketing.model import Ticket
from ticketing.references import References

_TICKET_PATH = re.compile(r"^(?:[0-9]{1,10}|[0-9A-Fa-f]{8})$")  # numeric id or 8-hex number only


def find_ticket(identifier: str, access: Access) -> Ticket:
    """``{ticket}``: the ticket's 8-hex-digit number or its numeric id."""
    if not _TICKET_PATH.match(identifier):
        raise NotFound(f"Ticket {identifier} was not found.")
    return service.get_ticket(identifier, access=access)


def update_ticket(request: Request, context: Any) -> Response:
    check_version(request)
    service.read_ahead(request.path_params.get("ticket"))
    client = auth.client_for(request.header("authorization"), NAME, with_catalog=True)
    if not client.has_permission(PERMISSION):
        raise Forbidden("This action is unauthorized: the token lacks the ticket_management permission.")

    def run() -> Response:
        ticket = find_ticket(request.path_params.get("ticket", ""), client.access)
        body, given, errors = read_body(request)
        refs = References()
        term, more = plan(body, given, refs)  # the well-formed parameters are checked as well
        if errors or more:
            raise invalid(in_field_order(errors + more))
        earlier = service.messages(ticket)  # read before the write: the answer is rendered before it too

        def respond(result: UpdateResult) -> Response:
            updated = result.ticket
            added = result.changeset.messages if result.changeset and result.committed else []
            messages = sorted({m.seq: m for m in [*earlier, *added]}.values(), key=lambda m: m.seq)
            return Response(200, render(updated, refs, messages), headers={"ETag": etag(updated.version)})

        return service.update_ticket(
            ticket.id,
            command_for(body, given, term),
            actor_for(client, NAME, request),
            if_match=if_match(request),
            access=client.access,
            respond=respond,
            current=ticket,
        ).answer

    return idempotency.once(request, client.client_id, run, context, ticket_param="ticket")


update_handler = entrypoint(DIALECT, update_ticket)

_ERRORS = dict.fromkeys((400, 401, 403, 404, 409, 412, 413, 415, 422, 503), SppError)
OPERATIONS = [
    Operation(
        "PUT",
        "/api/tickets/{ticket}",
        "Update a ticket (SPP)",
        NAME,
        "bearer",
        SaveTicketRequest,
        request_media_types=("application/json", FORM_TYPE),
        responses={200: SppTicketResource, **_ERRORS},
        parameters=(
            {
                "name": VERSION_HEADER,
                "in": "header",
                "required": False,
                "schema": {"type": "string", "enum": list(SUPPORTED_VERSIONS)},
                "description": f"API version; default {DEFAULT_VERSION}. Any other value is a 400.",
            },
            IF_MATCH,
            IDEMPOTENCY_KEY,
        ),
        description=(
            "{ticket} is the ticket's 8-hex-digit number (E4A269FC) or its numeric id. Only the parameters "
            "present change; employees[]/tags[]/metadata[] are accepted for employees/tags/metadata. "
            "Requires the ticket_management permission."
        ),
    ),
]
