"""The auth matrix: every route of ``template.yaml`` x every way its credentials can fail,
and oversized bodies on every write route, through the handlers on moto (in process).

Routes come from the template (``devkit.template``), never from a list of this file: a
route added to the template fails ``test_every_route_has_a_request_a_dialect_and_its_rules`` until ``CALLS`` gives
it a request, and a dialect added fails until ``GROUP_CASES`` and ``SHAPES`` say how its
security group (or the lack of one) and its errors look.  Each route's request is valid: the
dialect's own demo client gets it through first, so in the matrix only the credentials can be
what fails.

Every refusal must carry the dialect's status (401 or 403), the dialect's error body (its
``render_error``; checked against the dialect's own rules in ``SHAPES`` and against the
schema the OpenAPI document declares for that status), ``WWW-Authenticate`` on a 401, and
never the token that was sent.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jsonschema
import pytest
from ticketing import auth, ids
from ticketing import aws as aws_client
from ticketing.settings import get_settings

from devkit import demo, metering, openapi
from devkit import template as tpl
from devkit.local import apigateway as apigw

TEMPLATE = tpl.default()
ROUTES = sorted({(r.method, r.path) for fn in TEMPLATE.functions().values() for r in fn.routes})
OPERATIONS = {(op.method, op.path): op for op in openapi.operations()}
DOCUMENT = openapi.build()
SCHEMES = {"bearer": "Bearer", "basic": "Basic"}
JSON, FORM = "application/json", "application/x-www-form-urlencoded"
WRITE_METHODS = {"POST", "PUT", "PATCH"}


@dataclass(frozen=True)
class Call:
    """A valid request of a route, and the status its dialect's own demo client gets."""

    url: str
    body: Any = None  # JSON value, or text sent as it is
    content_type: str = JSON
    ok: int = 200

    def payload(self) -> str:
        if self.body is None:
            return ""
        return self.body if isinstance(self.body, str) else json.dumps(self.body)


# One valid request per route of template.yaml (method, template path), on the demo data.
CALLS: dict[tuple[str, str], Call] = {
    ("POST", "/tickets"): Call("/tickets", {"title": "Auth matrix"}, ok=201),
    ("GET", "/tickets/{id}"): Call("/tickets/1001"),
    ("PATCH", "/tickets/{id}"): Call("/tickets/1001", {"priority": 1}),
    ("GET", "/tickets/{id}/history"): Call("/tickets/1001/history?limit=5"),
    ("POST", "/tickets/{id}/tasks"): Call("/tickets/1001/tasks", {"title": "Auth matrix task"}, ok=201),
    ("PUT", "/users/{id}"): Call(
        "/users/6", {"name_f": "Ava", "name_l": "Brown", "email": "ava.brown@example.org"}, ok=201
    ),
    ("PUT", "/orders/{number}"): Call("/orders/123458", {"id": 3, "user_id": 5, "status": "Unpaid"}, ok=201),
    ("PUT", "/tickets/{id}/tasks/{taskid}/partnertickets/{PartnerTechnicalId}"): Call(
        "/tickets/1001/tasks/1/partnertickets/TKT0196", {"id": "TKT0196", "status": "Open"}
    ),
    ("POST", "/tickets/{id}/tasks/{taskid}/partnertickets"): Call(
        "/tickets/1001/tasks/2/partnertickets", {"id": "MATRIX-1", "status": "New"}, ok=201
    ),
    ("PUT", "/api/tickets/{ticket}"): Call("/api/tickets/8FC95B0F", {"status": 3}),
    ("PUT", "/api/v1/ticket/{id}"): Call(
        "/api/v1/ticket/tic_0c48sol", "title=Leaking+faucet&description=&status=OPEN&notify=0&automated=0", FORM
    ),
    ("PUT", "/api/v1/ticket/update/{id}"): Call(
        "/api/v1/ticket/update/tic_0c48sol", "title=Leaking+faucet&description=&status=OPEN&notify=0&automated=0", FORM
    ),
    ("POST", "/api/Tickets/WorkflowPush"): Call(
        "/api/Tickets/WorkflowPush", {"TicketREF": "INC-001001", "Action": 207}
    ),
    ("GET", "/api/Tickets/GetTicket/{id}"): Call("/api/Tickets/GetTicket/INC-001001"),
    ("POST", "/update-ticket-from-other-source.html/v.2.0"): Call(
        "/update-ticket-from-other-source.html/v.2.0", [{"ticket_id": "1001", "sub_status": "P", "comment": "matrix"}]
    ),
    ("POST", "/webhooks"): Call("/webhooks", {"url": "http://127.0.0.1:9/matrix"}, ok=201),
    ("GET", "/webhooks"): Call("/webhooks"),
    ("DELETE", "/webhooks/{id}"): Call("/webhooks/wh_demo_canonical", ok=204),
    ("GET", "/webhooks/{id}/deliveries"): Call("/webhooks/wh_demo_canonical/deliveries"),
}
# The hub's own routes every client has, whatever dialect it speaks (a partner subscribes to the
# changes of its tickets with its own token): another dialect's client is not refused there, and
# what they reach is the client's own (its subscriptions), not tickets: no scope axis.
ANY_CLIENT_ROUTES = {("POST", "/webhooks"), ("GET", "/webhooks"), ("DELETE", "/webhooks/{id}")}
ANY_CLIENT_ROUTES |= {("GET", "/webhooks/{id}/deliveries")}


@dataclass(frozen=True)
class Denied:
    """A client of the dialect that its security group or permission keeps out: a demo client,
    or one the test makes (``client``: the keyword arguments of ``auth.create_client``)."""

    token: str
    why: str
    status: int = 403
    client: dict[str, Any] | None = None
    routes: tuple[str, ...] | None = None  # the routes (paths) it applies to; None: all of the dialect's


# Per dialect: the clients its security group / permission refuses, or why no such case applies.
GROUP_CASES: dict[str, list[Denied] | str] = {
    "canonical": [
        Denied(
            "tkt_matrix_canonical_noref",
            "without the reference:write permission, on the reference data routes",
            client={"name": "Matrix: tickets only", "dialects": ["canonical"]},
            routes=("/users/{id}", "/orders/{number}"),
        )
    ],
    "myhrw": [
        Denied("tkt_demo_myhrw_nogroup", "not in the PartnerInteraction security group"),
        Denied(
            "tkt_matrix_myhrw_nopartner",
            "in PartnerInteraction but naming no partner",
            client={"name": "Matrix: no partner", "dialects": ["myhrw"], "groups": ["PartnerInteraction"]},
        ),
    ],
    "spp": [Denied("tkt_demo_spp_readonly", "holds ticket_access but not the ticket_management permission")],
    "particlespace": "no security group or permission: the ParticleSpace document has none",
    "servicedesk": "no security group or permission: the servicedesk document has none",
    "kapture": "no security group or permission: Kapture's document has one API key per client, nothing more",
}

# Where a valid client of another dialect is not a 403: Kapture's document has one failure,
# 401 "Invalid Auth Key", for a key "not passed in header, or incorrect, or expired/disabled".
OTHER_DIALECT_STATUS = {"kapture": 401}

OWN_TOKEN = {
    dialect: next(iter(by_label.values())).split(" ", 1)[1] for dialect, by_label in demo.credentials().items()
}
DISABLED_TOKEN = next(spec["token"] for spec in demo.CLIENTS if spec.get("enabled", True) is False)
UNKNOWN_TOKEN = "tkt_" + uuid.UUID(int=0x5EC).hex + "unknown"


def other_token(dialect: str) -> str:
    """A valid, enabled demo client that may not use ``dialect``."""
    return next(
        spec["token"]
        for spec in demo.CLIENTS
        if spec.get("enabled", True) and dialect not in spec["dialects"] and "*" not in spec["dialects"]
    )


# -- each dialect's error body (its render_error), and the header a 401 carries ---------------------
def header(resp: dict[str, Any], name: str) -> str | None:
    for k, v in {**(resp.get("headers") or {})}.items():
        if k.lower() == name.lower():
            return v
    for k, vs in (resp.get("multiValueHeaders") or {}).items():
        if k.lower() == name.lower() and vs:
            return vs[-1]
    return None


def canonical_shape(status: int, resp: dict, body: Any, call: Call) -> None:
    assert header(resp, "Content-Type") == "application/problem+json"
    code = {401: "unauthenticated", 403: "forbidden", 404: "not_found", 413: "payload_too_large"}[status]
    assert body["type"] == f"urn:tickets:problem:{code}"
    assert body["status"] == status and body["title"] and body["detail"]
    assert body["instance"] == call.url.split("?")[0] and body["request_id"]


def myhrw_shape(status: int, resp: dict, body: Any, call: Call) -> None:
    assert header(resp, "Content-Type") == "application/json; charset=utf-8"
    assert list(body) == ["status", "message", "errors", "requestId"]
    assert body["status"] == status and body["message"] and body["errors"] == [] and body["requestId"]


def spp_shape(status: int, resp: dict, body: Any, call: Call) -> None:
    assert set(body) == {"message", "errors"} and body["message"] and body["errors"] == {}
    assert uuid.UUID(header(resp, "X-Api-Identifier")).version == 4
    assert header(resp, "X-Api-Version") == "2024-03-05"


def particlespace_shape(status: int, resp: dict, body: Any, call: Call) -> None:
    code = {401: "unauthenticated", 403: "forbidden", 404: "not_found", 413: "payload_too_large"}[status]
    assert body["success"] is False and body["status"] == status and body["code"] == code
    assert body["error"] and body["message"] and body["requestId"]


def servicedesk_shape(status: int, resp: dict, body: Any, call: Call) -> None:
    assert header(resp, "Content-Type") == "application/json; charset=utf-8"
    assert list(body) == ["Message"]
    if status == 401:  # Web API's own words for every refused credential
        assert body["Message"] == "Authorization has been denied for this request."


def kapture_shape(status: int, resp: dict, body: Any, call: Call) -> None:
    if status == 401:  # the document's failure, verbatim
        assert body == {"message": "Invalid Auth Key", "status": "failed"}
    assert list(body) == ["message", "status"] and body["status"] == "failed" and body["message"]


SHAPES: dict[str, Callable[[int, dict, Any, Call], None]] = {
    "canonical": canonical_shape,
    "myhrw": myhrw_shape,
    "spp": spp_shape,
    "particlespace": particlespace_shape,
    "servicedesk": servicedesk_shape,
    "kapture": kapture_shape,
}
CHALLENGES = {  # WWW-Authenticate of every 401
    "canonical": 'Bearer realm="tickets"',
    "myhrw": 'Bearer realm="myhrw"',
    "spp": 'Bearer realm="spp"',
    "particlespace": 'Bearer realm="particlespace"',
    "servicedesk": 'Bearer realm="servicedesk"',
    "kapture": 'Basic realm="kapture"',
}


def documented_schema(method: str, path: str, status: int, media_type: str) -> dict[str, Any]:
    operation = DOCUMENT["paths"][path][method.lower()]
    assert str(status) in operation["responses"], f"{method} {path} does not document {status}"
    content = operation["responses"][str(status)].get("content") or {}
    assert media_type in content, f"{method} {path} documents {status} as {sorted(content)}, not {media_type}"
    return {**content[media_type]["schema"], "components": DOCUMENT["components"]}


def check_refusal(route: tuple[str, str], call: Call, resp: dict, status: int, sent: str | None) -> None:
    method, path = route
    dialect = OPERATIONS[route].dialect
    assert resp["statusCode"] == status, resp.get("body", "")[:300]
    body = json.loads(resp["body"])
    SHAPES[dialect](status, resp, body, call)
    media_type = (header(resp, "Content-Type") or "").split(";")[0].strip()
    jsonschema.validate(body, documented_schema(method, path, status, media_type))
    if status == 401:
        assert header(resp, "WWW-Authenticate") == CHALLENGES[dialect]
    if sent:
        assert sent not in resp["body"], "the refusal echoes the credential"


def send(template: tpl.Template, route: tuple[str, str], authorization: str | None, body: str | None = None):
    call = CALLS[route]
    headers = {"Content-Type": call.content_type}
    if authorization is not None:
        headers["Authorization"] = authorization
    payload = call.payload() if body is None else body
    return apigw.request(template, route[0], call.url, body=payload, headers=headers)


# -- the matrix --------------------------------------------------------------------------------------
def cases(route: tuple[str, str]) -> list[tuple[str, str | None, int]]:
    """(case, Authorization header or None, status) for every credential failure of the route."""
    op = OPERATIONS[route]
    scheme = SCHEMES[op.security]
    other_scheme = "Basic" if scheme == "Bearer" else "Bearer"
    own = OWN_TOKEN[op.dialect]
    out = [
        ("no credential", None, 401),
        ("empty credential", f"{scheme} ", 401),
        ("bad token", f"{scheme} {UNKNOWN_TOKEN}", 401),
        ("own token, another scheme", f"{other_scheme} {own}", 401),
        ("another dialect's client", f"{scheme} {other_token(op.dialect)}", OTHER_DIALECT_STATUS.get(op.dialect, 403)),
        ("disabled client", f"{scheme} {DISABLED_TOKEN}", 401),
    ]
    if route in ANY_CLIENT_ROUTES:  # every client may (test_the_hubs_own_routes_take_every_dialects_client)
        out = [c for c in out if c[0] != "another dialect's client"]
    group = GROUP_CASES[op.dialect]
    for denied in group if isinstance(group, list) else []:
        if denied.routes is None or route[1] in denied.routes:
            why = f"wrong security group or permission ({denied.why})"
            out.append((why, f"{scheme} {denied.token}", denied.status))
    return out


def test_every_route_has_a_request_a_dialect_and_its_rules():
    assert ROUTES, "no routes read from template.yaml"
    assert [r for r in ROUTES if r not in CALLS] == [], "give each new route a valid request in CALLS"
    assert [r for r in ROUTES if r not in OPERATIONS] == [], "routes without an Operation (no dialect)"
    dialects = {OPERATIONS[r].dialect for r in ROUTES}
    assert dialects - set(GROUP_CASES) == set(), "say in GROUP_CASES how each dialect's group or permission fails"
    assert dialects - set(SHAPES) == set(), "say in SHAPES what each dialect's error body is"
    assert dialects - set(CHALLENGES) == set()


@pytest.mark.parametrize("route", ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_every_credential_failure_gets_the_dialects_401_or_403(aws, seeded, route):
    """First the route's request with the dialect's own client: it goes through, so the request
    is valid and only the credentials can make the matrix's requests fail.  (For a dialect with
    no group case, that client holds no group or permission: there is nothing to lack.)  Then
    every case of the matrix, each refused at the door: at most one read, the client lookup (with
    the ticket the path names read ahead beside it, never shown: ``store.readahead``), nothing
    written."""
    op = OPERATIONS[route]
    resp = send(aws, route, f"{SCHEMES[op.security]} {OWN_TOKEN[op.dialect]}")
    assert resp["statusCode"] == CALLS[route].ok, resp["body"][:500]
    group = GROUP_CASES[op.dialect]
    if isinstance(group, str):
        spec = next(s for s in demo.CLIENTS if s["token"] == OWN_TOKEN[op.dialect])
        assert not spec.get("groups") and not spec.get("permissions"), group
    for denied in group if isinstance(group, list) else []:
        if denied.client is not None:
            auth.create_client(token=denied.token, **denied.client)
    failures = []
    for name, authorization, status in cases(route):
        try:
            with metering.aws_calls() as calls:
                resp = send(aws, route, authorization)
            check_refusal(route, CALLS[route], resp, status, authorization.split(" ", 1)[1] if authorization else None)
            assert set(calls) <= {"GetItem", "BatchGetItem"} and calls.total() <= 1, f"AWS calls: {dict(calls)}"
        except AssertionError as err:
            failures.append(f"{name}: {err}")
    assert failures == [], "\n".join(failures)


# -- oversized bodies -----------------------------------------------------------------------------------
WRITE_ROUTES = [r for r in ROUTES if r[0] in WRITE_METHODS]
# What each dialect answers a body over the limit with, where it is not 413 (as its document has it).
# Kapture's document lists 400, 401, 403, 404 and 500 only; WorkflowPush's "200 OK or 400 BadRequest".
OVERSIZE_STATUS = {"kapture": 400, "servicedesk": 400}


def oversized(content_type: str, size: int) -> str:
    if content_type == FORM:
        return "title=" + "x" * (size - len("title="))
    return json.dumps({"title": "x" * (size - len('{"title": ""}'))})


@pytest.mark.parametrize("route", WRITE_ROUTES, ids=[f"{m} {p}" for m, p in WRITE_ROUTES])
def test_bodies_over_the_limit_are_refused_before_anything_is_read(aws, seeded, route):
    op = OPERATIONS[route]
    limit = get_settings().max_body_bytes
    assert limit == 1_048_576
    body = oversized(CALLS[route].content_type, limit + 1)
    assert len(body.encode()) == limit + 1
    status = OVERSIZE_STATUS.get(op.dialect, 413)
    authorization = f"{SCHEMES[op.security]} {OWN_TOKEN[op.dialect]}"
    with metering.aws_calls() as calls:
        started = time.perf_counter()
        resp = send(aws, route, authorization, body)
        elapsed = time.perf_counter() - started
    assert resp["statusCode"] == status, resp["body"][:300]
    payload = json.loads(resp["body"])
    SHAPES[op.dialect](status, resp, payload, CALLS[route])
    media_type = (header(resp, "Content-Type") or "").split(";")[0].strip()
    jsonschema.validate(payload, documented_schema(*route, status, media_type))
    if op.dialect == "kapture":  # its failure body, in the document's words
        assert payload["message"] == f"Invalid Format.The request body should be at most {limit} bytes."
    assert len(resp["body"]) < 2000, "the refusal does not echo the body"
    assert sum(calls.values()) == 0, f"read something before refusing: {dict(calls)}"
    assert elapsed < 1.0, f"took {elapsed:.2f} s to refuse"


def test_a_body_at_the_limit_is_not_refused_for_its_size(aws, seeded):
    """The limit is exact: 1 MiB passes the size check (and is then judged on its content)."""
    route = ("PATCH", "/tickets/{id}")
    limit = get_settings().max_body_bytes
    resp = send(aws, route, "Bearer tkt_demo_canonical", json.dumps({"description": "x" * 65_536}).ljust(limit))
    assert resp["statusCode"] == 200, resp["body"][:300]


@pytest.mark.parametrize(("method", "url"), [("POST", "/tickets"), ("PATCH", "/tickets/1001")])
def test_a_change_too_large_for_one_ticket_item_is_a_413_not_a_500(aws, seeded, method, url):
    """Under the body limit, but more than one DynamoDB item holds: refused, nothing written."""
    body = {"metadata": {f"k{i}": "x" * 5_000 for i in range(60)}}  # 300 KB
    if method == "POST":
        body["title"] = "Too large"
    auth_header = {"Authorization": "Bearer tkt_demo_canonical"}
    before = json.loads(apigw.request(aws, "GET", "/tickets/1001/history", headers=auth_header)["body"])
    resp = apigw.request(aws, method, url, body=json.dumps(body), headers=auth_header)
    assert resp["statusCode"] == 413, resp["body"][:300]
    canonical_shape(413, resp, json.loads(resp["body"]), Call(url))
    after = json.loads(apigw.request(aws, "GET", "/tickets/1001/history", headers=auth_header)["body"])
    assert after == before


# -- the scope axis: the client's grants (ticketing.grants) ------------------------------------------
# Each dialect's demo client scoped to facilities (tkt_demo_<dialect>_facilities): it may change
# demo ticket 1001 (queue facilities), read 1002 (maintenance) and nothing of 1004 (mobile), which
# must be exactly as absent for it as a ticket that does not exist (ABSENT).
SCOPED_TOKEN = {dialect: f"tkt_demo_{dialect}_facilities" for dialect in OWN_TOKEN}
IN_SCOPE, READ_ONLY, OUT_OF_SCOPE = "in scope", "read-only scope", "out of scope"
SCOPE_TICKET = {IN_SCOPE: 1001, READ_ONLY: 1002, OUT_OF_SCOPE: 1004}
ABSENT = 999_999  # no such ticket
SCOPES = list(SCOPE_TICKET)
FORM_STATUS = "description=&status=OPEN&notify=0&automated=0"


def ref_of(ticket_id: int) -> str:
    """The demo ticket's REF (1001 is the incident; the others named here are plain tickets)."""
    return ids.ref_for("INC" if ticket_id == 1001 else "TIC", ticket_id)


# The route's request naming ticket ``t`` (in the dialect's own spelling of it): for the ticket
# routes, the same request on the three tickets of the scope axis (and on ABSENT).
SCOPE_CALLS: dict[tuple[str, str], Callable[[int], Call]] = {
    ("GET", "/tickets/{id}"): lambda t: Call(f"/tickets/{t}"),
    ("PATCH", "/tickets/{id}"): lambda t: Call(f"/tickets/{ids.number_for(t)}", {"priority": 1}),
    ("GET", "/tickets/{id}/history"): lambda t: Call(f"/tickets/{ids.key_for(t)}/history?limit=5"),
    ("POST", "/tickets/{id}/tasks"): lambda t: Call(f"/tickets/{t}/tasks", {"title": "Scope task"}, ok=201),
    ("PUT", "/tickets/{id}/tasks/{taskid}/partnertickets/{PartnerTechnicalId}"): lambda t: Call(
        f"/tickets/{t}/tasks/1/partnertickets/TKT0196", {"id": "TKT0196", "status": "Open"}
    ),
    ("POST", "/tickets/{id}/tasks/{taskid}/partnertickets"): lambda t: Call(
        f"/tickets/{t}/tasks/2/partnertickets", {"id": "SCOPE-1", "status": "New"}, ok=201
    ),
    ("PUT", "/api/tickets/{ticket}"): lambda t: Call(f"/api/tickets/{ids.number_for(t)}", {"status": 3}),
    ("PUT", "/api/v1/ticket/{id}"): lambda t: Call(
        f"/api/v1/ticket/{ids.key_for(t)}", "title=Scoped+title&" + FORM_STATUS, FORM
    ),
    ("PUT", "/api/v1/ticket/update/{id}"): lambda t: Call(  # the document's own path, the same operation
        f"/api/v1/ticket/update/{ids.key_for(t)}", "title=Scoped+title&" + FORM_STATUS, FORM
    ),
    ("POST", "/api/Tickets/WorkflowPush"): lambda t: Call(
        "/api/Tickets/WorkflowPush",  # IncidentSuspend for the incident, TicketResolve for the others
        {"TicketREF": ref_of(t), "Action": 207 if t == 1001 else 103},
    ),
    ("GET", "/api/Tickets/GetTicket/{id}"): lambda t: Call(f"/api/Tickets/GetTicket/{ref_of(t)}"),
    ("POST", "/update-ticket-from-other-source.html/v.2.0"): lambda t: Call(
        "/update-ticket-from-other-source.html/v.2.0", [{"ticket_id": str(t), "sub_status": "P", "comment": "scope"}]
    ),
}
# Creating: the new ticket's queue is what is in or out of scope (no ticket to hide: a 403).
CREATE_ROUTE = ("POST", "/tickets")
CREATE_QUEUE = {IN_SCOPE: "facilities", READ_ONLY: "maintenance", OUT_OF_SCOPE: "mobile"}
# Reference data: the reference:write permission decides, whatever the client's queues.
REFERENCE_ROUTES = [("PUT", "/users/{id}"), ("PUT", "/orders/{number}")]


# How a route says "no such ticket" where it is not 404: WorkflowPush's document knows only
# 200 and "400 BadRequest with Message" (tests/integration/test_conformance.py).
NOT_FOUND_STATUS = {("POST", "/api/Tickets/WorkflowPush"): 400}


def scope_expected(route: tuple[str, str], scope: str) -> int:
    """GET: readable -> 200, else not found. Writes: writable -> 2xx, read-only -> 403, else not
    found. Creating: writable queue -> 201, else 403."""
    if route == CREATE_ROUTE:
        return 201 if scope == IN_SCOPE else 403
    call = SCOPE_CALLS[route](SCOPE_TICKET[scope])
    if scope == OUT_OF_SCOPE:
        return NOT_FOUND_STATUS.get(route, 404)
    if route[0] == "GET" or scope == IN_SCOPE:
        return call.ok
    return 403


def scope_call(route: tuple[str, str], scope: str) -> Call:
    if route == CREATE_ROUTE:
        return Call("/tickets", {"title": "Scoped create", "queue": CREATE_QUEUE[scope]}, ok=201)
    return SCOPE_CALLS[route](SCOPE_TICKET[scope])


def send_call(template: tpl.Template, route: tuple[str, str], call: Call, token: str) -> dict[str, Any]:
    op = OPERATIONS[route]
    headers = {"Content-Type": call.content_type, "Authorization": f"{SCHEMES[op.security]} {token}"}
    return apigw.request(template, route[0], call.url, body=call.payload(), headers=headers)


def tables_snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every item of every table (the tickets, their history, markers, reference data, clients)."""
    ddb = aws_client.dynamodb()
    out = {}
    for name in ddb.list_tables()["TableNames"]:
        items = [i for page in ddb.get_paginator("scan").paginate(TableName=name) for i in page["Items"]]
        out[name] = sorted(items, key=lambda i: json.dumps(i, sort_keys=True))
    return out


VOLATILE_KEYS = {"request_id", "requestId"}  # the request's own id in an error body
VOLATILE_HEADERS = {"x-amzn-requestid", "x-api-identifier", "date", "content-length", "connection", "server"}


def comparable(status: int, headers: dict[str, Any], text: str, swap: dict[str, str] | None = None) -> tuple:
    """A response without what differs between two requests by nature (their request ids), with
    ``swap``'s identifiers replaced (those of the absent ticket by the out-of-scope one's)."""
    for old, new in (swap or {}).items():
        text = text.replace(old, new)
    body = json.loads(text) if text else None
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k not in VOLATILE_KEYS}
    kept = {k.lower(): v for k, v in headers.items() if k.lower() not in VOLATILE_HEADERS}
    return status, kept, body


def identifiers(ticket_id: int) -> dict[str, str]:
    """Every spelling of a ticket's identity, longest first (replaced in that order)."""
    return {
        "number": ids.number_for(ticket_id),
        "key": ids.key_for(ticket_id),
        "ref": ref_of(ticket_id),
        "id": str(ticket_id),
    }


def absent_swap(route: tuple[str, str]) -> dict[str, str]:
    absent, hidden = identifiers(ABSENT), identifiers(SCOPE_TICKET[OUT_OF_SCOPE])
    return {absent[k]: hidden[k] for k in ("number", "key", "ref", "id")}


def secrets_of(ticket_id: int, call: Call) -> list[str]:
    """What an answer must not show of a ticket the client may not read: its content, and every
    identifier of it the request did not itself send."""
    spec = demo.TICKETS[ticket_id - demo.COUNTER_FLOOR - 1]
    sent = call.url + call.payload()
    found = [spec["title"], spec["description"], spec["queue"]]
    return found + [v for v in identifiers(ticket_id).values() if v not in sent]


MESSAGE_KEY = {"canonical": "detail", "servicedesk": "Message"}  # else "message"
GRANT_REFUSALS = ("may read ticket", "may not create tickets in the queue")


def check_scoped_answer(route, scope, call, status, resp, text, *, dialect) -> None:
    expected = scope_expected(route, scope)
    assert status == expected, f"{scope}: {status} instead of {expected}: {text[:300]}"
    if expected >= 400:
        body = json.loads(text)
        SHAPES[dialect](expected, resp, body, call)
        media_type = (header(resp, "Content-Type") or "").split(";")[0].strip()
        jsonschema.validate(body, documented_schema(*route, expected, media_type))
        if expected == 403:  # the grants' refusal, not another one that happens to be a 403
            message = body[MESSAGE_KEY.get(dialect, "message")]
            assert any(m in message for m in GRANT_REFUSALS), message
    if scope == OUT_OF_SCOPE and route != CREATE_ROUTE:
        leaked = [s for s in secrets_of(SCOPE_TICKET[scope], call) if s in text]
        assert leaked == [], f"the refusal shows the out-of-scope ticket's {leaked}: {text[:300]}"
        assert header(resp, "ETag") is None and header(resp, "Location") is None


SCOPE_ROUTES = [r for r in ROUTES if r not in REFERENCE_ROUTES and r not in ANY_CLIENT_ROUTES]


def test_the_hubs_own_routes_take_every_dialects_client(aws, seeded):
    """The webhook routes: a client of any dialect subscribes (and sees only its own); the
    grants decide what its subscription delivers (tests/test_webhooks.py)."""
    for token in (other_token("canonical"), SCOPED_TOKEN["kapture"]):
        resp = send_call(aws, ("POST", "/webhooks"), CALLS[("POST", "/webhooks")], token)
        assert resp["statusCode"] == 201, resp["body"][:300]
        mine = json.loads(send_call(aws, ("GET", "/webhooks"), CALLS[("GET", "/webhooks")], token)["body"])
        assert [s["id"] for s in mine["items"]] == [json.loads(resp["body"])["id"]]
        theirs = send_call(
            aws, ("GET", "/webhooks/{id}/deliveries"), CALLS[("GET", "/webhooks/{id}/deliveries")], token
        )
        assert theirs["statusCode"] == 404  # the demo subscription is the canonical client's


def test_every_route_has_its_scope_cases():
    """A route added to the template says here what scopes it: a ticket it names, a queue it
    creates in, or (reference data) a permission."""
    unclassified = [
        r
        for r in ROUTES
        if r not in SCOPE_CALLS and r != CREATE_ROUTE and r not in REFERENCE_ROUTES and r not in ANY_CLIENT_ROUTES
    ]
    assert unclassified == [], "give each new route its scope cases (SCOPE_CALLS)"
    assert {OPERATIONS[r].dialect for r in ROUTES} <= set(SCOPED_TOKEN)
    assert demo.SCOPED_GRANTS == {"facilities": "write", "maintenance": "read"}
    queues = {t: demo.TICKETS[t - demo.COUNTER_FLOOR - 1]["queue"] for t in SCOPE_TICKET.values()}
    assert queues == {1001: "facilities", 1002: "maintenance", 1004: "mobile"}


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("route", SCOPE_ROUTES, ids=[f"{m} {p}" for m, p in SCOPE_ROUTES])
def test_every_route_answers_each_scope_in_its_dialect(aws, seeded, route, scope):
    """The dialect's scoped demo client: in scope the request goes through as for an all-access
    client; read-only, a GET gets the whole ticket and a write the dialect's 403; out of scope,
    the dialect's "not found", the same answer (but for the identifier sent) as for a ticket that
    does not exist. A refusal changes nothing (every table as it was) and shows nothing of the
    ticket."""
    dialect = OPERATIONS[route].dialect
    call = scope_call(route, scope)
    before = tables_snapshot()
    resp = send_call(aws, route, call, SCOPED_TOKEN[dialect])
    check_scoped_answer(route, scope, call, resp["statusCode"], resp, resp["body"], dialect=dialect)
    if resp["statusCode"] >= 400:
        assert tables_snapshot() == before, "a refused request changed something"
    if route[0] == "GET":  # readable: the ticket as an all-access client sees it
        own = send_call(aws, route, call, OWN_TOKEN[dialect])
        if scope != OUT_OF_SCOPE:
            assert comparable(resp["statusCode"], resp["headers"], resp["body"]) == comparable(
                own["statusCode"], own["headers"], own["body"]
            )
        else:
            assert own["statusCode"] == 200  # it exists: only the grants hide it
    if scope == OUT_OF_SCOPE and route != CREATE_ROUTE:
        absent = send_call(aws, route, SCOPE_CALLS[route](ABSENT), SCOPED_TOKEN[dialect])
        assert comparable(resp["statusCode"], resp["headers"], resp["body"]) == comparable(
            absent["statusCode"], absent["headers"], absent["body"], absent_swap(route)
        ), "the out-of-scope ticket is told apart from one that does not exist"
        assert tables_snapshot() == before


@pytest.mark.parametrize("route", REFERENCE_ROUTES, ids=[f"{m} {p}" for m, p in REFERENCE_ROUTES])
def test_reference_data_is_scoped_by_its_permission_not_by_queues(aws, seeded, route):
    """PUT /users and /orders: a scoped client without reference:write is refused (the canonical
    403), nothing written; one with it and no queue at all writes."""
    call = CALLS[route]
    before = tables_snapshot()
    resp = send_call(aws, route, call, SCOPED_TOKEN["canonical"])
    check_refusal(route, call, resp, 403, SCOPED_TOKEN["canonical"])
    assert "reference:write" in json.loads(resp["body"])["detail"]
    assert tables_snapshot() == before
    token, _ = auth.create_client(
        "Reference writer, no queues", ["canonical"], permissions=["reference:write"], grants={}
    )
    resp = send_call(aws, route, call, token)
    assert resp["statusCode"] == call.ok, resp["body"][:300]
    # ...and no ticket at all for it
    ticket = send_call(aws, ("GET", "/tickets/{id}"), Call("/tickets/1001"), token)
    assert ticket["statusCode"] == 404


# -- the scope axis over HTTP, on the local run ----------------------------------------------------
@pytest.fixture
def http(local_run):
    """The session's local run, reset to the demo data; and a DynamoDB client of its embedded AWS."""
    import boto3

    assert local_run.request("POST", "/_local/reset")[0] == 200
    _, _, health = local_run.json("GET", "/_local/health")
    local_run.dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=health["aws"],
        region_name=tpl.REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return local_run


def http_send(http, route: tuple[str, str], call: Call, token: str) -> tuple[int, dict[str, str], str]:
    op = OPERATIONS[route]
    headers = {"Content-Type": call.content_type, "Authorization": f"{SCHEMES[op.security]} {token}"}
    status, hdrs, data = http.request(route[0], call.url, call.payload().encode() or None, headers)
    return status, hdrs, data.decode()


def http_tickets(http) -> list[dict[str, Any]]:
    """The tickets table of the local run: every ticket item and audit entry."""
    pages = http.dynamodb.get_paginator("scan").paginate(TableName="TicketsTable")
    return sorted((i for page in pages for i in page["Items"]), key=lambda i: json.dumps(i, sort_keys=True))


# Over HTTP, every route that names a ticket or creates one (the refusals first, so that what the
# local run does after a write -- its streams and automations -- cannot change the table meanwhile).
HTTP_SCOPES = [OUT_OF_SCOPE, READ_ONLY, IN_SCOPE]


@pytest.mark.parametrize("route", SCOPE_ROUTES, ids=[f"{m} {p}" for m, p in SCOPE_ROUTES])
def test_every_route_answers_each_scope_over_http(http, route):
    dialect = OPERATIONS[route].dialect
    failures = []
    unchanged = None  # the table as a refusal's check just read it: the next scope's "before"
    for scope in HTTP_SCOPES:
        call = scope_call(route, scope)
        before = unchanged if unchanged is not None else http_tickets(http)
        unchanged = None
        status, headers, text = http_send(http, route, call, SCOPED_TOKEN[dialect])
        try:
            check_scoped_answer(route, scope, call, status, {"headers": headers}, text, dialect=dialect)
            if status >= 400:
                after = http_tickets(http)
                assert after == before, "a refused request changed the tickets table"
                unchanged = after
            if scope == OUT_OF_SCOPE and route != CREATE_ROUTE:
                absent = http_send(http, route, SCOPE_CALLS[route](ABSENT), SCOPED_TOKEN[dialect])
                assert comparable(status, headers, text) == comparable(*absent, absent_swap(route))
        except AssertionError as err:
            failures.append(f"{scope}: {err}")
    assert failures == [], "\n".join(failures)
