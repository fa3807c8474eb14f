"""The servicedesk dialect (WorkflowPush, GetTicket): through the handlers on moto, and
over HTTP on the local run."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET

import pytest
from doc_servicedesk import (
    BILLION_LAUGHS,
    DOC_JSON,
    DOC_XML,
    EXTERNAL_ENTITY,
    GET,
    NS_RESULTS,
    PUSH,
    XMLNS,
    xml_post,
)
from ticketing import service
from ticketing.dialects.servicedesk import datacontract, results
from ticketing.repository import Repository
from ticketing.workflow import get_workflow

from devkit import metering
from devkit.local import apigateway as apigw

AUTH = {"Authorization": "Bearer tkt_demo_servicedesk"}


def push(template, body, *, content_type="application/json", headers=None):
    data = json.dumps(body) if isinstance(body, dict) else body
    resp = apigw.request(
        template, "POST", PUSH, body=data, headers={**AUTH, "Content-Type": content_type, **(headers or {})}
    )
    return resp["statusCode"], resp["headers"], _decode(resp)


def get(template, ident, headers=None):
    resp = apigw.request(template, "GET", GET + str(ident), headers={**AUTH, **(headers or {})})
    return resp["statusCode"], resp["headers"], _decode(resp)


def _decode(resp):
    content_type = resp["headers"].get("Content-Type", "")
    if "json" in content_type:
        return json.loads(resp["body"])
    return resp["body"]


def canonical(template, ident):
    resp = apigw.request(template, "GET", f"/tickets/{ident}", headers={"Authorization": "Bearer tkt_demo_canonical"})
    assert resp["statusCode"] == 200, resp["body"]
    return json.loads(resp["body"])


def create(template, **spec) -> dict:
    resp = apigw.request(
        template,
        "POST",
        "/tickets",
        body=json.dumps({"title": "Servicedesk test", **spec}),
        headers={"Authorization": "Bearer tkt_demo_canonical"},
    )
    assert resp["statusCode"] == 201, resp["body"]
    return json.loads(resp["body"])


def patch(template, ident, body):
    resp = apigw.request(
        template,
        "PATCH",
        f"/tickets/{ident}",
        body=json.dumps(body),
        headers={"Authorization": "Bearer tkt_demo_canonical"},
    )
    assert resp["statusCode"] == 200, resp["body"]


def state(template, ident) -> dict:
    status, _, body = get(template, ident)
    assert status == 200, body
    return body


def names(view) -> list[str]:
    return [a["Name"] for a in view["AllAvailableTicketActions"]]


# -- the document's samples ----------------------------------------------------------------------------------
def test_document_samples_parse_and_name_no_demo_ticket(aws, seeded):
    # WorkflowPush answers "200 OK or 400 BadRequest with Message": a ticket not found is its 400
    status, headers, body = push(aws, DOC_JSON)
    assert status == 400 and body == {"Message": "Ticket INC-000047 was not found."}
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    status, headers, body = push(aws, DOC_XML, content_type="application/xml")
    assert status == 400 and headers["Content-Type"] == "application/xml; charset=utf-8"
    assert body == "<Error><Message>Ticket INC-000047 was not found.</Message></Error>"


def test_json_sample_suspends_the_incident_and_every_dialect_sees_it(aws, seeded):
    status, _, body = push(aws, DOC_JSON.replace("INC-000047", "INC-001001"))
    assert status == 200, body
    assert list(body.items()) == [("TicketREF", "INC-001001"), ("TicketId", 1001)]
    ticket = canonical(aws, 1001)
    assert (ticket["status"], ticket["sub_status"]) == ("on_hold", "suspended")
    view = state(aws, "INC-001001")
    assert view["State"] == "Suspended" and view["SummaryState"] == "Waiting"
    assert names(view) == ["IncidentResume"]


def test_xml_sample_answers_the_documents_result_document(aws, seeded):
    status, headers, body = push(aws, DOC_XML.replace("INC-000047", "INC-001001"), content_type="text/xml")
    assert status == 200
    assert headers["Content-Type"] == "text/xml; charset=utf-8"
    assert body == (
        '<WorkflowPushResult xmlns:i="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns="http://schemas.datacontract.org/2004/07/RequestorApiDataStructures.Results">'
        "<TicketId>1001</TicketId><TicketREF>INC-001001</TicketREF></WorkflowPushResult>"
    )
    assert canonical(aws, 1001)["status"] == "on_hold"


@pytest.mark.parametrize(
    ("content_type", "accept", "expected"),
    [
        ("application/json", None, "application/json"),
        ("text/json", None, "text/json"),
        ("application/xml", None, "application/xml"),
        ("text/xml", None, "text/xml"),
        ("application/json", "application/xml", "application/xml"),
        ("application/xml", "application/json", "application/json"),
        ("application/json", "text/xml;q=0.5, application/json;q=0.9", "application/json"),
        ("application/json", "text/html, application/xml;q=0.1", "application/xml"),
        ("application/xml", "*/*", "application/xml"),
        ("application/xml", "text/*", "text/xml"),
        ("application/json", "text/html", "application/json"),
        ("application/json", "application/xml;q=0", "application/json"),
    ],
)
def test_response_format_follows_accept_else_the_request(aws, seeded, content_type, accept, expected):
    body = (
        xml_post("IncidentSuspend", TicketId=1001)
        if "xml" in content_type
        else json.dumps({"TicketId": 1001, "Action": 207})
    )
    status, headers, payload = push(
        aws, body, content_type=content_type, headers={"Accept": accept} if accept else None
    )
    assert status == 200
    assert headers["Content-Type"] == f"{expected}; charset=utf-8"
    if "xml" in expected:
        root = ET.fromstring(payload)
        assert root.tag == f"{{{NS_RESULTS}}}WorkflowPushResult"
        assert [c.tag.split("}")[1] for c in root] == ["TicketId", "TicketREF"]
    else:
        assert payload == {"TicketREF": "INC-001001", "TicketId": 1001}


# -- request parsing -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("action", [207, "207", "IncidentSuspend", "incidentsuspend", " IncidentSuspend "])
def test_json_action_by_number_or_name(aws, seeded, action):
    status, _, body = push(aws, {"TicketId": 1001, "Action": action})
    assert status == 200, body


def test_json_member_names_are_case_insensitive_and_unknown_members_ignored(aws, seeded):
    status, _, body = push(aws, {"ticketref": "INC-001001", "ACTION": 207, "Comment": "ignored"})
    assert status == 200, body


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"TicketId": True, "Action": 207}, "TicketId is not an integer"),
        ({"TicketId": 10.5, "Action": 207}, "TicketId is not an integer"),
        ({"TicketId": 0, "Action": 207}, "TicketId must be a positive integer"),
        ({"TicketId": 1001, "Action": True}, "is not a TicketActionEnum"),
        ({"TicketId": 1001, "Action": 0}, "is not a TicketActionEnum"),
        ({"TicketId": 1001}, "Action is required"),
        ({"TicketId": 1001, "Action": None}, "Action is required"),
        ({"TicketREF": 1001, "Action": 207}, "TicketREF must be a string"),
        ({"TicketREF": "1001", "Action": 207}, "is not a ticket reference"),
        ({"Action": 207}, "TicketId or TicketREF is required"),
        ({"TicketREF": "", "Action": 207}, "TicketId or TicketREF is required"),
        ({"TicketId": 1001, "ticketid": 1001, "Action": 207}, "more than once"),
        ({"TicketId": 1002, "TicketREF": "INC-001001", "Action": 207}, "do not name the same ticket"),
        ({"TicketId": 1001, "Action": 204, "Note": "x" * 40000}, "Note may be at most"),
    ],
)
def test_json_refusals_are_400_with_a_message(aws, seeded, body, fragment):
    status, _, payload = push(aws, body)
    assert status == 400
    assert set(payload) == {"Message"} and fragment in payload["Message"]


def test_json_body_must_be_an_object(aws, seeded):
    assert push(aws, "[1, 2]")[0] == 400
    assert push(aws, "")[0] == 400
    status, _, payload = push(aws, '{"TicketId": ')
    assert status == 400 and "not valid JSON" in payload["Message"]


def test_both_identifiers_naming_the_same_ticket_are_accepted(aws, seeded):
    assert push(aws, {"TicketId": 1001, "TicketREF": "INC-001001", "Action": 207})[0] == 200


def test_xml_members_in_any_order_nil_and_foreign_elements(aws, seeded):
    body = (
        f'<?xml version="1.0" encoding="utf-8"?><WorkflowPushPost {XMLNS} xmlns:x="urn:other">'
        "<TicketREF> INC-001001 </TicketREF><x:Action>IncidentResolve</x:Action><Extra>kept out</Extra>"
        '<Note i:nil="true"/><Action>IncidentSuspend</Action></WorkflowPushPost>'
    )
    status, _, payload = push(aws, body, content_type="application/xml")
    assert status == 200, payload
    assert canonical(aws, 1001)["status"] == "on_hold"


def test_xml_with_a_byte_order_mark_is_read(aws, seeded):
    """DataContractSerializer with Encoding.UTF8 writes a BOM first."""
    body = '\ufeff<?xml version="1.0" encoding="utf-8"?>' + xml_post("IncidentSuspend", TicketId=1001)
    status, _, payload = push(aws, body.encode("utf-8"), content_type="application/xml")
    assert status == 200, payload


def push_as_text(template, body: bytes, content_type: str):
    """The push as API Gateway sends it when the API lacks the template's BinaryMediaTypes: the
    body as UTF-8 text, each byte sequence that is not UTF-8 replaced by U+FFFD."""
    fn, route, params = apigw.find_route(template, "POST", PUSH)
    headers = [*AUTH.items(), ("Content-Type", content_type)]
    event = apigw.build_event(
        method="POST", path=PUSH, route=route, path_params=params, headers=headers, body=body, binary_types=[]
    )
    assert event["isBase64Encoded"] is False and event["body"].startswith("\ufffd\ufffd")
    resp = apigw.invoke(fn, event)
    return resp["statusCode"], _decode(resp)


def test_the_template_passes_utf16_bodies_byte_for_byte(aws):
    assert {"application/json", "text/json", "application/xml", "text/xml"} <= set(aws.binary_media_types())


def test_utf16_passed_as_text_is_decoded_when_intact_and_refused_when_characters_were_lost(aws, seeded):
    v0 = canonical(aws, 1001)["version"]
    lost = '{"TicketId": 1001, "Action": "IncidentWaitForThirdParty", "Note": "caf\u00e9"}'.encode("utf-16")
    status, body = push_as_text(aws, lost, "application/json; charset=utf-16")
    assert (status, body) == (
        400,
        {
            "Message": "The UTF-16 request body lost characters on the way (API Gateway passes bodies as UTF-8 "
            "text): send it in UTF-8."
        },
    )
    ticket = canonical(aws, 1001)
    assert (ticket["note"], ticket["version"]) == ("", v0)
    intact = DOC_JSON.replace("INC-000047", "INC-001001").encode("utf-16")  # ASCII: each byte came through
    assert push_as_text(aws, intact, "application/json") == (200, {"TicketREF": "INC-001001", "TicketId": 1001})
    assert canonical(aws, 1001)["status"] == "on_hold"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (xml_post("207", TicketId=1001), "is not a TicketActionEnum"),
        (xml_post(None, TicketId=1001), "Action is required"),
        (xml_post("IncidentSuspend", TicketId=""), "TicketId is not an integer"),
        (xml_post("IncidentSuspend", TicketId="<a>1</a>"), "must hold a value"),
        (
            f"<WorkflowPushPost {XMLNS}><Action>IncidentSuspend</Action><TicketId>1</TicketId>"
            "<TicketId>2</TicketId></WorkflowPushPost>",
            "more than once",
        ),
        (
            "<WorkflowPushPost><Action>IncidentSuspend</Action><TicketId>1001</TicketId></WorkflowPushPost>",
            "Expecting element 'WorkflowPushPost' from namespace",
        ),
        (f'<WorkflowPushResult xmlns="{NS_RESULTS}"/>', "encountered element 'WorkflowPushResult'"),
        (f"<WorkflowPushPost {XMLNS}><Action>IncidentSuspend</Action>", "not well-formed XML"),
        ("<a>&undefined;</a>", "not well-formed XML"),
        (
            f"<WorkflowPushPost {XMLNS}>" + "<Note>" * 20 + "</Note>" * 20 + "</WorkflowPushPost>",
            "nested deeper than",
        ),
        (f"<WorkflowPushPost {XMLNS}>" + "<Extra/>" * 300 + "</WorkflowPushPost>", "more than 256 elements"),
    ],
)
def test_xml_refusals_are_400_with_an_xml_message(aws, seeded, body, fragment):
    status, headers, payload = push(aws, body, content_type="application/xml")
    assert status == 400
    assert headers["Content-Type"] == "application/xml; charset=utf-8"
    root = ET.fromstring(payload)
    assert root.tag == "Error" and [c.tag for c in root] == ["Message"]
    assert fragment in root.find("Message").text


def test_billion_laughs_is_refused_quickly_and_expands_nothing(aws, seeded):
    v0 = canonical(aws, 1001)["version"]
    started = time.perf_counter()
    status, _, payload = push(aws, BILLION_LAUGHS, content_type="application/xml")
    assert status == 400 and time.perf_counter() - started < 1.0
    assert "DTD" in payload and "lol" not in payload
    assert canonical(aws, 1001)["version"] == v0


def test_external_entity_is_refused_and_nothing_is_read(aws, seeded):
    v0 = canonical(aws, 1001)["version"]
    started = time.perf_counter()
    status, _, payload = push(aws, EXTERNAL_ENTITY, content_type="text/xml")
    assert status == 400 and time.perf_counter() - started < 1.0
    assert "root:" not in payload
    ticket = canonical(aws, 1001)
    assert ticket["note"] == "" and ticket["version"] == v0


def test_oversized_xml_is_refused(aws, seeded):
    body = xml_post("IncidentSuspend", TicketId=1001).replace(
        "</WorkflowPushPost>", " " * 300_000 + "</WorkflowPushPost>"
    )
    status, _, payload = push(aws, body, content_type="application/xml")
    assert status == 400 and "larger than" in payload  # the document's 400, not 413


def test_control_characters_never_break_the_xml_answer(aws, seeded):
    status, _, payload = push(
        aws, {"TicketId": 1001, "Action": 202, "UserProviderKey": "bad\x01key"}, headers={"Accept": "text/xml"}
    )
    assert status == 400
    assert "not a known operator" in ET.fromstring(payload).find("Message").text


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/soap+xml"])
def test_other_media_types_are_415(aws, seeded, content_type):
    status, _, payload = push(aws, '{"TicketId": 1001, "Action": 207}', content_type=content_type)
    assert status == 415 and "is not supported" in payload["Message"]


# -- auth ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("authorization", "expected"),
    [
        (None, 401),
        ("Bearer wrong", 401),
        ("Basic tkt_demo_servicedesk", 401),
        ("tkt_demo_servicedesk", 401),
        ("Bearer tkt_demo_disabled", 401),
        ("Bearer tkt_demo_spp", 403),
    ],
)
def test_credentials(aws, seeded, authorization, expected):
    v0 = canonical(aws, 1001)["version"]
    headers = {"Content-Type": "application/xml", "Accept": "application/xml"}
    if authorization:
        headers["Authorization"] = authorization
    resp = apigw.request(aws, "POST", PUSH, body=xml_post("IncidentSuspend", TicketId=1001), headers=headers)
    assert resp["statusCode"] == expected
    message = ET.fromstring(resp["body"]).find("Message").text
    if expected == 401:
        assert message == "Authorization has been denied for this request."
        assert resp["headers"]["WWW-Authenticate"].startswith("Bearer")
    resp = apigw.request(aws, "GET", GET + "1001", headers={"Authorization": authorization} if authorization else {})
    assert resp["statusCode"] == expected and "Message" in json.loads(resp["body"])
    assert canonical(aws, 1001)["version"] == v0


# -- the workflow --------------------------------------------------------------------------------------------
def test_incident_lifecycle(aws, seeded):
    created = create(aws, type="incident")
    ref = created["ref"]
    view = state(aws, ref)
    assert (view["TicketType"], view["State"], view["SummaryState"]) == ("Incident", "New", "Open")
    assert "IncidentAssign" in names(view) and "IncidentSuspend" not in names(view)

    status, _, body = push(aws, {"TicketREF": ref, "Action": "IncidentAssign"})
    assert status == 400 and body["Message"] == "UserProviderKey is required for the action IncidentAssign."
    assert push(aws, {"TicketREF": ref, "Action": 201, "UserProviderKey": "Jane.Smith@Example.com"})[0] == 200
    ticket = canonical(aws, ref)
    assert ticket["assignee_ids"] == [501] and (ticket["status"], ticket["sub_status"]) == ("open", "assigned")

    assert push(aws, {"TicketREF": ref, "Action": 203, "UserProviderKey": "li.wei@example.com"})[0] == 200
    ticket = canonical(aws, ref)
    assert ticket["assignee_ids"] == [503] and (ticket["status"], ticket["sub_status"]) == ("in_progress", "escalated")
    assert state(aws, ref)["State"] == "Escalated"

    status, _, _ = push(
        aws,
        {"TicketREF": ref, "Action": "IncidentWaitForThirdParty", "CustomerId": "4711", "Note": "ISP line test"},
    )
    assert status == 200
    ticket = canonical(aws, ref)
    assert (ticket["status"], ticket["customer_id"], ticket["note"]) == ("waiting_third_party", 4711, "ISP line test")
    assert ticket["assignee_ids"] == [503]  # no UserProviderKey: the assignee stays
    assert state(aws, ref)["State"] == "WaitingForThirdParty"

    assert push(aws, {"TicketREF": ref, "Action": "IncidentResume"})[0] == 200
    assert state(aws, ref)["State"] == "Assigned"
    assert push(aws, {"TicketREF": ref, "Action": "IncidentResolve"})[0] == 200
    view = state(aws, ref)
    assert (view["State"], view["SummaryState"]) == ("Resolved", "Closed")
    assert names(view) == ["IncidentClose", "IncidentReopen"]
    assert canonical(aws, ref)["closed_at"] is not None
    assert push(aws, {"TicketREF": ref, "Action": "IncidentClose"})[0] == 200
    view = state(aws, ref)
    assert view["State"] == "Closed" and view["AllAvailableTicketActions"] == []
    status, _, body = push(aws, {"TicketREF": ref, "Action": "IncidentReopen"})
    assert status == 400 and "(allowed: none)" in body["Message"]

    resp = apigw.request(
        aws, "GET", f"/tickets/{created['id']}/history", headers={"Authorization": "Bearer tkt_demo_canonical"}
    )
    hist = json.loads(resp["body"])
    pushes = [e for e in hist["items"] if e["event"] == "workflow_push"]
    assert [e["detail"]["action"] for e in pushes] == [
        "IncidentClose",
        "IncidentResolve",
        "IncidentResume",
        "IncidentWaitForThirdParty",
        "IncidentFunctionEscalate",
        "IncidentAssign",
    ]
    assert pushes[-1]["detail"]["from_state"] == "New" and pushes[-1]["detail"]["to_state"] == "Assigned"
    assert all(e["dialect"] == "servicedesk" for e in pushes)


def test_wait_for_third_party_with_an_operator_assigns_it(aws, seeded):
    status, _, _ = push(
        aws, {"TicketId": 1003, "Action": "ServiceRequestAssign", "UserProviderKey": "jane.smith@example.com"}
    )
    assert status == 200
    body = xml_post("ServiceRequestWaitForThirdParty", TicketId=1003, UserProviderKey="omar.haddad@example.com")
    assert push(aws, body, content_type="application/xml")[0] == 200
    ticket = canonical(aws, 1003)
    assert ticket["assignee_ids"] == [502] and ticket["status"] == "waiting_third_party"
    assert ticket["customer_id"] is None and ticket["note"] == ""


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        ("nobody@example.com", "is not a known operator"),
        ("former.operator@example.com", "is not a known operator"),
    ],
)
def test_unknown_or_inactive_operators_are_refused(aws, seeded, key, fragment):
    v0 = canonical(aws, 1001)["version"]
    status, _, body = push(aws, {"TicketId": 1001, "Action": "IncidentAssignOther", "UserProviderKey": key})
    assert status == 400 and fragment in body["Message"]
    assert canonical(aws, 1001)["version"] == v0


def test_a_parameter_the_action_does_not_take_is_ignored(aws, seeded):
    status, _, _ = push(
        aws, {"TicketId": 1001, "Action": 207, "UserProviderKey": "nobody@example.com", "Note": "n", "ServiceId": 999}
    )
    assert status == 200
    ticket = canonical(aws, 1001)
    assert ticket["note"] == "" and ticket["service_id"] is None and ticket["assignee_ids"] == []


def test_conversion_gives_a_new_ref_and_the_old_one_still_resolves(aws, seeded):
    status, _, body = push(aws, {"TicketREF": "TIC-001002", "Action": "TicketConvertToIncident"})
    assert status == 400 and body["Message"] == "ServiceId is required for the action TicketConvertToIncident."
    status, _, body = push(aws, {"TicketREF": "TIC-001002", "Action": 101, "ServiceId": 12})
    assert status == 400 and "does not take tickets of type Incident" in body["Message"]
    status, _, body = push(aws, {"TicketREF": "TIC-001002", "Action": 101, "ServiceId": 999})
    assert status == 400 and body["Message"] == "ServiceId 999 is not a known service."

    status, _, body = push(aws, {"TicketREF": "TIC-001002", "Action": 101, "ServiceId": 11})
    assert status == 200 and body == {"TicketREF": "INC-001002", "TicketId": 1002}
    for ident in ("TIC-001002", "INC-001002", 1002):
        view = state(aws, ident)
        assert (view["TicketREF"], view["TicketType"]) == ("INC-001002", "Incident")
    ticket = canonical(aws, "TIC-001002")
    assert ticket["type"] == "incident" and ticket["type_history"] == ["ticket", "incident"]
    assert ticket["refs"] == ["TIC-001002", "INC-001002"] and ticket["service_id"] == 11
    assert ticket["status"] == "open"  # a conversion reclassifies; the work state is kept
    assert get(aws, "REQ-001002")[0] == 404

    # the old REF still names the ticket in a push too; and back and forth keeps each type once
    status, _, body = push(aws, {"TicketREF": "TIC-001002", "Action": 102, "ServiceId": 10})
    assert status == 200 and body["TicketREF"] == "REQ-001002"
    status, _, body = push(
        aws, xml_post("TicketConvertToIncident", TicketREF="REQ-001002", ServiceId=10), content_type="application/xml"
    )
    assert status == 200 and "<TicketREF>INC-001002</TicketREF>" in body
    ticket = canonical(aws, 1002)
    assert ticket["type_history"] == ["ticket", "incident", "service_request"]
    assert ticket["type"] == "incident" and ticket["service_id"] == 10


def test_conversion_of_a_pending_ticket_keeps_its_status_under_the_new_type(aws, seeded):
    assert state(aws, "TIC-001004")["State"] == "Open"
    assert push(aws, {"TicketREF": "TIC-001004", "Action": 102, "ServiceId": 12})[0] == 200
    view = state(aws, "REQ-001004")
    assert (view["TicketType"], view["State"]) == ("ServiceRequest", "Suspended")
    assert names(view) == ["ServiceRequestResume"]
    assert canonical(aws, 1004)["status"] == "pending"


def test_an_action_of_another_type_is_refused(aws, seeded):
    status, _, body = push(aws, {"TicketREF": "PRB-001006", "Action": "IncidentSuspend"})
    assert status == 400
    assert body["Message"] == (
        "The action IncidentSuspend is not allowed for the Problem in its state Assigned "
        "(allowed: ProblemAssign, ProblemResolve)."
    )


@pytest.mark.parametrize(
    ("ticket_type", "status", "sub_status", "expected"),
    [
        ("incident", "new", None, "New"),
        ("incident", "open", None, "Assigned"),
        ("incident", "in_progress", None, "Assigned"),
        ("incident", "in_progress", "escalated", "Escalated"),
        ("incident", "pending", "callback", "Suspended"),
        ("incident", "on_hold", None, "Suspended"),
        ("incident", "waiting_third_party", None, "WaitingForThirdParty"),
        ("incident", "resolved", None, "Resolved"),
        ("service_request", "on_hold", "suspended", "Suspended"),
        ("problem", "waiting_third_party", None, "Suspended"),
        ("ticket", "in_progress", None, "Open"),
        ("change", "closed", None, "Closed"),
    ],
)
def test_a_status_set_elsewhere_shows_as_a_servicedesk_state(aws, seeded, ticket_type, status, sub_status, expected):
    created = create(aws, type=ticket_type)
    patch(aws, created["id"], {"status": status, "sub_status": sub_status})
    view = state(aws, created["ref"])
    assert view["State"] == expected
    flow = get_workflow().types[ticket_type]
    listed = [a.name for a in get_workflow().actions if expected in a.from_.get(ticket_type, ())]
    assert names(view) == listed and flow.state(expected) is not None


def test_get_ticket_xml_is_a_datacontract_document(aws, seeded):
    status, headers, body = get(aws, "INC-001001", {"Accept": "application/xml"})
    assert status == 200 and headers["Content-Type"] == "application/xml; charset=utf-8"
    assert body.startswith(
        '<GetTicketResult xmlns:i="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns="http://schemas.datacontract.org/2004/07/RequestorApiDataStructures.Results">'
    )
    root = ET.fromstring(body)
    ns = {"r": NS_RESULTS, "a": datacontract.NS_ARRAYS}
    assert [c.tag.split("}")[1] for c in root] == [
        "AllAvailableTicketActions",
        "State",
        "SummaryState",
        "TicketId",
        "TicketREF",
        "TicketType",
    ]
    assert root.findtext("r:State", namespaces=ns) == "Assigned"
    assert root.findtext("r:TicketREF", namespaces=ns) == "INC-001001"
    infos = root.findall("r:AllAvailableTicketActions/r:TicketActionInfo", ns)
    by_name = {i.findtext("r:Action", namespaces=ns): i for i in infos}
    assert set(by_name) == set(names(state(aws, 1001)))
    wait = by_name["IncidentWaitForThirdParty"]
    assert [c.tag.split("}")[1] for c in wait] == [
        "Action",
        "Name",
        "NeedsParameter",
        "OptionalParameters",
        "RequiredParameters",
    ]
    assert wait.findtext("r:NeedsParameter", namespaces=ns) == "false"
    assert [s.text for s in wait.findall("r:OptionalParameters/a:string", ns)] == [
        "UserProviderKey",
        "CustomerId",
        "Note",
    ]
    assign = by_name["IncidentAssignOther"]
    assert assign.findtext("r:NeedsParameter", namespaces=ns) == "true"
    assert [s.text for s in assign.findall("r:RequiredParameters/a:string", ns)] == ["UserProviderKey"]


def test_get_ticket_json(aws, seeded):
    view = state(aws, 1001)
    assert list(view) == ["TicketREF", "TicketId", "TicketType", "State", "SummaryState", "AllAvailableTicketActions"]
    convert = next(a for a in view["AllAvailableTicketActions"] if a["Name"] == "TicketConvertToServiceRequest")
    assert convert == {
        "Action": 102,
        "Name": "TicketConvertToServiceRequest",
        "NeedsParameter": True,
        "RequiredParameters": ["ServiceId"],
        "OptionalParameters": [],
    }
    suspend = next(a for a in view["AllAvailableTicketActions"] if a["Action"] == 207)
    assert suspend["Name"] == "IncidentSuspend" and suspend["NeedsParameter"] is False


def test_every_answer_is_what_its_model_documents(aws, seeded):
    """The answers are plain values rendered beside their models (which the functions never
    build): each kind validates against its model's JSON schema, the OpenAPI document's."""
    import jsonschema

    def check(model, value):
        jsonschema.validate(value, model.model_json_schema(ref_template="#/$defs/{model}", mode="serialization"))

    check(results.GetTicketResult, state(aws, 1001))
    check(results.GetTicketResult, state(aws, 1007))
    status, _, body = push(aws, {"TicketId": 1001, "Action": 207})
    assert status == 200
    check(results.WorkflowPushResult, body)
    status, _, body = push(aws, {"TicketId": 1001, "Action": 207})
    assert status == 400
    check(results.Error, body)


@pytest.mark.parametrize(("ident", "expected"), [("9999", 404), ("CHG-001001", 404), ("8FC95B0F", 404), ("x", 404)])
def test_get_ticket_not_found(aws, seeded, ident, expected):
    status, _, body = get(aws, ident, {"Accept": "text/json"})
    assert status == expected and "was not found" in body["Message"]


# -- races, idempotency --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "winner",
    [
        {"TicketId": 1001, "Action": "IncidentSuspend"},
        {"TicketId": 1001, "Action": "IncidentWaitForThirdParty", "Note": "racing"},
    ],
)
def test_two_racing_pushes_cannot_both_apply(aws, seeded, monkeypatch, winner):
    """The second push read the ticket before the first wrote it: its write fails on the
    version, its command runs again on the winner's ticket, and the action is refused."""
    v0 = canonical(aws, 1001)["version"]
    original = Repository._transact
    raced = []

    def racing_call(self, items, token):
        if not raced:
            raced.append(True)  # between the loser's read and its write, the winner commits
            assert push(aws, winner)[0] == 200
        return original(self, items, token)

    monkeypatch.setattr(Repository, "_transact", racing_call)
    status, _, body = push(aws, {"TicketREF": "INC-001001", "Action": 207})
    assert raced and status == 400
    assert "is not allowed for the Incident in its state" in body["Message"]
    ticket = canonical(aws, 1001)
    assert ticket["version"] == v0 + 1
    assert service.repository().history(1001, limit=10)[0][0].detail["action"] == winner["Action"]


def test_a_racing_change_to_another_field_does_not_refuse_the_push(aws, seeded, monkeypatch):
    v0 = canonical(aws, 1001)["version"]
    original = Repository._transact
    raced = []

    def racing_call(self, items, token):
        if not raced:
            raced.append(True)
            patch(aws, 1001, {"priority": 5})
        return original(self, items, token)

    monkeypatch.setattr(Repository, "_transact", racing_call)
    assert push(aws, {"TicketREF": "INC-001001", "Action": 207})[0] == 200
    ticket = canonical(aws, 1001)
    assert (ticket["priority"], ticket["status"], ticket["version"]) == (5, "on_hold", v0 + 2)


def test_idempotency_key_replays_the_first_result(aws, seeded):
    v0 = canonical(aws, 1001)["version"]
    headers = {"Idempotency-Key": "push-1", "Accept": "application/xml"}
    first = push(aws, {"TicketId": 1001, "Action": 207}, headers=headers)
    again = push(aws, {"TicketId": 1001, "Action": 207}, headers=headers)
    assert first[0] == again[0] == 200 and first[2] == again[2]
    assert again[1]["Idempotent-Replayed"] == "true"
    assert canonical(aws, 1001)["version"] == v0 + 1
    status, _, body = push(aws, {"TicketId": 1001, "Action": 205}, headers={"Idempotency-Key": "push-1"})
    assert status == 422 and "different request body" in body["Message"]


# -- the ticket a push names, read ahead with the client (ticketing.store.readahead) ----------
@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ({"TicketId": 1001, "Action": "IncidentSuspend"}, "application/json"),
        ({"ticketref": "INC-001001", "Action": "IncidentSuspend"}, "application/json"),
        (xml_post("IncidentSuspend", TicketId=1001), "application/xml"),
    ],
    ids=["json-id", "json-ref", "xml"],
)
def test_a_push_reads_its_ticket_with_its_client(aws, seeded, body, content_type):
    assert get(aws, 1001)[0] == 200  # the catalog cached
    with metering.aws_calls() as calls:
        assert push(aws, body, content_type=content_type)[0] == 200
    assert calls == {"BatchGetItem": 1, "TransactWriteItems": 1}
    assert canonical(aws, 1001)["sub_status"] == "suspended"


@pytest.mark.parametrize(
    ("body", "content_type", "reads"),
    [
        ({"TicketId": 1001, "Action": "IncidentSuspend"}, "application/json", {"BatchGetItem": 1}),  # read, not shown
        (BILLION_LAUGHS, "application/xml", {"GetItem": 1}),  # refused by the parser: nothing read ahead
        (EXTERNAL_ENTITY, "text/xml", {"GetItem": 1}),
        ("{", "application/json", {"GetItem": 1}),
    ],
    ids=["json", "billion-laughs", "external-entity", "malformed"],
)
def test_an_unknown_client_is_refused_whatever_its_push_names(aws, seeded, body, content_type, reads):
    assert get(aws, 1001)[0] == 200  # the catalog cached
    v0 = canonical(aws, 1001)["version"]
    started = time.perf_counter()
    with metering.aws_calls() as calls:
        status, _, _ = push(aws, body, content_type=content_type, headers={"Authorization": "Bearer tkt_unknown"})
    assert status == 401 and time.perf_counter() - started < 1.0
    assert calls == reads
    assert canonical(aws, 1001)["version"] == v0
