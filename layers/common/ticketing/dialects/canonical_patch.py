"""The canonical API's ``PATCH /tickets/{id}``: a JSON merge patch of a ticket's own fields,
exactly once under an ``Idempotency-Key`` (``canonical_base`` has the API's conventions)."""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ticketing import idempotency, service
from ticketing.commands import ChangeSet
from ticketing.dialects.canonical_base import DIALECT, NAME, client_of, json_object
from ticketing.dialects.canonical_views import ticket_response
from ticketing.dialects.common import actor_for, if_match, merge_patch, validate
from ticketing.fields import Short, Tag
from ticketing.http import Request, Response, entrypoint
from ticketing.model import Ticket
from ticketing.moments import UtcDateTime

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
    service.read_ahead(request.path_params.get("id"))
    client = client_of(request, with_catalog=True)

    def run() -> Response:
        body = json_object(request)
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
            respond=lambda result: ticket_response(200, result.ticket),
        ).answer

    return idempotency.once(request, client.client_id, run, context, ticket_param="id")


patch_handler = entrypoint(DIALECT, patch_ticket)
