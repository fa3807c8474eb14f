"""The shared scheduling layer and the notifier function, on moto: arm/cancel named
one-time schedules; re-check, claim once, send, record."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from sample_notice import notice
from ticketing import notifier, scheduling, service
from ticketing.grants import EVERYTHING
from ticketing.model import Actor, utcnow
from ticketing.settings import get_settings

from devkit.local import apigateway as apigw
from devkit.local.embedded_aws import outbox
from devkit.local.scheduler import SchedulerPump

ACTOR = Actor(client_id="test", dialect="canonical")


def schedule(name: str) -> dict:
    return boto3.client("scheduler").get_schedule(GroupName=get_settings().schedule_group, Name=name)


def group_names() -> list[str]:
    client = boto3.client("scheduler")
    return [s["Name"] for s in client.list_schedules(GroupName=get_settings().schedule_group)["Schedules"]]


def history(ticket_id: int = 1002):
    return service.repository().history(ticket_id)[0]


# -- scheduling ------------------------------------------------------------------------------------
def test_arm_creates_one_schedule_per_notice_named_by_its_id(aws, seeded):
    due = datetime(2031, 3, 4, 5, 6, 7, 890, tzinfo=UTC)
    assert scheduling.arm(notice(id="n-1", due=due)) == "armed"
    got = schedule("ticket-1002-test-reminder-n-1")
    assert got["ScheduleExpression"] == "at(2031-03-04T05:06:07)" and got["ScheduleExpressionTimezone"] == "UTC"
    assert got["ActionAfterCompletion"] == "DELETE" and got["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert got["Target"]["RetryPolicy"] == scheduling.RETRY_POLICY
    assert got["Target"]["Arn"] == get_settings().notifier_arn
    assert get_settings().notifier_arn.endswith(":function:NotifierFunction:live")  # the live alias
    assert got["Target"]["DeadLetterConfig"] == {"Arn": get_settings().scheduler_dlq_arn}
    assert scheduling.Notice.model_validate_json(got["Target"]["Input"]).id == "n-1"

    # the same notice again is armed already; another one never replaces it
    assert scheduling.arm(notice(id="n-1", due=due)) == "kept"
    assert scheduling.arm(notice(id="n-2", due=due + timedelta(days=1), delivery="d-2")) == "armed"
    assert sorted(group_names()) == ["ticket-1002-test-reminder-n-1", "ticket-1002-test-reminder-n-2"]
    assert schedule("ticket-1002-test-reminder-n-1")["ScheduleExpression"] == "at(2031-03-04T05:06:07)"


def test_a_notice_due_within_a_minute_is_sent_never_scheduled(aws, seeded, lambdas):
    now = utcnow()
    for due in (datetime(2020, 1, 1, tzinfo=UTC), now, now + timedelta(seconds=59)):
        with pytest.raises(ValueError, match="too soon"):
            scheduling.arm(notice(id="n-soon", due=due), now=now)
    assert scheduling.carry_out(notice(id="n-past", due=datetime(2020, 1, 1, tzinfo=UTC)), now=now) == "sent"
    assert scheduling.carry_out(notice(id="n-soon", due=now + timedelta(seconds=59), delivery="d-2"), now=now) == "sent"
    assert (
        scheduling.carry_out(notice(id="n-later", due=now + timedelta(seconds=61), delivery="d-3"), now=now) == "armed"
    )
    assert lambdas.wait()
    assert [(i["function"], i["type"], i["outcome"]) for i in lambdas.invocations] == [
        ("NotifierFunction", "Event", "succeeded")
    ] * 2
    assert len(outbox()["emails"]) == 2 and group_names() == ["ticket-1002-test-reminder-n-later"]


def test_cancel_deletes_and_says_whether_there_was_one(aws, seeded):
    scheduling.arm(notice(id="n-1", due=utcnow() + timedelta(days=1)))
    assert scheduling.cancel(1002, "test-reminder", "n-1") is True
    assert scheduling.cancel(1002, "test-reminder", "n-1") is False
    assert group_names() == []


def test_arming_needs_the_notifier_and_role(aws, seeded, monkeypatch):
    from ticketing import settings

    monkeypatch.setenv("NOTIFIER_ARN", "")
    settings.reset()
    with pytest.raises(RuntimeError, match="NOTIFIER_ARN"):
        scheduling.arm(notice(id="n-1", due=utcnow() + timedelta(days=1)))
    with pytest.raises(RuntimeError, match="NOTIFIER_ARN"):
        scheduling.send_now(notice(id="n-1"))
    settings.reset()


def test_delivery_keys_and_expect_maps(aws, seeded):
    ticket = service.get_ticket(1002, access=EVERYTHING)
    assert scheduling.delivery_key(1, "x", {"a": 1}) == scheduling.delivery_key(1, "x", {"a": 1})
    assert scheduling.delivery_key(1, "x", {"a": 1}) != scheduling.delivery_key(1, "x", {"a": 2})
    expect = scheduling.expect_of(ticket, "status", "sub_status", "status_since", "notify.automated")
    assert expect["status"] == "open" and expect["sub_status"] is None and expect["notify.automated"] is None
    assert scheduling.mismatches(ticket, expect) == []
    assert scheduling.mismatches(ticket, {"status": "closed", "queue": "maintenance"}) == ["status"]


# -- the notifier ------------------------------------------------------------------------------------
def test_a_due_notice_is_sent_once_claimed_and_recorded(aws, seeded):
    first = notifier.process(notice().model_dump(mode="json"), request_id="r-1")
    assert first == {"outcome": "sent", "ticket_id": 1002, "purpose": "test-reminder", "sent": 1, "failed": 0,
                     "recorded": True}  # fmt: skip
    again = notifier.process(notice().model_dump(mode="json"), request_id="r-2")
    assert again["outcome"] == "duplicate"
    assert [m["to"] for m in outbox()["emails"]] == [["ops@example.com"]]
    claim = service.repository().get_delivery(1002, "d-1")
    assert claim["state"] == "sent" and claim["request_id"] == "r-1" and claim["recipients"] == ["o***@example.com"]
    entries = history()
    assert [e.event for e in entries] == ["notification.sent", "create"]
    assert entries[0].actor == "notifier" and entries[0].request_id == "r-1"
    assert entries[0].detail["delivery"] == "d-1" and entries[0].detail["recipients"][0]["ok"] is True
    assert "ops@example.com" not in json.dumps(entries[0].detail)


def test_a_stale_notice_sends_and_records_nothing(aws, seeded):
    result = notifier.process(notice(expect={"status": "on_hold"}).model_dump(mode="json"))
    assert result["outcome"] == "stale" and result["changed"] == ["status"]
    assert outbox()["emails"] == []
    assert service.repository().get(1002).version == 1
    assert service.repository().get_delivery(1002, "d-1") is None


def test_a_notice_about_no_ticket_is_gone(aws, seeded):
    assert notifier.process(notice(ticket_id=999999).model_dump(mode="json"))["outcome"] == "gone"


def test_a_move_between_the_read_and_the_claim_is_seen(aws, seeded, monkeypatch):
    repo = service.repository()
    real = repo.claim_delivery
    moved = []

    def racing_claim(ticket_id, key, doc, *, version):
        if not moved:  # another writer moves the ticket after the notifier read and checked it
            moved.append(repo.update(ticket_id, lambda t, cs: service.set_status(t, "closed", None, cs.now), ACTOR))
        return real(ticket_id, key, doc, version=version)

    monkeypatch.setattr(repo, "claim_delivery", racing_claim)
    assert notifier.process(notice().model_dump(mode="json"))["outcome"] == "stale"
    assert outbox()["emails"] == [] and repo.get_delivery(1002, "d-1") is None


def test_an_unrelated_change_between_the_read_and_the_claim_only_costs_a_re_read(aws, seeded, monkeypatch):
    repo = service.repository()
    real = repo.claim_delivery
    outcomes = []

    def racing_claim(ticket_id, key, doc, *, version):
        if not outcomes:
            repo.update(ticket_id, lambda t, cs: setattr(t, "queue", "plumbing"), ACTOR)
        outcomes.append(real(ticket_id, key, doc, version=version))
        return outcomes[-1]

    monkeypatch.setattr(repo, "claim_delivery", racing_claim)
    assert notifier.process(notice().model_dump(mode="json"))["outcome"] == "sent"
    assert outcomes == ["moved", "claimed"]
    assert len(outbox()["emails"]) == 1


def test_a_failed_send_is_recorded_and_never_retried(aws, seeded, monkeypatch):
    from ticketing import settings

    monkeypatch.setenv("SENDER_EMAIL", "unverified@example.net")  # SES refuses an unverified sender
    settings.reset()
    try:
        result = notifier.process(notice().model_dump(mode="json"))
        assert result["outcome"] == "failed" and result["failed"] == 1
        entry = history()[0]
        assert entry.event == "notification.failed"
        assert entry.detail["recipients"] == [
            {"recipient": "o***@example.com", "ok": False, "error": "MessageRejected"}
        ]
        assert service.repository().get_delivery(1002, "d-1")["state"] == "failed"
        assert notifier.process(notice().model_dump(mode="json"))["outcome"] == "duplicate"
    finally:
        settings.reset()


def test_partial_sms_delivery(aws, seeded):
    sms = {"channel": "sms", "to": ["+14445556666", "+0445556666"], "body": "Hi"}  # the 2nd is no E.164 number
    result = notifier.process(notice(message=sms).model_dump(mode="json"))
    assert (result["outcome"], result["sent"], result["failed"]) == ("partial", 1, 1)
    assert [m["to"] for m in outbox()["sms"]] == ["+14445556666"]
    assert history()[0].event == "notification.partial"


def test_a_malformed_notice_raises_so_lambda_retries_then_dead_letters_it(aws, seeded):
    with pytest.raises(notifier.MalformedNotice, match="purpose: Field required"):
        notifier.process({"ticket_id": 1002})
    bad_contact = notice().model_dump(mode="json")
    bad_contact["message"]["to"] = ["jane.doe@example.org", "x"]  # too short: invalid
    with pytest.raises(notifier.MalformedNotice) as raised:
        notifier.process(bad_contact)
    assert "message.to.1" in str(raised.value) and "jane.doe" not in str(raised.value)  # Lambda logs it


def test_the_notifier_function_as_the_scheduler_invokes_it(aws, seeded):
    fn = aws.functions()["NotifierFunction"]
    assert fn.routes == []  # no API: only the scheduler invokes it
    result = apigw.invoke(fn, json.loads(notice().model_dump_json()))
    assert result["outcome"] == "sent"


def test_a_failing_notifier_invocation_lands_in_the_dead_letter_queue(aws, seeded):
    """The local run's pump, as the scheduler would: a target that fails goes to the DLQ."""
    from types import SimpleNamespace

    scheduling.arm(notice(ticket_id=1002, id="n-1", due=utcnow() + timedelta(minutes=5), expect={"status": "open"}))
    raw = boto3.client("scheduler")
    name = "ticket-1002-test-reminder-n-1"
    bad = schedule(name)
    bad["Target"]["Input"] = json.dumps({"ticket_id": 1002})  # a notice the notifier cannot read
    raw.update_schedule(
        Name=name,
        GroupName=get_settings().schedule_group,
        ScheduleExpression=bad["ScheduleExpression"],
        FlexibleTimeWindow=bad["FlexibleTimeWindow"],
        Target=bad["Target"],
        State="ENABLED",
    )
    api = SimpleNamespace(template=aws, functions={"NotifierFunction": aws.functions()["NotifierFunction"]})
    pump = SchedulerPump(api, endpoint=None)
    assert pump.pump(utcnow() + timedelta(minutes=6)) == 1 and "error" in pump.fired[0]
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=get_settings().scheduler_dlq_arn.rsplit(":", 1)[1])["QueueUrl"]
    [message] = sqs.receive_message(QueueUrl=url)["Messages"]
    assert json.loads(message["Body"])["schedule"] == name
    assert group_names() == []


def test_a_notice_armed_before_ids_still_fires(aws, seeded):
    """A schedule armed by the earlier version (one per ticket and purpose, the notifier's
    unqualified ARN, no notice id) still fires, and the notifier sends it."""
    from types import SimpleNamespace

    settings = get_settings()
    legacy = {
        "v": 1,
        "ticket_id": 1002,
        "purpose": "particlespace-reminder",
        "delivery": "0123456789abcdef0123456789abcdef01234567",
        "due": "2030-01-01T00:00:00Z",
        "expect": {"status": "open"},
        "message": {"channel": "email", "to": ["ops@example.com"], "subject": "Hi", "body": "Still open."},
        "armed_by": "cli_demo_particlespace",
        "version": 1,
        "note": "",
    }
    boto3.client("scheduler").create_schedule(
        Name="ticket-1002-particlespace-reminder",
        GroupName=settings.schedule_group,
        ScheduleExpression="at(2030-01-01T00:00:00)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": aws.arn("NotifierFunction"),
            "RoleArn": settings.scheduler_role_arn,
            "Input": json.dumps(legacy),
        },
    )
    api = SimpleNamespace(template=aws, functions={"NotifierFunction": aws.functions()["NotifierFunction"]})
    pump = SchedulerPump(api, endpoint=None)
    assert pump.pump(datetime(2030, 1, 1, 0, 1, tzinfo=UTC)) == 1
    assert pump.fired[0]["result"]["outcome"] == "sent"
    assert history()[0].detail["schedule"] == "ticket-1002-particlespace-reminder"
