"""The canonical ticket API: the hub's own view of a ticket, errors as RFC 9457
``application/problem+json``.  Bearer tokens; dialect name ``canonical``.

This module is the API's index: every route's ``OPERATIONS`` and the documents it answers
with (for the OpenAPI document only).  The code is by route, so that a function imports only
its own: ``canonical_base`` (conventions), ``canonical_views``, ``canonical_reads``,
``canonical_create``, ``canonical_patch``, ``canonical_tasks``."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from ticketing.dialects.canonical_base import (  # noqa: F401 (the API's names, in one place)
    DIALECT,
    JSON_TYPES,
    NAME,
    PROBLEM,
    Canonical,
    ProblemDocument,
)
from ticketing.dialects.canonical_create import NewTicketBody, create_handler, create_ticket  # noqa: F401
from ticketing.dialects.canonical_patch import TicketPatch, patch_handler, patch_ticket  # noqa: F401
from ticketing.dialects.canonical_reads import HistoryQuery, get_handler, get_ticket, history_handler, ticket_history  # noqa: F401
from ticketing.dialects.canonical_tasks import NewTaskBody, add_task, add_task_handler  # noqa: F401
from ticketing.dialects.canonical_views import render_entry, render_task, render_ticket, ticket_response  # noqa: F401
from ticketing.dialects.docs import IDEMPOTENCY_KEY, IF_MATCH, Operation
from ticketing.model import AuditEntry


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
