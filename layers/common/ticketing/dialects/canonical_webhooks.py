"""The canonical API's webhook routes: a client subscribes to the changes of the tickets it may read.

    POST   /webhooks                    subscribe (the secret is in this answer only)
    GET    /webhooks                    the client's subscriptions
    DELETE /webhooks/{id}               unsubscribe
    GET    /webhooks/{id}/deliveries    the latest delivery attempts

Canonical conventions: Bearer tokens, RFC 9457 problem documents (``canonical.DIALECT``).  Every
client may use them, whatever dialect it speaks: a partner hears of changes to its tickets made
through the other dialects (never of its own: ``ticketing.webhooks.fanout``).  A client sees and
deletes only its own subscriptions; another's id is not found.
"""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ticketing import auth
from ticketing.dialects.canonical_base import DIALECT, NAME, PROBLEM, ProblemDocument
from ticketing.dialects.common import json_body, validate
from ticketing.dialects.docs import Operation
from ticketing.errors import BadRequest, FieldError, NotFound, UnsupportedMediaType, ValidationFailed
from ticketing.event_kinds import KINDS, Kind
from ticketing.http import Request, Response, entrypoint
from ticketing.moments import utcnow
from ticketing.webhooks import signing, store, urls, views


def _client(request: Request) -> auth.Client:
    return auth.authenticate(auth.parse_authorization(request.header("authorization"), ("Bearer",)), None)


class NewWebhook(BaseModel):
    """A subscription: where to deliver, which kinds of change, in which format."""

    model_config = ConfigDict(extra="forbid")
    url: Annotated[str, StringConstraints(min_length=1, max_length=urls.MAX_URL)]
    kinds: list[Kind | Literal["*"]] = Field(default_factory=lambda: ["*"], min_length=1, max_length=len(KINDS))
    payload_format: Annotated[str, StringConstraints(max_length=40)] = Field(
        default="canonical", description="canonical, or the client's own dialect where it has a registered view"
    )
    description: Annotated[str, StringConstraints(max_length=200)] = ""


class WebhookView(BaseModel):
    model_config = ConfigDict(defer_build=True)  # for the OpenAPI document only
    id: str
    url: str
    kinds: list[str]
    payload_format: str
    description: str
    created_at: datetime


class NewWebhookView(WebhookView):
    secret: str = Field(description="whsec_...: shown in this answer only; verify deliveries with it")


class WebhookList(BaseModel):
    model_config = ConfigDict(defer_build=True)
    items: list[WebhookView]


class DeliveriesPage(BaseModel):
    model_config = ConfigDict(defer_build=True)
    subscription_id: str
    items: list[store.Attempt]


class DeliveriesQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=50, ge=1, le=100)


def render(sub: store.Subscription) -> dict[str, Any]:
    return {
        "id": sub.id,
        "url": sub.url,
        "kinds": sub.kinds,
        "payload_format": sub.payload_format,
        "description": sub.description,
        "created_at": sub.created_at.isoformat(),
    }


def _possible(sub_id: str) -> bool:
    return sub_id.startswith("wh_") and len(sub_id) <= 40


def _ahead(request: Request) -> str:
    """The subscription the path names, read ahead beside the caller's credentials (if it may be one)."""
    sub_id = request.path_params.get("id", "")
    if _possible(sub_id):
        store.read_ahead(sub_id)
    return sub_id


def _own(client: auth.Client, sub_id: str) -> store.Subscription:
    sub = store.get_subscription(sub_id) if _possible(sub_id) else None
    if sub is None or sub.client_id != client.client_id or sub.deleted_at is not None:
        raise NotFound(f"No webhook subscription {sub_id}.")
    return sub


def create_webhook(request: Request, context: Any) -> Response:
    client = _client(request)
    if request.media_type not in ("application/json", ""):
        raise UnsupportedMediaType(f"Send the body as application/json, not {request.media_type}.")
    raw = json_body(request)
    if not isinstance(raw, dict):
        raise BadRequest("The request body must be a JSON object.")
    body = validate(NewWebhook, raw)
    errors = []
    problem = urls.problem(body.url)
    if problem:
        errors.append(FieldError("url", f"must be {problem}"))
    allowed = [f for f in views.formats() if f == "canonical" or client.allows(f)]
    if body.payload_format not in allowed:
        errors.append(FieldError("payload_format", f"one of {', '.join(allowed)}"))
    if errors:
        raise ValidationFailed("The subscription is not valid.", errors=errors)
    if len(store.client_subscriptions(client.client_id)) >= store.MAX_PER_CLIENT:
        raise ValidationFailed(f"A client has at most {store.MAX_PER_CLIENT} webhook subscriptions.")
    sub = store.Subscription(
        id=store.new_id(),
        client_id=client.client_id,
        token_hash=auth.hash_token(auth.parse_authorization(request.header("authorization"), ("Bearer",)) or ""),
        dialect=client.dialects[0] if client.dialects else NAME,
        url=body.url,
        kinds=sorted(set(body.kinds)),
        payload_format=body.payload_format,
        secret=signing.new_secret(),
        description=body.description,
        created_at=utcnow(),
    )
    store.put_subscription(sub)
    return Response(201, {**render(sub), "secret": sub.secret}, headers={"Location": f"/webhooks/{sub.id}"})


def list_webhooks(request: Request, context: Any) -> Response:
    client = _client(request)
    return Response(200, {"items": [render(s) for s in store.client_subscriptions(client.client_id)]})


def delete_webhook(request: Request, context: Any) -> Response:
    sub_id = _ahead(request)
    client = _client(request)
    sub = _own(client, sub_id)
    store.mark_deleted(sub.id, utcnow())
    return Response(204, None)


def webhook_deliveries(request: Request, context: Any) -> Response:
    sub_id = _ahead(request)
    client = _client(request)
    query = validate(DeliveriesQuery, request.query)
    sub = _own(client, sub_id)
    items = [a.model_dump(mode="json") for a in store.attempts(sub.id, limit=query.limit)]
    return Response(200, {"subscription_id": sub.id, "items": items})


_ERRORS = {400: ProblemDocument, 401: ProblemDocument, 403: ProblemDocument, 404: ProblemDocument}
OPERATIONS = [
    Operation(
        "POST",
        "/webhooks",
        "Subscribe to ticket changes (signed Standard Webhooks deliveries)",
        NAME,
        "bearer",
        NewWebhook,
        responses={201: NewWebhookView, 413: ProblemDocument, 415: ProblemDocument, **_ERRORS},
        error_media_types=(PROBLEM,),
    ),
    Operation(
        "GET",
        "/webhooks",
        "The client's webhook subscriptions",
        NAME,
        "bearer",
        responses={200: WebhookList, **_ERRORS},
        error_media_types=(PROBLEM,),
    ),
    Operation(
        "DELETE",
        "/webhooks/{id}",
        "Unsubscribe",
        NAME,
        "bearer",
        responses={204: None, **_ERRORS},
        error_media_types=(PROBLEM,),
    ),
    Operation(
        "GET",
        "/webhooks/{id}/deliveries",
        "The subscription's latest delivery attempts, newest first",
        NAME,
        "bearer",
        responses={200: DeliveriesPage, **_ERRORS},
        error_media_types=(PROBLEM,),
        parameters=({"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},),
    ),
]

create_handler = entrypoint(DIALECT, create_webhook)
list_handler = entrypoint(DIALECT, list_webhooks)
delete_handler = entrypoint(DIALECT, delete_webhook)
deliveries_handler = entrypoint(DIALECT, webhook_deliveries)
