"""Conformance: every status each vendor document (or a binding ruling of
``/work/shared/seeds/README.md``) names, with the exact body it gives, one table per dialect.

Each row is sent through the handlers (moto, the ``seeded`` demo data, ``devkit.local.apigateway.request``);
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
from doc_kapture import INVALID_AUTH
from doc_servicedesk import DOC_JSON, DOC_XML, NS_I, NS_RESULTS, PUSH

from devkit.local import apigateway as apigw

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
    client: dict[str, Any] | None = None  # a client record stored under the row's token first (as it is)
    after: tuple[int, dict[str, Any]] | None = None  # (ticket id, canonical fields it has afterwards)

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
ARABIC_1001 = "\u0661\u0660\u0660\u0661"  # Arabic-Indic digits: str.isdigit() and \\d take them
FULLWIDTH_1001 = "\uff11\uff10\uff10\uff11"
BAD_UTF8_JSON = b'{"title": "caf\xff"}'  # a byte that is not UTF-8
MALFORMED_TOKEN = "tkt_conformance_malformed"
NAIVE_EXPIRY = {"expires_at": "2099-01-01T00:00:00"}  # no UTC offset
DIALECTS_AS_TEXT = {"dialects": "servicedesk"}


def malformed(dialect: str, fault: dict[str, Any]) -> dict[str, Any]:
    """A stored client record with one malformed attribute (as a hand-edited table may hold)."""
    record = {"client_id": "cli_malformed", "name": "Malformed", "dialects": [dialect], "enabled": True}
    return {**record, "created_at": "2026-01-01T00:00:00+00:00", **fault}


def problem(status: int, code: str, title: str, detail: str, instance: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": f"urn:tickets:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        "request_id": ANY,
        **extra,
    }


# -- canonical (the hub's own API): identifiers, encodings, credentials --------------------------------------
CANONICAL = [
    Row(
        "an id in Arabic-Indic digits names no ticket",
        "GET",
        f"/tickets/{ARABIC_1001}",
        404,
        problem(404, "not_found", "Not Found", f"Ticket {ARABIC_1001} was not found.", f"/tickets/{ARABIC_1001}"),
        headers=CANONICAL_AUTH,
        http=True,
    ),
    Row(
        "an id in fullwidth digits names no ticket",
        "PATCH",
        f"/tickets/{FULLWIDTH_1001}",
        404,
        problem(404, "not_found", "Not Found", f"Ticket {FULLWIDTH_1001} was not found.", f"/tickets/{FULLWIDTH_1001}"),
        {"priority": 1},
        headers=CANONICAL_AUTH,
        stored=(1001, {"priority": 2}),
    ),
    Row(
        "a JSON body that is not UTF-8 is refused, nothing stored",
        "PATCH",
        "/tickets/1001",
        400,
        problem(400, "bad_request", "Bad Request", "The request body is not valid UTF-8.", "/tickets/1001"),
        BAD_UTF8_JSON,
        headers=CANONICAL_AUTH,
        stored=(1001, {"title": "Printer on the 3rd floor jams"}),
    ),
    Row(
        "a caller's value is quoted as sent, control characters as \\uXXXX",
        "PATCH",
        "/tickets/1001",
        400,
        problem(
            400,
            "validation_failed",
            "Bad Request",
            "Unknown status 'X\\u0001'.",
            "/tickets/1001",
            errors=[{"field": "status", "message": "unknown status 'X\\u0001'"}],
        ),
        {"status": "X\u0001"},
        headers=CANONICAL_AUTH,
    ),
    Row(
        "a user id too large is too large",
        "PUT",
        "/users/99999999999",
        400,
        problem(
            400,
            "validation_failed",
            "Bad Request",
            "'99999999999' is not a user id: it is too large.",
            "/users/99999999999",
            errors=[{"field": "id", "message": "too large"}],
        ),
        {"name_f": "Ava", "name_l": "Brown", "email": "ava.brown@example.org"},
        headers=CANONICAL_AUTH,
    ),
    Row(
        "a client record with a naive expires_at is no client",
        "GET",
        "/tickets/1001",
        401,
        problem(401, "unauthenticated", "Unauthorized", "Invalid credentials.", "/tickets/1001"),
        headers={"Authorization": f"Bearer {MALFORMED_TOKEN}"},
        client=malformed("canonical", NAIVE_EXPIRY),
    ),
]


def canonical_ticket(template, ticket_id: int) -> dict[str, Any]:
    resp = apigw.request(template, "GET", f"/tickets/{ticket_id}", headers=CANONICAL_AUTH)
    assert resp["statusCode"] == 200, resp["body"][:300]
    return json.loads(resp["body"])


# -- servicedesk (WorkflowPush): "HttpStatusCode 200 OK or 400 BadRequest with Message" ----------------
SD = {"Authorization": "Bearer tkt_demo_servicedesk"}
SD_SCOPED = {"Authorization": "Bearer tkt_demo_servicedesk_facilities"}
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
        "another dialect's client",
        "POST",
        PUSH,
        403,
        {"Message": "This client may not use the servicedesk API."},
        {"TicketId": 1001, "Action": 207},
        headers={"Authorization": "Bearer tkt_demo_spp"},
    ),
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
        "a TicketId in Arabic-Indic digits is not an integer",
        "POST",
        PUSH,
        400,
        {"Message": f"The value '{ARABIC_1001}' of TicketId is not an integer."},
        {"TicketId": ARABIC_1001, "Action": 207},
        headers=SD,
        stored=(1001, {"status": "open"}),
    ),
    Row(
        "a TicketId over the largest id is too large",
        "POST",
        PUSH,
        400,
        {"Message": "TicketId is too large: at most 4294967295."},
        {"TicketId": 99999999999, "Action": 207},
        headers=SD,
    ),
    Row(
        "a caller's value is quoted as sent",
        "POST",
        PUSH,
        400,
        {"Message": "The value 'X\\u0001' of Action is not a TicketActionEnum."},
        {"TicketId": 1001, "Action": "X\u0001"},
        headers=SD,
    ),
    Row(
        "a JSON body that is not UTF-8",
        "POST",
        PUSH,
        400,
        {"Message": "The request body is not valid UTF-8."},
        b'{"TicketId": 1001, "Action": 207, "Note": "caf\xff"}',
        headers=SD,
        stored=(1001, {"status": "open"}),
    ),
    Row(
        "a client record with dialects as a string is no client",
        "POST",
        PUSH,
        401,
        SD_DENIED,
        {"TicketId": 1001, "Action": 207},
        headers={"Authorization": f"Bearer {MALFORMED_TOKEN}"},
        client=malformed("servicedesk", DIALECTS_AS_TEXT),
    ),
    Row(
        "XML in UTF-16 with its BOM (charset=utf-16) is decoded as Web API does",
        "POST",
        PUSH,
        200,
        f'<WorkflowPushResult xmlns:i="{NS_I}" xmlns="{NS_RESULTS}"><TicketId>1001</TicketId>'
        "<TicketREF>INC-001001</TicketREF></WorkflowPushResult>",
        ('<?xml version="1.0" encoding="utf-16"?>' + DOC_XML.replace("INC-000047", "INC-001001")).encode("utf-16"),
        content_type="application/xml; charset=utf-16",
        headers=SD,
        after=(1001, {"status": "on_hold"}),
    ),
    Row(
        "JSON in UTF-16 with its BOM, no charset: the BOM says it",
        "POST",
        PUSH,
        200,
        {"TicketREF": "INC-001001", "TicketId": 1001},
        DOC_JSON.replace("INC-000047", "INC-001001").encode("utf-16"),
        headers=SD,
        after=(1001, {"status": "on_hold"}),
    ),
    Row(
        "JSON in UTF-16BE with charset=utf-16be",
        "POST",
        PUSH,
        200,
        {"TicketREF": "INC-001001", "TicketId": 1001},
        DOC_JSON.replace("INC-000047", "INC-001001").encode("utf-16-be"),
        content_type="application/json; charset=utf-16be",
        headers=SD,
    ),
    Row(
        "UTF-16 with characters beyond ASCII arrives intact (BinaryMediaTypes) and is stored as sent",
        "POST",
        PUSH,
        200,
        {"TicketREF": "INC-001001", "TicketId": 1001},
        '{"TicketId": 1001, "Action": "IncidentWaitForThirdParty", "Note": "caf\u00e9 \u20ac \U0001f600"}'.encode(
            "utf-16"
        ),
        content_type="application/json; charset=utf-16",
        headers=SD,
        after=(1001, {"note": "caf\u00e9 \u20ac \U0001f600", "status": "waiting_third_party"}),
    ),
    Row(
        "XML in UTF-16 with characters beyond ASCII, the BOM alone says it",
        "POST",
        PUSH,
        200,
        f'<WorkflowPushResult xmlns:i="{NS_I}" xmlns="{NS_RESULTS}"><TicketId>1001</TicketId>'
        "<TicketREF>INC-001001</TicketREF></WorkflowPushResult>",
        DOC_XML.replace("INC-000047", "INC-001001")
        .replace("IncidentSuspend", "IncidentWaitForThirdParty")
        .replace('<Note i:nil="true" />', "<Note>\u00fcber \u65e5\u672c</Note>")
        .encode("utf-16"),
        content_type="text/xml",
        headers=SD,
        after=(1001, {"note": "\u00fcber \u65e5\u672c", "status": "waiting_third_party"}),
    ),
    Row(
        "GetTicket of an id in fullwidth digits",
        "GET",
        f"/api/Tickets/GetTicket/{FULLWIDTH_1001}",
        404,
        {"Message": f"Ticket '{FULLWIDTH_1001}' was not found: give its TicketId or TicketREF."},
        headers=SD,
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
KAPTURE_OK = [{"ticket_id": "1001", "sub_status": "P", "comment": "conformance"}]

KAPTURE_ROWS = [
    Row(
        "one update: the documented single object, status success",
        "POST",
        KAPTURE_PATH,
        200,
        ANY,
        KAPTURE_OK,
        headers=KAPTURE,
        after=(1001, {"sub_status": ANY}),
    ),
    Row(
        "a ticket that does not exist",
        "POST",
        KAPTURE_PATH,
        404,
        {"message": "No Data found for ticket_id 9999.", "status": "failed"},
        [{"ticket_id": "9999", "sub_status": "P"}],
        headers=KAPTURE,
        http=True,
    ),
    Row(
        "several updates, one failing: 207 with each answer in request order",
        "POST",
        KAPTURE_PATH,
        207,
        [ANY, {"message": "No Data found/ticket_id is missing", "status": "failed"}],
        [*KAPTURE_OK, {"sub_status": "P"}],
        headers=KAPTURE,
    ),
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
        "a JSON body that is not UTF-8 is the document's invalid format",
        "POST",
        KAPTURE_PATH,
        400,
        {"message": "Invalid Format.The request body should be a JSON array of updates.", "status": "failed"},
        b'[{"ticket_id": "1001", "sub_status": "P", "comment": "caf\xff"}]',
        headers=KAPTURE,
        stored=(1001, {"sub_status": None}),
    ),
    Row(
        "a client record with a naive expires_at is an invalid key",
        "POST",
        KAPTURE_PATH,
        401,
        INVALID_AUTH,
        KAPTURE_OK,
        headers={"Authorization": f"Basic {MALFORMED_TOKEN}"},
        client=malformed("kapture", NAIVE_EXPIRY),
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


# -- spp ---------------------------------------------------------------------------------------------------
SPP = {"Authorization": "Bearer tkt_demo_spp"}
SPP_PATH = "/api/tickets/8FC95B0F"  # demo ticket 1001

SPP_VERSION_MESSAGE = (
    "Unsupported API version '1999-01-01'; supported: 2024-03-05 (20240305) and 2023-12-14 (20231214)."
)

SPP_ROWS = [
    Row("an update", "PUT", SPP_PATH, 200, ANY, {"status": 3}, headers=SPP, after=(1001, {"status": ANY})),
    Row(
        "no token",
        "PUT",
        SPP_PATH,
        401,
        {"message": "Missing or malformed credentials.", "errors": {}},
        {"status": 3},
        http=True,
    ),
    Row(
        "a token without ticket_management",
        "PUT",
        SPP_PATH,
        403,
        {"message": "This action is unauthorized: the token lacks the ticket_management permission.", "errors": {}},
        {"status": 3},
        headers={"Authorization": "Bearer tkt_demo_spp_readonly"},
    ),
    Row(
        "a ticket that does not exist",
        "PUT",
        "/api/tickets/FFFFFFF0",
        404,
        {"message": "Ticket FFFFFFF0 was not found.", "errors": {}},
        {"status": 3},
        headers=SPP,
    ),
    Row(
        "an X-Api-Version that names no version",
        "PUT",
        SPP_PATH,
        400,
        {"message": SPP_VERSION_MESSAGE, "errors": {"X-Api-Version": [SPP_VERSION_MESSAGE]}},
        {"status": 3},
        headers={**SPP, "X-Api-Version": "1999-01-01"},
    ),
    Row(
        "a form value whose percent-encoded bytes are not UTF-8",
        "PUT",
        SPP_PATH,
        400,
        {
            "message": "The request body is not valid UTF-8 form data: a percent-encoded value is not UTF-8.",
            "errors": {},
        },
        "subject=caf%FF",
        content_type=FORM,
        headers=SPP,
        stored=(1001, {"title": "Printer on the 3rd floor jams"}),
        http=True,
    ),
    Row(
        "a JSON body that is not UTF-8",
        "PUT",
        SPP_PATH,
        400,
        {"message": "The request body is not valid UTF-8.", "errors": {}},
        b'{"subject": "caf\xff"}',
        headers=SPP,
        stored=(1001, {"title": "Printer on the 3rd floor jams"}),
    ),
    Row(
        'JSON "order": "" unlinks the order, as the form\'s order= does',
        "PUT",
        SPP_PATH,
        200,
        ANY,
        {"order": ""},
        headers=SPP,
        after=(1001, {"order_number": None}),
    ),
    Row(
        "the form's order= unlinks the order",
        "PUT",
        SPP_PATH,
        200,
        ANY,
        "order=",
        content_type=FORM,
        headers=SPP,
        after=(1001, {"order_number": None}),
    ),
    Row(
        "a bad subject does not hide the other fields' errors: all are reported at once",
        "PUT",
        SPP_PATH,
        400,
        {
            "message": "The selected status 99 is invalid. (and 2 more errors)",
            "errors": {
                "status": ["The selected status 99 is invalid."],
                "order": ["The selected order nope does not exist."],
                "subject": ["The subject field must be a string."],
            },
        },
        {"status": 99, "order": "nope", "subject": 5},
        headers=SPP,
        stored=(1001, {"title": "Printer on the 3rd floor jams"}),
    ),
    Row(
        "a ticket in fullwidth digits",
        "PUT",
        f"/api/tickets/{FULLWIDTH_1001}",
        404,
        ANY,
        {"subject": "x"},
        headers=SPP,
        stored=(1001, {"title": "Printer on the 3rd floor jams"}),
    ),
]


# -- particlespace ----------------------------------------------------------------------------------------
PS = {"Authorization": "Bearer tkt_demo_particlespace"}
PS_PATH = "/api/v1/ticket/tic_0c48sol"
PS_FORM = "title=Leaking+faucet&description=&status=OPEN&notify=0&automated=0"


def ps_error(status: int, code: str, error: str, message: str) -> dict[str, Any]:
    return {"success": False, "status": status, "error": error, "code": code, "message": message, "requestId": ANY}


BOUNDARY = "----PostmanBoundary7MA4YWxkTrZu0gW"


def multipart(**fields: str) -> str:
    """A multipart/form-data body as Postman and curl -F send it."""
    parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in fields.items()]
    return "".join(parts) + f"--{BOUNDARY}--\r\n"


PS_FIELDS = {"description": "Under the sink", "status": "ON_HOLD", "notify": "0", "automated": "0"}

PARTICLESPACE = [
    Row("the document's form", "PUT", PS_PATH, 200, ANY, PS_FORM, content_type=FORM, headers=PS),
    Row(
        "a required field missing",
        "PUT",
        PS_PATH,
        400,
        {
            **ps_error(
                400,
                "validation_failed",
                "Bad Request",
                "The request is invalid: description: Field required; status: Field required; "
                "notify: Field required; automated: Field required.",
            ),
            "errors": [
                {"field": f, "message": "Field required"} for f in ("description", "status", "notify", "automated")
            ],
        },
        "title=Leaking+faucet",
        content_type=FORM,
        headers=PS,
    ),
    Row(
        "another dialect's client",
        "PUT",
        PS_PATH,
        403,
        ps_error(403, "forbidden", "Forbidden", "This client may not use the particlespace API."),
        PS_FORM,
        content_type=FORM,
        headers={"Authorization": "Bearer tkt_demo_spp"},
    ),
    Row(
        "a ticket that does not exist",
        "PUT",
        "/api/v1/ticket/tic_zzzzzzz",
        404,
        ps_error(404, "not_found", "Not Found", "Ticket tic_zzzzzzz was not found."),
        PS_FORM,
        content_type=FORM,
        headers=PS,
    ),
    Row(
        "multipart/form-data (Postman's default, curl -F) carries the same fields",
        "PUT",
        PS_PATH,
        200,
        ANY,
        multipart(title="Leaking faucet (multipart)", **PS_FIELDS),
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        headers=PS,
        after=(1002, {"title": "Leaking faucet (multipart)", "description": "Under the sink"}),
    ),
    Row(
        "a multipart file part is refused",
        "PUT",
        PS_PATH,
        400,
        ps_error(
            400, "bad_request", "Bad Request", "The part 'title' is a file: this operation takes text fields only."
        ),
        multipart(**PS_FIELDS).replace(
            f"--{BOUNDARY}--",
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="title"; filename="t.txt"\r\n\r\n'
            f"x\r\n--{BOUNDARY}--",
        ),
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        headers=PS,
        stored=(1002, {"status": ANY}),
    ),
    Row(
        "the document's ticket/update/tic_... URL is the same operation",
        "PUT",
        "/api/v1/ticket/update/tic_0c48sol",
        200,
        ANY,
        PS_FORM.replace("Leaking+faucet", "Leaking+faucet+%28update+path%29"),
        content_type=FORM,
        headers=PS,
        after=(1002, {"title": "Leaking faucet (update path)"}),
    ),
    Row(
        "the ticket/update/tic_... URL without a token",
        "PUT",
        "/api/v1/ticket/update/tic_0c48sol",
        401,
        ps_error(401, "unauthenticated", "Unauthorized", ANY),
        PS_FORM,
        content_type=FORM,
        http=True,
    ),
    Row(
        "a form value whose percent-encoded bytes are not UTF-8",
        "PUT",
        PS_PATH,
        400,
        ps_error(
            400,
            "bad_request",
            "Bad Request",
            "The request body is not valid UTF-8 form data: a percent-encoded value is not UTF-8.",
        ),
        PS_FORM.replace("Leaking+faucet", "caf%FF"),
        content_type=FORM,
        headers=PS,
        http=True,
    ),
    Row(
        "a JSON body that is not UTF-8",
        "PUT",
        PS_PATH,
        400,
        ps_error(400, "bad_request", "Bad Request", "The request body is not valid UTF-8."),
        b'{"title": "caf\xff", "description": "", "status": "OPEN", "notify": 0, "automated": 0}',
        headers=PS,
    ),
]


# -- myhrw --------------------------------------------------------------------------------------------------
MYHRW = {"Authorization": "Bearer tkt_demo_myhrw"}
MYHRW_PATH = "/tickets/1001/tasks/1/partnertickets/TKT0196"

MYHRW_ROWS = [
    Row(
        "an update of the partner ticket",
        "PUT",
        MYHRW_PATH,
        200,
        ANY,
        {"id": "TKT0196", "status": "Open"},
        headers=MYHRW,
    ),
    Row(
        "the first partner ticket of a task",
        "POST",
        "/tickets/1001/tasks/2/partnertickets",
        201,
        ANY,
        {"id": "CONF-1", "status": "New"},
        headers=MYHRW,
    ),
    Row(
        "no token",
        "PUT",
        MYHRW_PATH,
        401,
        {"status": 401, "message": "Missing or malformed credentials.", "errors": [], "requestId": ANY},
        {"id": "TKT0196"},
        http=True,
    ),
    Row(
        "a caller outside PartnerInteraction",
        "PUT",
        MYHRW_PATH,
        403,
        {
            "status": 403,
            "message": "This client is not in the PartnerInteraction security group.",
            "errors": [],
            "requestId": ANY,
        },
        {"id": "TKT0196"},
        headers={"Authorization": "Bearer tkt_demo_myhrw_nogroup"},
    ),
    Row(
        "a task that does not exist",
        "PUT",
        "/tickets/1001/tasks/99/partnertickets/TKT0196",
        404,
        {"status": 404, "message": "Task 99 of ticket 1001 was not found.", "errors": [], "requestId": ANY},
        {"id": "TKT0196"},
        headers=MYHRW,
    ),
    Row(
        "a JSON body that is not UTF-8",
        "PUT",
        MYHRW_PATH,
        400,
        {"status": 400, "message": "The request body is not valid UTF-8.", "errors": [], "requestId": ANY},
        b'{"id": "TKT0196", "status": "caf\xff"}',
        headers=MYHRW,
    ),
    Row(
        "a ticketUid in Arabic-Indic digits is not an unsigned integer",
        "PUT",
        f"/tickets/{ARABIC_1001}/tasks/1/partnertickets/TKT0196",
        400,
        {
            "status": 400,
            "message": f"The request is invalid: ticketUid must be an unsigned integer, not '{ARABIC_1001}'.",
            "errors": [
                {"field": "ticketUid", "message": f"ticketUid must be an unsigned integer, not '{ARABIC_1001}'"}
            ],
            "requestId": ANY,
        },
        {"id": "TKT0196", "status": "Open"},
        headers=MYHRW,
    ),
]


TABLES = {
    "canonical": CANONICAL,
    "myhrw": MYHRW_ROWS,
    "spp": SPP_ROWS,
    "particlespace": PARTICLESPACE,
    "kapture": KAPTURE_ROWS,
    "servicedesk": SERVICEDESK,
}
ROWS = [(dialect, row) for dialect, rows in TABLES.items() for row in rows]
HTTP_ROWS = [(dialect, row) for dialect, row in ROWS if row.http]


def _ids(rows):
    return [f"{dialect}: {row.name} -> {row.status}" for dialect, row in rows]


def store_client(token: str, record: dict[str, Any]) -> None:
    from ticketing import auth, aws
    from ticketing.repository import marshal
    from ticketing.settings import get_settings

    item = marshal({**record, "token_hash": auth.hash_token(token)})
    aws.dynamodb().put_item(TableName=get_settings().clients_table, Item=item)


def check(row: Row, status: int, content_type: str, raw: str | bytes) -> None:
    assert status == row.status, raw[:400] if isinstance(raw, str) else raw[:400].decode("utf-8", "replace")
    assert decoded(raw, content_type) == row.body


@pytest.mark.parametrize(("dialect", "row"), ROWS, ids=_ids(ROWS))
def test_each_documented_status_with_its_exact_body(aws, seeded, dialect, row):
    if row.client is not None:
        store_client(MALFORMED_TOKEN, row.client)
    before = canonical_ticket(aws, row.stored[0]) if row.stored else None
    resp = apigw.request(aws, row.method, row.url, body=row.payload(), headers=row.request_headers())
    check(row, resp["statusCode"], header(resp.get("headers"), "Content-Type"), resp["body"])
    if row.stored:
        after = canonical_ticket(aws, row.stored[0])
        assert after == before, "a refused request changed the ticket"
        assert {k: after[k] for k in row.stored[1]} == row.stored[1]
    if row.after:
        after = canonical_ticket(aws, row.after[0])
        assert {k: after[k] for k in row.after[1]} == row.after[1]


@pytest.mark.parametrize(("dialect", "row"), HTTP_ROWS, ids=_ids(HTTP_ROWS))
def test_the_same_over_http_on_the_local_run(local_run, dialect, row):
    from urllib.parse import quote

    url = quote(row.url, safe="/?&=%:@!$'()*+,;")  # as an HTTP client sends a path that is not ASCII
    status, headers, raw = local_run.request(row.method, url, row.payload() or None, row.request_headers())
    check(row, status, header(headers, "Content-Type"), raw)


@pytest.mark.parametrize("fault", [NAIVE_EXPIRY, DIALECTS_AS_TEXT], ids=["naive expires_at", "dialects as a string"])
def test_a_malformed_client_record_is_logged_as_an_error_without_the_token(aws, seeded, log_output, fault):
    from ticketing import auth

    store_client(MALFORMED_TOKEN, malformed("canonical", fault))
    auth.reset()
    resp = apigw.request(aws, "GET", "/tickets/1001", headers={"Authorization": f"Bearer {MALFORMED_TOKEN}"})
    assert resp["statusCode"] == 401
    records = [json.loads(line) for line in log_output.getvalue().splitlines() if line.startswith("{")]
    faults = [r for r in records if r.get("message") == "malformed client record: its token is refused"]
    assert faults and faults[0]["level"] == "ERROR" and faults[0]["client_id"] == "cli_malformed"
    assert faults[0]["fields"] == sorted(fault)
    assert MALFORMED_TOKEN not in log_output.getvalue()
    assert auth.hash_token(MALFORMED_TOKEN) not in log_output.getvalue()
