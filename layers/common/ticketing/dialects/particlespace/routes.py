"""The handler of ``PUT /api/v1/ticket/{id}`` and ``PUT /api/v1/ticket/update/{id}`` (one
operation, one function): the request's command, through ``service.update_ticket``."""

from __future__ import annotations

import re
from typing import Any

from ticketing import auth, idempotency, service
from ticketing.catalog import get_catalog
from ticketing.commands import ChangeSet, OutboxItem
from ticketing.dialects.common import actor_for, if_match
from ticketing.dialects.particlespace import NAME
from ticketing.dialects.particlespace.notices import notify_notice
from ticketing.dialects.particlespace.render import DIALECT, render
from ticketing.dialects.particlespace.request import parse
from ticketing.errors import NotFound
from ticketing.http import Request, Response, entrypoint
from ticketing.model import Notify, Ticket, stay_key

_ID_RE = re.compile(r"^(tic_[0-9a-z]{7}|[0-9]{1,10})$")


def update_ticket(request: Request, context: Any) -> Response:
    service.read_ahead(request.path_params.get("id"))
    client = auth.client_for(request.header("authorization"), NAME, with_catalog=True)

    def run() -> Response:
        flows = get_catalog().vocabulary(NAME)
        body = parse(request, flows)
        term = flows.lookup(body.status)
        identifier = request.path_params.get("id", "")
        if not _ID_RE.match(identifier):
            raise NotFound(f"Ticket {identifier} was not found.")

        def command(ticket: Ticket, cs: ChangeSet) -> None:
            asked = ticket.notify.notice if ticket.notify is not None else None
            ticket.title = body.title
            ticket.description = body.description
            current = flows.for_status(ticket.status, ticket.sub_status)
            if current is None or current.term != term.term:  # already in that flow: keep its stay
                service.set_status(ticket, term.status, term.sub_status, cs.now)
            notify = Notify(
                enabled=body.notify,
                channel=body.type or "",
                contacts=body.contacts or [],
                time=body.time,
                subject=body.notify_subject or "",
                message=body.notify_message or "",
                automated=body.automated,
            )
            if body.notify:  # this stay is told of by the update's own notification
                notify = notify.model_copy(update={"told": stay_key(ticket)})
            ticket.notify = notify
            notice = notify_notice(ticket, flows, cs.now, client.client_id)
            if notice is not None:
                ticket.notify = notify.model_copy(update={"notice": notice.id})
                if notice.id != asked:  # the same update again asks for nothing new (and writes nothing)
                    cs.emit(OutboxItem(id=notice.id, kind="notice", doc=notice.model_dump(mode="json")))

        result = service.update_ticket(
            identifier,
            command,
            actor_for(client, NAME, request),
            if_match=if_match(request),
            access=client.access,
            respond=lambda result: Response(200, render(result.ticket, flows)),
        )
        return result.answer

    return idempotency.once(request, client.client_id, run, context, ticket_param="id")


update_handler = entrypoint(DIALECT, update_ticket)
