"""The transactional outbox: nothing that can fail runs after a request's commit.

A request commits the notices it asks for with its ticket change (``OUTBOX#<id>`` items of the
same ``TransactWriteItems``); the reminders that follow a ticket are derived from its old and
new images.  TicketAutomationsFunction, on the tickets table's stream, carries them out: one
schedule per notice (named by its id), at least a minute ahead, or straight to the notifier
(an asynchronous invoke) when it is due sooner.  Here in process on moto, the stream handed
to the function by the local run's event source emulation (``devkit.local.streams``)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from doc_particlespace import EXAMPLE
from test_particlespace import Consumer, emails, notice_of, pump, put, schedules
from ticketing import aws as layer_aws
from ticketing import service

from devkit.local import apigateway as apigw
from devkit.local import faults
from devkit.local.streams import StreamPump

QUIET_REMINDER = {**EXAMPLE, "automated": 0}  # the notification only, no automated reminder


@pytest.fixture
def stream(aws, seeded, lambdas) -> Consumer:
    return Consumer(aws, lambdas)


# -- (a) Scheduler failing is no longer the request's problem ------------------------------------------
@pytest.mark.parametrize(("code", "http_status"), [("ThrottlingException", 400), ("InternalServerException", 500)])
def test_a_scheduler_outage_during_a_particlespace_update_fails_no_request(
    aws, stream, code, http_status, quick_botocore_backoff
):
    later = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    with faults.inject("scheduler", "CreateSchedule", code, status=http_status) as fault:
        status, _, body = put(
            aws, {**EXAMPLE, "time": later.strftime("%Y-%m-%d %H:%M:%S")}, headers={"Idempotency-Key": "o-1"}
        )
        assert status == 200, body  # the change was made, and the answer says so
        stored = service.repository().get(1002)
        assert stored.version == 2 and stored.notify.time == later and stored.status == "on_hold"
        stream.pump.pump()  # the consumer meets the outage: the record is reported, to be handed on again
        assert stream.failures() and fault.injected >= 1
    assert schedules() == {}  # nothing armed yet
    stream.settle()  # the event source hands the failed record on again: now it is armed
    assert stream.pump.delivered[-1]["result"] == {"batchItemFailures": []}
    armed = {notice_of(v)["purpose"]: v for v in schedules().values()}
    assert set(armed) == {"particlespace-notify", "particlespace-reminder"}
    assert armed["particlespace-notify"]["ScheduleExpression"] == f"at({later:%Y-%m-%dT%H:%M:%S})"
    # the client's retry of the same request is the first answer, and arms nothing twice
    again = put(aws, {**EXAMPLE, "time": later.strftime("%Y-%m-%d %H:%M:%S")}, headers={"Idempotency-Key": "o-1"})
    assert again[1].get("Idempotent-Replayed") == "true" and again[2] == body
    assert service.repository().get(1002).version == 2


# -- (b) two send-now notices ------------------------------------------------------------------------------
def test_two_send_now_notices_in_a_row_are_two_emails_once_each(aws, stream):
    assert put(aws, QUIET_REMINDER)[0] == 200
    assert put(aws, {**QUIET_REMINDER, "status": "IN_PROGRESS"})[0] == 200  # before the first is sent
    stream.settle()
    pump(aws)  # and whatever the scheduler has due
    bodies = [m["body"] for m in emails()]
    assert len(bodies) == 2 and any("(ON_HOLD)" in b for b in bodies) and any("(IN_PROGRESS)" in b for b in bodies)
    stream.pump.forget()  # the stream handed on again from its start (a replayed shard): nothing is sent twice
    stream.settle()
    pump(aws, datetime.now(UTC) + timedelta(days=30))
    assert len(emails()) == 2
    sent = [e for e in service.repository().history(1002)[0] if e.event == "notification.sent"]
    assert len(sent) == 2


# -- (c) a Kapture callback with a long comment -----------------------------------------------------------
def test_a_long_kapture_comment_is_stored_once_and_its_reminder_armed_by_the_consumer(aws, stream):
    from test_kapture import ASSIGNEE_EMAIL, callback_emails, element, local
    from test_kapture import post as kapture_post

    comment = "Customer asked to be called back. " + "x" * 12_000
    due = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    update = [element(ticket_id="1004", sub_status="PS", comment=comment, callback_time=local(due))]
    key = {"Idempotency-Key": "k-long"}
    status, _, body = kapture_post(aws, update, key)
    assert status == 200, body
    status, headers, again = kapture_post(aws, update, key)  # a client's retry: the same answer
    assert status == 200 and headers.get("Idempotent-Replayed") == "true" and again == body
    messages = service.repository().messages(1004)
    assert [m.body for m in messages].count(comment) == 1
    ticket = service.repository().get(1004)
    assert ticket.message_count == 1 and ticket.follow_up_at == due and ticket.follow_up_note == comment
    assert schedules() == {}  # the request armed nothing
    stream.settle()
    [(name, schedule)] = schedules().items()
    assert name.startswith("ticket-1004-kapture-callback-") and len(name) <= 64
    assert schedule["ScheduleExpression"] == f"at({due:%Y-%m-%dT%H:%M:%S})"
    assert notice_of(schedule)["message"]["to"] == [ASSIGNEE_EMAIL]
    assert [f["result"]["outcome"] for f in pump(aws, due + timedelta(minutes=1)).fired] == ["sent"]
    [email] = callback_emails()
    assert email["body"].endswith("\n\n" + comment)  # the whole comment: the body's limit is the notifier's


# -- (d) a notice due now is sent, never scheduled in the past --------------------------------------------------
def test_a_notice_due_now_is_invoked_and_scheduler_only_gets_times_a_minute_ahead(aws, stream):
    created: list[tuple[datetime, str]] = []

    def seen(params, **_):
        created.append((datetime.now(UTC), params["ScheduleExpression"]))

    client = layer_aws.client("scheduler")
    client.meta.events.register("provide-client-params.scheduler.CreateSchedule", seen, unique_id="outbox-seen")
    try:
        soon = datetime.now(UTC) + timedelta(seconds=30)
        later = (datetime.now(UTC) + timedelta(minutes=3)).replace(microsecond=0)
        assert put(aws, EXAMPLE)[0] == 200  # now; and the automated reminder, 2 days on
        stream.settle()
        assert put(aws, {**QUIET_REMINDER, "time": soon.strftime("%Y-%m-%d %H:%M:%S")})[0] == 200
        stream.settle()
        assert put(aws, {**QUIET_REMINDER, "time": later.strftime("%Y-%m-%d %H:%M:%S")})[0] == 200
        stream.settle()
    finally:
        client.meta.events.unregister("provide-client-params.scheduler.CreateSchedule", unique_id="outbox-seen")
    for at, expression in created:
        when = datetime.fromisoformat(expression[3:-1]).replace(tzinfo=UTC)
        assert when >= at.replace(microsecond=0) + timedelta(seconds=60), (at, expression)
    expressions = sorted(e for _, e in created)
    assert f"at({later:%Y-%m-%dT%H:%M:%S})" in expressions and len(created) == 2  # the timed one, the reminder
    invoked = [i for i in stream.lambdas.invocations if i["function"] == "NotifierFunction"]
    assert [i["type"] for i in invoked] == ["Event", "Event"] and all(i["outcome"] == "succeeded" for i in invoked)
    assert len(emails()) == 2  # now, and 30 s ahead: at once, not a schedule at(now)


def test_the_consumers_invocation_of_the_notifier_goes_to_its_alias(aws, stream):
    put(aws, QUIET_REMINDER)
    stream.settle()
    [invoked] = [i for i in stream.lambdas.invocations if i["function"] == "NotifierFunction"]
    assert invoked["invoked"] == aws.arn("NotifierFunction") + ":live"


def test_an_outbox_record_is_a_stream_record_of_the_ticket_write(aws, seeded):
    """The notice is committed in the ticket's own write (one TransactWriteItems): the outbox item
    is there as soon as the answer is."""
    from ticketing.repository import unmarshal

    status, _, _ = put(aws, QUIET_REMINDER)
    assert status == 200
    resp = service.repository().client.query(
        TableName=service.repository().table,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :o)",
        ExpressionAttributeValues={":pk": {"S": "TICKET#1002"}, ":o": {"S": "OUTBOX#"}},
    )
    [item] = [unmarshal(i) for i in resp["Items"]]
    assert item["kind"] == "notice" and item["doc"]["purpose"] == "particlespace-notify"
    assert item["sk"] == f"OUTBOX#{item['doc']['id']}" and item["doc"]["expect"] == {}
    assert item["expires_at"] > time.time() + 6 * 86400


def test_the_template_filters_the_stream_to_tickets_and_outbox_items(aws):
    from devkit.local.streams import matches

    [source] = [s for s in StreamPump(aws, endpoint=None).sources if s.fn.logical_id == "TicketAutomationsFunction"]
    record = lambda event, sk: {"eventName": event, "dynamodb": {"Keys": {"sk": {"S": sk}}}}  # noqa: E731
    assert any(matches(record("INSERT", "OUTBOX#abc"), p) for p in source.spec.filters)
    assert any(matches(record("MODIFY", "TICKET"), p) for p in source.spec.filters)
    assert not any(matches(record("REMOVE", "OUTBOX#abc"), p) for p in source.spec.filters)  # expired by TTL
    assert not any(matches(record("INSERT", "DELIVERY#abc"), p) for p in source.spec.filters)
    assert not any(matches(record("INSERT", "XOUTBOX#abc"), p) for p in source.spec.filters)


def test_the_canonical_api_shows_the_kapture_follow_up_state(aws, seeded):
    resp = apigw.request(aws, "GET", "/tickets/1004", headers={"Authorization": "Bearer tkt_demo_canonical"})
    got = json.loads(resp["body"])
    assert got["follow_up_note"] == "" and got["follow_up_reminder"] is False
