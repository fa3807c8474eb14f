"""EMF metrics: one document per invocation, per dialect (and as totals), nothing carried
from one invocation to the next, whichever handlers share the process."""

from __future__ import annotations

import json
import threading
import warnings
from types import SimpleNamespace

import pytest
from ticketing import notifier, observability
from ticketing.model import utcnow

from devkit.local import apigateway as apigw

CANONICAL = {"Authorization": "Bearer tkt_demo_canonical"}
SERVICEDESK = {"Authorization": "Bearer tkt_demo_servicedesk"}


@pytest.fixture
def emf(monkeypatch, capsys):
    """Metrics on (the local run and the tests turn them off): the EMF documents printed."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "0")
    capsys.readouterr()

    def documents() -> list[dict]:
        out = capsys.readouterr().out
        return [doc for doc in map(json.loads, filter(None, out.splitlines())) if "_aws" in doc]

    return documents


def only(docs: list[dict]) -> dict:
    assert len(docs) == 1, docs
    return docs[0]


def test_dialect_handlers_in_one_process_share_no_metric_state(aws, seeded):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Dimension 'dialect' has already been added" was one
        for _ in range(2):
            apigw.request(aws, "GET", "/tickets/1001", headers=CANONICAL)
            apigw.request(aws, "GET", "/api/Tickets/GetTicket/INC-001001", headers=SERVICEDESK)
    metrics = observability.metrics
    assert (metrics.metric_set, metrics.dimension_set, metrics.provider.dimension_sets) == ({}, {}, [])


def test_an_update_is_counted_once_per_dialect_and_in_total(aws, seeded, emf):
    response = apigw.request(
        aws, "PATCH", "/tickets/1001", body=json.dumps({"priority": 4}),
        headers={**CANONICAL, "Content-Type": "application/json"},
    )  # fmt: skip
    assert response["statusCode"] == 200
    doc = only(emf())
    spec = doc["_aws"]["CloudWatchMetrics"][0]
    assert spec["Namespace"] == "Tickets"
    assert sorted(map(sorted, spec["Dimensions"])) == [["dialect", "service"], ["service"]]
    assert (doc["dialect"], doc["service"]) == ("canonical", "tickets")
    assert {m["Name"] for m in spec["Metrics"]} == {"Requests", "Updates"}
    assert (doc["Requests"], doc["Updates"]) == ([1.0], [1.0])


def test_a_refusal_is_counted_and_writes_nothing(aws, seeded, emf):
    apigw.request(aws, "GET", "/api/Tickets/GetTicket/INC-001001", headers={"Authorization": "Bearer wrong"})
    doc = only(emf())
    assert doc["dialect"] == "servicedesk"
    assert (doc["Requests"], doc["Refusals"]) == ([1.0], [1.0]) and "Updates" not in doc


def test_a_create_is_counted(aws, seeded, emf):
    response = apigw.request(
        aws, "POST", "/tickets", body=json.dumps({"title": "Metrics"}),
        headers={**CANONICAL, "Content-Type": "application/json"},
    )  # fmt: skip
    assert response["statusCode"] == 201
    assert only(emf())["Creates"] == [1.0]


def test_counts_from_threads_sum_into_one_value(emf):
    @observability.emit_metrics
    def handler(event, context):
        observability.dimension("dialect", "test")

        def count_25():
            for _ in range(25):
                observability.count("Updates")

        workers = [threading.Thread(target=count_25) for _ in range(4)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()

    handler({}, None)
    assert only(emf())["Updates"] == [100.0]  # one value: no early flush at Powertools' 100 values


def test_the_notifier_counts_messages_sent_and_notices_skipped_per_purpose(aws, seeded, emf):
    doc = {
        "ticket_id": 1002,
        "purpose": "test-reminder",
        "delivery": "metrics-1",
        "due": utcnow().isoformat(),
        "expect": {"status": "open"},
        "message": {"channel": "email", "to": ["ops@example.com"], "subject": "Hi", "body": "Ticket 1002 waits."},
    }
    context = SimpleNamespace(
        function_name="NotifierFunction", memory_limit_in_mb=1024, aws_request_id="r-metrics",
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:NotifierFunction",
    )  # fmt: skip
    assert notifier.handler(doc, context)["outcome"] == "sent"
    assert notifier.handler(doc, context)["outcome"] == "duplicate"
    sent, duplicate = emf()
    assert sent["purpose"] == "test-reminder" and sent["service"] == "tickets"
    assert (sent["NotificationsSent"], sent["NotificationsFailed"]) == ([1.0], [0.0])
    assert duplicate["NotificationsSkipped"] == [1.0] and "NotificationsSent" not in duplicate
