"""DynamoDB throttling and outages: retries, then a clean 503, never half a change."""

from __future__ import annotations

import json

import pytest
from ticketing import service
from ticketing.store import writer

from devkit.local import apigateway as apigw
from devkit.local import faults

AUTH = {"Authorization": "Bearer tkt_demo_canonical"}


# A write that keeps failing is retried until the write budget runs out (8 s).  The tests that wait
# it out lower it to a second, and botocore's backoff between its 3 attempts a call to a hundredth
# (``quick_botocore_backoff``): still several tries of 3 attempts each within the budget.
@pytest.fixture
def short_budget(monkeypatch, quick_botocore_backoff):
    monkeypatch.setattr(writer, "WRITE_BUDGET_SECONDS", 1.0)


def _patch(aws, body, headers=None):
    resp = apigw.request(aws, "PATCH", "/tickets/1001", body=json.dumps(body), headers={**AUTH, **(headers or {})})
    return resp["statusCode"], json.loads(resp["body"]) if resp["body"] else None


@pytest.mark.parametrize(
    ("code", "http_status"), [("ProvisionedThroughputExceededException", 400), ("InternalServerError", 500)]
)
def test_persistent_throttling_of_the_write_is_a_503_and_changes_nothing(aws, seeded, code, http_status, short_budget):
    with faults.inject("dynamodb", "TransactWriteItems", code, status=http_status) as fault:
        status, problem = _patch(aws, {"queue": "x", "tags": ["y"]})
    assert status == 503 and problem["type"] == "urn:tickets:problem:unavailable"
    # botocore's standard retry mode (3 attempts a call), then the write path's own backoff, within
    # its budget: a 500 may have been applied, so it is retried with the same ClientRequestToken and
    # "nothing was changed" is said only once the request's own audit entry is known to be absent
    assert fault.injected >= 6 and fault.injected % 3 == 0
    ticket = service.repository().get(1001)
    assert ticket.queue == "facilities" and ticket.version == 1
    entries, _ = service.repository().history(1001)
    assert [e.version for e in entries] == [1]


def test_a_transient_throttle_is_retried_and_the_change_lands_once(aws, seeded, quick_botocore_backoff):
    with faults.inject("dynamodb", "TransactWriteItems", "ThrottlingException", times=2) as fault:
        status, ticket = _patch(aws, {"queue": "after-retry"})
    assert status == 200 and fault.injected == 2
    assert ticket["queue"] == "after-retry" and ticket["version"] == 2
    entries, _ = service.repository().history(1001)
    assert [e.version for e in entries] == [2, 1]


@pytest.mark.parametrize(
    ("path", "operation"),
    [("/tickets/1001", "BatchGetItem"), ("/webhooks", "GetItem")],  # the client, its ticket read ahead; alone
)
def test_throttled_reads_are_a_503_too(aws, seeded, quick_botocore_backoff, path, operation):
    with faults.inject("dynamodb", operation, "ProvisionedThroughputExceededException"):
        resp = apigw.request(aws, "GET", path, headers=AUTH)
    assert resp["statusCode"] == 503
    assert json.loads(resp["body"])["status"] == 503


def test_a_transaction_cancelled_by_throttling_is_retried_then_503(aws, seeded, short_budget):
    reasons = {"CancellationReasons": [{"Code": "ThrottlingError"}, {"Code": "None"}]}
    with faults.inject("dynamodb", "TransactWriteItems", "TransactionCanceledException", extra=reasons):
        status, problem = _patch(aws, {"queue": "x"})
    assert status == 503 and problem["status"] == 503
    assert service.repository().get(1001).version == 1


def test_an_unexpected_store_error_is_a_500_in_the_dialects_format_and_logged(aws, seeded, log_output):
    with faults.inject("dynamodb", "TransactWriteItems", "ValidationException"):
        status, problem = _patch(aws, {"queue": "x"})
    assert status == 500 and problem["type"] == "urn:tickets:problem:internal_error"
    logged = [json.loads(line) for line in log_output.getvalue().splitlines()]
    crash = next(entry for entry in logged if entry["message"] == "unhandled error")
    assert "ValidationException" in crash["exception"] and crash["level"] == "ERROR"
    assert crash["correlation_id"]
