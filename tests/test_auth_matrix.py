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
from ticketing import auth
from ticketing.settings import get_settings

from devkit import apigw, demo, metering, openapi
from devkit import template as tpl

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
}


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
    code = {401: "unauthenticated", 403: "forbidden", 413: "payload_too_large"}[status]
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
    code = {401: "unauthenticated", 403: "forbidden", 413: "payload_too_large"}[status]
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
    every case of the matrix, each refused at the door: at most the client lookup, no ticket
    read or written."""
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
            assert set(calls) <= {"GetItem"} and calls["GetItem"] <= 1, f"AWS calls: {dict(calls)}"
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
