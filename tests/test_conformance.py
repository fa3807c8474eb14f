"""Conformance: every status each vendor document (or a binding ruling of
``/work/shared/seeds/README.md``) names, with the exact body it gives, one table per dialect.

Each row is sent through the handlers (moto, the ``seeded`` demo data, ``devkit.apigw.request``);
the rows marked ``http`` are sent once more over HTTP to the local run (``local_run``), where they
must give the same status and body.  Rows sent over HTTP change nothing (refusals, reads), so the
shared local run stays as the demo data left it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from unittest.mock import ANY

import pytest

from devkit import apigw

JSON, FORM = "application/json", "application/x-www-form-urlencoded"
MIB = 1_048_576


@dataclass(frozen=True)
class Row:
    """One request and the exact answer its document gives for it."""

    name: str
    method: str
    url: str
    status: int
    body: Any  # the answer: a JSON value (``ANY`` where it varies), or text (XML) compared as it is
    send: Any = None  # a JSON value, or text / bytes sent as they are
    content_type: str | None = JSON
    headers: dict[str, str] = field(default_factory=dict)
    http: bool = False  # sent over HTTP to the local run too
    stored: tuple[int, dict[str, Any]] | None = None  # (ticket id, canonical fields it must still have)

    def payload(self) -> bytes:
        if self.send is None:
            return b""
        if isinstance(self.send, bytes):
            return self.send
        return (self.send if isinstance(self.send, str) else json.dumps(self.send)).encode("utf-8")

    def request_headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        out = dict(self.headers)
        if self.send is not None and self.content_type is not None:
            out.setdefault("Content-Type", self.content_type)
        return {**out, **(extra or {})}


def decoded(raw: str | bytes, content_type: str) -> Any:
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    if "json" in (content_type or ""):
        return json.loads(text) if text else None
    return text


def header(headers: dict[str, Any], name: str) -> str:
    return next((v for k, v in (headers or {}).items() if k.lower() == name.lower()), "")


CANONICAL_AUTH = {"Authorization": "Bearer tkt_demo_canonical"}


def canonical_ticket(template, ticket_id: int) -> dict[str, Any]:
    resp = apigw.request(template, "GET", f"/tickets/{ticket_id}", headers=CANONICAL_AUTH)
    assert resp["statusCode"] == 200, resp["body"][:300]
    return json.loads(resp["body"])


# -- servicedesk (WorkflowPush): "HttpStatusCode 200 OK or 400 BadRequest with Message" ----------------
SD = {"Authorization": "Bearer tkt_demo_servicedesk"}
SD_SCOPED = {"Authorization": "Bearer tkt_demo_servicedesk_facilities"}
PUSH = "/api/Tickets/WorkflowPush"
NS_I = "http://www.w3.org/2001/XMLSchema-instance"
NS_POSTS = "http://schemas.datacontract.org/2004/07/RequestorApiDataStructures.Posts"
NS_RESULTS = "http://schemas.datacontract.org/2004/07/RequestorApiDataStructures.Results"
DOC_JSON = (
    '{ "TicketId": null, "TicketREF": "INC-000047", "Action": 207, "UserProviderKey": null, '
    '"ServiceId": null, "CustomerId": null, "Note": null }'
)
DOC_XML = (
    f'<WorkflowPushPost xmlns:i="{NS_I}" xmlns="{NS_POSTS}"> <Action>IncidentSuspend</Action> '
    '<CustomerId i:nil="true" /> <Note i:nil="true" /> <ServiceId i:nil="true" /> <TicketId i:nil="true" /> '
    '<TicketREF>INC-000047</TicketREF> <UserProviderKey i:nil="true" /> </WorkflowPushPost>'
)
SD_DENIED = {"Message": "Authorization has been denied for this request."}

SERVICEDESK = [
    Row(
        "the document's JSON sample on a demo incident",
        "POST",
        PUSH,
        200,
        {"TicketREF": "INC-001001", "TicketId": 1001},
        DOC_JSON.replace("INC-000047", "INC-001001"),
        headers=SD,
    ),
    Row(
        "the document's XML sample on a demo incident",
        "POST",
        PUSH,
        200,
        f'<WorkflowPushResult xmlns:i="{NS_I}" xmlns="{NS_RESULTS}"><TicketId>1001</TicketId>'
        "<TicketREF>INC-001001</TicketREF></WorkflowPushResult>",
        DOC_XML.replace("INC-000047", "INC-001001"),
        content_type="application/xml",
        headers=SD,
    ),
    Row(
        "the document's own JSON sample: INC-000047 does not exist",
        "POST",
        PUSH,
        400,
        {"Message": "Ticket INC-000047 was not found."},
        DOC_JSON,
        headers=SD,
        http=True,
    ),
    Row(
        "the document's own XML sample: INC-000047 does not exist",
        "POST",
        PUSH,
        400,
        "<Error><Message>Ticket INC-000047 was not found.</Message></Error>",
        DOC_XML,
        content_type="text/xml",
        headers=SD,
        http=True,
    ),
    Row(
        "a TicketId that does not exist",
        "POST",
        PUSH,
        400,
        {"Message": "Ticket 9999 was not found."},
        {"TicketId": 9999, "Action": 207},
        headers=SD,
    ),
    Row(
        "a ticket outside the client's grants is not found, as a missing one",
        "POST",
        PUSH,
        400,
        {"Message": "Ticket 1005 was not found."},
        {"TicketId": 1005, "Action": 207},
        headers=SD_SCOPED,
        stored=(1005, {"status": "in_progress"}),
    ),
    Row(
        "a body over the 1 MiB limit",
        "POST",
        PUSH,
        400,
        {"Message": f"The request body is larger than {MIB} bytes."},
        json.dumps({"TicketId": 1001, "Action": 207, "Note": "x" * MIB}),
        headers=SD,
        http=True,
    ),
    Row(
        "an XML body over 256 KiB",
        "POST",
        PUSH,
        400,
        "<Error><Message>The XML request body is larger than 262144 bytes.</Message></Error>",
        DOC_XML.replace("</WorkflowPushPost>", " " * 262_144 + "</WorkflowPushPost>"),
        content_type="application/xml",
        headers=SD,
    ),
    Row(
        "an action the ticket's state does not allow",
        "POST",
        PUSH,
        400,
        {"Message": ANY},
        {"TicketId": 1007, "Action": "IncidentSuspend"},
        headers=SD,
    ),
    Row(
        "TicketId or TicketREF missing",
        "POST",
        PUSH,
        400,
        {"Message": "TicketId or TicketREF is required."},
        {"Action": 207},
        headers=SD,
    ),
    Row("no token", "POST", PUSH, 401, SD_DENIED, {"TicketId": 1001, "Action": 207}, http=True),
    Row(
        "an unknown token",
        "POST",
        PUSH,
        401,
        SD_DENIED,
        {"TicketId": 1001, "Action": 207},
        headers={"Authorization": "Bearer tkt_unknown"},
    ),
    Row(
        "GetTicket of a ticket that does not exist (not the document's operation: a 404)",
        "GET",
        "/api/Tickets/GetTicket/INC-000047",
        404,
        {"Message": "Ticket INC-000047 was not found."},
        headers=SD,
        http=True,
    ),
]


# -- kapture ---------------------------------------------------------------------------------------------
KAPTURE_PATH = "/update-ticket-from-other-source.html/v.2.0"
KAPTURE = {"Authorization": "Basic tkt_demo_kapture"}
INVALID_AUTH = {"message": "Invalid Auth Key", "status": "failed"}
KAPTURE_OK = [{"ticket_id": "1001", "sub_status": "P", "comment": "conformance"}]

KAPTURE_ROWS = [
    Row(
        "a ticket_id missing",
        "POST",
        KAPTURE_PATH,
        400,
        {"message": "No Data found/ticket_id is missing", "status": "failed"},
        [{"sub_status": "P"}],
        headers=KAPTURE,
        http=True,
    ),
    Row(
        "a callback_time not in the document's format",
        "POST",
        KAPTURE_PATH,
        400,
        {"message": "Invalid Format.callback_date should be yyyy-MM-dd hh:mm:ss.", "status": "failed"},
        [{"ticket_id": "1001", "sub_status": "P", "callback_time": "tomorrow"}],
        headers=KAPTURE,
    ),
    Row("no key", "POST", KAPTURE_PATH, 401, INVALID_AUTH, KAPTURE_OK, http=True),
    Row(
        "an incorrect key",
        "POST",
        KAPTURE_PATH,
        401,
        INVALID_AUTH,
        KAPTURE_OK,
        headers={"Authorization": "Basic tkt_unknown"},
    ),
    Row(
        "a disabled key",
        "POST",
        KAPTURE_PATH,
        401,
        INVALID_AUTH,
        KAPTURE_OK,
        headers={"Authorization": "Basic tkt_demo_disabled"},
    ),
    Row(
        "a valid key of another dialect's client is not a Kapture key",
        "POST",
        KAPTURE_PATH,
        401,
        INVALID_AUTH,
        KAPTURE_OK,
        headers={"Authorization": "Basic tkt_demo_servicedesk"},
        http=True,
        stored=(1001, {"version": ANY}),
    ),
    Row(
        "a body over the limit is the document's 400",
        "POST",
        KAPTURE_PATH,
        400,
        {"message": f"Invalid Format.The request body should be at most {MIB} bytes.", "status": "failed"},
        json.dumps([{"ticket_id": "1001", "sub_status": "P", "comment": "x" * MIB}]),
        headers=KAPTURE,
    ),
]


TABLES = {"servicedesk": SERVICEDESK, "kapture": KAPTURE_ROWS}
ROWS = [(dialect, row) for dialect, rows in TABLES.items() for row in rows]
HTTP_ROWS = [(dialect, row) for dialect, row in ROWS if row.http]


def _ids(rows):
    return [f"{dialect}: {row.name} -> {row.status}" for dialect, row in rows]


def check(row: Row, status: int, content_type: str, raw: str | bytes) -> None:
    assert status == row.status, raw[:400] if isinstance(raw, str) else raw[:400].decode("utf-8", "replace")
    assert decoded(raw, content_type) == row.body


@pytest.mark.parametrize(("dialect", "row"), ROWS, ids=_ids(ROWS))
def test_each_documented_status_with_its_exact_body(aws, seeded, dialect, row):
    before = canonical_ticket(aws, row.stored[0]) if row.stored else None
    resp = apigw.request(aws, row.method, row.url, body=row.payload(), headers=row.request_headers())
    check(row, resp["statusCode"], header(resp.get("headers"), "Content-Type"), resp["body"])
    if row.stored:
        after = canonical_ticket(aws, row.stored[0])
        assert after == before, "a refused request changed the ticket"
        assert {k: after[k] for k in row.stored[1]} == row.stored[1]


@pytest.mark.parametrize(("dialect", "row"), HTTP_ROWS, ids=_ids(HTTP_ROWS))
def test_the_same_over_http_on_the_local_run(local_run, dialect, row):
    status, headers, raw = local_run.request(row.method, row.url, row.payload() or None, row.request_headers())
    check(row, status, header(headers, "Content-Type"), raw)
