"""The change events' bus on the embedded AWS, for the local run and the tests.

``create_resources`` (called by ``devkit.localstack.create_resources``) makes the template's
EventBridge buses on moto, with a local *tap*: a rule matching every event of the hub's source
whose target is an SQS queue (``LocalBusTap``, not in the template), so that what the functions
put on the bus can be read back (``Tap.read()``: the console's bus view and the tests).  moto
delivers PutEvents to the rule's queue synchronously.  FIFO queues (``FifoQueue``) are made as
SQS makes them (``.fifo`` names, their attributes), and every queue gets its ``RedrivePolicy`` so
that moto moves a message received ``maxReceiveCount`` times to its dead-letter queue, as SQS does.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from devkit import template as tpl

TAP_QUEUE = "LocalBusTap"
TAP_RULE = "local-bus-tap"
SOURCE = "ticket-hub"
TAP_KEEP = 1000  # the local run's tap keeps the bus's latest events only (nothing consumes it)
_QUEUE_ATTRIBUTES = (
    "FifoQueue",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "VisibilityTimeout",
    "ContentBasedDeduplication",
)


def queue_spec(template: tpl.Template, logical_id: str) -> dict[str, Any]:
    """``create_queue``'s arguments for a queue of the template."""
    props = template.resources[logical_id].get("Properties", {})
    attributes = {
        k: str(props[k]).lower() if isinstance(props[k], bool) else str(props[k])
        for k in _QUEUE_ATTRIBUTES
        if k in props
    }
    redrive = props.get("RedrivePolicy")
    if redrive:
        target = redrive["deadLetterTargetArn"]
        attributes["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": str(template.resolve(target)), "maxReceiveCount": int(redrive["maxReceiveCount"])}
        )
    return {"QueueName": template.queue_name(logical_id), "Attributes": attributes}


def ordered_queues(template: tpl.Template) -> list[str]:
    """Dead-letter queues first (a redrive policy names an existing queue)."""
    queues = list(template.of_type("AWS::SQS::Queue"))
    return sorted(queues, key=lambda q: "RedrivePolicy" in template.resources[q].get("Properties", {}))


def create_resources(template: tpl.Template, events: Any, sqs: Any) -> None:
    """The template's event buses, and the tap rule on each (``events``, ``sqs``: clients of the
    embedded AWS)."""
    buses = [template.physical_name(b) for b in template.of_type("AWS::Events::EventBus")]
    if not buses:
        return
    tap_url = sqs.create_queue(QueueName=TAP_QUEUE)["QueueUrl"]
    tap_arn = sqs.get_queue_attributes(QueueUrl=tap_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    existing = {b["Name"] for b in events.list_event_buses().get("EventBuses", [])}
    for name in buses:
        if name not in existing:
            events.create_event_bus(Name=name)
        events.put_rule(Name=TAP_RULE, EventBusName=name, EventPattern=json.dumps({"source": [SOURCE]}))
        events.put_targets(Rule=TAP_RULE, EventBusName=name, Targets=[{"Id": "tap", "Arn": tap_arn}])


@contextmanager
def bounded_tap(keep: int = TAP_KEEP) -> Iterator[None]:
    """Within this block, the tap queue holds the latest ``keep`` events at most: in the local run
    nothing receives from it (``/_local/webhooks`` peeks at it), so it would grow for as long as
    the run lasts, and every look at it would read every event ever put on the bus."""
    from moto.sqs.models import SQSBackend

    original = SQSBackend.send_message

    def send_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        message = original(self, queue_name, *args, **kwargs)
        if queue_name == TAP_QUEUE:
            queue = self.queues.get(queue_name)
            if queue is not None and len(queue._messages) > keep:
                with queue._messages_lock:
                    del queue._messages[:-keep]
        return message

    with mock.patch.object(SQSBackend, "send_message", send_message):
        yield


class Tap:
    """What was put on the bus, read from the tap queue (kept: reading it drains the queue)."""

    def __init__(self, endpoint_url: str | None = None, limit: int = 5000):
        self.endpoint_url, self.limit = endpoint_url, limit
        self.seen: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def read(self) -> list[dict[str, Any]]:
        from devkit.local import provision as localstack

        sqs = localstack.session().client("sqs", endpoint_url=self.endpoint_url)
        with self._lock:
            url = sqs.get_queue_url(QueueName=TAP_QUEUE)["QueueUrl"]
            while True:
                got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
                if not got:
                    break
                self.seen += [json.loads(m["Body"]) for m in got]
                sqs.delete_message_batch(
                    QueueUrl=url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)],
                )
            del self.seen[: max(0, len(self.seen) - self.limit)]
            return list(self.seen)

    def forget(self) -> None:
        with self._lock:
            self.seen = []
