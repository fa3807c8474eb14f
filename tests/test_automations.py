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
from ticketing.grants import EVERYTHING

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
    service_ticket = service.get_ticket("1001", access=EVERYTHING)
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
    image = marshal({"pk": "TICKET#1002", "sk": "TICKET", **ticket_doc(service.get_ticket("1002", access=EVERYTHING))})
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


# -- Kapture's callback reminder: started by a Kapture callback, kept in step by every dialect ---------------
def _kapture_callback(template, due: datetime, comment: str = "Call after lunch.") -> dict:
    from test_kapture import element, local
    from test_kapture import post as kapture_post

    status, _, body = kapture_post(
        template, [element(ticket_id="1004", sub_status="PS", callback_time=local(due), comment=comment)]
    )
    assert status == 200, body
    return notice_of(schedules()[CALLBACK])


CALLBACK = "ticket-1004-kapture-callback"


def test_a_follow_up_moved_elsewhere_moves_the_callback_reminder_with_its_comment(aws, seeded):
    from ticketing.model import utcnow

    due = (utcnow() + timedelta(days=1)).replace(microsecond=0)
    armed = _kapture_callback(aws, due)
    s = streams(aws)
    s.pump()
    assert notice_of(schedules()[CALLBACK]) == armed  # Kapture armed it itself: kept
    later = due + timedelta(hours=5)
    patch(aws, 1004, {"follow_up_at": later.isoformat()})
    s.pump()
    moved = notice_of(schedules()[CALLBACK])
    assert datetime.fromisoformat(moved["due"]) == later and moved["message"]["to"] == armed["message"]["to"]
    assert moved["note"] == "Call after lunch." and moved["message"]["body"].endswith("\n\nCall after lunch.")
    assert [f["result"]["outcome"] for f in pump(aws, due + timedelta(minutes=1)).fired] == []  # not at the old time
    assert [f["result"]["outcome"] for f in pump(aws, later + timedelta(minutes=1)).fired] == ["sent"]


def test_a_reassignment_elsewhere_sends_the_callback_reminder_to_the_new_assignee(aws, seeded):
    from ticketing.model import utcnow

    _kapture_callback(aws, (utcnow() + timedelta(days=1)).replace(microsecond=0))
    user = {"name": "Asha Rao", "email": "asha.rao@example.com"}
    resp = apigw.request(aws, "PUT", "/users/5001", body=json.dumps(user), headers=CANONICAL)
    assert resp["statusCode"] in (200, 201), resp["body"]
    s = streams(aws)
    patch(aws, 1004, {"assignee_ids": [5001]})
    s.pump()
    assert notice_of(schedules()[CALLBACK])["message"]["to"] == ["asha.rao@example.com"]
    patch(aws, 1004, {"assignee_ids": []})  # nobody to tell
    s.pump()
    assert CALLBACK not in schedules()


def test_closing_or_clearing_the_follow_up_elsewhere_cancels_the_callback_reminder(aws, seeded):
    from ticketing.model import utcnow

    _kapture_callback(aws, (utcnow() + timedelta(days=1)).replace(microsecond=0))
    s = streams(aws)
    patch(aws, 1004, {"follow_up_at": None})
    s.pump()
    assert CALLBACK not in schedules()


def test_a_follow_up_set_elsewhere_starts_no_callback_reminder(aws, seeded):
    from ticketing.model import utcnow

    s = streams(aws)
    s.pump()  # the demo data
    patch(aws, 1004, {"follow_up_at": (utcnow() + timedelta(days=1)).isoformat()})
    with metering.aws_calls("scheduler") as calls:
        s.pump()
    assert calls == {"GetSchedule": 1} and CALLBACK not in schedules()  # only Kapture starts one


def test_a_late_record_never_undoes_a_later_arming(aws, seeded):
    """The stream hands changes on in order, but after the requests that armed later states:
    a record older than the pending notice is left alone, and the last one settles it."""
    from ticketing.model import utcnow

    first = (utcnow() + timedelta(days=1)).replace(microsecond=0)
    _kapture_callback(aws, first)
    patch(aws, 1004, {"follow_up_at": None})  # elsewhere: the callback is dropped (a record for later)
    second = first + timedelta(hours=2)
    latest = _kapture_callback(aws, second, comment="Second try.")  # Kapture arms it again, at once
    s = streams(aws)
    s.pump()  # all three changes come now, the clearing one after the second arming
    assert notice_of(schedules()[CALLBACK]) == latest
    assert datetime.fromisoformat(latest["due"]) == second and latest["note"] == "Second try."
