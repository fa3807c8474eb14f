"""servicedesk over HTTP on the local run (the rest: ``tests/integration/test_servicedesk.py``)."""

from __future__ import annotations

import threading
import time
import xml.etree.ElementTree as ET

import pytest
from doc_servicedesk import BILLION_LAUGHS, DOC_JSON, EXTERNAL_ENTITY, GET, NS_RESULTS, PUSH, xml_post


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
