"""The routes, for the OpenAPI document: the request model that validates them, the answers."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ticketing.dialects.docs import IDEMPOTENCY_KEY, Operation
from ticketing.dialects.particlespace import NAME
from ticketing.dialects.particlespace.body import FORM, MULTIPART
from ticketing.dialects.particlespace.request import ParticleSpaceTicketUpdate


class ParticleSpaceTicket(BaseModel):
    """A ticket as this dialect answers it."""

    model_config = ConfigDict(defer_build=True)  # for the OpenAPI document only

    id: str = Field(description="The ticket's key, tic_...")
    title: str
    description: str
    status: str = Field(description="The flow (column) key.")
    notify: Literal[0, 1]
    type: Literal["email", "sms"] | None
    contacts: str | None = Field(description="Comma-separated, normalised (phones in E.164).")
    time: str | None = Field(description="When the notification is sent (UTC); null: as soon as stored.")
    notifySubject: str | None
    notifyMessage: str | None
    automated: Literal[0, 1]
    reminderAt: str | None = Field(description="When the automated reminder is due, if one is armed.")
    statusSince: str
    createdAt: str
    updatedAt: str


class ParticleSpaceError(BaseModel):
    """Every ParticleSpace error."""

    model_config = ConfigDict(defer_build=True)  # for the OpenAPI document only

    success: Literal[False]
    status: int
    error: str
    code: str
    message: str
    errors: list[dict[str, str]] | None = None
    currentVersion: int | None = None
    requestId: str | None = None


_ERRORS = {s: ParticleSpaceError for s in (400, 401, 403, 404, 409, 412, 413, 415, 422, 503)}
OPERATIONS = [
    Operation(
        "PUT",
        path,
        "Update a ticket, and notify its contacts now, later, or when it stays too long in a flow",
        NAME,
        "bearer",
        ParticleSpaceTicketUpdate,
        request_media_types=(FORM, MULTIPART, "application/json"),
        responses={200: ParticleSpaceTicket, **_ERRORS},
        parameters=(IDEMPOTENCY_KEY,),
        description="`{id}` is the ticket's `tic_...` key (its numeric id is accepted too)." + note,
    )
    for path, note in (
        ("/api/v1/ticket/{id}", ""),
        (
            "/api/v1/ticket/update/{id}",
            " The same operation as `PUT /api/v1/ticket/{id}`: the document's text says"
            ' "Place the ticket id in the URL: ticket/update/tic_....".',
        ),
    )
]
