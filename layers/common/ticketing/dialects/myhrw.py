"""MyHRW partner tickets: a partner system's own ticket, linked to one task of a ticket.

``PUT /tickets/{ticketUid}/tasks/{taskid}/partnertickets/{PartnerTechnicalId}`` updates one
(full replace; the body's ``id`` may re-key it), ``POST .../partnertickets`` records one.
Bearer tokens of the ``PartnerInteraction`` group; a partner reaches only its own partner
tickets.  Storage, the template's ``{id}`` and the open choices: ``docs/myhrw.md``.
"""

import re
from typing import Annotated, Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from ticketing import auth, idempotency, service
from ticketing.commands import ChangeSet, UpdateResult
from ticketing.dialects.common import actor_for, etag, if_match, json_body, validate
from ticketing.dialects.docs import IDEMPOTENCY_KEY, IF_MATCH, Operation
from ticketing.errors import (
    BadRequest,
    Conflict,
    DomainError,
    FieldError,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    quoted,
)
from ticketing.http import BaseDialect, Request, Response, entrypoint
from ticketing.model import PartnerTicket, Task, Ticket
from ticketing.repository import MAX_TICKET_BYTES, ticket_bytes

NAME = "myhrw"
GROUP = "PartnerInteraction"
JSON = "application/json; charset=utf-8"
JSON_TYPES = {"", "application/json", "text/json"}

# Path parameters: the document's types (ticketUid: unsigned long, taskid: integer).
_DIGITS = re.compile(r"[0-9]{1,20}")
MAX_TICKET_UID = 2**64 - 1
MAX_TASK_ID = 2**31 - 1

# Bounds on what a partner ticket may hold (the document gives none): id 100 characters,
# the other properties 100 to 8000 (see PartnerTicketBody and docs/myhrw.md).
ID_MAX = 100

# body key (the document's) -> PartnerTicket attribute
_ATTRIBUTES = {
    "id": "id",
    "displayid": "display_id",
    "type": "type",
    "shortdescription": "short_description",
    "description": "description",
    "category": "category",
    "status": "status",
    "priority": "priority",
    "assignmentgroup": "assignment_group",
    "assignedto": "assigned_to",
}


class MyHrw(BaseDialect):
    name = NAME

    def render_error(self, error: DomainError, request: Request | None) -> Response:
        """Every error, 401/403 included: ``{"status", "message", "errors", "requestId"}``."""
        body = {
            "status": error.status,
            "message": error.message,
            "errors": [{"field": e.field, "message": e.message} for e in error.errors],
            "requestId": request.request_id if request is not None and request.request_id else None,
        }
        headers = {"WWW-Authenticate": 'Bearer realm="myhrw"'} if error.status == 401 else {}
        return Response(error.status, body, headers=headers, content_type=JSON)


DIALECT = MyHrw()


# -- request -----------------------------------------------------------------------------
Text100 = Annotated[str, StringConstraints(max_length=100)] | None
Text255 = Annotated[str, StringConstraints(max_length=255)] | None
Text500 = Annotated[str, StringConstraints(max_length=500)] | None
Text8000 = Annotated[str, StringConstraints(max_length=8000)] | None


class PartnerTicketBody(BaseModel):
    """The document's body: lowercase keys; every property but ``id`` optional.

    Full replace: a property that is absent or null is stored as ``""``.  Unknown keys
    are refused (a mis-spelt key would otherwise silently erase the stored value)."""

    model_config = ConfigDict(extra="forbid")

    shortdescription: Text500 = Field(None, description="(optional) Short description of the third party ticket")
    description: Text8000 = Field(None, description="(optional) Description")
    id: Annotated[str, StringConstraints(min_length=1, max_length=ID_MAX)] = Field(
        description="Technical id of the partner ticket (used when MyHRW calls the partner system back); "
        "another value than the path's PartnerTechnicalId re-keys the partner ticket"
    )
    displayid: Text100 = Field(None, description="(optional) Display id: a more user-friendly id")
    type: Text100 = Field(None, description="(optional) Type of the partner ticket: incident, change request, ...")
    priority: Text100 = Field(None, description="(optional) Priority")
    status: Text100 = Field(None, description="(optional) Status")
    category: Text500 = Field(None, description="(optional) Category")
    assignmentgroup: Text255 = Field(None, description="(optional) Assignment group")
    assignedto: Text255 = Field(None, description="(optional) Name of the agent sending the partner ticket")

    @field_validator("id")
    @classmethod
    def _usable_id(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("id must not be blank")
        if "/" in value or any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ValueError("id must not contain '/' or control characters (it is used in the URL)")
        return value

    def attributes(self) -> dict[str, str]:
        """PartnerTicket attributes, absent or null properties as ``""`` (full replace)."""
        return {attr: getattr(self, key) or "" for key, attr in _ATTRIBUTES.items()}


def _body(request: Request) -> PartnerTicketBody:
    if request.media_type not in JSON_TYPES and not request.media_type.endswith("+json"):
        raise UnsupportedMediaType(f"Send the body as application/json, not {request.media_type}.")
    data = json_body(request)
    if data is None:
        raise ValidationFailed(
            "The request body is empty; send the partner ticket as a JSON object with at least an id.",
            errors=[FieldError("id", "Field required")],
        )
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.")
    if "id" in data and data["id"] is None:  # a null id is a missing one, reported with the rest
        data = {k: v for k, v in data.items() if k != "id"}
    return validate(PartnerTicketBody, data)


_PATH_NUMBERS = (  # template variable, the document's name, largest value, what it must be
    ("id", "ticketUid", MAX_TICKET_UID, "an unsigned integer"),
    ("taskid", "taskid", MAX_TASK_ID, "a non-negative integer"),
)


def _path_ids(request: Request) -> tuple[int, int]:
    """ticketUid and taskid; a 400 naming each one that is not a number of its type."""
    values, errors = [], []
    for param, label, maximum, kind in _PATH_NUMBERS:
        raw = request.path_params.get(param, "")
        if _DIGITS.fullmatch(raw) and int(raw) <= maximum:
            values.append(int(raw))
        else:
            errors.append(FieldError(label, f"{label} must be {kind}, not {quoted(raw, 40)}"))
    if errors:
        summary = "; ".join(e.message for e in errors)
        raise ValidationFailed(f"The request is invalid: {summary}.", errors=errors)
    return values[0], values[1]


def _partner(request: Request) -> tuple[auth.Client, int]:
    service.read_ahead(request.path_params.get("id"))  # the ticket both routes change
    client = auth.client_for(request.header("authorization"), NAME)  # 401 / 403 (dialect not allowed)
    if not client.has_group(GROUP):
        raise Forbidden(f"This client is not in the {GROUP} security group.", reason="group")
    if client.partner_id is None:
        raise Forbidden("These credentials name no partner.", reason="partner")
    return client, client.partner_id


# -- domain ------------------------------------------------------------------------------
def _task(ticket: Ticket, task_id: int) -> Task:
    task = ticket.task(task_id)
    if task is None:
        raise NotFound(f"Task {task_id} of ticket {ticket.id} was not found.")
    return task


def _check_size(ticket: Ticket) -> None:
    size = ticket_bytes(ticket)
    if size > MAX_TICKET_BYTES:
        raise PayloadTooLarge(
            f"Ticket {ticket.id} has no room left for this partner ticket "
            f"(it would hold {size} bytes, {MAX_TICKET_BYTES} at most); send shorter values."
        )


def render(ticket_id: int, task_id: int, pt: PartnerTicket) -> dict[str, Any]:
    """The document's response, in its key order: the properties as stored."""
    return {
        "id": pt.id,
        "displayId": pt.display_id,
        "ticketUid": ticket_id,
        "partnerId": pt.partner_id,
        "ticketTaskId": task_id,
        "type": pt.type,
        "shortDescription": pt.short_description,
        "description": pt.description,
        "category": pt.category,
        "status": pt.status,
        "assignmentGroup": pt.assignment_group,
        "assignedTo": pt.assigned_to,
        "priority": pt.priority,
    }


def _location(ticket_id: int, task_id: int, technical_id: str) -> str:
    return f"/tickets/{ticket_id}/tasks/{task_id}/partnertickets/{quote(technical_id, safe='')}"


# -- routes ------------------------------------------------------------------------------
def update_partner_ticket(request: Request, context: Any) -> Response:
    client, partner_id = _partner(request)

    def run() -> Response:
        ticket_uid, task_id = _path_ids(request)
        path_id = request.path_params.get("PartnerTechnicalId", "")
        body = _body(request)
        stored: list[PartnerTicket] = []

        def command(ticket: Ticket, cs: ChangeSet) -> None:
            task = _task(ticket, task_id)
            old_slot = PartnerTicket.slot(partner_id, path_id)
            current = task.partner_tickets.get(old_slot)
            if current is None:  # another partner's partner ticket is not found either
                raise NotFound(
                    f"Partner ticket {quoted(path_id)} of task {task_id} of ticket {ticket.id} was not found."
                )
            new_slot = PartnerTicket.slot(partner_id, body.id)
            rekey = new_slot != old_slot
            if rekey and new_slot in task.partner_tickets:
                raise Conflict(
                    f"Task {task_id} of ticket {ticket.id} already has a partner ticket {quoted(body.id)}; "
                    f"{quoted(path_id)} cannot take its id."
                )
            updated = current.model_copy(update=body.attributes())
            if updated != current:
                updated.updated_at = cs.now
            # same position in the task's partner tickets, under the (possibly new) key
            task.partner_tickets = {
                (new_slot if slot == old_slot else slot): (updated if slot == old_slot else pt)
                for slot, pt in task.partner_tickets.items()
            }
            cs.event = "partner_ticket_rekeyed" if rekey else "partner_ticket_updated"
            cs.detail = {"task_id": task_id, "partner_id": partner_id, "partner_ticket_id": body.id}
            if rekey:
                cs.detail["previous_partner_ticket_id"] = path_id
            _check_size(ticket)
            stored[:] = [updated]

        return _write(request, client, ticket_uid, command, lambda r: _answer(200, r, task_id, stored[0]))

    return idempotency.once(request, client.client_id, run, context)


def _answer(status: int, result: UpdateResult, task_id: int, pt: PartnerTicket) -> Response:
    """The partner ticket as the change leaves it (rendered before the write); a 201 says where."""
    headers = {"ETag": etag(result.ticket.version)}
    if status == 201:
        headers = {"Location": _location(result.ticket.id, task_id, pt.id), **headers}
    return Response(status, render(result.ticket.id, task_id, pt), headers=headers, content_type=JSON)


def _write(request: Request, client: Any, ticket_uid: int, command: Any, respond: Any) -> Response:
    return service.update_ticket(
        ticket_uid,
        command,
        actor_for(client, NAME, request),
        if_match=if_match(request),
        access=client.access,
        respond=respond,
    ).answer


def create_partner_ticket(request: Request, context: Any) -> Response:
    client, partner_id = _partner(request)

    def run() -> Response:
        ticket_uid, task_id = _path_ids(request)
        body = _body(request)
        created: list[PartnerTicket] = []

        def command(ticket: Ticket, cs: ChangeSet) -> None:
            task = _task(ticket, task_id)
            slot = PartnerTicket.slot(partner_id, body.id)
            if slot in task.partner_tickets:
                raise Conflict(
                    f"Task {task_id} of ticket {ticket.id} already has a partner ticket {quoted(body.id)}; "
                    f"update it with PUT {_location(ticket.id, task_id, body.id)}."
                )
            pt = PartnerTicket(partner_id=partner_id, created_at=cs.now, updated_at=cs.now, **body.attributes())
            task.partner_tickets = {**task.partner_tickets, slot: pt}
            cs.event = "partner_ticket_created"
            cs.detail = {"task_id": task_id, "partner_id": partner_id, "partner_ticket_id": body.id}
            _check_size(ticket)
            created[:] = [pt]

        return _write(request, client, ticket_uid, command, lambda r: _answer(201, r, task_id, created[0]))

    return idempotency.once(request, client.client_id, run, context)


# -- the routes, for the OpenAPI document --------------------------------------------------
class PartnerTicketView(BaseModel):
    """The document's response: the partner ticket's properties as they have been set."""

    model_config = ConfigDict(defer_build=True)  # for the OpenAPI document only

    id: str
    displayId: str  # the document's casing
    ticketUid: int
    partnerId: int
    ticketTaskId: int
    type: str
    shortDescription: str
    description: str
    category: str
    status: str
    assignmentGroup: str
    assignedTo: str
    priority: str


class ErrorBody(BaseModel):
    """Every myhrw error (the document shows none; see docs/myhrw.md)."""

    model_config = ConfigDict(defer_build=True)  # for the OpenAPI document only

    status: int
    message: str
    errors: list[dict[str, str]]
    requestId: str | None


_ERRORS = {status: ErrorBody for status in (400, 401, 403, 404, 409, 412, 413, 415, 422, 503)}
_PATH_NOTE = (
    "The path variable `{id}` is the document's `{ticketUid}` (unsigned long); `taskid` is an integer "
    "and `PartnerTechnicalId` the partner ticket's current technical id."
)
OPERATIONS = [
    Operation(
        "PUT",
        "/tickets/{id}/tasks/{taskid}/partnertickets/{PartnerTechnicalId}",
        "Update partner ticket information (full replace; a new id re-keys it)",
        NAME,
        "bearer",
        PartnerTicketBody,
        responses={200: PartnerTicketView, **_ERRORS},
        parameters=(IF_MATCH, IDEMPOTENCY_KEY),
        description=_PATH_NOTE + " Security group: PartnerInteraction.",
    ),
    Operation(
        "POST",
        "/tickets/{id}/tasks/{taskid}/partnertickets",
        "Record a partner ticket on a task",
        NAME,
        "bearer",
        PartnerTicketBody,
        responses={201: PartnerTicketView, **_ERRORS},
        parameters=(IF_MATCH, IDEMPOTENCY_KEY),
        description=_PATH_NOTE + " Security group: PartnerInteraction.",
    ),
]

update_handler = entrypoint(DIALECT, update_partner_ticket)
create_handler = entrypoint(DIALECT, create_partner_ticket)
