"""Kapture over HTTP on the local run (the rest: ``tests/integration/test_kapture.py``).

Kapture ``POST /update-ticket-from-other-source.html/v.2.0``: a batch of ticket updates.

Through the handlers on moto in process (the tickets table's stream handed to
TicketAutomationsFunction, which arms the callback reminders, and schedules fired by the local
run's scheduler pump, in process), and over HTTP on the local run.  moto in process handles one request
at a time here (``devkit.inprocess``), as the local run's embedded AWS does: the batch
writes from several threads, and moto's in-process backends are not thread-safe."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

URL = "/update-ticket-from-other-source.html/v.2.0"


CANONICAL = {"Authorization": "Bearer tkt_demo_canonical"}


CALLBACK = "kapture-callback"  # the reminder's purpose: its schedules are ticket-1004-kapture-callback-<notice id>


ASSIGNEE_EMAIL = "sashank.goenka@kapturecrm.com"


DOC_TICKET = {
    "id": 530348198, "type": "O", "email": "", "phone": "", "status": "P", "orderId": "", "queueKey": "",
    "ticketId": "713516551148", "folderId": 0, "detail": "", "isUnread": False, "isOutOfSLA": False, "priority": 0,
    "isCallBack": False, "creatorId": 209803, "enquiryId": 0, "contactId": 0, "substatus": "PS", "productId": 0,
    "erpOrderId": "", "referenceId": 0, "ticketEmail": "", "assignedToId": 209803, "pendingTaskId": 0,
    "agencyBriefId": 0, "twitterUserId": "", "facebookUserId": "", "associativefile": "", "statusName": "Pending",
    "customerFeedback": 0, "playStoreReviewId": "", "lastConversationId": 0, "lastConversationType": "O",
    "lastConversationTime": 1713516551152, "date": "2024-04-19 14:19:11", "totalConversationCount": 0,
    "taskTitle": "TEST 1", "typeName": "Mobile App", "taskEnddate": "2024-04-19 14:19:11",
    "lastFollowUp": "2024-04-22 14:31:33", "nextFollowUp": "2024-04-19 14:19:11", "substatusName": "Pending",
    "encryptedPhone": "", "encryptedEmail": "", "lastConversationTypeName": "Mobile App",
    "ticketURL": "/employee/all-tickets.html?detail=2/530348198/713516551148",
    "ticketCreatorURL": "/employee/all-tickets.html?detail=2/530348198/713516551148", "isEscalated": True,
    "folders": ["Inbox"], "queueName": "", "creatorName": "Kapture Dev API's", "folderColor": "red",
    "assignedToName": "Kapture Dev API's", "assignedToEmail": "sashank.goenka@kapturecrm.com", "mergeTicketId": "",
    "skuCode": "", "productName": "",
}  # fmt: skip


DOC_MESSAGE = "Status and Comment have been updated.\n"


INVALID_AUTH = {"message": "Invalid Auth Key", "status": "failed"}


NO_DATA = {"message": "No Data found/ticket_id is missing", "status": "failed"}


BAD_CALLBACK = {"message": "Invalid Format.callback_date should be yyyy-MM-dd hh:mm:ss.", "status": "failed"}


def element(**fields):
    """An update as the document's example body writes it: every key, empty unless given."""
    return {
        "comment": "",
        "ticket_id": "",
        "callback_time": "",
        "sub_status": "",
        "queue": "",
        "disposition": "",
        **fields,
    }


DOC_EXAMPLE = [element(ticket_id="713516551148", sub_status="PS")]


def failed(message):
    return {"message": message, "status": "failed"}


def local(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _post(http, body, headers=None):
    _, _, creds = http.json("GET", "/_local/credentials")
    auth_header = {"Authorization": creds["kapture"]["kapture"]}
    return http.json("POST", URL, body, {**auth_header, **(headers or {})})


def _pending(http, count: int | None = None, timeout: float = 10.0) -> list[dict]:
    """Ticket 1004's pending callback schedules; with ``count``, once there are that many (the
    stream's consumer arms them a moment after the answer)."""
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


@pytest.fixture
def http(local_run):
    assert local_run.request("POST", "/_local/reset")[0] == 200
    return local_run


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
    deadline = time.monotonic() + 15
    while not _callback_emails(http) and time.monotonic() < deadline:
        time.sleep(0.2)
    [email] = _callback_emails(http)
    assert email["to"] == [ASSIGNEE_EMAIL] and local(second) in email["body"]
