"""Webhook subscriptions and delivery attempts: the only module that speaks to ``WebhooksTable``.

==================  ==========================================  =================================
pk                  sk                                          item
==================  ==========================================  =================================
``SUBSCRIPTIONS``   ``<subscription id>``                       a subscription (``Subscription``)
``ATTEMPTS#<id>``   ``<time>#<event id>#<attempt>``             one delivery attempt (TTL 7 days)
==================  ==========================================  =================================

Every subscription is in one partition: the stream consumer reads them all with one Query per
batch, whatever the number of clients (a subscription is a few hundred bytes: a 1 MB page holds
thousands).  A subscription is deleted by marking it (``deleted_at``): deliveries already queued
find it so and are dropped, and no DeleteItem is granted to anyone.  The secret is kept in the
item (the table is encrypted with the stack's key, and only the delivery function and the
creating request read it): HMAC needs the secret itself, so it cannot be kept as a hash like the
tokens; it is shown once, in the answer to its creation, and never logged.
"""

import secrets
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel

from ticketing import aws
from ticketing.moments import utcnow
from ticketing.repository import call, marshal, unmarshal
from ticketing.settings import get_settings
from ticketing.store import readahead

SUBSCRIPTIONS = "SUBSCRIPTIONS"
ATTEMPTS_DAYS = 7
MAX_PER_CLIENT = 20

Status = Literal["delivered", "failed", "dead", "dropped"]


class Subscription(BaseModel):
    id: str
    client_id: str
    token_hash: str  # the token that made it: its client's grants and state decide each delivery
    dialect: str = "canonical"
    url: str
    kinds: list[str]  # detail-types, or ["*"]
    payload_format: str = "canonical"  # "canonical" | the client's dialect
    secret: str
    description: str = ""
    created_at: datetime
    deleted_at: datetime | None = None

    def wants(self, kind: str) -> bool:
        return "*" in self.kinds or kind in self.kinds


class Attempt(BaseModel):
    subscription_id: str
    event_id: str
    kind: str = ""
    attempt: int
    status: Status
    response_code: int | None = None
    latency_ms: int | None = None
    error: str = ""
    next_retry_at: datetime | None = None
    at: datetime


def _table() -> str:
    return get_settings().webhooks_table


def _ddb() -> Any:
    return aws.dynamodb()


def new_id() -> str:
    return "wh_" + secrets.token_hex(8)


def put_subscription(sub: Subscription) -> None:
    item = marshal({**sub.model_dump(mode="json", exclude_none=True), "pk": SUBSCRIPTIONS, "sk": sub.id})
    call(_ddb(), "put_item", TableName=_table(), Item=item, ConditionExpression="attribute_not_exists(pk)")


def all_subscriptions(*, live_only: bool = True) -> list[Subscription]:
    """Every subscription (one partition; paged until its end)."""
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": SUBSCRIPTIONS}},
    }
    found = []
    while True:
        resp = call(_ddb(), "query", **kwargs)
        found += [Subscription.model_validate(unmarshal(i)) for i in resp.get("Items", [])]
        if not resp.get("LastEvaluatedKey"):
            break
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
    return [s for s in found if s.deleted_at is None] if live_only else found


def client_subscriptions(client_id: str) -> list[Subscription]:
    return sorted((s for s in all_subscriptions() if s.client_id == client_id), key=lambda s: s.created_at)


def _key(sub_id: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": SUBSCRIPTIONS}, "sk": {"S": sub_id}}


def read_ahead(sub_id: str) -> None:
    """The request reads subscription ``sub_id`` once its caller is known: read it beside the
    caller's credentials, when those are read (``store.readahead``)."""
    readahead.want(_table(), _key(sub_id))


def get_subscription(sub_id: str) -> Subscription | None:
    read, item = readahead.take(_table(), _key(sub_id))
    if not read:
        item = call(_ddb(), "get_item", TableName=_table(), Key=_key(sub_id), ConsistentRead=True).get("Item")
    return Subscription.model_validate(unmarshal(item)) if item else None


def mark_deleted(sub_id: str, at: datetime) -> None:
    call(
        _ddb(),
        "update_item",
        TableName=_table(),
        Key={"pk": {"S": SUBSCRIPTIONS}, "sk": {"S": sub_id}},
        UpdateExpression="SET deleted_at = :at",
        ConditionExpression="attribute_exists(pk) AND attribute_not_exists(deleted_at)",
        ExpressionAttributeValues={":at": {"S": at.isoformat()}},
    )


def put_attempt(attempt: Attempt) -> None:
    sk = f"{attempt.at.isoformat()}#{attempt.event_id}#{attempt.attempt:03d}"
    doc = {
        **attempt.model_dump(mode="json", exclude_none=True),
        "pk": f"ATTEMPTS#{attempt.subscription_id}",
        "sk": sk,
        "expires_at": int((utcnow() + timedelta(days=ATTEMPTS_DAYS)).timestamp()),
    }
    call(_ddb(), "put_item", TableName=_table(), Item=marshal(doc))


def attempts(sub_id: str, *, limit: int = 50) -> list[Attempt]:
    """The subscription's latest attempts, newest first."""
    resp = call(
        _ddb(),
        "query",
        TableName=_table(),
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"ATTEMPTS#{sub_id}"}},
        ScanIndexForward=False,
        Limit=limit,
    )
    return [Attempt.model_validate(unmarshal(i)) for i in resp.get("Items", [])]
