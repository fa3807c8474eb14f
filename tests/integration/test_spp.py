"""SPP ``PUT /api/tickets/{ticket}``: through the handlers on moto, and over HTTP on the
local run; plus the canonical reference-data routes it relies on (users, orders)."""

from __future__ import annotations

import json
import uuid

import pytest
from doc_spp import (
    ADDRESS_KEYS,
    EMPLOYEE_KEYS,
    INVOICE_KEYS,
    MANAGER_KEYS,
    MESSAGE_KEYS,
    ORDER_KEYS,
    ROLE_KEYS,
    SERVICE_KEYS,
    SUBSCRIPTION_KEYS,
    TICKET_KEYS,
    TIMESTAMP,
    URL,
    USER_KEYS,
)
from ticketing import service
from ticketing.catalog import get_catalog
from ticketing.dialects import spp
from ticketing.model import Actor

from devkit import demo_spp, metering
from devkit.local import apigateway as apigw

SPP = {"Authorization": "Bearer tkt_demo_spp"}
READONLY = {"Authorization": "Bearer tkt_demo_spp_readonly"}
CANONICAL = {"Authorization": "Bearer tkt_demo_canonical"}


EXAMPLE = {
    "status": 1,
    "employees[]": [1, 2],
    "tags[]": ["website", "urgent"],
    "order": "123456",
    "metadata": {"channel": "api", "priority": "high"},
    "subject": "Ticket subject",
}


def call(template, method, url, body=None, headers=None, auth=SPP):
    data = json.dumps(body) if isinstance(body, (dict, list)) else (body or "")
    resp = apigw.request(template, method, url, body=data, headers={**(auth or {}), **(headers or {})})
    payload = json.loads(resp["body"]) if resp["body"] else None
    return resp["statusCode"], resp["headers"], payload


def put(template, body=None, headers=None, url=URL, auth=SPP):
    return call(template, "PUT", url, body, headers, auth)


def canonical(template, ticket_id=1001):
    status, _, body = call(template, "GET", f"/tickets/{ticket_id}", auth=CANONICAL)
    assert status == 200
    return body


def history(ticket_id=1001):
    entries, _ = service.repository().history(ticket_id)
    return entries


def assert_headers(headers, version=spp.DEFAULT_VERSION):
    assert uuid.UUID(headers["X-Api-Identifier"])
    assert headers["X-Api-Version"] == version


def assert_error(status, headers, body, expected, field=None):
    assert status == expected, body
    assert_headers(headers)
    assert headers["Content-Type"] == "application/json"
    assert set(body) == {"message", "errors"} and isinstance(body["message"], str) and body["message"]
    assert isinstance(body["errors"], dict)
    if field:
        assert field in body["errors"] and all(isinstance(m, str) for m in body["errors"][field]), body
    if expected == 401:
        assert headers["WWW-Authenticate"].startswith("Bearer")


def without_ticket(resource):
    return {k: v for k, v in resource.items() if k != "ticket"}


# -- the document's example and the documented resource --------------------------------------
def test_document_example_answers_the_documented_ticket_resource(aws, seeded):
    status, headers, body = put(aws, EXAMPLE, {"X-Api-Version": "2024-03-05"})
    assert status == 200
    assert_headers(headers, "2024-03-05")
    assert headers["ETag"] == '"2"'
    assert list(body) == TICKET_KEYS
    assert body["id"] == 1001 and body["subject"] == "Ticket subject" and body["status"] == "Open"
    assert body["tags"] == ["website", "urgent"]
    assert body["metadata"] == {"channel": "api", "priority": "high"}
    assert body["user_id"] == 4 and body["order_id"] == 1
    assert body["form_data"] == {} and body["note"] == "" and body["messages"] == []
    assert body["employees"] == [{"id": u, **{k: demo_spp.USERS[u].get(k) for k in EMPLOYEE_KEYS[1:]}} for u in (1, 2)]
    for key in ("created_at", "updated_at"):
        assert TIMESTAMP.match(body[key]), body[key]
    assert body["last_message_at"] is None and body["date_closed"] is None
    order = body["order"]
    assert list(order) == ORDER_KEYS
    assert order["id"] == 1 and order["service"] == "Website audit" and order["status"] == "Working"
    assert order["created_at"] == "2024-03-01T10:00:00+00:00" and order["user_id"] == 4
    assert [e["id"] for e in order["employees"]] == [2] and list(order["employees"][0]) == EMPLOYEE_KEYS
    assert order["client"]["id"] == 4 and order["client"]["name"] == "John Doe"
    client = body["client"]
    assert list(client) == USER_KEYS
    assert client["id"] == 4 and client["email"] == "user@example.org" and client["company"] == "Example Inc."
    assert client["name"] == "John Doe" and client["created_at"] == "2023-01-10T12:00:00+00:00"
    assert list(client["address"]) == ADDRESS_KEYS and client["address"]["city"] == "New York"
    assert list(client["role"]) == ROLE_KEYS and client["role"]["name"] == "Client" and client["role"]["id"] == 0
    assert [list(m) for m in client["managers"]] == [MANAGER_KEYS] and client["managers"][0]["id"] == 2
    nested = body["ticket"]
    assert list(nested) == TICKET_KEYS and nested["ticket"] is None
    assert without_ticket(nested) == without_ticket(body)


def test_nested_objects_the_service_does_not_hold_keep_their_documented_keys(aws, seeded):
    status, _, body = put(aws, {}, url="/api/tickets/1001")
    assert status == 200
    order = body["order"]
    subscription, invoice, service_ = order["subscription"], order["invoice"], order["order_service"]
    assert list(subscription) == SUBSCRIPTION_KEYS and subscription["id"] is None and subscription["payments"] == []
    assert list(subscription["client"]) == USER_KEYS and subscription["client"]["id"] is None
    assert list(invoice) == INVOICE_KEYS and invoice["id"] == 1 and invoice["items"] == []
    assert invoice["client"] == order["client"]  # the order's invoice is the order's client's
    assert list(invoice["billing_address"]) == ADDRESS_KEYS
    assert list(service_) == SERVICE_KEYS and service_["id"] == 1 and service_["name"] == "Website audit"
    assert service_["price"] is None and service_["media"] == []
    assert order["addons"] == [] and order["ratings"] == [] and order["messages"] == []


def test_a_ticket_without_requester_or_order_still_has_every_key(aws, seeded):
    status, _, body = put(aws, {}, url="/api/tickets/1002")
    assert status == 200 and list(body) == TICKET_KEYS
    assert body["user_id"] is None and body["order_id"] is None and body["employees"] == []
    assert list(body["order"]) == ORDER_KEYS
    assert body["order"]["id"] is None and body["order"]["tags"] == [] and list(body["order"]["client"]) == USER_KEYS
    assert list(body["client"]) == USER_KEYS and body["client"]["id"] is None
    assert list(body["client"]["role"]) == ROLE_KEYS and list(body["client"]["address"]) == ADDRESS_KEYS


def test_a_linked_order_or_user_that_is_not_held_renders_blank_with_its_id(aws, seeded):
    status, _, _ = call(aws, "PATCH", "/tickets/1002", {"order_number": "NOPE-1", "requester_id": 77}, auth=CANONICAL)
    assert status == 200
    status, _, body = put(aws, {}, url="/api/tickets/1002")
    assert status == 200
    assert body["order_id"] is None and body["order"]["id"] is None and list(body["order"]) == ORDER_KEYS
    assert body["user_id"] == 77 and body["client"]["id"] == 77 and body["client"]["name"] is None


def test_messages_come_from_the_ticket_conversation(aws, seeded):
    def comment(ticket, cs):
        cs.add_message(ticket, "We are on it.", author_id=2)
        cs.add_message(ticket, "Internal: check the rollers", author_id=1, staff_only=True)

    service.repository().update(1001, comment, Actor(client_id="t", dialect="canonical"))
    status, _, body = put(aws, {"tags": ["x"]})
    assert status == 200
    assert [list(m) for m in body["messages"]] == [MESSAGE_KEYS, MESSAGE_KEYS]
    first, second = body["messages"]
    assert first["id"] == 1 and first["user_id"] == 2 and first["message"] == "We are on it."
    assert first["staff_only"] is False and first["files"] == [] and TIMESTAMP.match(first["created_at"])
    assert second["id"] == 2 and second["staff_only"] is True
    assert body["last_message_at"] == second["created_at"]


# -- partial update semantics --------------------------------------------------------------------
def test_only_the_parameters_present_change(aws, seeded):
    before = canonical(aws)
    status, _, body = put(aws, {"subject": "  Printer jams again  "})
    assert status == 200 and body["subject"] == "Printer jams again"
    after = canonical(aws)
    assert after["title"] == "Printer jams again" and after["version"] == before["version"] + 1
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"title", "version", "updated_at"}
    entry = history()[0]
    assert entry.dialect == "spp" and [c.field for c in entry.changes] == ["title"]


def test_lists_replace_and_null_clears_them(aws, seeded):
    assert put(aws, {"tags": ["a", "b"], "employees": [1, 2]})[0] == 200
    status, _, body = put(aws, {"tags": ["c"], "employees": [3]})
    assert status == 200 and body["tags"] == ["c"] and [e["id"] for e in body["employees"]] == [3]
    got = canonical(aws)
    assert got["tags"] == ["c"] and got["assignee_ids"] == [3]
    status, _, body = put(aws, {"tags": None, "employees": None})
    assert status == 200 and body["tags"] == [] and body["employees"] == []
    status, _, body = put(aws, {"tags": ["dup", "dup"], "employees": [2, 2]})
    assert body["tags"] == ["dup"] and [e["id"] for e in body["employees"]] == [2]


def test_metadata_merges_key_by_key_and_null_removes(aws, seeded):
    assert put(aws, {"metadata": {"a": 1, "b": {"x": True}}})[0] == 200
    status, _, body = put(aws, {"metadata": {"b": None, "c": "three", "missing": None}})
    assert status == 200 and body["metadata"] == {"a": 1, "c": "three"}
    version = canonical(aws)["version"]
    for unchanged in ({"metadata": {}}, {"metadata": []}, {"metadata": None}):  # [] is PHP's empty object
        status, _, body = put(aws, unchanged)
        assert status == 200 and body["metadata"] == {"a": 1, "c": "three"}
    assert canonical(aws)["version"] == version


def test_order_links_and_null_unlinks(aws, seeded):
    status, _, body = put(aws, {"order": 123457}, url="/api/tickets/1002")  # a number is read as the order number
    assert status == 200 and body["order_id"] == 2 and body["order"]["service"] == "Logo design"
    assert canonical(aws, 1002)["order_number"] == "123457"
    status, _, body = put(aws, {"order": None}, url="/api/tickets/1002")
    assert status == 200 and body["order_id"] is None and body["order"]["id"] is None
    assert canonical(aws, 1002)["order_number"] is None


def test_bracketed_spellings_are_the_same_parameters(aws, seeded):
    status, _, body = put(aws, {"tags[]": ["t"], "employees[]": [3], "metadata[]": {"k": "v"}})
    assert (
        status == 200 and body["tags"] == ["t"] and body["employees"][0]["id"] == 3 and body["metadata"] == {"k": "v"}
    )
    status, headers, body = put(aws, {"tags": ["a"], "tags[]": ["b"], "subject": "not applied"})
    assert_error(status, headers, body, 400, "tags")
    assert canonical(aws)["title"] == "Printer on the 3rd floor jams"


def test_form_encoded_body_as_php_reads_it(aws, seeded):
    form = "status=2&tags[]=web&tags[]=followup&employees[]=1&metadata[channel]=form&metadata[gone]=&subject=Form"
    status, _, body = put(aws, form, {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200, body
    assert body["status"] == "In Progress" and body["tags"] == ["web", "followup"] and body["subject"] == "Form"
    assert [e["id"] for e in body["employees"]] == [1] and body["metadata"] == {"channel": "form"}
    status, _, body = put(aws, "tags=&order=", {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200 and body["tags"] == [] and body["order_id"] is None
    status, headers, body = put(aws, "tags[]=a&tags[x]=b", {"Content-Type": "application/x-www-form-urlencoded"})
    assert_error(status, headers, body, 400, "tags")
    status, _, body = put(aws, "tags[1]=b&tags[0]=a", {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200 and body["tags"] == ["a", "b"]
    status, headers, body = put(aws, "tags[%C2%B2]=a", {"Content-Type": "application/x-www-form-urlencoded"})
    assert_error(status, headers, body, 400, "tags")  # not an index: a map, which tags may not be


def test_empty_body_changes_nothing(aws, seeded):
    before = canonical(aws)
    for body in (None, {}, "  "):
        status, headers, resource = put(aws, body)
        assert status == 200 and headers["ETag"] == '"1"' and resource["id"] == 1001
    assert canonical(aws) == before
    assert [e.version for e in history()] == [1]


def test_unknown_parameters_are_ignored(aws, seeded):
    status, _, body = put(aws, {"subject": "Kept", "note": "not a parameter", "id": 5})
    assert status == 200 and body["subject"] == "Kept" and body["note"] == "" and body["id"] == 1001


def test_the_change_is_reapplied_on_a_racing_writers_ticket(aws, seeded):
    repo = service.repository()
    actor = Actor(client_id="t", dialect="spp")
    body = spp.SaveTicketRequest.model_validate({"status": 3, "tags": ["spp"]})
    command = spp.command_for(body, {"status", "tags"}, spp.status_term(get_catalog().vocabulary("spp"), 3))
    raced = []

    def racing(ticket, cs):
        if not raced:  # between this command's read and its write, another writer commits
            raced.append(True)

            def other(t, c):
                t.queue, t.tags = "raced", ["other"]

            repo.update(1001, other, Actor(client_id="o", dialect="canonical"))
        command(ticket, cs)

    result = repo.update(1001, racing, actor)
    assert result.attempts == 2  # both wrote the tags: a true conflict, applied again on the winner's ticket
    got = canonical(aws)
    assert (got["queue"], got["status"], got["tags"], got["version"]) == ("raced", "pending", ["spp"], 3)


def test_a_racing_writer_of_other_fields_commutes(aws, seeded):
    repo = service.repository()
    body = spp.SaveTicketRequest.model_validate({"status": 3, "tags": ["spp"]})
    command = spp.command_for(body, {"status", "tags"}, spp.status_term(get_catalog().vocabulary("spp"), 3))
    raced = []

    def racing(ticket, cs):
        if not raced:
            raced.append(True)
            repo.update(1001, lambda t, c: setattr(t, "queue", "raced"), Actor(client_id="o", dialect="canonical"))
        command(ticket, cs)

    result = repo.update(1001, racing, Actor(client_id="t", dialect="spp"))
    assert result.attempts == 1  # conditioned on what it read and wrote, not on the version
    got = canonical(aws)
    assert (got["queue"], got["status"], got["tags"], got["version"]) == ("raced", "pending", ["spp"], 3)


# -- status: the SPP ids, seen by the other dialects -------------------------------------------
def test_status_change_through_spp_is_read_through_the_canonical_api(aws, seeded):
    status, _, body = put(aws, {"status": 3})
    assert status == 200 and body["status"] == "Pending" and body["date_closed"] is None
    assert canonical(aws)["status"] == "pending"
    status, _, body = put(aws, {"status": "6"})  # Laravel's integer rule takes digit strings
    assert status == 200 and body["status"] == "Closed" and TIMESTAMP.match(body["date_closed"])
    got = canonical(aws)
    assert got["status"] == "closed" and got["closed_at"] is not None


def test_canonical_status_change_shows_as_the_spp_status_name(aws, seeded):
    for canonical_status, name in [("in_progress", "In Progress"), ("waiting_third_party", "Waiting for Third Party")]:
        status, _, _ = call(aws, "PATCH", "/tickets/1001", {"status": canonical_status}, auth=CANONICAL)
        assert status == 200
        status, _, body = put(aws, {})
        assert status == 200 and body["status"] == name


def test_the_status_a_ticket_already_shows_keeps_its_sub_status(aws, seeded):
    status, _, _ = call(aws, "PATCH", "/tickets/1001", {"status": "open", "sub_status": "assigned"}, auth=CANONICAL)
    assert status == 200
    version = canonical(aws)["version"]
    status, headers, body = put(aws, {"status": 1})
    assert status == 200 and body["status"] == "Open" and headers["ETag"] == f'"{version}"'
    got = canonical(aws)
    assert got["sub_status"] == "assigned" and got["version"] == version
    status, _, body = put(aws, {"status": 2})
    assert status == 200 and canonical(aws)["sub_status"] is None


# -- refusals -----------------------------------------------------------------------------------
def test_unknown_employees_order_and_status_are_named_and_nothing_is_written(aws, seeded):
    status, headers, body = put(aws, {"employees": [1, 98, 99], "order": "999999", "status": 42, "subject": "x"})
    assert_error(status, headers, body, 400)
    assert set(body["errors"]) == {"employees", "order", "status"}
    assert "98, 99" in body["errors"]["employees"][0] and "1," not in body["errors"]["employees"][0]
    assert "999999" in body["errors"]["order"][0] and "42" in body["errors"]["status"][0]
    assert body["message"].endswith("(and 2 more errors)")
    assert canonical(aws)["version"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "open"}, "status"),
        ({"status": True}, "status"),
        ({"status": 1.5}, "status"),
        ({"status": None}, "status"),
        ({"subject": None}, "subject"),
        ({"subject": "   "}, "subject"),
        ({"subject": "s" * 501}, "subject"),
        ({"subject": 12}, "subject"),
        ({"tags": "website"}, "tags"),
        ({"tags": [""]}, "tags.0"),
        ({"tags": ["t" * 65]}, "tags.0"),
        ({"tags": [f"t{i}" for i in range(51)]}, "tags"),
        ({"employees": [1, "x"]}, "employees.1"),
        ({"employees": [0]}, "employees.0"),
        ({"employees": 1}, "employees"),
        ({"subject": ""}, "subject"),  # "" is null in JSON as in forms (ConvertEmptyStringsToNull); "order": "" unlinks
        ({"order": ["123456"]}, "order"),
        ({"metadata": "x"}, "metadata"),
        ({"metadata": ["a"]}, "metadata"),
        ({"metadata": {f"k{i}": i for i in range(101)}}, "metadata"),
    ],
)
def test_invalid_parameters_are_400_per_field(aws, seeded, body, field):
    status, headers, out = put(aws, body)
    assert_error(status, headers, out, 400, field)
    assert canonical(aws)["version"] == 1


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [("[1, 2]", "application/json"), ('"x"', "application/json"), ("{nope", "application/json")],
)
def test_bodies_that_are_not_json_objects_are_400(aws, seeded, raw, content_type):
    status, headers, body = put(aws, raw, {"Content-Type": content_type})
    assert_error(status, headers, body, 400)


def test_other_media_types_are_415(aws, seeded):
    status, headers, body = put(aws, "<x/>", {"Content-Type": "application/xml"})
    assert_error(status, headers, body, 415)


def test_metadata_that_would_overflow_the_ticket_is_413(aws, seeded):
    big = {f"k{i}": "v" * 9_000 for i in range(30)}
    status, headers, body = put(aws, {"metadata": big})
    assert_error(status, headers, body, 413, "metadata")
    assert canonical(aws)["version"] == 1


@pytest.mark.parametrize(
    ("auth", "expected"),
    [
        ({}, 401),
        ({"Authorization": "Bearer nope"}, 401),
        ({"Authorization": "Basic tkt_demo_spp"}, 401),
        ({"Authorization": "Bearer tkt_demo_disabled"}, 401),
        (READONLY, 403),
        (CANONICAL, 403),
    ],
)
def test_auth_failures(aws, seeded, auth, expected):
    status, headers, body = put(aws, {"status": 3}, auth=auth)
    assert_error(status, headers, body, expected)
    assert canonical(aws)["status"] == "open"


@pytest.mark.parametrize("identifier", ["E4A269FC", "999999", "INC-001001", "tic_1rdbm6i", "abc", "8FC95B0"])
def test_unknown_or_non_spp_identifiers_are_404(aws, seeded, identifier):
    status, headers, body = put(aws, {"status": 3}, url=f"/api/tickets/{identifier}")
    assert_error(status, headers, body, 404)


def test_ticket_by_numeric_id_or_number_in_either_case(aws, seeded):
    for identifier in ("1001", "8FC95B0F", "8fc95b0f"):
        status, _, body = put(aws, {}, url=f"/api/tickets/{identifier}")
        assert status == 200 and body["id"] == 1001


# -- headers, versions, conditional and idempotent writes ----------------------------------------
def test_every_response_has_a_fresh_identifier_and_the_version(aws, seeded):
    seen = set()
    for body, auth, expected in [({}, SPP, 200), ({"status": 42}, SPP, 400), ({}, {}, 401), ({}, READONLY, 403)]:
        status, headers, _ = put(aws, body, auth=auth)
        assert status == expected
        assert_headers(headers)
        seen.add(headers["X-Api-Identifier"])
    assert len(seen) == 4


@pytest.mark.parametrize("version", ["2024-03-05", "20240305", "2023-12-14", "20231214", " 20231214 "])
def test_supported_versions_are_echoed(aws, seeded, version):
    status, headers, _ = put(aws, {}, {"X-Api-Version": version})
    assert status == 200 and headers["X-Api-Version"] == version.strip()


@pytest.mark.parametrize("version", ["2019-01-01", "latest", "", "2024-3-5"])
def test_an_unsupported_version_is_400_and_changes_nothing(aws, seeded, version):
    status, headers, body = put(aws, {"status": 3}, {"X-Api-Version": version})
    assert_error(status, headers, body, 400, "X-Api-Version")
    assert canonical(aws)["status"] == "open"


def test_an_unsupported_version_is_refused_even_without_credentials(aws, seeded):
    status, headers, body = put(aws, {}, {"X-Api-Version": "v9"}, auth={})
    assert_error(status, headers, body, 400, "X-Api-Version")


def test_if_match(aws, seeded):
    status, headers, _ = put(aws, {"status": 3}, {"If-Match": '"1"'})
    assert status == 200 and headers["ETag"] == '"2"'
    status, headers, body = put(aws, {"status": 5}, {"If-Match": '"1"'})
    assert_error(status, headers, body, 412)
    assert canonical(aws)["status"] == "pending"


def test_idempotency_key_replays_and_refuses_another_body(aws, seeded):
    key = {"Idempotency-Key": "spp-op-1"}
    first = put(aws, {"tags": ["once"]}, key)
    second = put(aws, {"tags": ["once"]}, key)
    assert first[0] == second[0] == 200 and first[2] == second[2]
    assert second[1]["Idempotent-Replayed"] == "true"
    assert first[1]["X-Api-Identifier"] != second[1]["X-Api-Identifier"]
    assert [e.version for e in history()] == [2, 1]
    status, headers, body = put(aws, {"tags": ["other"]}, key)
    assert_error(status, headers, body, 422)


def test_dynamodb_calls_per_update(aws, seeded):
    put(aws, {})  # warm: catalog loaded
    with metering.aws_calls() as calls:
        assert put(aws, {"status": 3, "employees": [1, 2], "order": "123456"})[0] == 200
    # auth with the ticket read ahead beside it; users (employees) and order checked in one batched read;
    # one atomic write; the order's and the requester's users for the answer; no message query for a
    # ticket without messages
    assert calls == {"BatchGetItem": 3, "TransactWriteItems": 1}


# -- reference data through the canonical API ---------------------------------------------------
def test_users_and_orders_created_through_the_canonical_api_are_used_by_spp(aws, seeded):
    user = {"name_f": "Ava", "name_l": "Brown", "email": "ava@example.org", "group_id": 3, "role": {"id": 2}}
    status, headers, body = call(aws, "PUT", "/users/6", user, auth=CANONICAL)
    assert status == 201 and headers["Location"] == "/users/6"
    assert body["id"] == 6 and body["role_id"] == 2 and TIMESTAMP.match(body["created_at"])
    order = {"id": 9, "user_id": 6, "employees": [6], "service": "SEO", "date_due": "2024-05-01T12:00:00"}
    status, headers, body = call(aws, "PUT", "/orders/A-77", order, auth=CANONICAL)
    assert status == 201 and body["number"] == "A-77" and body["date_due"] == "2024-05-01T12:00:00+00:00"
    status, _, ticket = put(aws, {"employees": [6], "order": "A-77"})
    assert status == 200
    assert ticket["employees"] == [{"id": 6, "name_f": "Ava", "name_l": "Brown", "group_id": 3, "role_id": 2}]
    assert ticket["order_id"] == 9 and ticket["order"]["client"]["email"] == "ava@example.org"
    assert ticket["order"]["date_due"] == "2024-05-01T12:00:00+00:00"
    created = body["created_at"]
    status, headers, body = call(aws, "PUT", "/orders/A-77", {**order, "status": "Complete"}, auth=CANONICAL)
    assert status == 200 and body["created_at"] == created and "Location" not in headers
    assert put(aws, {})[2]["order"]["status"] == "Complete"


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/users/6", {"id": 7}, "id"),
        ("/users/0", {}, "id"),
        ("/users/6", {"email": "nope"}, "email"),
        ("/users/6", {"nickname": "x"}, "nickname"),
        ("/users/6", {"role_id": 1, "role": {"id": 2}}, "role_id"),
        ("/users/6", {"managers": [{"name": "No id"}]}, "managers.0.id"),
        ("/users/6", {"custom_fields": {"big": "x" * 70_000}}, "body"),
        ("/orders/123458", {"status": "Unpaid"}, "id"),
        ("/orders/123458", {"id": 3, "user_id": 77}, "user_id"),
        ("/orders/123458", {"id": 3, "employees": [1, 88]}, "employees"),
        ("/orders/bad%20number", {"id": 3}, "number"),
    ],
)
def test_reference_data_refusals_are_problem_documents(aws, seeded, url, body, field):
    status, headers, problem = call(aws, "PUT", url, body, auth=CANONICAL)
    assert status == 400 and headers["Content-Type"] == "application/problem+json"
    assert field in [e["field"] for e in problem["errors"]], problem
    assert service.repository().get_references("user", ["6"]) == {}
    assert "123458" not in service.repository().get_references("order", ["123458"])


@pytest.mark.parametrize(("auth", "expected"), [({}, 401), (SPP, 403), ({"Authorization": "Bearer x"}, 401)])
def test_reference_data_needs_a_canonical_client(aws, seeded, auth, expected):
    status, headers, problem = call(aws, "PUT", "/users/6", {"name_f": "A"}, auth=auth)
    assert status == expected and problem["status"] == expected
    assert headers["Content-Type"] == "application/problem+json"


def test_demo_reference_data(aws, seeded):
    users = service.repository().get_references("user", demo_spp.USERS)
    assert set(users) == {str(u) for u in demo_spp.USERS}
    orders = service.repository().get_references("order", demo_spp.ORDERS)
    assert set(orders) == set(demo_spp.ORDERS)
    for ticket_id, fields in demo_spp.TICKETS.items():
        got = canonical(aws, ticket_id)
        assert got["version"] == 1 and {k: got[k] for k in fields} == fields
