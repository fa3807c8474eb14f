"""Lambda's Invoke over the local run's embedded AWS (the rest: ``tests/integration/test_local_lambdas.py``).

Lambda's Invoke of the template's own functions (``devkit.lambdas``): in process, as the
layer's clients call it under the ``aws`` fixture, and over HTTP against the local run's
embedded AWS, as ``sam local invoke`` containers call it."""

from __future__ import annotations

import json
import time

import boto3
import pytest
from botocore.exceptions import ClientError
from sample_notice import notice_payload as notice

from devkit import template as tpl

NOTIFIER_ARN = f"arn:aws:lambda:{tpl.REGION}:{tpl.ACCOUNT}:function:NotifierFunction"


DLQ = "NotificationDeadLetterQueue"


def dead_letters(sqs=None) -> list[dict]:
    sqs = sqs or boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=DLQ)["QueueUrl"]
    return [
        json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    ]


def _settled(http, count: int, timeout: float = 15.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        _, _, invocations = http.json("GET", "/_local/invocations")
        if len(invocations) >= count and all(r["outcome"] != "pending" for r in invocations):
            return invocations
        assert time.monotonic() < deadline, invocations
        time.sleep(0.05)


@pytest.fixture
def embedded(local_run):
    assert local_run.request("POST", "/_local/reset")[0] == 200
    _, _, health = local_run.json("GET", "/_local/health")
    session = boto3.session.Session(
        region_name=tpl.REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    return local_run, lambda service: session.client(service, endpoint_url=health["aws"])


def test_an_event_invoke_over_the_embedded_aws_runs_the_notifier(embedded):
    http, client = embedded
    lam = client("lambda")
    answer = lam.invoke(
        FunctionName=NOTIFIER_ARN + ":live", InvocationType="Event", Payload=json.dumps(notice("far@example.com"))
    )
    assert answer["StatusCode"] == 202 and answer["Payload"].read() == b""
    [record] = _settled(http, 1)
    assert (record["function"], record["outcome"], record["attempts"]) == ("NotifierFunction", "succeeded", 1)
    _, _, box = http.json("GET", "/_local/outbox")
    assert [m["to"] for m in box["emails"]] == [["far@example.com"]]

    synchronous = lam.invoke(FunctionName="NotifierFunction", Payload=json.dumps(notice(delivery="d-2")))
    assert json.loads(synchronous["Payload"].read())["outcome"] == "sent"

    with pytest.raises(ClientError) as raised:
        lam.invoke(FunctionName="NoSuchFunction", InvocationType="Event", Payload=b"{}")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert lam.list_functions()["Functions"] == []  # every other Lambda call is still moto's


def test_a_failing_event_invoke_over_the_embedded_aws_lands_in_its_dead_letter_queue(embedded):
    http, client = embedded
    client("lambda").invoke(FunctionName="NotifierFunction", InvocationType="Event", Payload=b'{"ticket_id": 1002}')
    [record] = _settled(http, 1)
    assert (record["outcome"], record["attempts"]) == ("failed", 3)
    [letter] = dead_letters(client("sqs"))
    assert letter["requestContext"]["condition"] == "RetriesExhausted"
    assert letter["requestPayload"] == {"ticket_id": 1002}
