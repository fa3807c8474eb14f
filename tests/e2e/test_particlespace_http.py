"""ParticleSpace over HTTP on the local run (the rest: ``tests/integration/test_particlespace.py``)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from doc_particlespace import AUTH, EXAMPLE, FORM, KEY, NOTIFY, QUIET, REMINDER


def _put(http, fields, headers=None):
    data = urlencode(fields).encode()
    return http.json("PUT", f"/api/v1/ticket/{KEY}", data, {**AUTH, **FORM, **(headers or {})})


def _wait_for(http, predicate, timeout=15.0):
    http.settle()
    deadline = time.monotonic() + timeout
    while True:
        box = http.json("GET", "/_local/outbox")[2]
        if predicate(box) or time.monotonic() > deadline:
            return box
        time.sleep(0.2)


def _fire(http, at: datetime) -> int:
    status, _, body = http.json("POST", f"/_local/schedules/fire?now={at.isoformat().replace('+00:00', 'Z')}")
    assert status == 200
    return body["fired"]


def _pending(http, expected: list[str] | None = None, timeout: float = 10.0) -> list[str]:
    """The purposes of ticket 1002's pending schedules; with ``expected``, once they are that (the
    stream's consumer arms them a moment after the answer; a fired schedule is deleted just after
    its notifier returns)."""
    http.settle()
    deadline = time.monotonic() + timeout
    while True:
        names = [s["name"] for s in http.json("GET", "/_local/schedules")[2]]
        purposes = sorted(p for p in (NOTIFY, REMINDER) for n in names if n.startswith(f"ticket-1002-{p}-"))
        if expected is None or purposes == sorted(expected) or time.monotonic() > deadline:
            return purposes
        time.sleep(0.1)


def test_http_immediate_email_shows_in_the_outbox(http):
    status, _, body = _put(http, EXAMPLE)
    assert status == 200 and body["id"] == KEY
    box = _wait_for(http, lambda b: b["emails"])
    assert [(m["to"], m["subject"]) for m in box["emails"]] == [
        (["example@example.com"], f"Ticket {KEY}: Leaking faucet")
    ]
    assert _pending(http, [REMINDER]) == [REMINDER]


def test_http_a_time_within_a_minute_is_sent_at_once(http):
    soon = datetime.now(UTC) + timedelta(seconds=30)
    fields = {**EXAMPLE, "type": "sms", "contacts": "2025550143", "time": soon.strftime("%Y-%m-%d %H:%M:%S")}
    assert _put(http, {**fields, "automated": 0})[0] == 200
    box = _wait_for(http, lambda b: b["sms"], timeout=15)
    assert [m["to"] for m in box["sms"]] == ["+12025550143"]
    assert datetime.now(UTC) < soon  # sent at once (a schedule would have waited for its time)
    assert _pending(http) == []  # never a schedule at(now)


def test_http_scheduled_sms_fires_at_its_time(http):
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=2)
    fields = {**EXAMPLE, "type": "sms", "contacts": "2025550143", "time": due.strftime("%Y-%m-%d %H:%M:%S")}
    assert _put(http, {**fields, "automated": 0})[0] == 200
    assert _pending(http, [NOTIFY]) == [NOTIFY]
    assert http.json("GET", "/_local/outbox")[2]["sms"] == []
    assert _fire(http, due - timedelta(seconds=1)) == 0
    assert _fire(http, due) == 1
    box = _wait_for(http, lambda b: b["sms"])
    assert [m["to"] for m in box["sms"]] == ["+12025550143"] and _pending(http, []) == []


def test_http_automated_reminder_fires(http):
    _, _, body = _put(http, EXAMPLE)
    _wait_for(http, lambda b: b["emails"])
    assert _pending(http, [REMINDER]) == [REMINDER]
    assert _fire(http, datetime.fromisoformat(body["reminderAt"]) + timedelta(minutes=1)) == 1
    box = http.json("GET", "/_local/outbox")[2]
    assert [m["subject"] for m in box["emails"]] == [
        f"Ticket {KEY}: Leaking faucet",
        f"Reminder: ticket {KEY} has been in On hold for over 2 days",
    ]


def test_http_a_move_elsewhere_rearms_the_reminder_for_the_new_stay(http):
    _, _, body = _put(http, EXAMPLE)
    _wait_for(http, lambda b: b["emails"])
    assert _pending(http, [REMINDER]) == [REMINDER]
    canonical = {"Authorization": "Bearer tkt_demo_canonical"}
    assert http.json("PATCH", "/tickets/1002", {"status": "in_progress"}, canonical)[0] == 200
    # the local run's stream event source hands the change to TicketAutomationsFunction
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        reminders = [
            s for s in http.json("GET", "/_local/schedules")[2] if s["name"].startswith(f"ticket-1002-{REMINDER}-")
        ]
        if [r["input"]["expect"]["status"] for r in reminders] == ["in_progress"]:
            break
        time.sleep(0.1)
    assert [r["input"]["expect"]["status"] for r in reminders] == ["in_progress"]
    _wait_for(http, lambda b: any("moved" in m["subject"] for m in b["emails"]))  # the movement, told at once
    assert _fire(http, datetime.fromisoformat(body["reminderAt"]) + timedelta(minutes=1)) == 1
    box = http.json("GET", "/_local/outbox")[2]
    assert [m["subject"] for m in box["emails"]] == [
        f"Ticket {KEY}: Leaking faucet",
        f"Ticket {KEY} moved to In progress",  # the movement elsewhere, told (issue 16)
        f"Reminder: ticket {KEY} has been in In progress for over 1 day",  # not the On hold stay's
    ]
    _, _, hist = http.json("GET", "/tickets/1002/history", headers=canonical)
    assert [e["event"] for e in hist["items"]].count("notification.sent") == 3


def test_http_a_particlespace_move_cancels_the_reminder(http):
    _put(http, EXAMPLE)
    _wait_for(http, lambda b: b["emails"])
    assert _pending(http, [REMINDER]) == [REMINDER]
    assert _put(http, {**QUIET, "status": "DONE"})[2]["status"] == "DONE"
    assert _pending(http, []) == []


def test_http_refused_and_replayed_requests(http):
    status, _, body = _put(http, {**EXAMPLE, "contacts": "nobody"})
    assert status == 400 and body["errors"][0]["field"] == "contacts"
    assert _pending(http) == []
    key = {"Idempotency-Key": "http-replay"}
    assert _put(http, {**EXAMPLE, "automated": 0}, key)[0] == 200
    _wait_for(http, lambda b: b["emails"])
    _, headers, _ = _put(http, {**EXAMPLE, "automated": 0}, key)
    assert headers.get("Idempotent-Replayed") == "true"
    assert _put(http, {**EXAMPLE, "automated": 0})[0] == 200  # the same update without the key: nothing new
    http.settle()  # the stream handed on, due schedules fired: nothing more to come
    assert _pending(http) == [] and len(http.json("GET", "/_local/outbox")[2]["emails"]) == 1


# -- issue 16 over HTTP ------------------------------------------------------------------------------
def test_http_a_movement_through_spp_tells_the_contacts_once(http):
    _put(http, {**EXAMPLE, "automated": 0})
    _wait_for(http, lambda b: b["emails"])
    spp = {"Authorization": "Bearer tkt_demo_spp"}
    number = http.json("GET", "/tickets/1002", headers={"Authorization": "Bearer tkt_demo_canonical"})[2]["number"]
    assert http.json("PUT", f"/api/tickets/{number}", {"status": 3}, spp)[0] == 200
    box = _wait_for(http, lambda b: any("moved" in m["subject"] for m in b["emails"]))
    moved = [m for m in box["emails"] if "moved" in m["subject"]]
    assert len(moved) == 1 and moved[0]["to"] == ["example@example.com"]
    http.settle()  # nothing more comes
    assert len([m for m in http.json("GET", "/_local/outbox")[2]["emails"] if "moved" in m["subject"]]) == 1


def test_http_a_local_only_number_and_too_many_recipients_are_400s_with_nothing_written(http):
    canonical = {"Authorization": "Bearer tkt_demo_canonical"}
    before = http.json("GET", "/tickets/1002", headers=canonical)[2]["version"]
    status, _, body = _put(http, {**EXAMPLE, "type": "sms", "contacts": "555-9497"})
    assert status == 400 and body["errors"] == [
        {"field": "contacts", "message": "entry 1 of 1 is not a valid phone number"}
    ]
    many = ",".join(f"user{i}@example.com" for i in range(11))
    status, _, body = _put(http, {**EXAMPLE, "contacts": many})
    assert status == 400 and body["code"] == "limit_exceeded" and "recipients per notice" in body["message"]
    assert http.json("GET", "/tickets/1002", headers=canonical)[2]["version"] == before
    http.settle()
    box = http.json("GET", "/_local/outbox")[2]
    assert box["emails"] == [] and box["sms"] == []  # nothing sent


def _moved(http, n: int = 1, timeout: float = 15.0) -> list[dict]:
    box = _wait_for(http, lambda b: len([m for m in b["emails"] if "moved" in m["subject"]]) >= n, timeout)
    return [m for m in box["emails"] if "moved" in m["subject"]]


@pytest.mark.parametrize("dialect", ["kapture", "servicedesk", "canonical"])
def test_http_a_movement_through_another_dialect_tells_the_contacts_once(http, dialect):
    data = urlencode({**EXAMPLE, "status": "OPEN", "automated": 0}).encode()
    assert http.json("PUT", "/api/v1/ticket/1001", data, {**AUTH, **FORM})[0] == 200
    _wait_for(http, lambda b: b["emails"])
    if dialect == "kapture":
        update = [{"ticket_id": "1001", "sub_status": "PS", "comment": "", "callback_time": "", "queue": ""}]
        status = http.json(
            "POST", "/update-ticket-from-other-source.html/v.2.0", update, {"Authorization": "Basic tkt_demo_kapture"}
        )[0]
    elif dialect == "servicedesk":
        push = {"TicketId": 1001, "Action": "IncidentSuspend"}
        status = http.json("POST", "/api/Tickets/WorkflowPush", push, {"Authorization": "Bearer tkt_demo_servicedesk"})[
            0
        ]
    else:
        status = http.json(
            "PATCH", "/tickets/1001", {"status": "in_progress"}, {"Authorization": "Bearer tkt_demo_canonical"}
        )[0]
    assert status == 200
    moved = _moved(http)
    assert len(moved) == 1 and moved[0]["to"] == ["example@example.com"]
    http.settle()  # the stream and the schedules done: still once
    assert len([m for m in http.json("GET", "/_local/outbox")[2]["emails"] if "moved" in m["subject"]]) == 1


def test_http_a_timed_notice_says_what_the_ticket_is_when_sent_and_reminder_at_clears_once_sent(http):
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)
    _, _, body = _put(http, {**EXAMPLE, "time": when.strftime("%Y-%m-%d %H:%M:%S")})
    canonical = {"Authorization": "Bearer tkt_demo_canonical"}
    assert http.json("PATCH", "/tickets/1002", {"title": "Faucet replaced"}, canonical)[0] == 200
    assert _pending(http, [NOTIFY, REMINDER]) == sorted([NOTIFY, REMINDER])
    assert _fire(http, when + timedelta(minutes=1)) == 1
    box = _wait_for(http, lambda b: b["emails"])
    assert [m["subject"] for m in box["emails"]] == [f"Ticket {KEY}: Faucet replaced"]  # not the title asked with
    assert _fire(http, datetime.fromisoformat(body["reminderAt"]) + timedelta(minutes=1)) == 1
    _wait_for(http, lambda b: len(b["emails"]) == 2)
    deadline = time.monotonic() + 10
    while True:  # the notifier records the reminder sent a moment after its email
        _, _, again = _put(http, {**EXAMPLE, "title": "Faucet replaced", "notify": 0})
        if again["reminderAt"] is None or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert again["reminderAt"] is None and again["automated"] == 1


def test_http_a_servicedesk_assignment_gives_kapture_a_named_assignee_and_the_callback(http):
    due = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    kapture = {"Authorization": "Basic tkt_demo_kapture"}
    url = "/update-ticket-from-other-source.html/v.2.0"
    callback = {"ticket_id": "1005", "sub_status": "OP", "comment": "Call back", "queue": ""}
    callback["callback_time"] = due.strftime("%Y-%m-%d %H:%M:%S")
    assert http.json("POST", url, [callback], kapture)[0] == 200
    push = {"TicketId": 1005, "Action": "IncidentAssignOther", "UserProviderKey": "jane.smith@example.com"}
    assert (
        http.json("POST", "/api/Tickets/WorkflowPush", push, {"Authorization": "Bearer tkt_demo_servicedesk"})[0] == 200
    )
    deadline = time.monotonic() + 10
    while True:
        armed = [
            s for s in http.json("GET", "/_local/schedules")[2] if s["name"].startswith("ticket-1005-kapture-callback-")
        ]
        if [a["input"]["message"]["to"] for a in armed] == [["jane.smith@example.com"]] or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert [a["input"]["message"]["to"] for a in armed] == [["jane.smith@example.com"]]
    status, _, body = http.json(
        "POST",
        url,
        [{"ticket_id": "1005", "sub_status": "IP", "comment": "", "callback_time": "", "queue": ""}],
        kapture,
    )
    assert status == 200
    ticket = body["ticket"]
    assert (ticket["assignedToName"], ticket["assignedToEmail"], ticket["isCallBack"]) == (
        "Jane Smith",
        "jane.smith@example.com",
        True,
    )
