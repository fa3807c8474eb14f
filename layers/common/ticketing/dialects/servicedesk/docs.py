"""The routes, for the OpenAPI document: the schemas are the models that validate the request
and render the answers."""

from __future__ import annotations

from ticketing.dialects.docs import IDEMPOTENCY_KEY, Operation
from ticketing.dialects.servicedesk.dialect import MEDIA_TYPES, NAME
from ticketing.dialects.servicedesk.models import WorkflowPushPost
from ticketing.dialects.servicedesk.results import Error, GetTicketResult, WorkflowPushResult

OPERATIONS = [
    Operation(
        "POST",
        "/api/Tickets/WorkflowPush",
        "Push a ticket's state forward by a workflow action",
        NAME,
        "bearer",
        WorkflowPushPost,
        request_media_types=MEDIA_TYPES,
        responses={
            200: WorkflowPushResult,
            400: Error,  # also a ticket not found and a body over the limit
            401: Error,
            403: Error,
            409: Error,
            415: Error,
            422: Error,
            503: Error,
        },
        response_media_types=MEDIA_TYPES,
        parameters=(IDEMPOTENCY_KEY,),
    ),
    Operation(
        "GET",
        "/api/Tickets/GetTicket/{id}",
        "A ticket's type, state and available workflow actions, by TicketId or TicketREF",
        NAME,
        "bearer",
        responses={200: GetTicketResult, 401: Error, 403: Error, 404: Error},
        response_media_types=MEDIA_TYPES,
    ),
]
