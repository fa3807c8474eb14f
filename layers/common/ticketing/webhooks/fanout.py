"""A committed change -> one message per subscription that may see it, on the FIFO delivery queue.

Called by the tickets table's stream consumer (``ticketing.eventbus``) for each committed change,
in stream order, so that the queue gets a ticket's changes in the order they were made:

* ``MessageGroupId`` = subscription + ticket: SQS FIFO hands a group's next message on only once
  the one before it was deleted (delivered) or moved to the dead-letter queue, so each
  subscription sees each ticket's changes in order while other tickets and subscribers go on;
* ``MessageDeduplicationId`` = subscription + event id: a record the stream hands on again within
  SQS's five-minute window is not queued twice.

Who gets a change: every live subscription, made before the change was committed, that asked for
its kind, **except** the client that made it (no echo: a partner never hears back its own change),
and except a client that may not read the ticket (its grants, ``auth.Client.access``, as they are
now: the subscription keeps the hash of its token, so a disabled client or a grant taken away
stops its deliveries too).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable
from typing import Any

from ticketing import auth, aws
from ticketing.events import Committed
from ticketing.moments import utcnow
from ticketing.observability import count, logger
from ticketing.settings import get_settings
from ticketing.webhooks import views
from ticketing.webhooks.store import Subscription

ENTRIES_PER_CALL = 10
ATTEMPTS = 4
MAX_BODY_BYTES = 240 * 1024  # SQS takes 256 KB a message; past this the payload leaves the view out


def readable_by(sub: Subscription, change: Committed, client_of: Callable[[str], auth.Client | None]) -> bool:
    client = client_of(sub.token_hash)
    if client is None or not client.enabled:
        return False
    if client.expires_at is not None and client.expires_at <= utcnow():
        return False
    return client.client_id == sub.client_id and client.access.can_read(change.ticket.queue)


def recipients(
    change: Committed, subs: Iterable[Subscription], client_of: Callable[[str], auth.Client | None]
) -> list[Subscription]:
    event = change.event
    return [
        s
        for s in subs
        if s.wants(event.kind)
        and s.client_id != event.actor.client_id
        and readable_by(s, change, client_of)
        and event.time >= s.created_at  # a subscription hears of what is committed from then on
    ]


def payload(sub: Subscription, change: Committed, rendered: dict[str, Any]) -> str:
    """The body delivered: Standard Webhooks' ``type``, ``timestamp``, ``data`` (the event, and the
    ticket at that version in the subscription's format)."""
    if sub.payload_format not in rendered:
        rendered[sub.payload_format] = views.render(sub.payload_format, change.ticket)
    data = change.event.model_dump(mode="json")
    doc = {"type": change.event.kind, "timestamp": data["time"], "data": data}
    data["view"] = {"format": sub.payload_format, "ticket": rendered[sub.payload_format]}
    body = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    if len(body.encode()) > MAX_BODY_BYTES:
        data["view"] = {"format": sub.payload_format, "ticket": None, "omitted": "too large: GET the ticket"}
        body = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    return body


def messages(change: Committed, subs: list[Subscription]) -> list[dict[str, Any]]:
    rendered: dict[str, Any] = {}
    event = change.event
    out = []
    for n, sub in enumerate(subs):
        body = {
            "subscription_id": sub.id,
            "event_id": event.event_id,
            "kind": event.kind,
            "ticket_id": event.ticket.id,
            "version": event.version,
            "committed_at": event.time.isoformat(),
            "payload": payload(sub, change, rendered),
        }
        out.append(
            {
                "Id": str(n),
                "MessageBody": json.dumps(body, separators=(",", ":"), ensure_ascii=False),
                "MessageGroupId": f"{sub.id}:{event.ticket.id}",
                "MessageDeduplicationId": f"{sub.id}:{event.event_id}",
            }
        )
    return out


def send(entries: list[dict[str, Any]], *, client: Any = None, sleep: Callable[[float], None] = time.sleep) -> None:
    """Queue ``entries`` (each of another group: their order among themselves does not matter);
    entries SQS refused are sent again; raises if some are still refused (the stream hands the
    record on again; what was queued is de-duplicated)."""
    client = client or aws.client("sqs")
    url = get_settings().webhook_queue_url
    for start in range(0, len(entries), ENTRIES_PER_CALL):
        pending = entries[start : start + ENTRIES_PER_CALL]
        for attempt in range(ATTEMPTS):
            if attempt:
                sleep(random.uniform(0, min(1.0, 0.1 * 2**attempt)))
            resp = client.send_message_batch(QueueUrl=url, Entries=pending)
            failed = {f["Id"] for f in resp.get("Failed") or []}
            if not failed:
                break
            logger.warning("SQS refused webhook messages: sent again", extra={"refused": len(failed)})
            pending = [e for e in pending if e["Id"] in failed]
        else:
            raise RuntimeError(f"SQS refused {len(pending)} webhook messages {ATTEMPTS} times")
    count("WebhooksQueued", len(entries))


class Fanout:
    """The subscriptions and their clients, read once per stream batch."""

    def __init__(self) -> None:
        self._subs: list[Subscription] | None = None
        self._clients: dict[str, auth.Client | None] = {}

    def subscriptions(self) -> list[Subscription]:
        if self._subs is None:
            from ticketing.webhooks import store

            self._subs = store.all_subscriptions() if get_settings().webhooks_table else []
        return self._subs

    def client_of(self, token_hash: str) -> auth.Client | None:
        if token_hash not in self._clients:
            self._clients[token_hash] = auth.lookup_hash(token_hash)
        return self._clients[token_hash]

    def __call__(self, change: Committed) -> int:
        subs = self.subscriptions()
        if not subs:
            return 0
        chosen = recipients(change, subs, self.client_of)
        if chosen:
            send(messages(change, chosen))
        return len(chosen)
