"""Kapture over HTTP on the local run (the rest: ``tests/integration/test_kapture.py``)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from doc_kapture import (
    ASSIGNEE_EMAIL,
    BAD_CALLBACK,
    CALLBACK,
    DOC_EXAMPLE,
    DOC_MESSAGE,
    DOC_TICKET,
    INVALID_AUTH,
    NO_DATA,
    URL,
    element,
    failed,
    local,
)

CANONICAL = {"Authorization": "Bearer tkt_demo_canonical"}


def _post(http, body, headers=None):
    _, _, creds = http.json("GET", "/_local/credentials")
    auth_header = {"Authorization": creds["kapture"]["kapture"]}
    return http.json("POST", URL, body, {**auth_header, **(headers or {})})


def _pending(http, count: int | None = None, timeout: float = 10.0) -> list[dict]:
    """Ticket 1004's pending callback schedules; with ``count``, once there are that many (the
    stream's consumer arms them a moment after the answer)."""
    http.settle()
    deadline = time.monotonic() + timeout
    while True:
        pending = [
            s for s in http.json("GET", "/_local/schedules")[2] if s["name"].startswith(f"ticket-1004-{CALLBACK}-")
        ]
        if count is None or len(pending) == count or time.monotonic() > deadline:
            return pending
        time.sleep(0.1)


def _callback_emails(http) -> list[dict]:
    box = http.json("GET", "/_local/outbox")[2]
    return [m for m in box["emails"] if (m["subject"] or "").startswith("Callback due")]


def _fire(http, at: datetime) -> int:
    status, _, answer = http.json("POST", f"/_local/schedules/fire?now={at.isoformat().replace('+00:00', 'Z')}")
    assert status == 200
    return answer["fired"]


def test_http_the_documents_example_and_its_copy_on_a_demo_ticket(http):
    status, _, body = _post(http, DOC_EXAMPLE, {"Cookie": "JSESSIONID=; _KAPTURECRM_SESSION="})
    assert status == 404 and body == failed("No Data found for ticket_id 713516551148.")
    status, _, body = _post(http, [element(ticket_id="1004", sub_status="PS")])
    assert status == 200 and list(body["ticket"]) == list(DOC_TICKET) and body["message"] == DOC_MESSAGE
    status, _, got = http.json("GET", "/tickets/1004", headers=CANONICAL)
    assert status == 200 and (got["status"], got["sub_status"]) == ("pending", "callback")


def test_http_failures_and_a_mixed_batch(http):
    status, _, body = http.json("POST", URL, DOC_EXAMPLE, {"Authorization": "Basic nope"})
    assert status == 401 and body == INVALID_AUTH
    batch = [
        element(ticket_id="1002", sub_status="OH"),
        element(sub_status="PS"),
        element(ticket_id="1003", sub_status="PS", callback_time="soon"),
    ]
    status, _, body = _post(http, batch)
    assert status == 207 and body[1:] == [NO_DATA, BAD_CALLBACK] and body[0]["ticket"]["substatus"] == "OH"
    status, _, got = http.json("GET", "/tickets/1002", headers=CANONICAL)
    assert got["status"] == "on_hold"


def test_http_a_batch_of_100(http):
    tickets = [str(t) for t in range(1001, 1008)]
    terms = ["P", "OH", "IP", "PS"]
    batch = [element(ticket_id=tickets[i % 7], sub_status=terms[i % 4], comment=f"n{i}") for i in range(100)]
    status, _, body = _post(http, batch)
    assert status == 200 and len(body) == 100
    assert [(b["ticket"]["ticketId"], b["ticket"]["substatus"]) for b in body] == [
        (u["ticket_id"], u["sub_status"]) for u in batch
    ]
    # each ticket's updates applied in request order: its last one shows, with all its comments
    for i, ticket_id in enumerate(tickets):
        last = max(j for j in range(100) if j % 7 == i)
        status, _, got = http.json("GET", f"/tickets/{ticket_id}", headers=CANONICAL)
        assert got["message_count"] == len(range(i, 100, 7))
        assert body[last]["ticket"]["totalConversationCount"] == got["message_count"]
        assert (got["status"], got["sub_status"]) == {
            "P": ("pending", None), "OH": ("on_hold", None), "IP": ("in_progress", None), "PS": ("pending", "callback"),
        }[terms[last % 4]]  # fmt: skip


def test_http_callback_reminder_fires_into_the_outbox(http):
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=2)
    status, _, body = _post(http, [element(ticket_id="1004", sub_status="PS", callback_time=local(due))])
    assert status == 200 and body["ticket"]["nextFollowUp"] == local(due)
    [pending] = _pending(http, 1)
    assert pending["expression"] == f"at({due:%Y-%m-%dT%H:%M:%S})"
    assert _fire(http, due) == 1
    http.settle()
    deadline = time.monotonic() + 15
    while not _callback_emails(http) and time.monotonic() < deadline:
        time.sleep(0.2)
    [email] = _callback_emails(http)
    assert email["to"] == [ASSIGNEE_EMAIL] and local(due) in email["body"]


def test_http_a_new_callback_time_replaces_the_reminder(http):
    first = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    second = first + timedelta(days=1)
    assert _post(http, [element(ticket_id="1004", sub_status="PS", callback_time=local(first))])[0] == 200
    assert len(_pending(http, 1)) == 1
    status, _, body = _post(http, [element(ticket_id="1004", sub_status="PS", callback_time=local(second))])
    assert status == 200 and body["ticket"]["lastFollowUp"] == local(first)
    deadline = time.monotonic() + 10
    while [p["expression"] for p in _pending(http)] != [f"at({second:%Y-%m-%dT%H:%M:%S})"]:
        assert time.monotonic() < deadline, _pending(http)
        time.sleep(0.1)
    assert _fire(http, first + timedelta(minutes=1)) == 0 and _callback_emails(http) == []
    assert _fire(http, second + timedelta(minutes=1)) == 1
    http.settle()
    deadline = time.monotonic() + 15
    while not _callback_emails(http) and time.monotonic() < deadline:
        time.sleep(0.2)
    [email] = _callback_emails(http)
    assert email["to"] == [ASSIGNEE_EMAIL] and local(second) in email["body"]
