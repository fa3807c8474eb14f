"""SQS event sources (``Type: SQS``), as Lambda's event source mappings run them, for the local run.

For every function of template.yaml with an SQS event, the pump receives from the queue on the
embedded AWS (``BatchSize`` at a time, every attribute), hands the messages to the handler as Lambda
does (``Records`` of ``aws:sqs``), and deletes what the handler did not report in
``batchItemFailures`` (``ReportBatchItemFailures``).  moto keeps SQS's own rules: a FIFO group's next
message is handed on only once the one before it is deleted, a message's visibility is what the
handler set (``ChangeMessageVisibility``), and a message received ``maxReceiveCount`` times goes to
its dead-letter queue.  What was handed on is kept (``delivered``) for the console and the tests.

Also here: the local run's webhook dev endpoints (``/_local/webhooks``: the bus's events, the
deliveries and the dead-letter queue; ``POST /_local/webhooks/replay``) and ``replay``, the
dead-letter queue back to the delivery queue (``python -m devkit.webhooks replay``).

Up to ``concurrency`` batches run at once, on threads (Lambda runs one per FIFO group at a time,
many groups side by side).  Not emulated: batching windows, maximum concurrency, long polling.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

from devkit import template as tpl
from devkit.local import runtime
from devkit.local.streams import BackgroundPump

log = logging.getLogger("local.deliveries")
DELIVERY_QUEUE = "WebhookDeliveryQueue"
DEAD_LETTER_QUEUE = "WebhookDeadLetterQueue"
WAKE_SERVICES = ("sqs", "events")  # what may put a message on a queue: the pump looks again after them


@dataclass
class _Source:
    fn: tpl.Function
    queue: str  # logical id
    batch_size: int


def sources(template: tpl.Template) -> list[_Source]:
    out = []
    functions = template.functions()
    for logical_id, res in template.of_type("AWS::Serverless::Function").items():
        for ev in (res.get("Properties", {}).get("Events") or {}).values():
            if ev.get("Type") == "SQS":
                queue = ev["Properties"]["Queue"]["Fn::GetAtt"][0]
                out.append(_Source(functions[logical_id], queue, int(ev["Properties"].get("BatchSize", 10))))
    return out


def _client(endpoint: str | None) -> Any:
    from devkit.local import provision as localstack

    return localstack.session().client("sqs", endpoint_url=endpoint)


def _record(template: tpl.Template, queue: str, message: dict[str, Any]) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": template.arn(queue),
        "awsRegion": tpl.REGION,
    }


class SqsPump(BackgroundPump):
    """Hand the template's SQS queues to their functions (``interval`` seconds apart)."""

    name = "deliveries"

    def __init__(
        self,
        template: tpl.Template,
        endpoint: str | None,
        interval: float = 0.1,
        rounds: int = 200,
        gate: Any = None,
        concurrency: int = 8,
    ):
        super().__init__(interval)
        self.template, self.endpoint, self.rounds = template, endpoint, rounds
        self.sources = sources(template)
        self.delivered: list[dict[str, Any]] = []  # (function, message ids, result): the console and the tests
        self._sqs: Any = None
        # with the embedded AWS's gate: receive only once something may have been sent since the
        # queues were last found empty, or every ``retry_poll`` seconds while a failure waits
        self.gate, self.retry_poll = gate, 0.5
        self.concurrency = concurrency
        self._record_lock = threading.Lock()
        self._seen: int | None = None
        self._failing = False
        self._last = 0.0

    def _idle(self) -> bool:
        if self.gate is None or self._seen is None or self._changes() != self._seen:
            return False
        return not self._failing or time.monotonic() - self._last < self.retry_poll

    def _changes(self) -> int:
        """The gate's count of requests that may have sent to a queue: SQS's own, and EventBridge's
        (a rule's target may be a queue)."""
        return self.gate.changes_of(*WAKE_SERVICES) if self.gate is not None else 0

    def forget(self) -> None:
        with self._lock:
            self.delivered = []

    def pump(self) -> int:
        """Receive and hand on until the queues have nothing visible (or ``rounds`` batches)."""
        with self._lock:
            if self._idle():
                return 0
            self._sqs = self._sqs or _client(self.endpoint)
            self._last, self._failing, quiet = time.monotonic(), False, True
            handled = 0
            for source in self.sources:
                url = self.template.physical_name(source.queue)
                for _ in range(self.rounds):
                    batches = []  # up to ``concurrency`` batches at once, as Lambda runs them side by side
                    while len(batches) < self.concurrency:
                        before = self._changes()
                        got = self._sqs.receive_message(
                            QueueUrl=url,
                            MaxNumberOfMessages=source.batch_size,
                            AttributeNames=["All"],
                            MessageAttributeNames=["All"],
                        ).get("Messages", [])
                        if not got:
                            # nothing else was sent meanwhile (only this receive counted): idle until a change
                            quiet = quiet and (self.gate is None or self._changes() == before + 1)
                            break
                        batches.append(got)  # a FIFO group's next message waits until this one is done
                    if not batches:
                        break
                    handled += sum(len(b) for b in batches)
                    with ThreadPoolExecutor(len(batches), thread_name_prefix="lambda-sqs") as pool:
                        results = list(pool.map(partial(self._invoke, source, url), batches))
                    self._failing |= any(results)
            self._seen = self._changes() if self.gate is not None and quiet else None
            return handled

    def _invoke(self, source: _Source, url: str, messages: list[dict[str, Any]]) -> bool:
        """Hand ``messages`` on; whether some failed (they come again after their visibility)."""
        records = [_record(self.template, source.queue, m) for m in messages]
        try:
            result = runtime.invoke(source.fn, {"Records": records}) or {}
            failed = {f.get("itemIdentifier") for f in result.get("batchItemFailures") or []}
        except Exception as err:  # the whole batch comes again after its visibility timeout
            log.error("%s failed on %d messages: %s", source.fn.logical_id, len(records), err)
            result, failed = {"error": repr(err)}, {r["messageId"] for r in records}
        entry = {
            "function": source.fn.logical_id,
            "at": time.time(),
            "messages": [json.loads(r["body"]).get("event_id", r["messageId"]) for r in records],
            "result": result,
        }
        with self._record_lock:  # not the pump's lock: that one is held by the thread that waits for this
            self.delivered.append(entry)
            del self.delivered[:-1000]
        done = [r for r in records if r["messageId"] not in failed]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(done)]
            )
        return bool(failed)


def dead_letters(template: tpl.Template, endpoint: str | None = None) -> int:
    sqs = _client(endpoint)
    attrs = sqs.get_queue_attributes(
        QueueUrl=template.physical_name(DEAD_LETTER_QUEUE), AttributeNames=["ApproximateNumberOfMessages"]
    )
    return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


def replay(template: tpl.Template, endpoint: str | None = None, limit: int | None = None) -> int:
    """Move the dead-letter queue's messages back to the delivery queue, each in its own group
    again (a new deduplication id: SQS would drop a resend within five minutes of the first send).
    Deployed, ``aws sqs start-message-move-task --source-arn <WebhookDeadLetterQueue ARN>`` does the
    same within AWS.  Returns how many were moved."""
    sqs = _client(endpoint)
    source, target = template.physical_name(DEAD_LETTER_QUEUE), template.physical_name(DELIVERY_QUEUE)
    moved = 0
    while limit is None or moved < limit:
        got = sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages", [])
        if not got:
            break
        for m in got:
            attrs = m.get("Attributes", {})
            first = attrs.get("MessageDeduplicationId", m["MessageId"])[:80]
            sqs.send_message(
                QueueUrl=target,
                MessageBody=m["Body"],
                MessageGroupId=attrs.get("MessageGroupId", "replay"),
                MessageDeduplicationId=f"{first}:replay:{time.time_ns()}",
            )
            sqs.delete_message(QueueUrl=source, ReceiptHandle=m["ReceiptHandle"])
            moved += 1
    return moved


def peek(queue_name: str) -> list[dict[str, Any]]:
    """The bodies of a queue's messages on the in-process embedded AWS, read from moto's backend
    (receiving would count as a change and hide them from their consumer)."""
    from moto.sqs.models import sqs_backends

    queue = sqs_backends[tpl.ACCOUNT][tpl.REGION].queues.get(queue_name)
    return [json.loads(m.body) for m in list(queue.messages)] if queue else []


def answer(run: Any, method: str, path: str, args: dict[str, str]) -> tuple[int, list[tuple[str, str]], bytes] | None:
    """The local run's webhook dev endpoints (``devkit.local.run``'s ``dev_endpoint`` asks here first):
    the bus's latest events, the deliveries handed to WebhookDeliveryFunction, the dead letters."""
    from devkit.local import bus

    json_type = [("Content-Type", "application/json")]
    if path == "/_local/webhooks" and method == "GET":
        limit = int(args.get("limit", "100"))
        with run.aws.gate.lock:  # moto's backends, read while no request changes them
            events = peek(bus.TAP_QUEUE)[-limit:]
            dead = peek(run.template.queue_name(DEAD_LETTER_QUEUE))
        doc = {
            "events": [
                {"detail-type": e.get("detail-type"), "time": e.get("time"), **(e.get("detail") or {})} for e in events
            ],
            "deliveries": run.deliveries.delivered[-limit:],
            "dead_letters": [{k: d.get(k) for k in ("subscription_id", "event_id", "kind")} for d in dead],
        }
        return 200, json_type, json.dumps(doc, indent=2, default=str).encode()
    if path == "/_local/webhooks/replay" and method == "POST":
        return 200, json_type, json.dumps({"replayed": replay(run.template, None)}).encode()
    return None
