"""MyHRW partner tickets: through the handlers on moto, and over HTTP on the local run."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from doc_myhrw import DOCUMENT_KEYS, ERROR_KEYS, EXAMPLE, EXAMPLE_RESPONSE, PT
from ticketing import service
from ticketing.dialects import myhrw

from devkit import demo_myhrw
from devkit.local import apigateway as apigw

P17 = {"Authorization": "Bearer tkt_demo_myhrw"}
P18 = {"Authorization": "Bearer tkt_demo_myhrw_partner18"}
NOGROUP = {"Authorization": "Bearer tkt_demo_myhrw_nogroup"}
CANONICAL = {"Authorization": "Bearer tkt_demo_canonical"}


def call(template, method, url, body=None, headers=None):
    data = json.dumps(body) if isinstance(body, (dict, list)) else (body or "")
    resp = apigw.request(template, method, url, body=data, headers=headers if headers is not None else P17)
    payload = json.loads(resp["body"]) if resp["body"] else None
    return resp["statusCode"], resp["headers"], payload


def ticket(template, ticket_id=1001):
    status, _, body = call(template, "GET", f"/tickets/{ticket_id}", headers=CANONICAL)
    assert status == 200
    return body


def partner_tickets(template, task_id=1, ticket_id=1001):
    task = next(t for t in ticket(template, ticket_id)["tasks"] if t["id"] == task_id)
    return {(pt["partner_id"], pt["id"]): pt for pt in task["partner_tickets"]}


def history(template, ticket_id=1001):
    status, _, body = call(template, "GET", f"/tickets/{ticket_id}/history", headers=CANONICAL)
    assert status == 200
    return body["items"]


@pytest.fixture
def v0(aws, seeded):
    """Ticket 1001's version in the demo data (tests compare with it, not with a constant)."""
    return ticket(aws)["version"]


def etag_after(v0, writes=1):
    return f'"{v0 + writes}"'


def assert_error(status, headers, body, expected):
    assert status == expected, body
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert list(body) == ERROR_KEYS and body["status"] == expected
    assert isinstance(body["message"], str) and body["message"]
    assert body["requestId"]


# -- the document's example ---------------------------------------------------------------
def test_document_example_answers_the_documented_shape(aws, seeded, v0):
    status, headers, body = call(aws, "PUT", PT.format("TKT0196"), EXAMPLE)
    assert status == 200
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert body == EXAMPLE_RESPONSE
    assert list(body) == DOCUMENT_KEYS
    # the demo data holds the example's values already: nothing changed, nothing written
    assert headers["ETag"] == etag_after(v0, 0) and ticket(aws)["version"] == v0


def test_update_is_stored_and_visible_through_the_canonical_ticket(aws, seeded, v0):
    body = {**EXAMPLE, "status": "In Progress", "priority": "2 - High", "assignedto": "Ada Lovelace"}
    status, headers, got = call(aws, "PUT", PT.format("TKT0196"), body)
    assert status == 200 and headers["ETag"] == etag_after(v0)
    assert got == {**EXAMPLE_RESPONSE, "status": "In Progress", "priority": "2 - High", "assignedTo": "Ada Lovelace"}
    stored = partner_tickets(aws)[(17, "TKT0196")]
    assert stored["status"] == "In Progress" and stored["priority"] == "2 - High"
    assert stored["assigned_to"] == "Ada Lovelace" and stored["display_id"] == "INC1068302"
    assert stored["updated_at"] > stored["created_at"]
    entry = history(aws)[0]
    assert entry["event"] == "partner_ticket_updated" and entry["dialect"] == "myhrw"
    assert entry["actor_name"] == "Demo MyHRW partner 17"
    assert entry["detail"] == {"task_id": 1, "partner_id": 17, "partner_ticket_id": "TKT0196"}
    changed = {c["field"]: (c["before"], c["after"]) for c in entry["changes"]}
    prefix = "tasks.1.partner_tickets.17:TKT0196."
    assert changed[prefix + "status"] == ("Open", "In Progress")
    assert changed[prefix + "priority"] == ("1 - Urgent", "2 - High")
    assert changed[prefix + "assigned_to"] == ("Olivier Legrand", "Ada Lovelace")


def test_full_replace_blanks_absent_and_null_properties(aws, seeded):
    status, _, got = call(aws, "PUT", PT.format("TKT0196"), {"id": "TKT0196", "status": "Resolved", "type": None})
    assert status == 200
    assert got == {
        "id": "TKT0196",
        "displayId": "",
        "ticketUid": 1001,
        "partnerId": 17,
        "ticketTaskId": 1,
        "type": "",
        "shortDescription": "",
        "description": "",
        "category": "",
        "status": "Resolved",
        "assignmentGroup": "",
        "assignedTo": "",
        "priority": "",
    }
    stored = partner_tickets(aws)[(17, "TKT0196")]
    for attr in ("display_id", "type", "short_description", "description", "category", "priority"):
        assert stored[attr] == "", attr
    assert stored["assignment_group"] == stored["assigned_to"] == ""
    # and the other partner tickets of the task are untouched
    assert partner_tickets(aws)[(17, "TKT0197")]["status"] == "In Progress"


# -- re-keying -----------------------------------------------------------------------------
def test_rekey_moves_the_partner_ticket_and_the_old_key_stops_resolving(aws, seeded, v0):
    before = partner_tickets(aws)[(17, "TKT0196")]
    status, headers, got = call(aws, "PUT", PT.format("TKT0196"), {**EXAMPLE, "id": "TKT0196-B"})
    assert status == 200 and got == {**EXAMPLE_RESPONSE, "id": "TKT0196-B"}
    assert headers["ETag"] == etag_after(v0)

    status, h, body = call(aws, "PUT", PT.format("TKT0196"), EXAMPLE)
    assert_error(status, h, body, 404)
    status, _, got = call(aws, "PUT", PT.format("TKT0196-B"), {**EXAMPLE, "id": "TKT0196-B", "status": "Closed"})
    assert status == 200 and got["status"] == "Closed" and got["id"] == "TKT0196-B"

    pts = partner_tickets(aws)
    assert (17, "TKT0196") not in pts
    assert pts[(17, "TKT0196-B")]["created_at"] == before["created_at"]
    assert set(pts) == {(17, "TKT0196-B"), (17, "TKT0197"), (18, "P18-0001")}

    rekeyed = next(e for e in history(aws) if e["event"] == "partner_ticket_rekeyed")
    assert rekeyed["version"] == v0 + 1
    assert rekeyed["detail"] == {
        "task_id": 1,
        "partner_id": 17,
        "partner_ticket_id": "TKT0196-B",
        "previous_partner_ticket_id": "TKT0196",
    }
    changes = {c["field"]: c for c in rekeyed["changes"]}
    assert changes["tasks.1.partner_tickets.17:TKT0196"]["after"] is None
    assert changes["tasks.1.partner_tickets.17:TKT0196"]["before"]["id"] == "TKT0196"
    assert changes["tasks.1.partner_tickets.17:TKT0196-B"]["before"] is None
    assert changes["tasks.1.partner_tickets.17:TKT0196-B"]["after"]["id"] == "TKT0196-B"


def test_rekey_onto_an_existing_partner_ticket_is_409_and_changes_nothing(aws, seeded, v0):
    entries = len(history(aws))
    status, headers, body = call(aws, "PUT", PT.format("TKT0196"), {**EXAMPLE, "id": "TKT0197"})
    assert_error(status, headers, body, 409)
    assert "TKT0197" in body["message"]
    pts = partner_tickets(aws)
    assert pts[(17, "TKT0196")]["status"] == "Open" and pts[(17, "TKT0197")]["status"] == "In Progress"
    assert ticket(aws)["version"] == v0 and len(history(aws)) == entries


def test_rekey_racing_a_create_of_the_same_id_is_409(aws, seeded, v0, monkeypatch):
    """The re-key reads the ticket, then another request records the id it wants before it
    writes: the conditional write fails, the command runs again on the winner, refuses."""
    real_get = service.get_ticket

    def read_then_lose_the_race(identifier, **kwargs):
        current = real_get(identifier, **kwargs)
        monkeypatch.setattr(service, "get_ticket", real_get)
        created = call(aws, "POST", "/tickets/1001/tasks/1/partnertickets", {"id": "TKT0300", "status": "New"})
        assert created[0] == 201
        return current

    monkeypatch.setattr(service, "get_ticket", read_then_lose_the_race)
    status, headers, body = call(aws, "PUT", PT.format("TKT0196"), {**EXAMPLE, "id": "TKT0300"})
    assert_error(status, headers, body, 409)
    pts = partner_tickets(aws)
    assert pts[(17, "TKT0300")]["status"] == "New" and pts[(17, "TKT0196")]["status"] == "Open"
    assert ticket(aws)["version"] == v0 + 1


def test_partners_have_their_own_keys(aws, seeded):
    # partner 18 may take the id TKT0196 for its own partner ticket: no collision with partner 17's
    status, _, got = call(aws, "PUT", PT.format("P18-0001"), {"id": "TKT0196", "status": "Open"}, P18)
    assert status == 200 and got["partnerId"] == 18 and got["id"] == "TKT0196"
    pts = partner_tickets(aws)
    assert pts[(18, "TKT0196")]["status"] == "Open"
    assert pts[(17, "TKT0196")]["short_description"] == "Test task short descr"
    assert call(aws, "PUT", PT.format("TKT0196"), EXAMPLE)[2] == EXAMPLE_RESPONSE


# -- who may do what -----------------------------------------------------------------------
def test_another_partners_partner_ticket_is_not_found(aws, seeded, v0):
    status, headers, body = call(aws, "PUT", PT.format("TKT0196"), EXAMPLE, P18)
    assert_error(status, headers, body, 404)
    status, headers, body = call(aws, "PUT", PT.format("P18-0001"), {"id": "P18-0001"}, P17)
    assert_error(status, headers, body, 404)
    # exactly the answer for a partner ticket that does not exist at all
    _, _, missing = call(aws, "PUT", PT.format("NOPE"), {"id": "NOPE"}, P18)
    _, _, foreign = call(aws, "PUT", PT.format("TKT0196"), {"id": "NOPE"}, P18)
    assert missing["message"].replace("NOPE", "X") == foreign["message"].replace("TKT0196", "X")
    assert partner_tickets(aws)[(17, "TKT0196")]["priority"] == "1 - Urgent"
    assert ticket(aws)["version"] == v0


def test_partner_id_comes_from_the_credentials(aws, seeded):
    status, _, got = call(aws, "POST", "/tickets/1001/tasks/2/partnertickets", {"id": "X-1"}, P18)
    assert status == 201 and got["partnerId"] == 18
    status, headers, body = call(aws, "PUT", PT.format("TKT0196"), {**EXAMPLE, "partnerid": 18})
    assert_error(status, headers, body, 400)
    assert body["errors"][0]["field"] == "partnerid"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (NOGROUP, 403),
        (CANONICAL, 403),
        ({"Authorization": "Bearer tkt_demo_disabled"}, 401),
        ({"Authorization": "Bearer nope"}, 401),
        ({"Authorization": "Basic tkt_demo_myhrw"}, 401),
        ({}, 401),
    ],
)
@pytest.mark.parametrize(
    ("method", "url"), [("PUT", PT.format("TKT0196")), ("POST", "/tickets/1001/tasks/1/partnertickets")]
)
def test_auth_failures(aws, seeded, v0, headers, expected, method, url):
    status, out_headers, body = call(aws, method, url, {**EXAMPLE, "id": "TKT0500"}, headers)
    assert_error(status, out_headers, body, expected)
    if expected == 401:
        assert out_headers["WWW-Authenticate"] == 'Bearer realm="myhrw"'
    assert ticket(aws)["version"] == v0


def test_wrong_group_is_refused_before_anything_else(aws, seeded):
    status, headers, body = call(aws, "PUT", "/tickets/abc/tasks/1/partnertickets/TKT0196", "{", NOGROUP)
    assert_error(status, headers, body, 403)
    assert "PartnerInteraction" in body["message"]


# -- bad requests ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "body",
    [
        {k: v for k, v in EXAMPLE.items() if k != "id"},
        {**EXAMPLE, "id": None},
        {**EXAMPLE, "id": ""},
        {**EXAMPLE, "id": "   "},
        {**EXAMPLE, "id": 196},
        {**EXAMPLE, "id": "TKT/0196"},
    ],
    ids=["absent", "null", "empty", "blank", "number", "slash"],
)
@pytest.mark.parametrize(
    ("method", "url"), [("PUT", PT.format("TKT0196")), ("POST", "/tickets/1001/tasks/2/partnertickets")]
)
def test_id_is_required(aws, seeded, v0, body, method, url):
    status, headers, problem = call(aws, method, url, body)
    assert_error(status, headers, problem, 400)
    assert [e["field"] for e in problem["errors"]] == ["id"]
    assert ticket(aws)["version"] == v0


def test_empty_body_is_400(aws, seeded):
    status, headers, body = call(aws, "PUT", PT.format("TKT0196"), "")
    assert_error(status, headers, body, 400)
    assert body["errors"] == [{"field": "id", "message": "Field required"}]


@pytest.mark.parametrize(
    ("ticket_uid", "task_id", "fields"),
    [
        ("INC-001001", "1", ["ticketUid"]),
        ("8FC95B0F", "1", ["ticketUid"]),
        ("1.5", "1", ["ticketUid"]),
        ("-1001", "1", ["ticketUid"]),
        ("1" * 21, "1", ["ticketUid"]),
        ("1001", "first", ["taskid"]),
        ("1001", "-1", ["taskid"]),
        ("1001", "2147483648", ["taskid"]),
        ("abc", "x", ["ticketUid", "taskid"]),
    ],
)
def test_non_numeric_path_ids_are_400(aws, seeded, ticket_uid, task_id, fields):
    for method, url in [
        ("PUT", f"/tickets/{ticket_uid}/tasks/{task_id}/partnertickets/TKT0196"),
        ("POST", f"/tickets/{ticket_uid}/tasks/{task_id}/partnertickets"),
    ]:
        status, headers, body = call(aws, method, url, EXAMPLE)
        assert_error(status, headers, body, 400)
        assert [e["field"] for e in body["errors"]] == fields


@pytest.mark.parametrize(
    ("url", "word"),
    [
        ("/tickets/1202591952749/tasks/1/partnertickets/TKT0196", "Ticket 1202591952749"),
        ("/tickets/18446744073709551615/tasks/1/partnertickets/TKT0196", "Ticket 18446744073709551615"),
        ("/tickets/1002/tasks/1/partnertickets/TKT0196", "Task 1 of ticket 1002"),
        ("/tickets/1001/tasks/0/partnertickets/TKT0196", "Task 0 of ticket 1001"),
        ("/tickets/1001/tasks/2/partnertickets/TKT0196", "Partner ticket 'TKT0196' of task 2"),
        ("/tickets/1001/tasks/1/partnertickets/tkt0196", "Partner ticket 'tkt0196'"),
    ],
)
def test_missing_ticket_task_or_partner_ticket_is_404(aws, seeded, url, word):
    status, headers, body = call(aws, "PUT", url, EXAMPLE)
    assert_error(status, headers, body, 404)
    assert word in body["message"]


@pytest.mark.parametrize(
    ("field", "limit"),
    [
        ("id", 100),
        ("shortdescription", 500),
        ("description", 8000),
        ("displayid", 100),
        ("type", 100),
        ("priority", 100),
        ("status", 100),
        ("category", 500),
        ("assignmentgroup", 255),
        ("assignedto", 255),
    ],
)
def test_lengths_are_bounded(aws, seeded, field, limit):
    status, headers, body = call(aws, "PUT", PT.format("TKT0196"), {**EXAMPLE, field: "é" * (limit + 1)})
    assert_error(status, headers, body, 400)
    assert body["errors"][0]["field"] == field and str(limit) in body["errors"][0]["message"]
    assert field in body["message"]
    status, _, got = call(aws, "PUT", PT.format("TKT0196"), {**EXAMPLE, field: "é" * limit})
    assert status == 200
    key = myhrw._ATTRIBUTES[field]
    assert partner_tickets(aws)[(17, got["id"])][key] == "é" * limit


@pytest.mark.parametrize(
    ("body", "content_type", "expected", "field"),
    [
        ('{"id": "TKT0196",', "application/json", 400, None),
        ('["TKT0196"]', "application/json", 400, None),
        ('"TKT0196"', "application/json", 400, None),
        (json.dumps({**EXAMPLE, "shortDescription": "x"}), "application/json", 400, "shortDescription"),
        (json.dumps({**EXAMPLE, "priority": 1}), "application/json", 400, "priority"),
        (json.dumps({**EXAMPLE, "status": ["Open"]}), "application/json", 400, "status"),
        ("id=TKT0196", "application/x-www-form-urlencoded", 415, None),
    ],
)
def test_malformed_bodies(aws, seeded, v0, body, content_type, expected, field):
    resp = apigw.request(aws, "PUT", PT.format("TKT0196"), body=body, headers={**P17, "Content-Type": content_type})
    problem = json.loads(resp["body"])
    assert_error(resp["statusCode"], resp["headers"], problem, expected)
    if field:
        assert [e["field"] for e in problem["errors"]] == [field]
    assert ticket(aws)["version"] == v0


def test_json_charset_and_text_json_are_accepted(aws, seeded):
    for content_type in ("application/json; charset=utf-8", "text/json"):
        resp = apigw.request(
            aws, "PUT", PT.format("TKT0196"), body=json.dumps(EXAMPLE), headers={**P17, "Content-Type": content_type}
        )
        assert resp["statusCode"] == 200, resp["body"]


# -- recording a partner ticket (POST) -------------------------------------------------------
def test_post_records_a_partner_ticket_that_put_then_updates(aws, seeded, v0):
    body = {**EXAMPLE, "id": "TKT 0300/ä".replace("/", "-"), "status": "New"}
    status, headers, got = call(aws, "POST", "/tickets/1001/tasks/2/partnertickets", body)
    assert status == 201
    assert got == {**EXAMPLE_RESPONSE, "id": "TKT 0300-ä", "ticketTaskId": 2, "status": "New"}
    assert list(got) == DOCUMENT_KEYS
    assert headers["Location"] == "/tickets/1001/tasks/2/partnertickets/" + quote("TKT 0300-ä", safe="")
    assert headers["ETag"] == etag_after(v0)
    task2 = partner_tickets(aws, task_id=2)
    assert task2[(17, "TKT 0300-ä")]["status"] == "New"
    entry = history(aws)[0]
    assert entry["event"] == "partner_ticket_created" and entry["dialect"] == "myhrw"
    assert entry["changes"][0]["field"] == "tasks.2.partner_tickets.17:TKT 0300-ä"

    status, _, got = call(aws, "PUT", "/tickets/1001/tasks/2/partnertickets/TKT 0300-ä", {**body, "status": "Open"})
    assert status == 200 and got["status"] == "Open"


def test_post_of_an_existing_id_is_409(aws, seeded):
    status, headers, body = call(aws, "POST", "/tickets/1001/tasks/1/partnertickets", {"id": "TKT0196"})
    assert_error(status, headers, body, 409)
    assert partner_tickets(aws)[(17, "TKT0196")]["status"] == "Open"


def test_ticket_item_size_is_guarded(aws, seeded):
    big = {
        "shortdescription": "😀" * 500,
        "description": "😀" * 8000,
        "category": "😀" * 500,
        "assignmentgroup": "😀" * 255,
        "assignedto": "😀" * 255,
    }
    statuses = []
    for i in range(40):
        status, headers, body = call(aws, "POST", "/tickets/1001/tasks/2/partnertickets", {**big, "id": f"BIG{i}"})
        statuses.append(status)
        if status != 201:
            assert_error(status, headers, body, 413)
            break
    assert statuses[-1] == 413 and set(statuses[:-1]) == {201} and len(statuses) > 3
    accepted = len(statuses) - 1
    assert len(partner_tickets(aws, task_id=2)) == accepted
    # still writable within bounds
    assert call(aws, "PUT", PT.format("TKT0196"), {**EXAMPLE, "status": "Closed"})[0] == 200


# -- conditional and idempotent writes -------------------------------------------------------
def test_if_match(aws, seeded, v0):
    current = {**P17, "If-Match": etag_after(v0, 0)}
    status, headers, _ = call(aws, "PUT", PT.format("TKT0196"), {**EXAMPLE, "status": "A"}, current)
    assert status == 200 and headers["ETag"] == etag_after(v0)
    status, headers, body = call(aws, "PUT", PT.format("TKT0196"), {**EXAMPLE, "status": "B"}, current)
    assert_error(status, headers, body, 412)
    assert partner_tickets(aws)[(17, "TKT0196")]["status"] == "A"
    status, headers, body = call(
        aws, "POST", "/tickets/1001/tasks/2/partnertickets", {"id": "N"}, {**P17, "If-Match": etag_after(v0, 9)}
    )
    assert_error(status, headers, body, 412)


def test_idempotency_key(aws, seeded, v0):
    entries = len(history(aws))
    headers = {**P17, "Idempotency-Key": "partner-17-op-1"}
    first = call(aws, "PUT", PT.format("TKT0196"), {**EXAMPLE, "id": "TKT0400"}, headers)
    second = call(aws, "PUT", PT.format("TKT0196"), {**EXAMPLE, "id": "TKT0400"}, headers)
    assert first[0] == second[0] == 200 and first[2] == second[2]
    assert second[1]["Idempotent-Replayed"] == "true"
    after = history(aws)
    assert len(after) == entries + 1 and after[0]["event"] == "partner_ticket_rekeyed"
    assert ticket(aws)["version"] == v0 + 1
    status, out, body = call(aws, "PUT", PT.format("TKT0196"), {**EXAMPLE, "id": "TKT0401"}, headers)
    assert_error(status, out, body, 422)


def test_demo_data_holds_the_documents_example(aws, seeded, v0):
    pts = partner_tickets(aws)
    assert set(pts) == {(pt["partner_id"], pt["id"]) for pt in demo_myhrw.PARTNER_TICKETS}
    example = pts[(17, "TKT0196")]
    assert {k: example[a] for k, a in myhrw._ATTRIBUTES.items()} == EXAMPLE
    assert ticket(aws)["version"] == v0
