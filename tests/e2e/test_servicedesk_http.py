"""servicedesk over HTTP on the local run (the rest: ``tests/integration/test_servicedesk.py``)."""

from __future__ import annotations

import threading
import time
import xml.etree.ElementTree as ET

import pytest
from ticketing.dialects.servicedesk import datacontract, models

PUSH = "/api/Tickets/WorkflowPush"


GET = "/api/Tickets/GetTicket/"


NS_POSTS = datacontract.NS_POSTS


NS_RESULTS = datacontract.NS_RESULTS


XMLNS = f'xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="{NS_POSTS}"'


DOC_JSON = (
    '{ "TicketId": null, "TicketREF": "INC-000047", "Action": 207, "UserProviderKey": null, '
    '"ServiceId": null, "CustomerId": null, "Note": null }'
)


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    + f"]><WorkflowPushPost {XMLNS}><Action>IncidentSuspend</Action><TicketREF>&lol9;</TicketREF></WorkflowPushPost>"
)


EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE WorkflowPushPost [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    f"<WorkflowPushPost {XMLNS}><Action>IncidentSuspend</Action><Note>&xxe;</Note>"
    "<TicketREF>INC-001001</TicketREF></WorkflowPushPost>"
)


def xml_post(action, **fields) -> str:
    """A WorkflowPushPost as DataContractSerializer writes it (members in alphabetical order)."""
    values = {"Action": action, **fields}
    parts = []
    for name in models.FIELDS:
        value = values.get(name)
        parts.append(f'<{name} i:nil="true" />' if value is None else f"<{name}>{value}</{name}>")
    return f"<WorkflowPushPost {XMLNS}>{''.join(parts)}</WorkflowPushPost>"


def _creds(http) -> dict[str, str]:
    status, _, creds = http.json("GET", "/_local/credentials")
    assert status == 200
    return {"Authorization": creds["servicedesk"]["servicedesk"]}


def _version(http, ticket_id) -> int:
    status, _, ticket = http.json(
        "GET", f"/tickets/{ticket_id}", headers={"Authorization": "Bearer tkt_demo_canonical"}
    )
    assert status == 200
    return ticket["version"]


@pytest.fixture
def http(local_run):
    assert local_run.request("POST", "/_local/reset")[0] == 200
    return local_run


def test_over_http_push_json_and_xml_and_read_back(http):
    auth = _creds(http)
    status, headers, body = http.json(
        "POST", PUSH, {"TicketREF": "INC-001001", "Action": 207}, {**auth, "Content-Type": "application/json"}
    )
    assert status == 200 and body == {"TicketREF": "INC-001001", "TicketId": 1001}
    status, _, ticket = http.json("GET", "/tickets/1001", headers={"Authorization": "Bearer tkt_demo_canonical"})
    assert (ticket["status"], ticket["sub_status"]) == ("on_hold", "suspended")

    status, headers, raw = http.request(
        "POST",
        PUSH,
        xml_post("IncidentResume", TicketREF="INC-001001").encode(),
        {**auth, "Content-Type": "text/xml"},
    )
    assert status == 200 and headers["Content-Type"] == "text/xml; charset=utf-8"
    assert ET.fromstring(raw).findtext(f"{{{NS_RESULTS}}}TicketREF") == "INC-001001"

    status, headers, raw = http.request("GET", GET + "INC-001001", headers={**auth, "Accept": "application/xml"})
    assert status == 200 and ET.fromstring(raw).findtext(f"{{{NS_RESULTS}}}State") == "Assigned"
    status, _, ticket = http.json("GET", "/tickets/1001", headers={"Authorization": "Bearer tkt_demo_canonical"})
    assert (ticket["status"], ticket["sub_status"]) == ("open", "assigned")


def test_over_http_conversion_and_document_sample(http):
    auth = {**_creds(http), "Content-Type": "application/json"}
    assert http.json("POST", PUSH, DOC_JSON.encode(), auth)[0] == 400
    status, _, body = http.json("POST", PUSH, {"TicketREF": "TIC-001002", "Action": 101, "ServiceId": 10}, auth)
    assert status == 200 and body["TicketREF"] == "INC-001002"
    status, _, view = http.json("GET", GET + "TIC-001002", headers=auth)
    assert status == 200 and view["TicketREF"] == "INC-001002" and view["TicketType"] == "Incident"


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_over_http_xml_attacks_are_refused_quickly(http, body):
    auth = _creds(http)
    v0 = _version(http, 1001)
    started = time.perf_counter()
    status, _, raw = http.request("POST", PUSH, body.encode(), {**auth, "Content-Type": "application/xml"})
    assert status == 400 and time.perf_counter() - started < 2.0
    assert ET.fromstring(raw).tag == "Error"
    status, _, ticket = http.json("GET", "/tickets/1001", headers={"Authorization": "Bearer tkt_demo_canonical"})
    assert ticket["version"] == v0 and ticket["note"] == ""


def test_over_http_concurrent_pushes_apply_once(http):
    auth = {**_creds(http), "Content-Type": "application/json"}
    v0 = _version(http, 1001)
    results: list[int] = []
    barrier = threading.Barrier(4)

    def one():
        barrier.wait()
        results.append(http.json("POST", PUSH, {"TicketId": 1001, "Action": "IncidentSuspend"}, auth)[0])

    threads = [threading.Thread(target=one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 400, 400, 400]
    status, _, ticket = http.json("GET", "/tickets/1001", headers={"Authorization": "Bearer tkt_demo_canonical"})
    assert status == 200 and ticket["version"] == v0 + 1 and ticket["status"] == "on_hold"
