"""``WebhookDeliveryFunction``: the FIFO delivery queue -> the subscriber's URL, signed.

One message a batch (``BatchSize: 1``): SQS FIFO then hands each (subscription, ticket) group's
next message on only once the one before it was delivered or given up on, and every message's
receive count is its own (a larger batch would hand a group's later messages back with the first
one's failures, counting them toward the dead-letter queue with it).  Throughput comes from the
groups: Lambda runs one batch per group at a time, many groups at once.

A delivery succeeds on any 2xx within ``TIMEOUT_SECONDS``.  Anything else (an error status, a
redirect, a refused or slow connection, a URL no longer allowed) is a failed attempt: the message's
visibility is set to the next backoff (exponential from ``webhook_retry_base_seconds``, capped at
``webhook_retry_cap_seconds``, with jitter: 75-100% of it) and it is reported as the batch's failure,
so SQS hands it on again then, and the group's later messages wait behind it.  After
``MAX_RECEIVES`` receives (the queue's ``maxReceiveCount``: the schedule's sum passes 24 hours,
``retry_window_seconds``) SQS moves it to the dead-letter queue, and the group goes on.  Replay:
``python -m devkit.webhooks replay``.  Every attempt is recorded (``store.Attempt``: status,
response code, latency, next retry) for ``GET /webhooks/{id}/deliveries``.
"""

from __future__ import annotations

import json
import random
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from ticketing import aws
from ticketing.moments import utcnow
from ticketing.observability import count, emit_metrics, logger
from ticketing.settings import get_settings
from ticketing.webhooks import signing, store, urls

TIMEOUT_SECONDS = 5.0
MAX_RECEIVES = 24  # template.yaml: WebhookDeliveryQueue's RedrivePolicy.maxReceiveCount
JITTER = (0.75, 1.0)
USER_AGENT = "ticket-hub-webhooks/1"


def backoff(receives: int, *, base: float | None = None, cap: float | None = None, low: float = 1.0) -> float:
    """The wait before the next attempt after the ``receives``-th failed one (without jitter: ``low`` = 1)."""
    settings = get_settings()
    base = settings.webhook_retry_base_seconds if base is None else base
    cap = settings.webhook_retry_cap_seconds if cap is None else cap
    return min(cap, base * 2 ** (receives - 1)) * low


def retry_window_seconds(*, base: float | None = None, cap: float | None = None) -> float:
    """The least time from the first attempt to the dead-letter queue (every jitter at its lowest)."""
    return sum(backoff(n, base=base, cap=cap, low=JITTER[0]) for n in range(1, MAX_RECEIVES))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is an answer (a failed attempt), never followed to another host


_OPENER = urllib.request.build_opener(_NoRedirects)


def post(url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int | None, str]:
    """POST once: (status or None, error text)."""
    request = urllib.request.Request(url, data=body, method="POST")  # noqa: S310 - http(s) only: urls.problem
    for name, value in {**headers, "Content-Type": "application/json", "User-Agent": USER_AGENT}.items():
        request.add_header(name, value)
    try:
        with _OPENER.open(request, timeout=TIMEOUT_SECONDS) as resp:
            resp.read(65536)
            return resp.status, ""
    except urllib.error.HTTPError as err:
        return err.code, f"HTTP {err.code}"
    except (OSError, ValueError) as err:
        return None, f"{type(err).__name__}: {err}"[:300]


def deliver(record: Mapping[str, Any], *, sqs: Any = None) -> bool:
    """One message: True when done with it (delivered, or its subscription is gone)."""
    message = json.loads(record["body"])
    receives = int((record.get("attributes") or {}).get("ApproximateReceiveCount", "1"))
    now = utcnow()
    attempt = {
        "subscription_id": message["subscription_id"],
        "event_id": message["event_id"],
        "kind": message.get("kind", ""),
        "attempt": receives,
        "at": now,
    }
    sub = store.get_subscription(message["subscription_id"])
    if sub is None or sub.deleted_at is not None:
        count("WebhooksDropped")
        return True  # deleted: what was queued for it goes nowhere
    body = message["payload"].encode()
    problem = urls.problem(sub.url)
    started = time.perf_counter()
    if problem:
        status, error = None, f"URL refused: {problem}"
    else:
        status, error = post(sub.url, body, signing.headers(sub.secret, message["event_id"], int(time.time()), body))
    latency = int((time.perf_counter() - started) * 1000)
    if status is not None and 200 <= status < 300:
        store.put_attempt(store.Attempt(**attempt, status="delivered", response_code=status, latency_ms=latency))
        count("WebhooksDelivered")
        return True
    count("WebhookAttemptsFailed")
    if receives >= MAX_RECEIVES:
        store.put_attempt(
            store.Attempt(**attempt, status="dead", response_code=status, latency_ms=latency, error=error)
        )
        logger.warning("webhook given up: to the dead-letter queue", extra={**_context(message), "error": error})
        _set_visibility(sqs, record, 0)  # visible at once: SQS moves it to the dead-letter queue then
        return False
    delay = backoff(receives) * random.uniform(*JITTER)
    store.put_attempt(
        store.Attempt(
            **attempt,
            status="failed",
            response_code=status,
            latency_ms=latency,
            error=error,
            next_retry_at=now + timedelta(seconds=delay),
        )
    )
    # if this fails, the message comes again after the queue's visibility timeout instead
    _set_visibility(sqs, record, delay)
    logger.info("webhook attempt failed: retried later", extra={**_context(message), "error": error, "in": delay})
    return False


def _set_visibility(sqs: Any, record: Mapping[str, Any], seconds: float) -> None:
    (sqs or aws.client("sqs")).change_message_visibility(
        QueueUrl=get_settings().webhook_queue_url,
        ReceiptHandle=record["receiptHandle"],
        VisibilityTimeout=max(0, min(43200, round(seconds))),
    )


def _context(message: Mapping[str, Any]) -> dict[str, Any]:
    return {k: message.get(k) for k in ("subscription_id", "event_id", "ticket_id", "version")}


@logger.inject_lambda_context(clear_state=True)
@emit_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    failures = []
    for record in event.get("Records") or []:
        try:
            done = deliver(record)
        except Exception:
            logger.exception("webhook delivery failed", extra={"message_id": record.get("messageId")})
            done = False
        if not done:
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
