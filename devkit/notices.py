"""Hand the notices in the notification dead-letter queue back to the notifier.

    python -m devkit.notices list   --queue URL
    python -m devkit.notices replay --queue URL --notifier ARN [--limit N]

A message there is a notice the notifier could not carry out: a schedule's input (the notice
itself), or, for a failed asynchronous invocation (sends deferred past Lambda's retries, a
store outage), Lambda's record with the notice as ``requestPayload``.  ``replay`` invokes the
notifier (asynchronously, as the schedules and the automations function do) with each notice,
then deletes the message; one it cannot read stays in the queue.  Replaying is safe: the
notifier claims each delivery once and marks each recipient as it is sent, so a notice
replayed after it was delivered sends nothing, and one half-delivered sends only the rest.
``--queue`` is the stack's ``NotificationDeadLetterQueue`` URL; ``--notifier`` the notifier's
``live`` alias ARN (the stack outputs name both).  AWS credentials and region as for the AWS CLI
(``AWS_ENDPOINT_URL`` for the local run's embedded AWS).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import Any

import boto3
from ticketing import scheduling


def notice_of(body: str) -> scheduling.Notice | None:
    """The notice a dead-letter message carries (None: not one)."""
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    if isinstance(doc, dict) and isinstance(doc.get("requestPayload"), dict):
        doc = doc["requestPayload"]  # Lambda's on-failure record of an asynchronous invocation
    try:
        return scheduling.Notice.model_validate(doc)
    except ValueError:
        return None


def messages(sqs: Any, queue: str, limit: int) -> Iterator[dict[str, Any]]:
    seen = 0
    while seen < limit:
        batch = sqs.receive_message(
            QueueUrl=queue, MaxNumberOfMessages=min(10, limit - seen), WaitTimeSeconds=1, VisibilityTimeout=60
        ).get("Messages", [])
        if not batch:
            return
        for message in batch:
            seen += 1
            yield message


def replay(queue: str, notifier: str, *, limit: int = 1000, sqs: Any = None, lam: Any = None) -> dict[str, int]:
    """Invoke the notifier with each dead-lettered notice and delete it; counts of what happened."""
    sqs = sqs or boto3.client("sqs")
    lam = lam or boto3.client("lambda")
    counts = {"replayed": 0, "unreadable": 0}
    for message in messages(sqs, queue, limit):
        notice = notice_of(message["Body"])
        if notice is None:
            counts["unreadable"] += 1
            continue  # left in the queue (visible again after its timeout) for someone to read
        lam.invoke(FunctionName=notifier, InvocationType="Event", Payload=notice.model_dump_json().encode())
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        counts["replayed"] += 1
    return counts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m devkit.notices", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="show the dead-lettered notices (ticket, purpose, due; contacts masked)")
    listing.add_argument("--queue", required=True)
    listing.add_argument("--limit", type=int, default=100)
    again = sub.add_parser("replay", help="invoke the notifier with each dead-lettered notice, then delete it")
    again.add_argument("--queue", required=True)
    again.add_argument("--notifier", required=True)
    again.add_argument("--limit", type=int, default=1000)
    args = p.parse_args(argv)
    if args.command == "replay":
        print(json.dumps(replay(args.queue, args.notifier, limit=args.limit)))
        return 0
    sqs = boto3.client("sqs")
    for message in messages(sqs, args.queue, args.limit):
        notice = notice_of(message["Body"])
        if notice is None:
            print(json.dumps({"message_id": message["MessageId"], "unreadable": True}))
            continue
        print(json.dumps({"ticket_id": notice.ticket_id, "purpose": notice.purpose, "due": notice.due.isoformat()}))
        # leave it: visible again after the receive's timeout
    return 0


if __name__ == "__main__":
    sys.exit(main())
