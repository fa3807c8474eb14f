"""The routes: ``POST /api/Tickets/WorkflowPush`` and ``GET /api/Tickets/GetTicket/{id}``, and
their Lambda handlers.  Auth: ``Authorization: Bearer <token>``."""

from __future__ import annotations

from typing import Any

from ticketing import auth, idempotency, ids, service
from ticketing.dialects.common import actor_for
from ticketing.dialects.servicedesk import push
from ticketing.dialects.servicedesk.body import named_tickets, parse_post
from ticketing.dialects.servicedesk.dialect import DIALECT, NAME, PUSH_DIALECT, respond
from ticketing.dialects.servicedesk.results import push_result, ticket_result
from ticketing.errors import NotFound, quoted
from ticketing.http import Request, Response, entrypoint
from ticketing.workflow import get_workflow


def workflow_push(request: Request, context: Any) -> Response:
    for identifier in named_tickets(request):
        service.read_ahead(identifier)
    client = auth.client_for(request.header("authorization"), NAME, with_catalog=True)

    def run() -> Response:
        workflow = get_workflow()
        post = parse_post(request, workflow)
        ticket = service.get_ticket(post.identifier(), access=client.access)
        return service.update_ticket(
            ticket.id,
            push.command(workflow, post, ticket),
            actor_for(client, NAME, request),
            access=client.access,
            respond=lambda result: respond(200, *push_result(result.ticket)),
            current=ticket,
        ).answer

    return idempotency.once(request, client.client_id, run, context)


def get_ticket(request: Request, context: Any) -> Response:
    service.read_ahead(request.path_params.get("id"))
    client = auth.client_for(request.header("authorization"), NAME, with_catalog=True)
    raw = request.path_params.get("id", "").strip()
    parsed = ids.parse(raw)
    if parsed is None or not ((raw.isascii() and raw.isdigit()) or parsed.ref_prefix is not None):
        raise NotFound(f"Ticket {quoted(raw)} was not found: give its TicketId or TicketREF.")
    ticket = service.get_ticket(raw, access=client.access)
    return respond(200, *ticket_result(ticket))


workflow_push_handler = entrypoint(PUSH_DIALECT, workflow_push)
get_ticket_handler = entrypoint(DIALECT, get_ticket)
