"""The change events' publisher: the tickets table's stream to the EventBridge bus.

``TicketEventsFunction`` reads the stream (ticket items and audit entries), makes one
``ticketing.events.ChangeEvent`` per committed version and puts it on the bus (``EVENT_BUS_NAME``)
with ``PutEvents``, ten entries a call, in stream order.  Entries the bus refused
(``FailedEntryCount``: throttled, internal errors) are put again, with full-jitter backoff, a few
times; what is still refused fails its record: it and the records after it come again (the event
source's ``ReportBatchItemFailures``, then ``BisectBatchOnFunctionError``, its retries and its
on-failure queue).  A record handed on again may put an event that was put already: consumers
de-duplicate by the event id (``ticket-<id>-v<version>``), the same for every try.

The same function queues the webhook deliveries (``ticketing.webhooks.fanout``), in stream order,
before it puts the change's event: a DynamoDB stream's shard may be read by two consumers at most
(more are throttled), and ``TicketAutomationsFunction`` is the other, on an event source mapping of
its own, so that one's failure or backlog never holds up the other.  Webhooks are queued from the
stream, not from the bus, because EventBridge keeps no order and the deliveries keep each ticket's.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from typing import Any

from ticketing import aws, events
from ticketing.observability import count, emit_metrics, logger
from ticketing.settings import get_settings
from ticketing.webhooks.fanout import Fanout

ENTRIES_PER_CALL = 10  # PutEvents' limit
ATTEMPTS = 4  # one call and three more for the entries it refused
BACKOFF_BASE_SECONDS = 0.1
BACKOFF_CAP_SECONDS = 1.0


def entry(event: events.ChangeEvent) -> dict[str, Any]:
    return {
        "Source": events.SOURCE,
        "DetailType": event.kind,
        "Detail": event.model_dump_json(),
        "Time": event.time,
        "Resources": [],
        "EventBusName": get_settings().event_bus_name,
    }


def put(entries: list[dict[str, Any]], *, client: Any = None, sleep: Any = time.sleep) -> list[int]:
    """Put ``entries`` (at most ten); returns the indexes the bus still refused after ``ATTEMPTS``."""
    client = client or aws.client("events")
    pending = list(range(len(entries)))
    for attempt in range(ATTEMPTS):
        if attempt:
            sleep(random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)))
        resp = client.put_events(Entries=[entries[i] for i in pending])
        if not resp.get("FailedEntryCount"):
            return []
        refused = [i for i, result in zip(pending, resp["Entries"], strict=True) if result.get("ErrorCode")]
        count("EventsRefused", len(refused))
        logger.warning(
            "the bus refused entries: put again",
            extra={"refused": len(refused), "codes": sorted({r.get("ErrorCode") for r in resp["Entries"]} - {None})},
        )
        pending = refused
    return pending


def publish(records: list[Mapping[str, Any]], *, client: Any = None) -> str | None:
    """Put the events of ``records`` on the bus, in order; the sequence number of the first
    record that failed (to be handed on again, with every record after it), or None."""
    entries_of = events.audit_entries(records)
    chunk: list[tuple[str, dict[str, Any]]] = []

    def flush() -> str | None:
        if not chunk:
            return None
        refused = put([e for _, e in chunk], client=client)
        published = min(refused) if refused else len(chunk)
        count("EventsPublished", published)
        first_failed = chunk[published][0] if refused else None
        chunk.clear()
        return first_failed

    fanout = Fanout()
    for record in records:
        sequence = (record.get("dynamodb") or {}).get("SequenceNumber", "")
        try:
            found = events.committed(record, entries_of)
            if found is not None:
                fanout(found)  # the webhooks' FIFO queue, in stream order
        except Exception:
            logger.exception("could not make or queue the change's event", extra={"sequence_number": sequence})
            return flush() or sequence
        if found is None:
            continue
        chunk.append((found.sequence_number, entry(found.event)))
        if len(chunk) == ENTRIES_PER_CALL:
            failed = flush()
            if failed:
                return failed
    return flush()


@logger.inject_lambda_context(clear_state=True)
@emit_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    failed = publish(event.get("Records") or [])
    if failed is None:
        return {"batchItemFailures": []}
    count("EventsFailures")
    return {"batchItemFailures": [{"itemIdentifier": failed}]}
