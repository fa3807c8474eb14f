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

Not emulated: batching windows, maximum concurrency, long polling.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from devkit import apigw
from devkit import template as tpl
from devkit.streams import BackgroundPump

log = logging.getLogger("local.deliveries")
DELIVERY_QUEUE = "WebhookDeliveryQueue"
DEAD_LETTER_QUEUE = "WebhookDeadLetterQueue"


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
    from devkit import localstack

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

    def __init__(self, template: tpl.Template, endpoint: str | None, interval: float = 0.1, rounds: int = 200):
        super().__init__(interval)
        self.template, self.endpoint, self.rounds = template, endpoint, rounds
        self.sources = sources(template)
        self.delivered: list[dict[str, Any]] = []  # (function, message ids, result): the console and the tests
        self._sqs: Any = None

    def forget(self) -> None:
        with self._lock:
            self.delivered = []

    def pump(self) -> int:
        """Receive and hand on until the queues have nothing visible (or ``rounds`` batches)."""
        with self._lock:
            self._sqs = self._sqs or _client(self.endpoint)
            handled = 0
            for source in self.sources:
                url = self.template.physical_name(source.queue)
                for _ in range(self.rounds):
                    got = self._sqs.receive_message(
                        QueueUrl=url,
                        MaxNumberOfMessages=source.batch_size,
                        AttributeNames=["All"],
                        MessageAttributeNames=["All"],
                    ).get("Messages", [])
                    if not got:
                        break
                    handled += len(got)
                    self._invoke(source, url, got)
            return handled

    def _invoke(self, source: _Source, url: str, messages: list[dict[str, Any]]) -> None:
        records = [_record(self.template, source.queue, m) for m in messages]
        try:
            result = apigw.invoke(source.fn, {"Records": records}) or {}
            failed = {f.get("itemIdentifier") for f in result.get("batchItemFailures") or []}
        except Exception as err:  # the whole batch comes again after its visibility timeout
            log.error("%s failed on %d messages: %s", source.fn.logical_id, len(records), err)
            result, failed = {"error": repr(err)}, {r["messageId"] for r in records}
        self.delivered.append(
            {
                "function": source.fn.logical_id,
                "at": time.time(),
                "messages": [json.loads(r["body"]).get("event_id", r["messageId"]) for r in records],
                "result": result,
            }
        )
        del self.delivered[:-1000]
        done = [r for r in records if r["messageId"] not in failed]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(done)]
            )


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


def answer(run: Any, method: str, path: str, args: dict[str, str]) -> tuple[int, list[tuple[str, str]], bytes] | None:
    """The local run's webhook dev endpoints (``devkit.serve``'s ``dev_endpoint`` asks here first)."""
    json_type = [("Content-Type", "application/json")]
    if path == "/_local/webhooks" and method == "GET":
        doc = {
            "events": run.bus_tap.read()[-int(args.get("limit", "200")) :],
            "deliveries": run.deliveries.delivered[-200:],
            "dead_letters": dead_letters(run.template, None),
        }
        return 200, json_type, json.dumps(doc, indent=2, default=str).encode()
    if path == "/_local/webhooks/replay" and method == "POST":
        return 200, json_type, json.dumps({"replayed": replay(run.template, None)}).encode()
    return None
