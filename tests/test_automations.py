"""Timed automations follow a ticket's changes through every dialect (ticketing.automations).

The tickets table's stream is read by the local run's event source emulation
(``devkit.streams.StreamPump``), in process on moto, and handed to TicketAutomationsFunction
as Lambda would hand it; over HTTP, the local run does the same by itself."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from test_particlespace import EXAMPLE, KEY, QUIET, REMINDER, emails, notice_of, pump, put, schedules
from ticketing import automations, scheduling, service
from ticketing.errors import Unavailable

from devkit import apigw, metering
from devkit.streams import StreamPump, matches

CANONICAL = {"Authorization": "Bearer tkt_demo_canonical"}
SCHEDULER_CALLS = {"CreateSchedule", "UpdateSchedule", "DeleteSchedule", "GetSchedule"}


def patch(template, ticket_id: int, body: dict) -> dict:
    resp = apigw.request(template, "PATCH", f"/tickets/{ticket_id}", body=json.dumps(body), headers=CANONICAL)
    assert resp["statusCode"] == 200, resp["body"]
    return json.loads(resp["body"])


def streams(template) -> StreamPump:
    """The stream records not yet handled, handed to the function (one pump per test: it reads
    from the stream's start, as the event source of a new function does)."""
    return StreamPump(template, endpoint=None)


def outcomes(pump_: StreamPump) -> list:
    return [d.get("result") or d.get("error") for d in pump_.delivered]


def test_a_move_through_another_dialect_rearms_the_reminder_for_the_new_stay(aws, seeded):
    put(aws, EXAMPLE)  # ParticleSpace: automated reminder of the ON_HOLD stay (2 days)
    on_hold = notice_of(schedules()[REMINDER])
    s = streams(aws)
    s.pump()
    assert notice_of(schedules()[REMINDER]) == on_hold  # ParticleSpace armed it itself: kept as it is
    moved = patch(aws, 1002, {"status": "in_progress"})
    with metering.aws_calls("scheduler") as calls:
        assert s.pump() == 1  # the ticket's change (its audit entry is filtered out by the event source)
    assert calls == {"GetSchedule": 1, "CreateSchedule": 1, "UpdateSchedule": 1}  # create: it exists; replace
    rearmed = notice_of(schedules()[REMINDER])
    assert rearmed["expect"]["status"] == "in_progress" and rearmed["delivery"] != on_hold["delivery"]
    assert rearmed["armed_by"] == "automations"
    due = datetime.fromisoformat(moved["status_since"]) + timedelta(minutes=1440)  # the flow's default limit
    assert datetime.fromisoformat(rearmed["due"]) == due
    assert all(o == {"batchItemFailures": []} for o in outcomes(s))
    # when it comes due, the notifier finds the ticket still in that stay and reminds once
    fired = pump(aws, due + timedelta(minutes=1)).fired
    assert [f["result"]["outcome"] for f in fired] == ["sent", "sent"]  # the first update's notice, the reminder
    assert [m["subject"] for m in emails("Reminder")] == [
        f"Reminder: ticket {KEY} has been in In progress for over 1 day"
    ]


def test_a_move_elsewhere_into_a_flow_without_a_limit_cancels_the_reminder(aws, seeded):
    put(aws, EXAMPLE)
    s = streams(aws)
    s.pump()
    patch(aws, 1002, {"status": "resolved"})  # DONE: time limit 0
    s.pump()
    assert REMINDER not in schedules()


def test_changes_an_automation_does_not_watch_cost_no_scheduler_call(aws, seeded):
    put(aws, EXAMPLE)
    s = streams(aws)
    s.pump()
    before = notice_of(schedules()[REMINDER])
    patch(aws, 1002, {"title": "Leaking faucet, kitchen", "priority": 3})
    with metering.aws_calls("scheduler") as calls:
        assert s.pump() >= 1
    assert not SCHEDULER_CALLS & set(calls), calls
    assert notice_of(schedules()[REMINDER]) == before


def test_tickets_without_the_automation_switched_on_cost_nothing(aws, seeded):
    s = streams(aws)
    s.pump()  # the demo data
    patch(aws, 1001, {"status": "in_progress"})
    service_ticket = service.get_ticket("1001")
    assert service_ticket.notify is None
    with metering.aws_calls("scheduler") as calls:
        s.pump()
    assert not SCHEDULER_CALLS & set(calls), calls
    assert REMINDER.replace("1002", "1001") not in schedules()


def test_switching_the_automation_off_in_particlespace_and_moving_elsewhere(aws, seeded):
    put(aws, EXAMPLE)
    put(aws, {**QUIET, "status": "ON_HOLD"})  # notify 0: ParticleSpace cancels the reminder itself
    assert REMINDER not in schedules()
    s = streams(aws)
    patch(aws, 1002, {"status": "open"})
    s.pump()
    assert REMINDER not in schedules()  # nothing is called for: nothing is armed again


def test_a_scheduler_outage_fails_the_record_and_its_retry_arms(aws, seeded, monkeypatch):
    put(aws, EXAMPLE)
    s = streams(aws)
    s.pump()
    patch(aws, 1002, {"status": "in_progress"})
    real_arm = scheduling.arm

    def busy(*args, **kwargs):
        raise Unavailable("The scheduler is busy")

    monkeypatch.setattr(scheduling, "arm", busy)
    s.pump()
    failed = s.delivered[-1]["result"]["batchItemFailures"]
    assert [f["itemIdentifier"] for f in failed] == [s.delivered[-1]["records"][0]["dynamodb"]["SequenceNumber"]]
    assert notice_of(schedules()[REMINDER])["expect"]["status"] == "on_hold"  # not yet
    monkeypatch.setattr(scheduling, "arm", real_arm)
    s.pump()  # the event source hands the failed record again, and what came after it
    assert s.delivered[-1]["result"] == {"batchItemFailures": []}
    assert notice_of(schedules()[REMINDER])["expect"]["status"] == "in_progress"


def test_a_record_failing_past_its_retries_goes_to_the_on_failure_queue(aws, seeded, monkeypatch):
    import boto3

    put(aws, EXAMPLE)
    s = streams(aws)
    s.pump()
    patch(aws, 1002, {"status": "in_progress"})

    def busy(*args, **kwargs):
        raise Unavailable("The scheduler is busy")

    monkeypatch.setattr(scheduling, "arm", busy)
    retries = s.sources[0].spec.max_retries
    for _ in range(retries + 1):
        s.pump()
    failing = s.delivered[-1]["records"][0]["dynamodb"]["SequenceNumber"]
    assert len(s.delivered) == 1 + retries + 1  # the first batch, then the same record each time
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName="AutomationsDeadLetterQueue")["QueueUrl"]
    [message] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    info = json.loads(message["Body"])
    assert info["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert info["DDBStreamBatchInfo"]["startSequenceNumber"] == failing
    monkeypatch.setattr(scheduling, "arm", lambda *a, **k: pytest.fail("a record given up on came again"))
    s.pump()
    assert len(s.delivered) == 1 + retries + 1


def test_a_new_ticket_that_calls_for_a_reminder_gets_it_and_a_removed_one_nothing(aws, seeded):
    from ticketing.repository import marshal, ticket_doc

    put(aws, EXAMPLE)
    scheduling.cancel(1002, "particlespace-reminder")
    image = marshal({"pk": "TICKET#1002", "sk": "TICKET", **ticket_doc(service.get_ticket("1002"))})
    [outcome] = automations.apply_change(None, image)
    assert outcome.action == "armed" and notice_of(schedules()[REMINDER])["expect"]["status"] == "on_hold"
    assert automations.apply_change(image, None) == []


@pytest.mark.parametrize(
    ("record", "pattern", "expected"),
    [
        ({"eventName": "MODIFY", "dynamodb": {"Keys": {"sk": {"S": "TICKET"}}}}, None, True),
        ({"eventName": "REMOVE", "dynamodb": {"Keys": {"sk": {"S": "TICKET"}}}}, None, False),
        ({"eventName": "MODIFY", "dynamodb": {"Keys": {"sk": {"S": "AUDIT#0000000002"}}}}, None, False),
        ({"eventName": "MODIFY", "dynamodb": {}}, None, False),
    ],
)
def test_the_event_filter_of_the_template(aws, record, pattern, expected):
    [source] = streams(aws).sources
    assert any(matches(record, p) for p in source.spec.filters) is expected


def test_content_filters_are_refused_rather_than_ignored():
    with pytest.raises(ValueError):
        matches({"a": "x"}, {"a": [{"prefix": "x"}]})
