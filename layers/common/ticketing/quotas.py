"""Relay limits of notifications, kept as counters in the tickets table.

A notification a request asks for is counted in the request's own transaction (``RequestQuota``,
a rider of every change ``service.update_ticket`` writes): the messages its client's requests
send per hour and per day, and the notices per ticket per hour.  Each counter is an ``ADD`` with
a condition that it stays within its limit, so a request over a limit is refused (400, naming
the limit) with nothing written, and two racing requests can never both pass the last unit.
Notices the hub sends by itself (a movement, a reminder) are counted by the notifier against
the ticket's hourly limit when it claims them (``take_notice``): over it, nothing is sent and
the history says so.  Counters expire with the tickets table's TTL a day after their window.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from ticketing.commands import UpdateResult
from ticketing.errors import FieldError, LimitExceeded
from ticketing.moments import utcnow
from ticketing.observability import count
from ticketing.settings import get_settings

EXPIRES_ATTR = "expires_at"  # the tickets table's TTL attribute
NOTICE_KIND = "notice"


def _windows(now: datetime) -> tuple[str, str]:
    return now.strftime("%Y%m%d%H"), now.strftime("%Y%m%d")


def _counter(table: str, pk: str, sk: str, add: int, limit: int, expires: datetime) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": table,
            "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
            "UpdateExpression": "ADD #n :k SET #x = if_not_exists(#x, :x), #lim = :lim",
            "ConditionExpression": "attribute_not_exists(#n) OR #n <= :room",
            "ExpressionAttributeNames": {"#n": "n", "#x": EXPIRES_ATTR, "#lim": "limit"},
            "ExpressionAttributeValues": {
                ":k": {"N": str(add)},
                ":room": {"N": str(limit - add)},
                ":lim": {"N": str(limit)},
                ":x": {"N": str(int(expires.timestamp()))},
            },
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def _table() -> str:
    return get_settings().tickets_table


def notices_of(result: UpdateResult) -> list[dict[str, Any]]:
    """The notices a change asks to send (its outbox's ``notice`` items)."""
    cs = result.changeset
    return [o.doc for o in (cs.outbox if cs is not None else []) if o.kind == NOTICE_KIND]


class RequestQuota:
    """The counters a change's notifications take, riding in its transaction."""

    def __init__(self) -> None:
        self.limits: list[tuple[str, str]] = []  # per item: (limit name, field), for ``recall``

    def items(self, result: UpdateResult) -> list[dict[str, Any]]:
        notices = notices_of(result)
        self.limits = []
        if not notices:
            return []
        settings = get_settings()
        messages = 0
        for doc in notices:
            recipients = len((doc.get("message") or {}).get("to") or [])
            if recipients > settings.notify_max_recipients:
                raise _refusal("recipients per notice", settings.notify_max_recipients, "contacts")
            messages += recipients
        cs = result.changeset
        now = cs.now if cs is not None else utcnow()
        hour, day = _windows(now)
        client = result.changeset.actor.client_id if cs is not None and cs.actor is not None else "unknown"
        table = _table()
        ticket_pk = f"TICKET#{result.ticket.id}"
        hourly = now + timedelta(days=1, hours=1)
        items = [
            _counter(
                table, ticket_pk, f"QUOTA#notices#H#{hour}", len(notices), settings.notify_ticket_per_hour, hourly
            ),
            _counter(
                table, f"CLIENT#{client}", f"QUOTA#messages#H#{hour}", messages, settings.notify_client_per_hour, hourly
            ),
            _counter(
                table,
                f"CLIENT#{client}",
                f"QUOTA#messages#D#{day}",
                messages,
                settings.notify_client_per_day,
                now + timedelta(days=2),
            ),
        ]
        self.limits = [
            ("notices per ticket per hour", str(settings.notify_ticket_per_hour)),
            ("messages per client per hour", str(settings.notify_client_per_hour)),
            ("messages per client per day", str(settings.notify_client_per_day)),
        ]
        return items

    def recall(self, item: dict[str, Any]) -> Any:
        """A counter's condition failed: the request is over that limit (nothing was written)."""
        sk = (item.get("sk") or {}).get("S", "")
        name = (
            "notices per ticket per hour"
            if sk.startswith("QUOTA#notices")
            else "messages per client per day"
            if "#D#" in sk
            else "messages per client per hour"
        )
        if not sk:  # a store that does not return the item: the limits it may be
            raise _refusal(" / ".join(n for n, _ in self.limits), 0, "notify")
        limit = int((item.get("limit") or {}).get("N", "0"))
        raise _refusal(name, limit, "notify")


def _refusal(name: str, limit: int, field: str) -> LimitExceeded:
    count("NotificationLimitHits")
    shown = f"the limit of {limit} {name}" if limit else f"a limit ({name})"
    message = f"The notification is over {shown}; nothing was changed."
    return LimitExceeded(message, errors=[FieldError(field, message)], limit=name, limit_value=limit)


def take_notice(client: Any, ticket_id: int, *, now: datetime | None = None) -> str | None:
    """Count one notice the hub sends by itself about ``ticket_id`` against the ticket's hourly
    limit; the limit's name if it is over (then nothing is sent), else None."""
    now = now or utcnow()
    limit = get_settings().notify_ticket_per_hour
    hour, _ = _windows(now)
    update = _counter(_table(), f"TICKET#{ticket_id}", f"QUOTA#notices#H#{hour}", 1, limit, now + timedelta(days=1))
    try:
        client.update_item(**update["Update"])
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            count("NotificationLimitHits")
            return f"notices per ticket per hour ({limit})"
        raise
    return None
