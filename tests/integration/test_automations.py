"""The notifications that follow a ticket's changes through every dialect (ticketing.automations).

The tickets table's stream is read by the local run's event source emulation
(``devkit.local.streams.StreamPump``), in process on moto, and handed to TicketAutomationsFunction
as Lambda would hand it; over HTTP, the local run does the same by itself.  The dialect that
switched an automation on arms nothing in its own request: every reminder is derived from the
ticket's old and new image, whichever dialect made the change, and named by an id that is a
function of the ticket's state, so nothing asks Scheduler what is pending."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from doc_kapture import CALLBACK
from doc_particlespace import EXAMPLE, KEY, QUIET, REMINDER
from test_particlespace import (
    Consumer,
    armed,
    emails,
    notice_of,
    pump,
    put,
    the,
)
from ticketing import automations, scheduling, service
from ticketing.errors import Unavailable
from ticketing.grants import EVERYTHING

from devkit import metering
from devkit.local import apigateway as apigw
from devkit.local.streams import check, matches

CANONICAL = {"Authorization": "Bearer tkt_demo_canonical"}
SCHEDULER_CALLS = {"CreateSchedule", "UpdateSchedule", "DeleteSchedule", "GetSchedule"}


def patch(template, ticket_id: int, body: dict) -> dict:
    resp = apigw.request(template, "PATCH", f"/tickets/{ticket_id}", body=json.dumps(body), headers=CANONICAL)
    assert resp["statusCode"] == 200, resp["body"]
    return json.loads(resp["body"])


@pytest.fixture
def stream(aws, seeded, lambdas) -> Consumer:
    """The stream records not yet handled, handed to the function (one pump per test: it reads
    from the stream's start, as the event source of a new function does)."""
    return Consumer(aws, lambdas)


def outcomes(c: Consumer) -> list:
    return [d.get("result") or d.get("error") for d in c.pump.delivered]


def test_the_event_source_gathers_records_for_its_batching_window(aws, stream):
    """As Lambda's event source mapping: a batch goes once it is full or its first record has
    waited ``MaximumBatchingWindowInSeconds`` (template.yaml: 1 s); a direct pump (and
    ``/_local/settle``) hands on what is there at once."""
    [source] = stream.pump.sources
    assert source.spec.batch_window == 1.0 and source.spec.batch_size == 100
    clock = [1000.0]
    stream.pump.clock = lambda: clock[0]
    patch(aws, 1002, {"title": "first of the window"})
    assert stream.pump.background() == 0  # read, and waiting for the window to pass
    assert stream.pump.waiting()
    clock[0] += 0.5
    patch(aws, 1001, {"title": "second in the same window"})
    assert stream.pump.background() == 0  # the window runs from the first record, not the last
    clock[0] += 0.5
    assert stream.pump.background() == 2  # both in one batch, once the first has waited 1 s
    assert [len(d["records"]) for d in stream.pump.delivered[-1:]] == [2]
    assert not stream.pump.waiting()
    patch(aws, 1002, {"title": "handed on by a direct pump"})
    assert stream.pump.pump() == 1  # flush: no waiting


def test_a_move_through_another_dialect_rearms_the_reminder_for_the_new_stay(aws, stream):
    put(aws, EXAMPLE)  # ParticleSpace: automated reminder of the ON_HOLD stay (2 days)
    stream.settle()
    on_hold = notice_of(the(REMINDER))
    moved = patch(aws, 1002, {"status": "in_progress"})
    with metering.aws_calls("scheduler") as calls:
        assert stream.pump.pump() == 1  # the ticket's change (its audit entry is filtered out by the event source)
    assert calls == {"CreateSchedule": 1, "DeleteSchedule": 1}  # the new stay's armed, the old one's cancelled
    rearmed = notice_of(the(REMINDER))
    assert rearmed["expect"]["status"] == "in_progress" and rearmed["delivery"] != on_hold["delivery"]
    assert rearmed["armed_by"] == "automations" and rearmed["id"] != on_hold["id"]
    due = datetime.fromisoformat(moved["status_since"]) + timedelta(minutes=1440)  # the flow's default limit
    assert datetime.fromisoformat(rearmed["due"]) == due
    assert all(o == {"batchItemFailures": []} for o in outcomes(stream))
    # when it comes due, the notifier finds the ticket still in that stay and reminds once
    fired = pump(aws, due + timedelta(minutes=1)).fired
    assert [f["result"]["outcome"] for f in fired] == ["sent"]  # (the update's own notice went at once)
    assert [m["subject"] for m in emails("Reminder")] == [
        f"Reminder: ticket {KEY} has been in In progress for over 1 day"
    ]


def test_a_move_elsewhere_into_a_flow_without_a_limit_cancels_the_reminder(aws, stream):
    put(aws, EXAMPLE)
    stream.settle()
    patch(aws, 1002, {"status": "resolved"})  # DONE: time limit 0
    stream.settle()
    assert armed(REMINDER) == []


def test_changes_an_automation_does_not_watch_cost_no_scheduler_call(aws, stream):
    put(aws, EXAMPLE)
    stream.settle()
    before = notice_of(the(REMINDER))
    patch(aws, 1002, {"title": "Leaking faucet, kitchen", "priority": 3})
    with metering.aws_calls("scheduler") as calls:
        assert stream.pump.pump() >= 1
    assert not SCHEDULER_CALLS & set(calls), calls
    assert notice_of(the(REMINDER)) == before


def test_tickets_without_the_automation_switched_on_cost_nothing(aws, stream):
    patch(aws, 1001, {"status": "in_progress"})
    service_ticket = service.get_ticket("1001", access=EVERYTHING)
    assert service_ticket.notify is None
    with metering.aws_calls() as calls:
        stream.pump.pump()
    assert not SCHEDULER_CALLS & set(calls) and "Invoke" not in calls, calls
    assert armed(REMINDER, 1001) == []


def test_switching_the_automation_off_in_particlespace_and_moving_elsewhere(aws, stream):
    put(aws, EXAMPLE)
    put(aws, {**QUIET, "status": "ON_HOLD"})  # notify 0: the reminder is called for no more
    stream.settle()
    assert armed(REMINDER) == []
    patch(aws, 1002, {"status": "open"})
    stream.settle()
    assert armed(REMINDER) == []  # nothing is called for: nothing is armed again


def test_a_scheduler_outage_fails_the_record_and_its_retry_arms(aws, stream, monkeypatch):
    put(aws, EXAMPLE)
    stream.settle()
    patch(aws, 1002, {"status": "in_progress"})
    real_arm = scheduling.arm

    def busy(*args, **kwargs):
        raise Unavailable("The scheduler is busy")

    monkeypatch.setattr(scheduling, "arm", busy)
    stream.pump.pump()
    last = stream.pump.delivered[-1]
    failed = last["result"]["batchItemFailures"]
    assert [f["itemIdentifier"] for f in failed] == [last["records"][0]["dynamodb"]["SequenceNumber"]]
    assert notice_of(the(REMINDER))["expect"]["status"] == "on_hold"  # not yet; the old one is kept meanwhile
    monkeypatch.setattr(scheduling, "arm", real_arm)
    stream.pump.pump()  # the event source hands the failed record again, and what came after it
    assert stream.pump.delivered[-1]["result"] == {"batchItemFailures": []}
    assert notice_of(the(REMINDER))["expect"]["status"] == "in_progress"


def test_records_after_a_failed_one_wait_for_it(aws, stream, monkeypatch):
    """The first record that fails is the batch's failure, and the ones after it are not handled
    before it: side effects happen in the stream's order."""
    put(aws, EXAMPLE)
    stream.settle()
    patch(aws, 1002, {"status": "in_progress"})
    patch(aws, 1002, {"status": "resolved"})
    calls = []

    def busy(*args, **kwargs):
        calls.append(args)
        raise Unavailable("The scheduler is busy")

    monkeypatch.setattr(scheduling, "arm", busy)
    stream.pump.pump()
    last = stream.pump.delivered[-1]
    assert len(last["records"]) == 2 and len(calls) == 1  # the second change was not looked at
    assert last["result"]["batchItemFailures"] == [{"itemIdentifier": last["records"][0]["dynamodb"]["SequenceNumber"]}]


def test_a_record_failing_past_its_retries_goes_to_the_on_failure_queue(aws, stream, monkeypatch):
    import boto3

    put(aws, EXAMPLE)
    stream.settle()
    handed = len(stream.pump.delivered)
    patch(aws, 1002, {"status": "in_progress"})

    def busy(*args, **kwargs):
        raise Unavailable("The scheduler is busy")

    monkeypatch.setattr(scheduling, "arm", busy)
    retries = stream.pump.sources[0].spec.max_retries
    for _ in range(retries + 1):
        stream.pump.pump()
    failing = stream.pump.delivered[-1]["records"][0]["dynamodb"]["SequenceNumber"]
    assert len(stream.pump.delivered) == handed + retries + 1  # the same record each time
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName="AutomationsDeadLetterQueue")["QueueUrl"]
    [message] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    info = json.loads(message["Body"])
    assert info["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert info["DDBStreamBatchInfo"]["startSequenceNumber"] == failing
    monkeypatch.setattr(scheduling, "arm", lambda *a, **k: pytest.fail("a record given up on came again"))
    stream.pump.pump()
    assert len(stream.pump.delivered) == handed + retries + 1


def test_a_new_ticket_that_calls_for_a_reminder_gets_it_and_a_removed_one_nothing(aws, seeded):
    from ticketing.repository import marshal, ticket_doc

    put(aws, EXAMPLE)
    image = marshal({"pk": "TICKET#1002", "sk": "TICKET", **ticket_doc(service.get_ticket("1002", access=EVERYTHING))})
    [outcome] = [o for o in automations.apply_change(None, image) if o.action != "none"]
    assert (outcome.purpose, outcome.action) == ("particlespace-reminder", "armed")
    assert notice_of(the(REMINDER))["expect"]["status"] == "on_hold"
    assert [o.action for o in automations.apply_change(None, image) if o.action != "none"] == ["kept"]  # again
    assert automations.apply_change(image, None) == []


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"eventName": "MODIFY", "dynamodb": {"Keys": {"sk": {"S": "TICKET"}}}}, True),
        ({"eventName": "INSERT", "dynamodb": {"Keys": {"sk": {"S": "TICKET"}}}}, True),
        ({"eventName": "REMOVE", "dynamodb": {"Keys": {"sk": {"S": "TICKET"}}}}, False),
        ({"eventName": "INSERT", "dynamodb": {"Keys": {"sk": {"S": "OUTBOX#0a1b"}}}}, True),
        ({"eventName": "MODIFY", "dynamodb": {"Keys": {"sk": {"S": "OUTBOX#0a1b"}}}}, True),
        ({"eventName": "REMOVE", "dynamodb": {"Keys": {"sk": {"S": "OUTBOX#0a1b"}}}}, False),  # its TTL expiry
        ({"eventName": "MODIFY", "dynamodb": {"Keys": {"sk": {"S": "AUDIT#0000000002"}}}}, False),
        ({"eventName": "INSERT", "dynamodb": {"Keys": {"sk": {"S": "DELIVERY#0a1b"}}}}, False),
        ({"eventName": "MODIFY", "dynamodb": {}}, False),
    ],
)
def test_the_event_filter_of_the_template(aws, record, expected):
    [source] = _sources(aws)
    assert any(matches(record, p) for p in source.spec.filters) is expected


def _sources(template):
    from devkit.local.streams import StreamPump

    sources = StreamPump(template, endpoint=None).sources
    return [s for s in sources if s.fn.logical_id == "TicketAutomationsFunction"]  # not TicketEventsFunction


def test_prefix_filters_are_emulated_and_other_content_filters_refused_rather_than_ignored():
    assert matches({"a": "xyz"}, {"a": [{"prefix": "x"}]}) and not matches({"a": "yx"}, {"a": [{"prefix": "x"}]})
    assert matches({"a": "b"}, {"a": ["b", {"prefix": "x"}]}) and not matches({"a": 1}, {"a": [{"prefix": "1"}]})
    for unsupported in ({"a": [{"anything-but": "x"}]}, {"a": [{"numeric": [">", 1]}]}, {"a": "x"}):
        with pytest.raises(ValueError):
            check(unsupported)
        with pytest.raises(ValueError):
            matches({"a": "x"}, unsupported)


# -- Kapture's callback reminder: started by a Kapture callback, kept in step by every dialect ---------------
def _kapture_callback(template, c: Consumer, due: datetime, comment: str = "Call after lunch.") -> dict:
    from test_kapture import element, local
    from test_kapture import post as kapture_post

    status, _, body = kapture_post(
        template, [element(ticket_id="1004", sub_status="PS", callback_time=local(due), comment=comment)]
    )
    assert status == 200, body
    c.settle()
    return notice_of(the(CALLBACK, 1004))


def test_a_follow_up_moved_elsewhere_moves_the_callback_reminder_with_its_comment(aws, stream):
    from ticketing.model import utcnow

    due = (utcnow() + timedelta(days=1)).replace(microsecond=0)
    first = _kapture_callback(aws, stream, due)
    assert first["armed_by"] == "automations"  # Kapture's own request armed nothing
    later = due + timedelta(hours=5)
    patch(aws, 1004, {"follow_up_at": later.isoformat()})
    stream.settle()
    moved = notice_of(the(CALLBACK, 1004))
    assert datetime.fromisoformat(moved["due"]) == later and moved["message"]["to"] == first["message"]["to"]
    assert moved["message"]["body"].endswith("\n\nCall after lunch.")  # the comment is ticket state
    assert [f["result"]["outcome"] for f in pump(aws, due + timedelta(minutes=1)).fired] == []  # not at the old time
    assert [f["result"]["outcome"] for f in pump(aws, later + timedelta(minutes=1)).fired] == ["sent"]


def test_a_reassignment_elsewhere_sends_the_callback_reminder_to_the_new_assignee(aws, stream):
    from ticketing.model import utcnow

    _kapture_callback(aws, stream, (utcnow() + timedelta(days=1)).replace(microsecond=0))
    user = {"name": "Asha Rao", "email": "asha.rao@example.com"}
    resp = apigw.request(aws, "PUT", "/users/5001", body=json.dumps(user), headers=CANONICAL)
    assert resp["statusCode"] in (200, 201), resp["body"]
    patch(aws, 1004, {"assignee_ids": [5001]})
    stream.settle()
    assert notice_of(the(CALLBACK, 1004))["message"]["to"] == ["asha.rao@example.com"]
    patch(aws, 1004, {"assignee_ids": []})  # nobody to tell
    stream.settle()
    assert armed(CALLBACK, 1004) == []


def test_closing_or_clearing_the_follow_up_elsewhere_cancels_the_callback_reminder(aws, stream):
    from ticketing.model import utcnow

    _kapture_callback(aws, stream, (utcnow() + timedelta(days=1)).replace(microsecond=0))
    patch(aws, 1004, {"status": "closed"})
    stream.settle()
    assert armed(CALLBACK, 1004) == []
    patch(aws, 1004, {"status": "open", "follow_up_at": None})
    stream.settle()
    assert armed(CALLBACK, 1004) == []


def test_a_follow_up_set_elsewhere_starts_no_callback_reminder(aws, stream):
    from ticketing.model import utcnow

    patch(aws, 1004, {"follow_up_at": (utcnow() + timedelta(days=1)).isoformat()})
    with metering.aws_calls() as calls:
        stream.pump.pump()
    assert not SCHEDULER_CALLS & set(calls) and armed(CALLBACK, 1004) == []  # only a Kapture callback starts one


def test_records_handed_on_late_settle_on_the_last_state(aws, stream):
    """The stream hands changes on after the requests that made them, in order: whatever the
    consumer saw in between, it ends on what the latest state calls for (and so does a replay)."""
    from test_kapture import element, local
    from test_kapture import post as kapture_post
    from ticketing.model import utcnow

    first = (utcnow() + timedelta(days=1)).replace(microsecond=0)
    second = first + timedelta(hours=2)
    assert kapture_post(aws, [element(ticket_id="1004", sub_status="PS", callback_time=local(first))])[0] == 200
    patch(aws, 1004, {"follow_up_at": None})  # elsewhere: the callback is dropped
    update = element(ticket_id="1004", sub_status="PS", callback_time=local(second), comment="Second try.")
    assert kapture_post(aws, [update])[0] == 200  # Kapture sets it again
    for _ in range(2):  # all three changes now; then the whole stream again
        stream.settle()
        [latest] = [notice_of(s) for s in armed(CALLBACK, 1004)]
        assert datetime.fromisoformat(latest["due"]) == second and latest["message"]["body"].endswith("Second try.")
        stream.pump.forget()
    assert [f["result"]["outcome"] for f in pump(aws, second + timedelta(minutes=1)).fired] == ["sent"]


def test_a_servicedesk_assignment_names_the_assignee_everywhere_and_moves_the_callback_to_them(aws, stream):
    """Operators are hub users (issue 16): the operator a servicedesk Assign names is a user with a
    name and an email, which Kapture shows, and the callback reminder follows to them."""
    from test_kapture import element, local
    from test_kapture import post as kapture_post
    from ticketing.model import utcnow

    due = (utcnow() + timedelta(days=1)).replace(microsecond=0)
    callback = element(ticket_id="1005", sub_status="OP", callback_time=local(due), comment="Call her back.")
    status, _, body = kapture_post(aws, [callback])
    assert status == 200, body
    stream.settle()
    push = {"TicketId": 1005, "Action": "IncidentAssignOther", "UserProviderKey": "Jane.Smith@example.com"}
    headers = {"Authorization": "Bearer tkt_demo_servicedesk", "Content-Type": "application/json"}
    resp = apigw.request(aws, "POST", "/api/Tickets/WorkflowPush", body=json.dumps(push), headers=headers)
    assert resp["statusCode"] == 200, resp["body"]
    assert service.read_ticket(1005).assignee_ids == [501]
    stream.settle()
    assert notice_of(the(CALLBACK, 1005))["message"]["to"] == ["jane.smith@example.com"]
    status, _, body = kapture_post(aws, [element(ticket_id="1005", sub_status="IP")])
    assert status == 200, body
    ticket = body["ticket"]
    assert (ticket["assignedToName"], ticket["assignedToEmail"]) == ("Jane Smith", "jane.smith@example.com")
    assert ticket["isCallBack"] is True
    status, _, body = kapture_post(aws, [element(ticket_id="1005", sub_status="CL")])  # closed by Kapture
    assert status == 200 and body["ticket"]["isCallBack"] is False  # no reminder on a closed ticket
    stream.settle()
    assert armed(CALLBACK, 1005) == []
