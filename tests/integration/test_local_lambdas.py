"""Lambda's Invoke of the template's own functions (``devkit.local.lambdas``): in process, as the
layer's clients call it under the ``aws`` fixture, and over HTTP against the local run's
embedded AWS, as ``sam local invoke`` containers call it."""

from __future__ import annotations

import dataclasses
import json
import threading
import time

import boto3
import pytest
import ticketing.aws
from sample_notice import notice_payload as notice

from devkit import template as tpl
from devkit.local import runtime
from devkit.local.embedded_aws import outbox

NOTIFIER_ARN = f"arn:aws:lambda:{tpl.REGION}:{tpl.ACCOUNT}:function:NotifierFunction"
DLQ = "NotificationDeadLetterQueue"


def invoke(name: str, payload: dict | None = None, **kwargs) -> dict:
    """As the layer will call it: its own cached client."""
    body = json.dumps(payload).encode() if payload is not None else b""
    return ticketing.aws.client("lambda").invoke(FunctionName=name, Payload=body, **kwargs)


def dead_letters(sqs=None) -> list[dict]:
    sqs = sqs or boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=DLQ)["QueueUrl"]
    return [
        json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    ]


# -- in process ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name",
    [NOTIFIER_ARN, NOTIFIER_ARN + ":live", NOTIFIER_ARN + ":$LATEST", "NotifierFunction", "NotifierFunction:live"],
)
def test_an_event_invoke_answers_202_and_the_notifier_sends(aws, seeded, lambdas, name):
    answer = invoke(name, notice(), InvocationType="Event")
    assert answer["StatusCode"] == 202 and answer["Payload"].read() == b""
    assert lambdas.wait()
    [record] = lambdas.invocations
    assert record["function"] == "NotifierFunction" and record["type"] == "Event"
    assert (record["outcome"], record["attempts"], record["error"]) == ("succeeded", 1, None)
    assert record["request_id"] == answer["ResponseMetadata"]["RequestId"]
    assert [m["to"] for m in outbox()["emails"]] == [["ops@example.com"]]
    assert dead_letters() == []


def test_the_answer_does_not_wait_for_the_handler(aws, lambdas, monkeypatch):
    started, release = threading.Event(), threading.Event()
    seen = []

    def handler(event, context):
        started.set()
        release.wait(5)
        seen.append((event, context.aws_request_id, context.invoked_function_arn))
        return {"ok": True}

    monkeypatch.setattr(runtime, "load_handler", lambda fn: handler)
    answer = invoke(NOTIFIER_ARN + ":live", {"a": 1}, InvocationType="Event")
    assert answer["StatusCode"] == 202
    assert started.wait(5) and lambdas.invocations[0]["outcome"] == "pending"
    release.set()
    assert lambdas.wait()
    assert seen == [({"a": 1}, answer["ResponseMetadata"]["RequestId"], NOTIFIER_ARN + ":live")]
    assert lambdas.invocations[0]["outcome"] == "succeeded"


def test_a_failing_notice_is_retried_then_lands_in_the_dead_letter_queue(aws, seeded, lambdas):
    bad = {"ticket_id": 1002}  # no notice: the notifier raises MalformedNotice
    answer = invoke(NOTIFIER_ARN, bad, InvocationType="Event")
    assert answer["StatusCode"] == 202
    assert lambdas.wait()
    [record] = lambdas.invocations
    retries = aws.functions()["NotifierFunction"].async_invoke.max_retries
    assert retries == 2  # template.yaml's EventInvokeConfig
    assert (record["outcome"], record["attempts"]) == ("failed", 1 + retries)
    assert record["error"].startswith("MalformedNotice: not a notification notice")
    assert record["destination"] == aws.arn(DLQ)
    [letter] = dead_letters()
    assert letter["requestContext"] == {
        "requestId": answer["ResponseMetadata"]["RequestId"],
        "functionArn": NOTIFIER_ARN + ":$LATEST",
        "condition": "RetriesExhausted",
        "approximateInvokeCount": 3,
    }
    assert letter["requestPayload"] == bad
    assert letter["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert letter["responsePayload"]["errorType"] == "MalformedNotice"
    assert "purpose: Field required" in letter["responsePayload"]["errorMessage"]
    assert outbox()["emails"] == []


def test_a_retry_that_succeeds_sends_nothing_to_the_queue(aws, lambdas, monkeypatch):
    calls = []

    def flaky(event, context):
        calls.append(context.aws_request_id)
        if len(calls) == 1:
            raise RuntimeError("a passing failure")
        return {"outcome": "sent"}

    monkeypatch.setattr(runtime, "load_handler", lambda fn: flaky)
    invoke("NotifierFunction", {}, InvocationType="Event")
    assert lambdas.wait()
    assert len(calls) == 2 and calls[0] == calls[1]  # a retry keeps the request id
    assert (lambdas.invocations[0]["outcome"], lambdas.invocations[0]["attempts"]) == ("succeeded", 2)
    assert dead_letters() == []


def test_the_retries_follow_the_functions_event_invoke_config(aws, lambdas, monkeypatch):
    fn = lambdas.functions["NotifierFunction"]
    config = dataclasses.replace(fn.async_invoke, max_retries=0)
    monkeypatch.setitem(lambdas.functions, "NotifierFunction", dataclasses.replace(fn, async_invoke=config))
    monkeypatch.setattr(runtime, "load_handler", lambda fn: lambda event, context: 1 / 0)
    invoke("NotifierFunction", {"n": 1}, InvocationType="Event")
    assert lambdas.wait()
    assert lambdas.invocations[0]["attempts"] == 1
    [letter] = dead_letters()
    assert letter["requestContext"]["approximateInvokeCount"] == 1
    assert letter["responsePayload"]["errorType"] == "ZeroDivisionError"


def test_a_queue_that_cannot_be_reached_leaves_the_outcome_as_it_was(aws, lambdas, monkeypatch):
    def unreachable(destination, body):
        raise ConnectionError("no queue")

    monkeypatch.setattr(lambdas, "_deliver", unreachable)
    monkeypatch.setattr(runtime, "load_handler", lambda fn: lambda event, context: 1 / 0)
    invoke("NotifierFunction", {}, InvocationType="Event")
    assert lambdas.wait()
    [record] = lambdas.invocations
    assert (record["outcome"], record["destination"]) == ("failed", None)
    assert record["destination_error"] == "ConnectionError: no queue"


def test_request_response_returns_the_handlers_result_or_its_error(aws, seeded, lambdas):
    answer = invoke(NOTIFIER_ARN + ":live", notice())
    assert answer["StatusCode"] == 200 and "FunctionError" not in answer
    assert json.loads(answer["Payload"].read())["outcome"] == "sent"
    failed = invoke("NotifierFunction", {"ticket_id": 1002}, InvocationType="RequestResponse")
    assert failed["StatusCode"] == 200 and failed["FunctionError"] == "Unhandled"
    error = json.loads(failed["Payload"].read())
    assert error["errorType"] == "MalformedNotice" and error["requestId"] == failed["ResponseMetadata"]["RequestId"]
    assert [r["outcome"] for r in lambdas.invocations] == ["succeeded", "failed"]
    assert dead_letters() == []  # a synchronous caller gets the error; nothing is retried


def test_a_dry_run_checks_the_name_only(aws, lambdas):
    assert invoke("NotifierFunction", InvocationType="DryRun")["StatusCode"] == 204
    assert lambdas.invocations == []


@pytest.mark.parametrize(
    "name",
    [
        "NoSuchFunction",
        NOTIFIER_ARN.replace("NotifierFunction", "NoSuchFunction"),
        NOTIFIER_ARN + ":beta",  # no such alias
        NOTIFIER_ARN.replace(tpl.ACCOUNT, "999999999999"),
    ],
)
def test_an_unknown_function_is_resource_not_found(aws, lambdas, name):
    client = ticketing.aws.client("lambda")
    with pytest.raises(client.exceptions.ResourceNotFoundException) as raised:
        client.invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")
    response = raised.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 404 and response["Type"] == "User"
    assert response["Error"]["Message"].startswith("Function not found: ")
    assert lambdas.invocations == []


def test_bad_requests_are_refused_as_lambda_refuses_them(aws, lambdas):
    client = ticketing.aws.client("lambda")
    with pytest.raises(client.exceptions.InvalidRequestContentException):
        client.invoke(FunctionName="NotifierFunction", InvocationType="Event", Payload=b"{not json")
    with pytest.raises(client.exceptions.InvalidParameterValueException):
        client.invoke(FunctionName=NOTIFIER_ARN + ":live", Qualifier="$LATEST", Payload=b"{}")
    assert lambdas.invocations == []


def test_boto3s_default_session_is_answered_too(aws, seeded, lambdas):
    answer = boto3.client("lambda").invoke(
        FunctionName=NOTIFIER_ARN, InvocationType="Event", Payload=json.dumps(notice()).encode()
    )
    assert answer["StatusCode"] == 202 and lambdas.wait()
    assert len(outbox()["emails"]) == 1


def _settled(http, count: int, timeout: float = 15.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        _, _, invocations = http.json("GET", "/_local/invocations")
        if len(invocations) >= count and all(r["outcome"] != "pending" for r in invocations):
            return invocations
        assert time.monotonic() < deadline, invocations
        time.sleep(0.05)
