"""What this dialect answers: the ticket in its shape, and every error in its one error body."""

from __future__ import annotations

from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from ticketing.catalog import Vocabulary
from ticketing.dialects.particlespace import NAME
from ticketing.dialects.particlespace.notices import reminder_pending
from ticketing.errors import DomainError
from ticketing.http import BaseDialect, Request, Response
from ticketing.model import Notify, Ticket


def _iso(when: datetime | None) -> str | None:
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z") if when else None


def render(ticket: Ticket, flows: Vocabulary) -> dict[str, Any]:
    notify = ticket.notify or Notify()
    flow = flows.for_status(ticket.status, ticket.sub_status)
    return {
        "id": ticket.key,
        "title": ticket.title,
        "description": ticket.description,
        "status": str(flow.term) if flow else ticket.status.upper(),
        "notify": int(notify.enabled),
        "type": notify.channel or None,
        "contacts": ",".join(notify.contacts) or None,
        "time": _iso(notify.time),
        "notifySubject": notify.subject or None,
        "notifyMessage": notify.message or None,
        "automated": int(notify.automated),
        "reminderAt": _iso(reminder_pending(ticket, flows)),
        "statusSince": _iso(ticket.status_since),
        "createdAt": _iso(ticket.created_at),
        "updatedAt": _iso(ticket.updated_at),
    }


class ParticleSpace(BaseDialect):
    name = NAME

    def render_error(self, error: DomainError, request: Request | None) -> Response:
        body: dict[str, Any] = {
            "success": False,
            "status": error.status,
            "error": HTTPStatus(error.status).phrase,
            "code": error.code,
            "message": error.message,
        }
        if error.errors:
            body["errors"] = [{"field": e.field, "message": e.message} for e in error.errors]
        if "current_version" in error.detail:
            body["currentVersion"] = error.detail["current_version"]
        if request is not None and request.request_id:
            body["requestId"] = request.request_id
        headers = {"WWW-Authenticate": 'Bearer realm="particlespace"'} if error.status == 401 else {}
        return Response(error.status, body, headers=headers)


DIALECT = ParticleSpace()
