"""The canonical API's views: a ticket (every identifier it answers to beside its fields), its
tasks, its history's entries.  Also the canonical payload format of webhook deliveries
(``ticketing.webhooks.views``)."""

from typing import Any

from ticketing import service
from ticketing.dialects.common import etag
from ticketing.http import Response
from ticketing.model import AuditEntry, Task, Ticket


def render_ticket(ticket: Ticket) -> dict[str, Any]:
    doc = ticket.model_dump(mode="json")
    catalog = service.get_catalog()
    doc["tasks"] = [render_task(t) for t in sorted(ticket.tasks.values(), key=lambda t: t.id)]
    refs = [ticket.ref(t.ref_prefix) for k in ticket.type_history if (t := catalog.ticket_type(k))]
    return {
        "id": ticket.id,
        "number": ticket.number,
        "key": ticket.key,
        "ref": service.current_ref(ticket),
        "refs": refs,
        **doc,
    }


def render_task(task: Task) -> dict[str, Any]:
    doc = task.model_dump(mode="json")
    doc["partner_tickets"] = list(doc["partner_tickets"].values())
    return doc


def render_entry(entry: AuditEntry) -> dict[str, Any]:
    return entry.model_dump(mode="json")


def ticket_response(status: int, ticket: Ticket, **headers: str) -> Response:
    return Response(status, render_ticket(ticket), headers={"ETag": etag(ticket.version), **headers})
