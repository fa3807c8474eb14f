"""The canonical ticket API: the hub's own view of a ticket, errors as RFC 9457
``application/problem+json``.  Bearer tokens; dialect name ``canonical``."""

from __future__ import annotations

from datetime import datetime
from http import HTTPStatus
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ticketing import auth, idempotency, service
from ticketing.commands import ChangeSet, UpdateResult
from ticketing.dialects.common import actor_for, etag, if_match, json_body, merge_patch, validate
from ticketing.dialects.docs import IDEMPOTENCY_KEY, IF_MATCH, Operation
from ticketing.errors import BadRequest, DomainError, UnsupportedMediaType
from ticketing.http import BaseDialect, Request, Response, entrypoint
from ticketing.model import AuditEntry, Task, Ticket
from ticketing.moments import UtcDateTime
from ticketing.new_ticket import NewTask, NewTicket, Short, Tag

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


def _client(request: Request) -> auth.Client:
    return auth.client_for(request.header("authorization"), NAME)


def _json_body(request: Request) -> Any:
    if request.media_type not in JSON_TYPES:
        raise UnsupportedMediaType(f"Send the body as application/json, not {request.media_type}.")
    body = json_body(request)
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    return body


# -- views ---------------------------------------------------------------------------
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


def _ticket_response(status: int, ticket: Ticket, **headers: str) -> Response:
    return Response(status, render_ticket(ticket), headers={"ETag": etag(ticket.version), **headers})


# -- routes ------------------------------------------------------------------------------
class NewTicketBody(NewTicket):
    """What a new ticket may be given.  Unknown fields are refused, not ignored."""

    follow_up_at: UtcDateTime | None = None  # with its offset; kept in UTC, within ticketing.moments' range


def create_ticket(request: Request, context: Any) -> Response:
    client = _client(request)

    def run() -> Response:
        spec = validate(NewTicketBody, _json_body(request))
        ticket = service.create_ticket(spec, actor_for(client, NAME, request), access=client.access)
        return _ticket_response(201, ticket, Location=f"/tickets/{ticket.id}")

    return idempotency.once(request, client.client_id, run, context)


def get_ticket(request: Request, context: Any) -> Response:
    client = _client(request)
    ticket = service.get_ticket(request.path_params.get("id", ""), access=client.access)
    if request.header("if-none-match") == etag(ticket.version):
        return Response(304, None, headers={"ETag": etag(ticket.version)})
    return _ticket_response(200, ticket)


class HistoryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=25, ge=1, le=100)
    cursor: Annotated[str, StringConstraints(max_length=512)] | None = None


def ticket_history(request: Request, context: Any) -> Response:
    client = _client(request)
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


# A patch field that may be absent but never null: absent, it is None (not validated); a null
# sent is refused by its type. The schema shows no default.
_NOT_NULL: Any = Field(default=None, json_schema_extra=lambda schema: schema.pop("default", None))


class TicketPatch(BaseModel):
    """JSON merge patch (RFC 7396) of a ticket's own fields; ``metadata`` merges key by key."""

    model_config = ConfigDict(extra="forbid")

    # title and status: a ticket always has them, so null is refused; absent leaves them alone
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)] = _NOT_NULL
    description: Annotated[str, StringConstraints(max_length=65536)] | None = None
    status: str = _NOT_NULL
    sub_status: str | None = None
    queue: Short | None = None
    priority: int | None = Field(default=None, ge=0, le=5)
    category: Annotated[str, StringConstraints(max_length=500)] | None = None
    tags: list[Tag] | None = Field(default=None, max_length=50)
    assignee_ids: list[Annotated[int, Field(gt=0)]] | None = Field(default=None, max_length=50)
    requester_id: int | None = Field(default=None, gt=0)
    order_number: Short | None = None
    metadata: dict[str, Any] | None = Field(default=None, max_length=100)
    follow_up_at: UtcDateTime | None = None  # with its offset; kept in UTC, within ticketing.moments' range


def patch_ticket(request: Request, context: Any) -> Response:
    client = _client(request)

    def run() -> Response:
        body = _json_body(request)
        patch = validate(TicketPatch, body)
        given = set(body)

        def command(ticket: Ticket, cs: ChangeSet) -> None:
            simple = given - {"status", "sub_status", "metadata"}
            for name in simple:
                value = getattr(patch, name)
                if value is None and name in {"description", "queue", "category"}:
                    value = ""
                if value is None and name in {"tags", "assignee_ids"}:
                    value = []
                if value is None and name == "priority":
                    value = 0
                setattr(ticket, name, value)
            if "status" in given or "sub_status" in given:
                status = patch.status if "status" in given else ticket.status
                if "sub_status" in given:
                    sub = patch.sub_status
                else:
                    sub = None if status != ticket.status else ticket.sub_status
                service.set_status(ticket, status, sub, cs.now)
            if "metadata" in given:
                ticket.metadata = merge_patch(ticket.metadata, patch.metadata or {})

        return service.update_ticket(
            request.path_params.get("id", ""),
            command,
            actor_for(client, NAME, request),
            if_match=if_match(request),
            access=client.access,
            respond=lambda result: _ticket_response(200, result.ticket),
        ).answer

    return idempotency.once(request, client.client_id, run, context, ticket_param="id")


class NewTaskBody(NewTask):
    pass


def add_task(request: Request, context: Any) -> Response:
    client = _client(request)

    def run() -> Response:
        spec = validate(NewTaskBody, _json_body(request))
        created: list[Task] = []

        def command(ticket: Ticket, cs: ChangeSet) -> None:
            task_id = max((t.id for t in ticket.tasks.values()), default=0) + 1
            task = Task(id=task_id, title=spec.title, created_at=cs.now)
            ticket.tasks = {**ticket.tasks, str(task_id): task}
            created[:] = [task]

        def respond(result: UpdateResult) -> Response:
            task = created[0]
            return Response(
                201,
                render_task(task),
                headers={
                    "Location": f"/tickets/{result.ticket.id}/tasks/{task.id}",
                    "ETag": etag(result.ticket.version),
                },
            )

        return service.update_ticket(
            request.path_params.get("id", ""),
            command,
            actor_for(client, NAME, request),
            if_match=if_match(request),
            access=client.access,
            respond=respond,
        ).answer

    return idempotency.once(request, client.client_id, run, context, ticket_param="id")


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


class TaskView(BaseModel):
    model_config = ConfigDict(defer_build=True)  # for the OpenAPI document only

    id: int
    title: str
    status: str
    partner_tickets: list[dict[str, Any]]
    created_at: datetime


class TicketView(BaseModel):
    """The canonical view of a ticket: its fields, plus every identifier it answers to."""

    model_config = ConfigDict(defer_build=True)  # for the OpenAPI document only

    id: int
    number: str
    key: str
    ref: str
    refs: list[str]
    type: str
    type_history: list[str]
    title: str
    description: str
    status: str
    sub_status: str | None
    status_since: datetime
    queue: str
    priority: int
    category: str
    source: str
    tags: list[str]
    assignee_ids: list[int]
    requester_id: int | None
    creator_id: int | None
    order_number: str | None
    service_id: int | None
    customer_id: int | None
    note: str
    metadata: dict[str, Any]
    extra: dict[str, Any]
    disposition: str
    tasks: list[TaskView]
    notify: dict[str, Any] | None
    follow_up_at: datetime | None
    last_follow_up_at: datetime | None
    follow_up_reminder: bool
    follow_up_note: str
    message_count: int
    last_message_at: datetime | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    version: int


class HistoryPage(BaseModel):
    model_config = ConfigDict(defer_build=True)  # for the OpenAPI document only

    ticket_id: int
    items: list[AuditEntry]
    next_cursor: str | None


_ERRORS = {400: ProblemDocument, 401: ProblemDocument, 403: ProblemDocument, 404: ProblemDocument}
_WRITE_ERRORS = {
    **_ERRORS,
    409: ProblemDocument,
    412: ProblemDocument,
    413: ProblemDocument,
    415: ProblemDocument,
    422: ProblemDocument,
    503: ProblemDocument,
}
OPERATIONS = [
    Operation(
        "POST",
        "/tickets",
        "Create a ticket",
        NAME,
        "bearer",
        NewTicketBody,
        responses={201: TicketView, **_WRITE_ERRORS},
        error_media_types=(PROBLEM,),
        parameters=(IDEMPOTENCY_KEY,),
    ),
    Operation(
        "GET",
        "/tickets/{id}",
        "Read a ticket by id, number, key or REF",
        NAME,
        "bearer",
        responses={200: TicketView, 304: None, **_ERRORS},
        error_media_types=(PROBLEM,),
    ),
    Operation(
        "PATCH",
        "/tickets/{id}",
        "Merge-patch a ticket's own fields",
        NAME,
        "bearer",
        TicketPatch,
        request_media_types=("application/json", "application/merge-patch+json"),
        responses={200: TicketView, **_WRITE_ERRORS},
        error_media_types=(PROBLEM,),
        parameters=(IF_MATCH, IDEMPOTENCY_KEY),
    ),
    Operation(
        "GET",
        "/tickets/{id}/history",
        "The ticket's audit trail, newest first",
        NAME,
        "bearer",
        responses={200: HistoryPage, **_ERRORS},
        error_media_types=(PROBLEM,),
        parameters=(
            {
                "name": "limit",
                "in": "query",
                "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 25},
            },
            {"name": "cursor", "in": "query", "schema": {"type": "string", "maxLength": 512}},
        ),
    ),
    Operation(
        "POST",
        "/tickets/{id}/tasks",
        "Add a task to a ticket",
        NAME,
        "bearer",
        NewTaskBody,
        responses={201: TaskView, **_WRITE_ERRORS},
        error_media_types=(PROBLEM,),
        parameters=(IF_MATCH, IDEMPOTENCY_KEY),
    ),
]

create_handler = entrypoint(DIALECT, create_ticket)
get_handler = entrypoint(DIALECT, get_ticket)
history_handler = entrypoint(DIALECT, ticket_history)
patch_handler = entrypoint(DIALECT, patch_ticket)
add_task_handler = entrypoint(DIALECT, add_task)
