"""ParticleSpace: PUT /api/v1/ticket/{id}, its notifications and automated reminders.

Through the handlers on moto, in process: the request commits its notification with the ticket
(the outbox), the tickets table's stream is handed to TicketAutomationsFunction by the local
run's event source emulation (``stream``), which sends what is due now and schedules the rest,
and due schedules are fired by the local run's scheduler pump (``pump``).  And over HTTP on the
local run, which does all of that by itself."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from urllib.parse import urlencode

import boto3
import pytest
from botocore.exceptions import ClientError
from doc_particlespace import AUTH, EXAMPLE, FORM, KEY, NOTIFY, QUIET, REMINDER
from ticketing import aws as layer_aws
from ticketing import catalog, service
from ticketing.settings import get_settings

from devkit.local import apigateway as apigw
from devkit.local.embedded_aws import outbox
from devkit.local.scheduler import SchedulerPump
from devkit.local.streams import StreamPump


def put(template, fields, ident=KEY, headers=None, as_json=False):
    body = json.dumps(fields) if as_json else urlencode(fields)
    content = {"Content-Type": "application/json"} if as_json else FORM
    resp = apigw.request(
        template, "PUT", f"/api/v1/ticket/{ident}", body=body, headers={**AUTH, **content, **(headers or {})}
    )
    return resp["statusCode"], resp["headers"], json.loads(resp["body"])


def schedules() -> dict[str, dict]:
    client, group = boto3.client("scheduler"), get_settings().schedule_group
    names = [s["Name"] for s in client.list_schedules(GroupName=group)["Schedules"]]
    return {n: client.get_schedule(GroupName=group, Name=n) for n in names}


def notice_of(schedule: dict) -> dict:
    return json.loads(schedule["Target"]["Input"])


def armed(purpose: str, ticket_id: int = 1002) -> list[dict]:
    """The pending schedules of one purpose for one ticket (each named ticket-<id>-<purpose>-<notice id>)."""
    prefix = f"ticket-{ticket_id}-{purpose}-"
    return [v for name, v in sorted(schedules().items()) if name.startswith(prefix)]


def the(purpose: str, ticket_id: int = 1002) -> dict:
    """The one pending schedule of ``purpose``."""
    [schedule] = armed(purpose, ticket_id)
    return schedule


class Consumer:
    """TicketAutomationsFunction behind the tickets table's stream, as Lambda's event source
    hands it on (``devkit.local.streams``), in process; its asynchronous invokes of the notifier run
    on the ``lambdas`` fixture's threads."""

    def __init__(self, template, local_lambdas):
        self.pump, self.lambdas = StreamPump(template, endpoint=None), local_lambdas
        # TicketAutomationsFunction only (TicketEventsFunction reads the stream too: tests/test_events.py)
        self.pump.sources = [s for s in self.pump.sources if s.fn.logical_id == "TicketAutomationsFunction"]
        self.pump.pump()  # the demo data's records

    def settle(self) -> StreamPump:
        """Until the stream has nothing more to hand on and no invocation is running."""
        for _ in range(20):
            handled = self.pump.pump()
            assert self.lambdas.wait(10)
            if not handled:
                return self.pump
        raise AssertionError("the stream never settled")

    def failures(self) -> list[str]:
        return [f["itemIdentifier"] for d in self.pump.delivered for f in (d.get("result") or {})["batchItemFailures"]]


@pytest.fixture
def stream(aws, seeded, lambdas) -> Consumer:
    return Consumer(aws, lambdas)


def pump(template, now: datetime | None = None) -> SchedulerPump:
    """The local run's scheduler, firing due schedules into the notifier in process."""
    api = SimpleNamespace(template=template, functions={"NotifierFunction": template.functions()["NotifierFunction"]})
    p = SchedulerPump(api, endpoint=None)
    p.pump(now)
    return p


def emails(subject_start: str = "") -> list[dict]:
    return [m for m in outbox()["emails"] if (m["subject"] or "").startswith(subject_start)]


def history(ticket_id: int = 1002) -> list:
    return service.repository().history(ticket_id)[0]


# -- the request and the response ---------------------------------------------------------
def test_the_documents_example_updates_the_ticket_and_answers_it(aws, seeded):
    status, headers, body = put(aws, EXAMPLE)
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert set(body) == {
        "id", "title", "description", "status", "notify", "type", "contacts", "time", "notifySubject",
        "notifyMessage", "automated", "reminderAt", "statusSince", "createdAt", "updatedAt",
    }  # fmt: skip
    assert body["id"] == KEY and body["title"] == "Leaking faucet" and body["status"] == "ON_HOLD"
    assert (body["notify"], body["type"], body["contacts"], body["automated"]) == (1, "email", "example@example.com", 1)
    assert body["time"] is None and body["notifySubject"] is None
    since = datetime.fromisoformat(body["statusSince"])
    assert datetime.fromisoformat(body["reminderAt"]) == since + timedelta(minutes=2880)  # ON_HOLD's limit
    stored = service.repository().get(1002)
    assert (stored.status, stored.version) == ("on_hold", 2)
    assert stored.notify.contacts == ["example@example.com"] and stored.notify.automated
    entry = history()[0]
    assert entry.dialect == "particlespace" and {c.field for c in entry.changes} >= {"status", "notify"}


def test_json_body_numeric_id_and_phone_numbers_in_e164(aws, seeded):
    fields = {
        **EXAMPLE,
        "status": "waiting",
        "type": "SMS",
        "contacts": "2025550143, (650) 253-0000,+44 20 7946 0958,202-555-0143",
        "automated": "0",
    }
    status, _, body = put(aws, fields, ident="1002", as_json=True)
    assert status == 200, body
    assert body["status"] == "WAITING" and body["type"] == "sms" and body["automated"] == 0
    assert body["contacts"] == "+12025550143,+16502530000,+442079460958"  # normalised, duplicates dropped


def test_time_is_read_as_utc_without_offset_and_converted_with_one(aws, seeded, stream):
    assert put(aws, {**EXAMPLE, "time": "2031-05-01 10:00:00"})[2]["time"] == "2031-05-01T10:00:00Z"
    assert put(aws, {**EXAMPLE, "time": "2031-05-01T12:00:00+02:00"})[2]["time"] == "2031-05-01T10:00:00Z"
    stream.settle()
    assert the(NOTIFY)["ScheduleExpression"] == "at(2031-05-01T10:00:00)"  # the same time: one notice


BAD = [
    ({"title": ""}, "title"),
    ({"title": None}, "title"),
    ({"description": None}, "description"),
    ({"status": "SLEEPING"}, "status"),
    ({"notify": "2"}, "notify"),
    ({"notify": None}, "notify"),
    ({"automated": "yes"}, "automated"),
    ({"type": None}, "type"),
    ({"type": "fax"}, "type"),
    ({"contacts": None}, "contacts"),
    ({"contacts": " , "}, "contacts"),
    ({"contacts": "example@example.com,not-an-address"}, "contacts"),
    ({"type": "sms", "contacts": "2025550143,12"}, "contacts"),
    ({"type": "sms", "contacts": "1-800-FLOWERS"}, "contacts"),
    ({"time": "next tuesday"}, "time"),
    ({"notifySubject": "two\nlines"}, "notifySubject"),
    ({"type": "sms", "contacts": "2025550143", "notifyMessage": "x" * 1601}, "notifyMessage"),
]


@pytest.mark.parametrize(("change", "field"), BAD, ids=[f"{f}-{i}" for i, (_, f) in enumerate(BAD)])
def test_each_invalid_field_is_a_400_naming_it_and_nothing_is_stored_or_scheduled(aws, seeded, stream, change, field):
    fields = {k: v for k, v in {**EXAMPLE, **change}.items() if v is not None}
    status, _, body = put(aws, fields)
    assert status == 400, body
    assert body["success"] is False and body["code"] == "validation_failed" and body["status"] == 400
    assert [e["field"] for e in body["errors"]] == [field]
    assert field in body["message"]
    assert service.repository().get(1002).version == 1
    stream.settle()
    assert schedules() == {} and emails() == []


def test_every_bad_field_is_named_at_once_without_echoing_contacts(aws, seeded):
    status, _, body = put(
        aws, {"title": "", "status": "NOPE", "notify": 1, "type": "email", "contacts": "a@b.co,secret-contact"}
    )
    assert status == 400
    assert {e["field"] for e in body["errors"]} == {"title", "description", "status", "automated", "contacts"}
    contact_error = next(e for e in body["errors"] if e["field"] == "contacts")
    assert contact_error["message"] == "entry 2 of 2 is not a valid email address"
    assert "secret-contact" not in json.dumps(body)


def test_notify_fields_are_ignored_when_notify_is_0(aws, seeded, stream):
    status, _, body = put(aws, {**QUIET, "type": "fax", "contacts": "nonsense", "time": "never"})
    assert status == 200
    assert (body["notify"], body["type"], body["contacts"], body["time"]) == (0, None, None, None)
    stream.settle()
    assert schedules() == {} and emails() == []


@pytest.mark.parametrize(
    ("ident", "headers", "status"),
    [
        (KEY, {"Authorization": ""}, 401),
        (KEY, {"Authorization": "Bearer wrong"}, 401),
        (KEY, {"Authorization": "Bearer tkt_demo_disabled"}, 401),
        (KEY, {"Authorization": "Bearer tkt_demo_spp"}, 403),
        ("tic_0sb4i49", {}, 404),  # a well-formed key of no ticket
        ("26DE8190", {}, 404),  # ticket 1002's SPP number: not a ParticleSpace id
        ("tic_nope", {}, 404),
    ],
)
def test_auth_and_unknown_tickets(aws, seeded, ident, headers, status):
    got, resp_headers, body = put(aws, QUIET, ident=ident, headers=headers)
    assert got == status and body["status"] == status and body["success"] is False
    if status == 401:
        assert resp_headers["WWW-Authenticate"].startswith("Bearer")
    assert service.repository().get(1002).version == 1


def test_other_media_types_are_415(aws, seeded):
    resp = apigw.request(
        aws, "PUT", f"/api/v1/ticket/{KEY}", body="title=x", headers={**AUTH, "Content-Type": "text/plain"}
    )
    assert resp["statusCode"] == 415 and json.loads(resp["body"])["code"] == "unsupported_media_type"


# -- notifications ---------------------------------------------------------------------------
def test_an_immediate_email_is_committed_with_the_update_and_sent_by_the_stream_consumer(aws, seeded, stream):
    put(aws, EXAMPLE)
    assert emails() == [] and schedules() == {}  # the request sent and armed nothing itself
    stream.settle()
    [mail] = emails()
    assert mail["to"] == ["example@example.com"] and mail["from"] == get_settings().sender_email
    assert mail["subject"] == f"Ticket {KEY}: Leaking faucet"
    assert "On hold (ON_HOLD)" in mail["body"]
    [invoked] = [i for i in stream.lambdas.invocations if i["function"] == "NotifierFunction"]
    assert invoked["type"] == "Event" and invoked["outcome"] == "succeeded"  # due now: never a schedule
    assert armed(NOTIFY) == []
    # the automated reminder, 2 days on: a one-time schedule into the notifier
    reminder = the(REMINDER)
    target = reminder["Target"]
    assert reminder["ScheduleExpression"].startswith("at(") and reminder["ScheduleExpressionTimezone"] == "UTC"
    assert reminder["ActionAfterCompletion"] == "DELETE" and reminder["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert target["Arn"] == aws.arn("NotifierFunction") + ":live"
    assert target["RoleArn"] == aws.arn("NotificationSchedulerRole")
    assert target["DeadLetterConfig"]["Arn"] == aws.arn("NotificationDeadLetterQueue")
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert notice_of(reminder)["expect"]["notify.contacts"] == ["example@example.com"]
    entry = history()[0]
    assert entry.event == "notification.sent" and entry.actor == "notifier"
    assert entry.detail["recipients"][0]["recipient"] == "e***@example.com"
    assert "example@example.com" not in json.dumps(entry.detail)


def test_custom_subject_and_message(aws, seeded, stream):
    put(aws, {**EXAMPLE, "notifySubject": "Faucet update", "notifyMessage": "The plumber comes at 10."})
    stream.settle()
    [mail] = emails()
    assert (mail["subject"], mail["body"]) == ("Faucet update", "The plumber comes at 10.")


def test_the_same_update_again_changes_nothing_and_sends_nothing(aws, seeded, stream):
    assert put(aws, EXAMPLE)[0] == 200
    stream.settle()
    assert put(aws, EXAMPLE)[0] == 200  # the same update again: nothing new to tell, nothing written
    assert service.repository().get(1002).version == 3  # the update, and the notifier's history entry
    stream.settle()
    assert len(emails()) == 1
    stream.pump.forget()  # and the stream handed on again from its start (a replayed shard)
    stream.settle()
    assert len(emails()) == 1 and [i["outcome"] for i in stream.lambdas.invocations].count("succeeded") >= 2


def test_the_same_idempotency_key_replays_the_answer_without_arming_again(aws, seeded, stream):
    key = {"Idempotency-Key": "ps-1"}
    first = put(aws, EXAMPLE, headers=key)
    stream.settle()
    second = put(aws, EXAMPLE, headers=key)
    assert second[1].get("Idempotent-Replayed") == "true" and second[2] == first[2]
    assert put(aws, {**EXAMPLE, "title": "Other"}, headers=key)[0] == 422
    stream.settle()
    assert len(emails()) == 1 and len(armed(REMINDER)) == 1


def test_a_new_update_notifies_again(aws, seeded, stream):
    put(aws, EXAMPLE)
    stream.settle()
    put(aws, {**EXAMPLE, "description": "The new part is ordered."})
    stream.settle()
    assert [m["body"].split("\n\n")[1] for m in emails()] == [EXAMPLE["description"], "The new part is ordered."]


def test_scheduled_sms_fires_at_its_time_not_before(aws, seeded, stream):
    when = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    fields = {**EXAMPLE, "type": "sms", "contacts": "2025550143,6502530000", "time": when.strftime("%Y-%m-%d %H:%M:%S")}
    fields["notifyMessage"], fields["automated"] = "Plumber at 10.", 0
    status, _, body = put(aws, fields)
    assert status == 200 and body["time"] == when.isoformat().replace("+00:00", "Z")
    stream.settle()
    notice = notice_of(the(NOTIFY))
    assert the(NOTIFY)["ScheduleExpression"] == f"at({when:%Y-%m-%dT%H:%M:%S})"
    assert notice["expect"]["notify"]["notice"] == notice["id"]  # the next notifying update supersedes it
    assert pump(aws).fired == [] and outbox()["sms"] == []
    assert [f["result"]["outcome"] for f in pump(aws, when + timedelta(seconds=1)).fired] == ["sent"]
    assert sorted((m["to"], m["message"]) for m in outbox()["sms"]) == [
        ("+12025550143", "Plumber at 10."),
        ("+16502530000", "Plumber at 10."),
    ]


def test_a_time_in_the_past_or_within_a_minute_means_now(aws, seeded, stream):
    put(aws, {**EXAMPLE, "time": "2001-01-01 00:00:00", "automated": 0})
    stream.settle()
    soon = datetime.now(UTC) + timedelta(seconds=40)  # Scheduler only gets times a minute ahead or more
    put(aws, {**EXAMPLE, "time": soon.strftime("%Y-%m-%d %H:%M:%S"), "automated": 0})
    stream.settle()
    assert len(emails()) == 2 and schedules() == {}


def test_a_later_notifying_update_supersedes_a_timed_notification(aws, seeded, stream):
    put(aws, {**EXAMPLE, "time": "2031-01-01 00:00:00", "automated": 0})
    stream.settle()
    first = notice_of(the(NOTIFY))
    put(aws, {**EXAMPLE, "title": "Leaking faucet, kitchen", "time": "2031-01-01 00:00:00", "automated": 0})
    stream.settle()
    second = notice_of(the(NOTIFY))  # the first one's schedule is cancelled: one pending, not two
    assert second["id"] != first["id"] and second["message"]["templated"] is True
    fired = pump(aws, datetime(2031, 1, 1, 0, 1, tzinfo=UTC)).fired
    assert [f["result"]["outcome"] for f in fired] == ["sent"] and len(emails()) == 1
    assert emails()[0]["subject"] == f"Ticket {KEY}: Leaking faucet, kitchen"  # the second one's
    assert "kitchen sink" in emails()[0]["body"]


def test_notify_0_cancels_a_pending_notification(aws, seeded, stream):
    put(aws, {**EXAMPLE, "time": "2031-01-01 00:00:00"})
    stream.settle()
    assert len(armed(NOTIFY)) == 1 and len(armed(REMINDER)) == 1
    put(aws, QUIET)
    stream.settle()
    assert schedules() == {}


# -- automated reminders ------------------------------------------------------------------------
def test_automated_reminder_fires_once_when_the_ticket_stays_in_its_flow(aws, seeded, stream):
    _, _, body = put(aws, EXAMPLE)
    due = datetime.fromisoformat(body["reminderAt"])
    stream.settle()  # the immediate notification, sent; the reminder, armed
    assert the(REMINDER)["ScheduleExpression"] == f"at({due:%Y-%m-%dT%H:%M:%S})"
    assert emails("Reminder") == []
    fired = pump(aws, due + timedelta(minutes=1)).fired
    assert [f["result"]["outcome"] for f in fired] == ["sent"]
    [reminder] = emails("Reminder")
    assert reminder["subject"] == f"Reminder: ticket {KEY} has been in On hold for over 2 days"
    assert history()[0].detail["purpose"] == "particlespace-reminder"
    # the stream handed on again from its start (a replayed shard): the reminder is armed again,
    # and its notifier finds the stay reminded of already
    stream.pump.forget()
    stream.settle()
    assert [f["result"]["outcome"] for f in pump(aws, due + timedelta(minutes=2)).fired] == ["duplicate"]
    assert len(emails("Reminder")) == 1


def test_a_move_the_consumer_has_not_seen_makes_the_pending_reminder_stale(aws, seeded, stream):
    _, _, body = put(aws, EXAMPLE)
    stream.settle()
    patch = apigw.request(
        aws,
        "PATCH",
        "/tickets/1002",
        body=json.dumps({"status": "in_progress"}),
        headers={"Authorization": "Bearer tkt_demo_canonical"},
    )
    assert patch["statusCode"] == 200
    assert len(armed(REMINDER)) == 1  # the stream has not been handed on (it lags, or fails)...
    fired = pump(aws, datetime.fromisoformat(body["reminderAt"]) + timedelta(minutes=1)).fired
    assert [f["result"]["outcome"] for f in fired] == ["stale"]  # ...the notifier's re-check is the safety net
    assert emails("Reminder") == [] and armed(REMINDER) == []


def test_a_move_back_into_the_flow_is_a_new_stay(aws, seeded, stream):
    put(aws, EXAMPLE)
    stream.settle()
    first = notice_of(the(REMINDER))
    put(aws, {**EXAMPLE, "status": "OPEN"})
    put(aws, EXAMPLE)
    stream.settle()
    again = notice_of(the(REMINDER))
    assert again["expect"]["status"] == "on_hold"
    assert again["expect"]["status_since"] > first["expect"]["status_since"]
    assert again["expect"]["status_since"] == service.repository().get(1002).model_dump(mode="json")["status_since"]
    assert again["delivery"] != first["delivery"]  # each stay may be reminded of once


def test_particlespace_moves_replace_or_cancel_the_reminder(aws, seeded, stream):
    put(aws, EXAMPLE)
    stream.settle()
    on_hold = notice_of(the(REMINDER))
    _, _, body = put(aws, {**EXAMPLE, "status": "OPEN"})  # no limit of its own: the default, 1440 minutes
    stream.settle()
    replaced = notice_of(the(REMINDER))
    assert replaced["expect"]["status"] == "open" and replaced["delivery"] != on_hold["delivery"]
    assert datetime.fromisoformat(body["reminderAt"]) == datetime.fromisoformat(body["statusSince"]) + timedelta(
        minutes=1440
    )
    _, _, body = put(aws, {**EXAMPLE, "status": "DONE"})  # time limit 0: no reminder
    stream.settle()
    assert body["reminderAt"] is None and armed(REMINDER) == []


def test_new_contacts_in_the_same_stay_redirect_the_reminder(aws, seeded, stream):
    put(aws, EXAMPLE)
    stream.settle()
    before = notice_of(the(REMINDER))
    put(aws, {**EXAMPLE, "contacts": "other@example.com"})
    stream.settle()
    after = notice_of(the(REMINDER))
    assert after["message"]["to"] == ["other@example.com"] and after["id"] != before["id"]
    assert after["delivery"] == before["delivery"]  # the same stay: reminded of once, whoever gets it


def test_staying_in_the_same_flow_keeps_the_stay_and_its_reminder_time(aws, seeded):
    _, _, first = put(aws, EXAMPLE)
    _, _, second = put(aws, {**EXAMPLE, "description": "Still leaking."})
    assert second["statusSince"] == first["statusSince"] and second["reminderAt"] == first["reminderAt"]


def test_automated_without_notify_has_nobody_to_tell(aws, seeded, stream):
    _, _, body = put(aws, {**QUIET, "automated": 1})
    stream.settle()
    assert body["automated"] == 1 and body["reminderAt"] is None and schedules() == {}


def test_time_limits_come_from_the_stored_catalog(aws, seeded, stream):
    doc = catalog.default_catalog().model_dump(mode="json")
    terms = doc["vocabularies"]["particlespace"]["terms"]
    next(t for t in terms if t["term"] == "ON_HOLD")["attrs"]["time_limit_minutes"] = 5
    service.repository().store_catalog_document(json.dumps(doc))
    catalog.reset()
    _, _, body = put(aws, {**EXAMPLE, "type": "sms", "contacts": "2025550143"})
    due = datetime.fromisoformat(body["reminderAt"])
    assert due == datetime.fromisoformat(body["statusSince"]) + timedelta(minutes=5)
    stream.settle()
    fired = pump(aws, due + timedelta(seconds=1)).fired
    assert [f["result"]["outcome"] for f in fired] == ["sent"]
    assert len(outbox()["sms"]) == 2  # the update's, at once; the reminder, at its time
    assert any("time limit of 5 minutes." in m["message"] for m in outbox()["sms"])


# -- failure and privacy -----------------------------------------------------------------------------
def test_a_scheduler_outage_is_the_consumers_to_retry_not_the_requests(aws, seeded, stream, monkeypatch):
    client = layer_aws.client("scheduler")
    real = client.create_schedule

    def throttled(**_):
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "CreateSchedule")

    monkeypatch.setattr(client, "create_schedule", throttled)
    status, _, body = put(aws, EXAMPLE, headers={"Idempotency-Key": "ps-retry"})
    assert status == 200 and body["reminderAt"]  # the update was stored, and its answer says so
    assert service.repository().get(1002).version == 2
    stream.settle()
    assert stream.failures()  # the record that arms the reminder: reported, to be handed on again
    assert armed(REMINDER) == []
    monkeypatch.setattr(client, "create_schedule", real)
    stream.settle()
    assert len(armed(REMINDER)) == 1 and len(emails()) == 1


def test_contacts_never_reach_the_logs_in_clear(aws, seeded, stream, monkeypatch):
    import io

    from ticketing.observability import logger

    log = io.StringIO()  # what the functions write to CloudWatch
    monkeypatch.setattr(logger.registered_handler, "stream", log)
    monkeypatch.setattr(logger._logger, "level", 10)
    put(aws, {**EXAMPLE, "contacts": "jane.doe@example.org"})
    stream.settle()
    put(aws, {**EXAMPLE, "type": "sms", "contacts": "6502530000"})
    stream.settle()
    put(aws, {**EXAMPLE, "contacts": "jane.doe@example.org,broken"})  # refused: the error is logged too
    text = log.getvalue()
    assert "outbox notice sent" in text and "automation armed a notification" in text
    assert "notification sent" in text and "j***@example.org" in text
    assert "jane.doe@example.org" not in text and "6502530000" not in text


# -- issue 16: movements anywhere, content as sent, valid numbers, limits ----------------------------
def _move(template, dialect: str) -> None:
    """Move ticket 1001 through ``dialect``'s own API, as its partner would."""
    from ticketing import ids

    if dialect == "canonical":
        method, path, headers, body = (
            "PATCH",
            "/tickets/1001",
            {"Authorization": "Bearer tkt_demo_canonical"},
            {"status": "in_progress"},
        )
    elif dialect == "spp":
        method, path, headers, body = (
            "PUT",
            f"/api/tickets/{ids.number_for(1001)}",
            {"Authorization": "Bearer tkt_demo_spp"},
            {"status": 3},
        )
    elif dialect == "kapture":
        method, path, headers = (
            "POST",
            "/update-ticket-from-other-source.html/v.2.0",
            {"Authorization": "Basic tkt_demo_kapture"},
        )
        body = [{"ticket_id": "1001", "sub_status": "PS", "comment": "", "callback_time": "", "queue": ""}]
    else:
        method, path, headers = "POST", "/api/Tickets/WorkflowPush", {"Authorization": "Bearer tkt_demo_servicedesk"}
        body = {"TicketId": 1001, "Action": "IncidentSuspend"}
    resp = apigw.request(
        template, method, path, body=json.dumps(body), headers={**headers, "Content-Type": "application/json"}
    )
    assert resp["statusCode"] == 200, resp["body"]


@pytest.mark.parametrize("dialect", ["canonical", "spp", "kapture", "servicedesk"])
def test_a_movement_through_any_dialect_tells_the_contacts_once(aws, seeded, stream, dialect):
    status, _, body = put(aws, {**EXAMPLE, "status": "OPEN", "automated": 0}, ident="1001")
    assert status == 200, body
    stream.settle()
    assert [m["subject"] for m in emails()] == [f"Ticket {body['id']}: Leaking faucet"]  # the update's own
    before = service.read_ticket(1001)
    _move(aws, dialect)
    stream.settle()
    moved = service.read_ticket(1001)
    assert moved.status_since > before.status_since
    flow = catalog.get_catalog().vocabulary("particlespace").for_status(moved.status, moved.sub_status)
    told = [m for m in emails() if "moved" in m["subject"]]
    assert [(m["to"], m["subject"]) for m in told] == [
        (["example@example.com"], f"Ticket {body['id']} moved to {flow.name}")
    ]
    assert told[0]["body"] == f'Ticket {body["id"]} "Leaking faucet" moved to {flow.name} ({flow.term}).'
    stream.pump.forget()  # the stream handed on again from its start: nobody hears twice
    stream.settle()
    assert len([m for m in emails() if "moved" in m["subject"]]) == 1
    assert [e.event for e in history(1001)].count("notification.sent") == 2


def test_a_particlespace_move_with_notify_is_told_once_by_its_own_notice(aws, seeded, stream):
    put(aws, {**EXAMPLE, "status": "OPEN", "automated": 0})
    put(aws, {**EXAMPLE, "automated": 0})  # moves to ON_HOLD, notify=1: its own notice tells of it
    stream.settle()
    assert len(emails()) == 2 and not [m for m in emails() if "moved" in m["subject"]]
    put(aws, {**QUIET, "status": "OPEN"})  # notify=0: nobody asked to be told
    stream.settle()
    assert len(emails()) == 2


def test_a_timed_notice_renders_the_ticket_as_it_is_when_sent(aws, seeded, stream):
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)
    put(aws, {**EXAMPLE, "automated": 0, "time": when.strftime("%Y-%m-%d %H:%M:%S")})
    stream.settle()
    canonical = {"Authorization": "Bearer tkt_demo_canonical"}
    renamed = apigw.request(
        aws, "PATCH", "/tickets/1002", body=json.dumps({"title": "Faucet replaced"}), headers=canonical
    )
    assert renamed["statusCode"] == 200
    stream.settle()
    assert [f["result"]["outcome"] for f in pump(aws, when + timedelta(minutes=1)).fired] == ["sent"]
    [timed] = [m for m in emails() if not m["subject"].startswith("Ticket " + KEY + " moved")]
    assert timed["subject"] == f"Ticket {KEY}: Faucet replaced"  # not the title it had when asked
    assert timed["body"].startswith(f'Ticket {KEY} "Faucet replaced" is in On hold (ON_HOLD).')


def test_reminder_at_is_null_once_the_reminder_is_sent(aws, seeded, stream):
    _, _, body = put(aws, EXAMPLE)
    due = datetime.fromisoformat(body["reminderAt"])
    stream.settle()
    assert [f["result"]["outcome"] for f in pump(aws, due + timedelta(minutes=1)).fired] == ["sent"]
    _, _, again = put(aws, {**EXAMPLE, "notify": 0})  # the same stay: its reminder went out
    assert again["reminderAt"] is None and again["automated"] == 1
    stream.settle()
    assert armed(REMINDER) == []


@pytest.mark.parametrize("number", ["555-9497", "2345678", "+1 234 5678", "345-6789", "1112223333"])
def test_a_number_that_is_not_a_valid_e164_number_is_a_400_naming_the_entry(aws, seeded, stream, number):
    status, _, body = put(aws, {**EXAMPLE, "type": "sms", "contacts": f"+12025550143,{number}"})
    assert status == 400 and body["errors"] == [
        {"field": "contacts", "message": "entry 2 of 2 is not a valid phone number"}
    ], body
    assert service.read_ticket(1002).version == 1  # nothing written
    stream.settle()
    assert outbox()["sms"] == []


def test_too_many_recipients_is_a_400_naming_the_limit_with_nothing_written(aws, seeded, stream):
    contacts = ",".join(f"user{i}@example.com" for i in range(11))  # NotifyMaxRecipients: 10 by default
    before = service.read_ticket(1002)
    status, _, body = put(aws, {**EXAMPLE, "contacts": contacts})
    assert status == 400 and body["code"] == "limit_exceeded", body
    assert body["errors"] == [{"field": "contacts", "message": body["message"]}]
    assert "limit of 10 recipients per notice" in body["message"]
    assert service.read_ticket(1002).version == before.version
    stream.settle()
    assert emails() == []
