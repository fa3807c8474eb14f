"""Kapture ``POST /update-ticket-from-other-source.html/v.2.0``: a batch of ticket updates.

Through the handlers on moto in process (the tickets table's stream handed to
TicketAutomationsFunction, which arms the callback reminders, and schedules fired by the local
run's scheduler pump, in process), and over HTTP on the local run.  moto in process handles one request
at a time here (``devkit.local.gate``), as the local run's embedded AWS does: the batch
writes from several threads, and moto's in-process backends are not thread-safe."""

from __future__ import annotations

import base64
import json
import re
import threading
from datetime import datetime, timedelta

import pytest
from doc_kapture import (
    ANSWER_KEYS,
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
from test_particlespace import Consumer, armed, pump, schedules, the
from ticketing import auth, catalog, scheduling, service
from ticketing.dialects import kapture
from ticketing.errors import BadRequest, NotFound, Unavailable
from ticketing.model import utcnow
from ticketing.repository import Repository, marshal, ticket_doc

from devkit import demo_kapture, metering
from devkit.local import apigateway as apigw
from devkit.local import runtime
from devkit.local.embedded_aws import outbox
from devkit.local.gate import serialised_moto

KAPTURE = {"Authorization": "Basic tkt_demo_kapture"}
CANONICAL = {"Authorization": "Bearer tkt_demo_canonical"}
DATE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


@pytest.fixture(autouse=True)
def _moto_one_request_at_a_time():
    with serialised_moto():
        yield


def post(template, body, headers=None, auth=KAPTURE):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    resp = apigw.request(template, "POST", URL, body=data, headers={**(auth or {}), **(headers or {})})
    return resp["statusCode"], resp["headers"], json.loads(resp["body"])


def invoke(template, body, seconds: int):
    """The function's handler, called as API Gateway would, with ``seconds`` left to run."""
    fn = template.functions()["KaptureUpdateTicketFunction"]
    event = apigw.build_event(
        method="POST",
        path=URL,
        route=fn.routes[0],
        path_params=None,
        headers=[*KAPTURE.items(), ("Content-Type", "application/json")],
        body=json.dumps(body).encode(),
    )
    context = runtime.LambdaContext(fn.logical_id, fn.memory, seconds, "req-kapture", "arn:aws:lambda:::function:k")
    resp = runtime.load_handler(fn)(event, context)
    return resp["statusCode"], json.loads(resp["body"])


def canonical(template, ticket_id=1004):
    resp = apigw.request(template, "GET", f"/tickets/{ticket_id}", headers=CANONICAL)
    assert resp["statusCode"] == 200
    return json.loads(resp["body"])


def history(ticket_id=1004):
    return service.repository().history(ticket_id)[0]


@pytest.fixture
def stream(aws, seeded, lambdas) -> Consumer:
    return Consumer(aws, lambdas)


def callback_emails() -> list[dict]:
    return [m for m in outbox()["emails"] if (m["subject"] or "").startswith("Callback due")]


# -- the document's example, and the answer ------------------------------------------------------------
def test_the_documents_example_names_no_demo_ticket(aws, seeded):
    before = canonical(aws)
    status, headers, body = post(aws, DOC_EXAMPLE, {"Cookie": "JSESSIONID=; _KAPTURECRM_SESSION="})
    assert status == 404 and headers["Content-Type"] == "application/json"
    assert body == failed("No Data found for ticket_id 713516551148.")
    assert canonical(aws) == before


def test_the_documents_example_on_a_demo_ticket_answers_every_documented_key(aws, seeded):
    created = datetime.fromisoformat(canonical(aws)["created_at"])
    status, headers, body = post(aws, [element(ticket_id="1004", sub_status="PS")])
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert list(body) == ANSWER_KEYS
    assert body["Additional_details"] == {} and body["message"] == DOC_MESSAGE and body["status"] == "success"
    ticket = body["ticket"]
    assert list(ticket) == list(DOC_TICKET)
    assert {k: type(v).__name__ for k, v in ticket.items()} == {k: type(v).__name__ for k, v in DOC_TICKET.items()}
    assert ticket["id"] == 1004 and ticket["ticketId"] == "1004"
    assert (ticket["status"], ticket["statusName"], ticket["substatus"], ticket["substatusName"]) == (
        "P", "Pending", "PS", "Pending",
    )  # fmt: skip
    assert (ticket["assignedToId"], ticket["assignedToName"], ticket["assignedToEmail"]) == (
        209803, "Kapture Dev API's", ASSIGNEE_EMAIL,
    )  # fmt: skip
    assert (ticket["creatorId"], ticket["creatorName"]) == (209803, "Kapture Dev API's")
    assert (ticket["queueKey"], ticket["queueName"]) == ("mobile", "Mobile App")
    assert ticket["taskTitle"] == "Mobile app login fails" and ticket["typeName"] == "Ticket"
    assert ticket["detail"] == "Users on Android cannot log in since 2.3.1."
    assert ticket["email"] == "mia.novak@example.com" and ticket["contactId"] == 5  # the requester (demo_spp)
    assert ticket["orderId"] == "123457"
    assert ticket["date"] == local(created) and DATE.match(ticket["date"])
    assert ticket["lastConversationTime"] == int(created.timestamp() * 1000)  # no conversation yet: its creation
    assert ticket["totalConversationCount"] == 0 and ticket["lastConversationId"] == 0
    assert ticket["lastFollowUp"] == "" and ticket["nextFollowUp"] == "" and ticket["isCallBack"] is False
    assert ticket["ticketURL"] == ticket["ticketCreatorURL"] == "/employee/all-tickets.html?detail=2/1004/1004"
    assert ticket["folders"] == ["Inbox"] and ticket["folderColor"] == "red" and ticket["isEscalated"] is False
    got = canonical(aws)
    assert (got["status"], got["sub_status"]) == ("pending", "callback")
    assert history()[0].dialect == "kapture" and history()[0].event == "kapture_update"


def test_a_status_change_is_read_through_the_canonical_api(aws, seeded):
    status, _, body = post(aws, [element(ticket_id="1002", sub_status="CL")])
    assert status == 200
    assert (body["ticket"]["status"], body["ticket"]["statusName"], body["ticket"]["substatus"]) == (
        "C",
        "Closed",
        "CL",
    )
    got = canonical(aws, 1002)
    assert got["status"] == "closed" and got["closed_at"] is not None and got["version"] == 2
    status, _, body = post(aws, [element(ticket_id="1002", sub_status="es")])  # case-insensitive
    assert status == 200 and body["ticket"]["substatus"] == "ES" and body["ticket"]["isEscalated"] is True
    got = canonical(aws, 1002)
    assert (got["status"], got["sub_status"], got["closed_at"]) == ("in_progress", "escalated", None)


def test_the_same_status_again_changes_nothing(aws, seeded):
    assert post(aws, [element(ticket_id="1004", sub_status="P")])[0] == 200  # 1004 is pending already
    assert canonical(aws)["version"] == 1 and len(history()) == 1


def test_a_comment_joins_the_conversation(aws, seeded):
    status, _, body = post(aws, [element(ticket_id="1004", sub_status="PS", comment="  Called, no answer.  ")])
    assert status == 200 and body["message"] == DOC_MESSAGE
    [message] = service.repository().messages(1004)
    assert (
        message.body == "Called, no answer." and message.author == "Kapture Dev API's" and message.author_id == 209803
    )
    ticket = body["ticket"]
    assert ticket["totalConversationCount"] == 1 and ticket["lastConversationId"] == 1
    assert ticket["lastConversationTime"] == int(message.created_at.timestamp() * 1000)
    assert canonical(aws)["message_count"] == 1


def test_queue_disposition_and_extra_keys(aws, seeded):
    update = element(ticket_id="1004", sub_status="PS", queue="support", disposition="Callback requested")
    status, _, body = post(aws, [{**update, "crm_ref": "CRM-42", "priority_hint": {"level": 2}}])
    assert status == 200
    assert body["Additional_details"] == {"crm_ref": "CRM-42", "priority_hint": {"level": 2}}
    assert body["message"] == DOC_MESSAGE + "Queue has been updated.\nDisposition has been updated.\n"
    assert (body["ticket"]["queueKey"], body["ticket"]["queueName"]) == ("support", "Customer Support")
    got = canonical(aws)
    assert got["queue"] == "support" and got["disposition"] == "Callback requested"
    assert got["extra"] == {"crm_ref": "CRM-42", "priority_hint": {"level": 2}}
    # empty queue/disposition keep theirs; extra keys merge, null removes one
    status, _, body = post(aws, [{**element(ticket_id="1004", sub_status="PS"), "crm_ref": None, "other": 1}])
    assert status == 200 and body["Additional_details"] == {"crm_ref": None, "other": 1}
    got = canonical(aws)
    assert got["queue"] == "support" and got["disposition"] == "Callback requested"
    assert got["extra"] == {"priority_hint": {"level": 2}, "other": 1}


def test_a_single_object_is_one_update(aws, seeded):
    status, _, body = post(aws, element(ticket_id=1004, sub_status="OH"))  # a JSON integer id too
    assert status == 200 and body["status"] == "success" and body["ticket"]["substatus"] == "OH"


# -- each failure, exactly ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("update", "expected_status", "expected"),
    [
        (element(sub_status="PS"), 400, NO_DATA),
        ({"sub_status": "PS"}, 400, NO_DATA),
        (element(ticket_id="   ", sub_status="PS"), 400, NO_DATA),
        (element(ticket_id=None, sub_status="PS"), 400, NO_DATA),
        (element(ticket_id="1004", sub_status="PS", callback_time="19-04-2024 14:19:11"), 400, BAD_CALLBACK),
        (element(ticket_id="1004", sub_status="PS", callback_time="2024-04-19"), 400, BAD_CALLBACK),
        (element(ticket_id="1004", sub_status="PS", callback_time="2024-04-19T14:19:11"), 400, BAD_CALLBACK),
        (element(ticket_id="1004", sub_status="PS", callback_time="2024-13-19 14:19:11"), 400, BAD_CALLBACK),
        (element(ticket_id="1004", sub_status="PS", callback_time="2024-04-19 24:00:00"), 400, BAD_CALLBACK),
        (element(ticket_id="1004", sub_status="PS", callback_time=20240419141911), 400, BAD_CALLBACK),
        (
            element(ticket_id="1004", sub_status="XX"),
            400,
            failed(
                "Invalid sub_status XX: it is not a key of the sub status list "
                "(N, OP, AS, IP, ES, P, PS, OH, SU, WT, RS, CL)."
            ),
        ),
        (element(ticket_id="1004"), 400, failed("Invalid Format.sub_status is missing.")),
        (
            element(ticket_id="1004", sub_status="PS", queue="nowhere"),
            400,
            failed("Invalid queue nowhere: no queue has this key."),
        ),
        (element(ticket_id="999999", sub_status="PS"), 404, failed("No Data found for ticket_id 999999.")),
        (element(ticket_id="8FC95B0F", sub_status="PS"), 404, failed("No Data found for ticket_id 8FC95B0F.")),
        (
            element(ticket_id=True, sub_status="PS"),
            400,
            failed('Invalid Format.ticket_id should be the ticket\'s id as a string, e.g. "1004".'),
        ),
        (
            element(ticket_id="1004", sub_status="PS", comment=["a"]),
            400,
            failed("Invalid Format.comment should be text of at most 65536 characters."),
        ),
        (
            element(ticket_id="1004", sub_status="PS", disposition="x" * 501),
            400,
            failed("Invalid Format.disposition should be text of at most 500 characters."),
        ),
        ({**element(ticket_id="1004", sub_status="PS"), **{f"k{i}": i for i in range(51)}}, 400, None),
        ({**element(ticket_id="1004", sub_status="PS"), "blob": "x" * 2100}, 400, None),
        ("1004", 400, failed("Invalid Format.Each update should be a JSON object.")),
        (element(ticket_id="1004", sub_status="PS", callback_time="0001-01-01 00:00:00"), 400, BAD_CALLBACK),
        (element(ticket_id="1004", sub_status="PS", callback_time="٢٠٣١-04-22 14:31:33"), 400, BAD_CALLBACK),
        ({**element(ticket_id="1004", sub_status="PS"), "score": float("nan")}, 400, None),
        ({**element(ticket_id="1004", sub_status="PS"), "big": 10**40}, 400, None),
        ({**element(ticket_id="1004", sub_status="PS"), "": "no name"}, 400, None),
        ({**element(ticket_id="1004", sub_status="PS"), "deep": json.loads("[" * 20 + "]" * 20)}, 400, None),
        ({**element(ticket_id="1004", sub_status="PS"), "text": "\ud800"}, 400, None),
        (
            element(ticket_id="1004", sub_status="PS", comment="\ud800"),
            400,
            failed("Invalid Format.comment should be text of at most 65536 characters."),
        ),
        (
            element(ticket_id="1004", sub_status="\ud800"),
            400,
            failed(
                "Invalid sub_status ?: it is not a key of the sub status list "
                "(N, OP, AS, IP, ES, P, PS, OH, SU, WT, RS, CL)."
            ),
        ),
    ],
)
def test_each_failure_answers_its_exact_body_and_changes_nothing(aws, seeded, update, expected_status, expected):
    before = canonical(aws)
    status, _, body = post(aws, [update])
    assert status == expected_status
    assert body == (expected or failed(kapture.INVALID_EXTRA))
    assert canonical(aws) == before and schedules() == {}


@pytest.mark.parametrize(
    ("update", "error", "message"),
    [
        ({"ticket_id": "abc", "sub_status": "XX", "\ud800": 1}, NotFound, "No Data found for ticket_id abc."),
        ({"ticket_id": "1004", "callback_time": "x", "queue": 5}, BadRequest, "Invalid Format.sub_status is missing."),
        (
            {"ticket_id": "1004", "sub_status": "PS", "callback_time": "x", "queue": 5},
            BadRequest,
            BAD_CALLBACK["message"],
        ),
        (
            {"ticket_id": "1004", "sub_status": "PS", "comment": 5, "\ud800": 1},
            BadRequest,
            kapture.updates.INVALID_COMMENT,
        ),
        ({"ticket_id": "1004", "sub_status": "PS", "\ud800": 1}, BadRequest, kapture.INVALID_EXTRA),
        ([], BadRequest, "Invalid Format.Each update should be a JSON object."),
    ],
)
def test_an_updates_first_fault_is_its_failure(update, error, message):
    """The model checks every field; the fault a caller fixes first (ticket_id, sub_status,
    callback_time, the texts, then the additional details) is the element's failure."""
    vocab = catalog.default_catalog().vocabulary("kapture")
    with pytest.raises(error) as raised:
        kapture.parse_update(update, vocab, kapture.zone_of(vocab))
    assert type(raised.value) is error and raised.value.message == message


def test_the_update_model_is_the_documented_schema():
    schema = kapture.KaptureTicketUpdate.model_json_schema()
    assert schema["required"] == ["ticket_id", "sub_status"] and schema["additionalProperties"] is True
    assert list(schema["properties"]) == ["ticket_id", "sub_status", "queue", "comment", "callback_time", "disposition"]
    vocab = catalog.default_catalog().vocabulary("kapture")
    update = kapture.parse_update(
        {"ticket_id": " 1004 ", "sub_status": "ps", "queue": None, "comment": "  hi ", "crm": "x"},
        vocab,
        kapture.zone_of(vocab),
    )
    assert (update.ticket_id, str(update.term.term), update.queue, update.comment) == (1004, "PS", "", "hi")
    assert update.callback is None and update.extras == {"crm": "x"} and update.given == []


def test_a_ticket_id_that_names_no_possible_ticket_costs_no_read(aws, seeded):
    post(aws, [element(ticket_id="1004", sub_status="PS")])  # warm the container (catalog)
    with metering.aws_calls() as calls:
        status, _, _ = post(aws, DOC_EXAMPLE)
    assert status == 404
    assert "BatchGetItem" not in calls and "TransactWriteItems" not in calls


# -- auth -----------------------------------------------------------------------------------------------
def _expired_token() -> str:
    token, client = auth.create_client("Expired Kapture client", ["kapture"], token="tkt_expired_kapture")
    auth.save_client(client.model_copy(update={"expires_at": utcnow() - timedelta(seconds=1)}), auth.hash_token(token))
    return token


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Basic tkt_wrong",
        "Basic",
        "Bearer tkt_demo_kapture",
        "tkt_demo_kapture",
        "Basic tkt_demo_disabled",
        "Basic " + base64.b64encode(b"tkt_demo_kapture:secret").decode(),
        "expired",
    ],
)
def test_missing_wrong_expired_or_disabled_keys_are_401(aws, seeded, header):
    if header == "expired":
        header = f"Basic {_expired_token()}"
    status, headers, body = post(aws, DOC_EXAMPLE, auth={"Authorization": header} if header else {})
    assert status == 401 and body == INVALID_AUTH
    assert headers["WWW-Authenticate"] == 'Basic realm="kapture"'


def test_a_key_of_another_dialect_is_the_documents_invalid_auth_key(aws, seeded):
    """Not a Kapture key: the document's one failure for a key that is not passed, incorrect,
    or expired/disabled."""
    status, headers, body = post(aws, DOC_EXAMPLE, auth={"Authorization": "Basic tkt_demo_spp"})
    assert status == 401 and body == INVALID_AUTH
    assert headers["WWW-Authenticate"] == 'Basic realm="kapture"'


@pytest.mark.parametrize("credential", [b"tkt_demo_kapture", b"tkt_demo_kapture:", b":tkt_demo_kapture"])
def test_base64_of_the_token_is_accepted(aws, seeded, credential):
    header = {"Authorization": "Basic " + base64.b64encode(credential).decode()}
    assert post(aws, [element(ticket_id="1004", sub_status="PS")], auth=header)[0] == 200


# -- the body as a whole -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("ticket_id=1004&sub_status=PS", failed(kapture.INVALID_BODY)),
        ('"1004"', failed(kapture.INVALID_BODY)),
        ("42", failed(kapture.INVALID_BODY)),
        ("[", failed(kapture.INVALID_BODY)),
        ("[" * 100_000 + "]" * 100_000, failed(kapture.INVALID_BODY)),  # deeper than the JSON parser goes
        ("", NO_DATA),
        ("[]", NO_DATA),
        ("{}", NO_DATA),
        ("null", NO_DATA),
        (
            json.dumps([element(ticket_id="1004", sub_status="PS")] * 101),
            failed("Invalid Format.At most 100 updates can be sent in one request."),
        ),
        (
            json.dumps([element(ticket_id="1004", sub_status="PS", comment="x" * 60_000)] * 20),
            failed("Invalid Format.The request body should be at most 1048576 bytes."),
        ),
    ],
)
def test_a_bad_body_is_one_400_failure(aws, seeded, body, expected):
    status, _, answer = post(aws, body)
    assert status == 400 and answer == expected
    assert canonical(aws)["version"] == 1


# -- batches ----------------------------------------------------------------------------------------------
def test_a_mixed_batch_is_207_in_request_order_and_each_update_stands_alone(aws, seeded):
    batch = [
        element(ticket_id="1004", sub_status="P", comment="Customer asked for an update."),
        element(sub_status="PS"),
        element(ticket_id="713516551148", sub_status="PS"),
        element(ticket_id="1002", sub_status="PS", callback_time="tomorrow"),
        element(ticket_id="1002", sub_status="OH"),
    ]
    status, _, body = post(aws, batch)
    assert status == 207 and isinstance(body, list) and len(body) == 5
    assert body[0]["status"] == "success" and body[0]["ticket"]["ticketId"] == "1004"
    assert body[1] == NO_DATA
    assert body[2] == failed("No Data found for ticket_id 713516551148.")
    assert body[3] == BAD_CALLBACK
    assert body[4]["status"] == "success" and body[4]["ticket"]["substatus"] == "OH"
    assert canonical(aws)["message_count"] == 1
    got = canonical(aws, 1002)
    assert got["status"] == "on_hold" and got["version"] == 2 and got["follow_up_at"] is None


def test_a_batch_of_successes_is_200_in_request_order(aws, seeded):
    order = ["1003", "1001", "1005", "1002"]
    status, _, body = post(aws, [element(ticket_id=t, sub_status="IP") for t in order])
    assert status == 200 and [b["ticket"]["ticketId"] for b in body] == order
    assert all(b["status"] == "success" and b["ticket"]["substatus"] == "IP" for b in body)


def test_a_batch_of_only_failures_is_207(aws, seeded):
    status, _, body = post(aws, [element(sub_status="PS"), element(ticket_id="1", sub_status="PS")])
    assert status == 207 and body == [NO_DATA, failed("No Data found for ticket_id 1.")]


def test_updates_of_one_ticket_apply_in_request_order(aws, seeded):
    batch = [
        element(ticket_id="1002", sub_status="PS", comment="first"),
        element(ticket_id="1003", sub_status="OH"),
        element(ticket_id="1002", sub_status="CL", comment="second"),
    ]
    status, _, body = post(aws, batch)
    assert status == 200
    assert [b["ticket"]["substatus"] for b in body] == ["PS", "OH", "CL"]
    assert [b["ticket"]["totalConversationCount"] for b in body] == [1, 0, 2]
    assert [m.body for m in service.repository().messages(1002)] == ["first", "second"]
    got = canonical(aws, 1002)
    assert got["status"] == "closed" and got["version"] == 3


def _tickets(count: int) -> list[int]:
    """The demo tickets and more like 1002, stored directly (moto copies the whole table for
    each transaction: creating them through the service would take most of the test)."""
    repo = service.repository()
    template = repo.require(1002)
    extra = []
    for i in range(count - 7):
        ticket = template.model_copy(update={"id": repo.allocate_id(), "title": f"Kapture batch {i}"})
        doc = {**ticket_doc(ticket), "pk": f"TICKET#{ticket.id}", "sk": "TICKET"}
        repo.client.put_item(TableName=repo.table, Item=marshal(doc))
        extra.append(ticket.id)
    return [1001, 1002, 1003, 1004, 1005, 1006, 1007, *extra]


class InFlight:
    """The most DynamoDB calls in flight at once."""

    def __init__(self):
        self.now = self.most = 0
        self.lock = threading.Lock()

    def before(self, **_):
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def after(self, **_):
        with self.lock:
            self.now -= 1


def test_a_batch_of_100_is_one_write_per_update_in_parallel(aws, seeded):
    ids = _tickets(100)
    terms = ["P", "PS", "OH", "IP", "CL"]
    batch = [element(ticket_id=str(t), sub_status=terms[i % 5], comment=f"note {i}") for i, t in enumerate(ids)]
    post(aws, [element(ticket_id="1004", sub_status="PS")])  # a warm container (catalog cached)
    client, flight = service.repository().client, InFlight()
    client.meta.events.register("before-call.dynamodb.*", flight.before, unique_id="kapture-in-flight-before")
    client.meta.events.register("after-call.dynamodb.*", flight.after, unique_id="kapture-in-flight-after")
    try:
        with metering.aws_calls() as calls:
            # moto copies the whole table for every transaction: in-process, 100 of them can take
            # longer than the function's 20 s, which is not what this test measures
            status, body = invoke(aws, batch, seconds=600)
    finally:
        client.meta.events.unregister("before-call.dynamodb.*", unique_id="kapture-in-flight-before")
        client.meta.events.unregister("after-call.dynamodb.*", unique_id="kapture-in-flight-after")
    assert status == 200 and len(body) == 100
    assert [b["ticket"]["ticketId"] for b in body] == [str(t) for t in ids]
    assert [b["ticket"]["substatus"] for b in body] == [terms[i % 5] for i in range(100)]
    assert calls["TransactWriteItems"] == 100  # one atomic write per update
    # the client's key alone (a batch of many tickets reads none ahead: store.readahead.MOST); the
    # tickets; the users and queues the answers show
    assert calls["BatchGetItem"] <= 3
    assert "Query" not in calls and calls["GetItem"] <= 1
    assert sum(calls.values()) <= 105 < 2 * 100
    assert flight.most > 1  # the writes were in flight together
    assert canonical(aws, ids[-1])["message_count"] == 1


def test_one_update_costs_one_write_and_batched_reads(aws, seeded):
    post(aws, [element(ticket_id="1004", sub_status="PS")])
    with metering.aws_calls() as calls:
        assert post(aws, [element(ticket_id="1004", sub_status="OH", comment="c")])[0] == 200
    assert calls["TransactWriteItems"] == 1  # the update, with its comment and audit entry
    # the client's key with the ticket read ahead; then, beside the write, its users and its queue
    assert calls == {"BatchGetItem": 3, "TransactWriteItems": 1}


def test_a_store_failure_fails_only_its_own_update(aws, seeded, monkeypatch):
    original = Repository.update

    def flaky(self, ticket_id, *args, **kwargs):
        if ticket_id == 1002:
            raise Unavailable("The ticket store is busy; nothing was changed. Retry shortly.")
        if ticket_id == 1003:
            raise RuntimeError("boom")
        return original(self, ticket_id, *args, **kwargs)

    monkeypatch.setattr(Repository, "update", flaky)
    batch = [element(ticket_id=t, sub_status="OH") for t in ("1001", "1002", "1003", "1005")]
    status, _, body = post(aws, batch)
    assert status == 207
    assert body[1] == failed("The ticket store is busy; nothing was changed. Retry shortly.")
    assert body[2] == failed("An internal error occurred while applying this update; retry it.")
    assert body[0]["status"] == body[3]["status"] == "success"
    assert canonical(aws, 1001)["status"] == canonical(aws, 1005)["status"] == "on_hold"
    status, _, body = post(aws, [batch[1]])
    assert status == 503 and body["status"] == "failed"


def test_reference_data_that_cannot_be_read_blanks_names_but_keeps_the_updates(aws, seeded, monkeypatch):
    def down(self, kind, keys):
        raise Unavailable("The ticket store is busy; retry shortly.")

    monkeypatch.setattr(Repository, "get_references", down)
    status, _, body = post(
        aws, [element(ticket_id="1004", sub_status="OH"), element(ticket_id="1002", sub_status="OH")]
    )
    assert status == 200 and [b["status"] for b in body] == ["success", "success"]
    assert body[0]["ticket"]["assignedToId"] == 209803 and body[0]["ticket"]["assignedToName"] == ""
    assert canonical(aws)["status"] == canonical(aws, 1002)["status"] == "on_hold"


def test_updates_not_started_before_the_functions_time_runs_out_are_not_applied(aws, seeded):
    batch = [element(ticket_id="1002", sub_status="OH"), element(ticket_id="1003", sub_status="OH")]
    status, body = invoke(aws, batch, seconds=2)  # less than the margin kept to answer
    assert status == 207 and body == [failed(kapture.OUT_OF_TIME)] * 2
    assert canonical(aws, 1002)["version"] == canonical(aws, 1003)["version"] == 1
    status, body = invoke(aws, batch, seconds=20)
    assert status == 200 and [b["status"] for b in body] == ["success", "success"]


# -- callback_time and its reminder ---------------------------------------------------------------------------
def test_a_callback_time_sets_the_next_follow_up_and_reminds_the_assignee_then(aws, seeded, stream):
    due = (utcnow() + timedelta(days=2)).replace(microsecond=0)
    update = element(ticket_id="1004", sub_status="PS", callback_time=local(due), comment="Call after lunch.")
    status, _, body = post(aws, [update])
    assert status == 200
    assert body["message"] == DOC_MESSAGE + "Callback time has been updated.\n"
    ticket = body["ticket"]
    assert ticket["nextFollowUp"] == local(due) and ticket["lastFollowUp"] == "" and ticket["isCallBack"] is True
    got = canonical(aws)
    assert datetime.fromisoformat(got["follow_up_at"]) == due
    assert got["follow_up_reminder"] is True and got["follow_up_note"] == "Call after lunch."
    assert schedules() == {}  # the request armed nothing: the stream's consumer does
    stream.settle()
    schedule = the(CALLBACK, 1004)
    assert schedule["ScheduleExpression"] == f"at({due:%Y-%m-%dT%H:%M:%S})"
    notice = json.loads(schedule["Target"]["Input"])
    assert notice["purpose"] == "kapture-callback" and notice["message"]["to"] == [ASSIGNEE_EMAIL]
    assert pump(aws).fired == [] and callback_emails() == []  # not before its time
    fired = pump(aws, due + timedelta(minutes=1)).fired
    assert [f["result"]["outcome"] for f in fired] == ["sent"]
    [email] = callback_emails()
    assert email["to"] == [ASSIGNEE_EMAIL]
    assert email["subject"] == "Callback due: ticket 1004 Mobile app login fails"
    assert f"is due at {local(due)} (UTC)" in email["body"] and "Call after lunch." in email["body"]
    assert history()[0].event == "notification.sent" and schedules() == {}


def test_a_new_callback_time_replaces_the_pending_reminder(aws, seeded, stream):
    first = (utcnow() + timedelta(days=1)).replace(microsecond=0)
    second = first + timedelta(days=1)
    assert post(aws, [element(ticket_id="1004", sub_status="PS", callback_time=local(first))])[0] == 200
    stream.settle()
    status, _, body = post(aws, [element(ticket_id="1004", sub_status="PS", callback_time=local(second))])
    assert status == 200
    assert body["ticket"]["nextFollowUp"] == local(second) and body["ticket"]["lastFollowUp"] == local(first)
    got = canonical(aws)
    assert datetime.fromisoformat(got["follow_up_at"]) == second
    assert datetime.fromisoformat(got["last_follow_up_at"]) == first
    stream.settle()
    assert the(CALLBACK, 1004)["ScheduleExpression"] == f"at({second:%Y-%m-%dT%H:%M:%S})"  # one, not two
    assert pump(aws, first + timedelta(minutes=1)).fired == []  # the first time is no longer armed
    assert [f["result"]["outcome"] for f in pump(aws, second + timedelta(minutes=1)).fired] == ["sent"]
    assert len(callback_emails()) == 1


def test_a_replayed_callback_is_reminded_once(aws, seeded, stream):
    due = (utcnow() + timedelta(hours=3)).replace(microsecond=0)
    update = [element(ticket_id="1004", sub_status="PS", callback_time=local(due))]
    assert post(aws, update)[0] == 200
    stream.settle()
    assert [f["result"]["outcome"] for f in pump(aws, due + timedelta(minutes=1)).fired] == ["sent"]
    version = canonical(aws)["version"]
    assert post(aws, update)[0] == 200  # the same update again: nothing changes, nothing is armed
    assert canonical(aws)["version"] == version
    stream.settle()
    assert pump(aws, due + timedelta(minutes=2)).fired == []
    stream.pump.forget()  # the stream handed on again from its start: armed again, and claimed already
    stream.settle()
    assert [f["result"]["outcome"] for f in pump(aws, due + timedelta(minutes=2)).fired] == ["duplicate"]
    assert len(callback_emails()) == 1


def test_a_callback_moved_the_consumer_has_not_seen_makes_the_reminder_stale(aws, seeded, stream):
    due = (utcnow() + timedelta(hours=3)).replace(microsecond=0)
    assert post(aws, [element(ticket_id="1004", sub_status="PS", callback_time=local(due))])[0] == 200
    stream.settle()
    moved = (due + timedelta(days=1)).isoformat()
    patch = apigw.request(aws, "PATCH", "/tickets/1004", body=json.dumps({"follow_up_at": moved}), headers=CANONICAL)
    assert patch["statusCode"] == 200  # and the stream not handed on (it lags, or fails): the safety net
    assert [f["result"]["outcome"] for f in pump(aws, due + timedelta(minutes=1)).fired] == ["stale"]
    assert callback_emails() == []


def test_closing_the_ticket_cancels_its_pending_reminder(aws, seeded, stream):
    due = (utcnow() + timedelta(days=1)).replace(microsecond=0)
    assert post(aws, [element(ticket_id="1004", sub_status="PS", callback_time=local(due))])[0] == 200
    stream.settle()
    assert len(armed(CALLBACK, 1004)) == 1
    status, _, body = post(aws, [element(ticket_id="1004", sub_status="CL")])
    assert status == 200 and body["ticket"]["status"] == "C"
    stream.settle()
    assert schedules() == {}


def test_a_callback_without_an_assignee_is_stored_without_a_reminder(aws, seeded, stream):
    due = (utcnow() + timedelta(days=1)).replace(microsecond=0)
    status, _, body = post(aws, [element(ticket_id="1002", sub_status="PS", callback_time=local(due))])
    assert status == 200 and body["ticket"]["nextFollowUp"] == local(due) and body["ticket"]["assignedToId"] == 0
    stream.settle()
    assert schedules() == {} and stream.failures() == []


def test_a_scheduler_outage_fails_no_update(aws, seeded, stream, monkeypatch):
    def busy(notice, **_):
        raise Unavailable("The scheduler is busy")

    real = scheduling.arm
    monkeypatch.setattr(scheduling, "arm", busy)
    due = local(utcnow() + timedelta(days=1))
    batch = [element(ticket_id="1004", sub_status="PS", callback_time=due), element(ticket_id="1002", sub_status="OH")]
    status, _, body = post(aws, batch)
    assert status == 200 and [b["status"] for b in body] == ["success", "success"]
    stream.settle()
    assert stream.failures() and schedules() == {}  # the consumer's to retry
    monkeypatch.setattr(scheduling, "arm", real)
    stream.settle()
    assert len(armed(CALLBACK, 1004)) == 1


def test_the_time_zone_comes_from_the_catalog(aws, seeded, stream):
    doc = catalog.default_catalog().model_dump(mode="json")
    doc["vocabularies"]["kapture"]["attrs"]["timezone"] = "Asia/Kolkata"
    service.repository().store_catalog_document(json.dumps(doc))
    catalog.reset()
    status, _, body = post(aws, [element(ticket_id="1004", sub_status="PS", callback_time="2031-04-22 14:31:33")])
    assert status == 200 and body["ticket"]["nextFollowUp"] == "2031-04-22 14:31:33"
    assert canonical(aws)["follow_up_at"] == "2031-04-22T09:01:33Z"
    stream.settle()
    assert the(CALLBACK, 1004)["ScheduleExpression"] == "at(2031-04-22T09:01:33)"
    created = datetime.fromisoformat(canonical(aws)["created_at"])
    assert body["ticket"]["date"] == (created + timedelta(hours=5, minutes=30)).strftime("%Y-%m-%d %H:%M:%S")


# -- Idempotency-Key --------------------------------------------------------------------------------------------
def test_the_same_idempotency_key_replays_the_whole_batch(aws, seeded):
    batch = [element(ticket_id="1004", sub_status="PS", comment="once"), element(sub_status="PS")]
    key = {"Idempotency-Key": "kapture-batch-1"}
    status, headers, first = post(aws, batch, key)
    assert status == 207 and "Idempotent-Replayed" not in headers
    status, headers, again = post(aws, batch, key)
    assert status == 207 and headers["Idempotent-Replayed"] == "true" and again == first
    assert canonical(aws)["message_count"] == 1
    status, _, body = post(aws, [batch[0]], key)
    assert status == 422 and body["status"] == "failed"


# -- the demo data -------------------------------------------------------------------------------------------------
def test_the_demo_data(aws, seeded):
    refs = service.repository()
    assert refs.get_references("user", [209803])["209803"]["email"] == ASSIGNEE_EMAIL
    assert set(refs.get_references("queue", demo_kapture.QUEUES)) == set(demo_kapture.QUEUES)
    got = canonical(aws)
    assert got["assignee_ids"] == [209803] and got["creator_id"] == 209803 and got["version"] == 1


# -- the tickets read ahead with the client (ticketing.store.readahead) ------------------------
@pytest.mark.parametrize(
    ("body", "auth", "status", "reads"),
    [
        ('[{"ticket_id": "1004"', KAPTURE, 400, {"GetItem": 1}),  # no JSON: nothing read ahead
        ([{"ticket_id": "1004", "sub_status": "PS"}] * 101, KAPTURE, 400, {"GetItem": 1}),  # too many
        ([{"ticket_id": "INC-1004", "sub_status": "PS"}], KAPTURE, 404, {"GetItem": 1}),  # not Kapture's id
        ([{"ticket_id": "1004", "sub_status": "PS"}], {"Authorization": "Basic tkt_unknown"}, 401, {"BatchGetItem": 1}),
    ],
    ids=["malformed", "over-100", "a-ref", "unknown-client"],
)
def test_what_the_batch_reads_ahead_never_changes_its_answer(aws, seeded, body, auth, status, reads):
    post(aws, [element(ticket_id="1002", sub_status="PS")])  # the catalog cached: the client is read alone
    with metering.aws_calls() as calls:
        got = post(aws, body, auth=auth)
    assert got[0] == status, got
    assert calls == reads  # the client alone, or with the tickets named; nothing written


def test_a_batch_naming_one_ticket_reads_it_with_its_client_and_more_after_its_checks(aws, seeded):
    post(aws, [element(ticket_id="1004", sub_status="PS")])  # the catalog cached
    one = [element(ticket_id=t, sub_status=s) for t, s in (("1004", "OH"), (1004, "IP"))]
    with metering.aws_calls() as calls:
        status, _, body = post(aws, one)
    assert status == 200 and [b["status"] for b in body] == ["success"] * 2
    # the client with 1004 read ahead (named twice, read once); the users and queue the answers show
    assert calls == {"BatchGetItem": 3, "TransactWriteItems": 2}
    several = [element(ticket_id=t, sub_status="OH") for t in ("1004", "1002", "99999")]
    with metering.aws_calls() as calls:
        status, _, body = post(aws, several)
    assert status == 207 and "No Data found for ticket_id 99999" in json.dumps(body[2])
    # the client alone: a made-up token makes the store read one ticket at most (store.readahead.MOST);
    # then the tickets, the users and the queues
    assert calls == {"GetItem": 1, "BatchGetItem": 3, "TransactWriteItems": 2}
