"""myhrw over HTTP on the local run (the rest: ``tests/integration/test_myhrw.py``)."""

from __future__ import annotations

import json

from doc_myhrw import DOCUMENT_KEYS, ERROR_KEYS, EXAMPLE, EXAMPLE_RESPONSE, PT

CANONICAL = {"Authorization": "Bearer tkt_demo_canonical"}


def _creds(http):
    status, _, creds = http.json("GET", "/_local/credentials")
    assert status == 200
    return {label: {"Authorization": value} for label, value in creds["myhrw"].items()}


def _version_over_http(http):
    status, _, canonical = http.json("GET", "/tickets/1001", headers=CANONICAL)
    assert status == 200
    return canonical["version"]


def test_document_example_over_http(http):
    creds = _creds(http)
    status, headers, body = http.request("PUT", PT.format("TKT0196"), EXAMPLE, creds["myhrw"])
    assert status == 200 and headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(body) == EXAMPLE_RESPONSE
    assert list(json.loads(body)) == DOCUMENT_KEYS


def test_rekey_history_and_canonical_view_over_http(http):
    creds = _creds(http)
    v0 = _version_over_http(http)
    status, _, got = http.json("PUT", PT.format("TKT0196"), {**EXAMPLE, "id": "TKT0196-B"}, creds["myhrw"])
    assert status == 200 and got["id"] == "TKT0196-B"
    assert http.json("PUT", PT.format("TKT0196"), EXAMPLE, creds["myhrw"])[0] == 404
    status, _, got = http.json("PUT", PT.format("TKT0196-B"), {"id": "TKT0196-B", "status": "Done"}, creds["myhrw"])
    assert status == 200 and got["status"] == "Done" and got["priority"] == ""
    status, _, canonical = http.json("GET", "/tickets/1001", headers=CANONICAL)
    assert status == 200
    pts = {(pt["partner_id"], pt["id"]): pt for pt in canonical["tasks"][0]["partner_tickets"]}
    assert (17, "TKT0196") not in pts and pts[(17, "TKT0196-B")]["status"] == "Done"
    status, _, hist = http.json("GET", "/tickets/1001/history", headers=CANONICAL)
    assert [e["event"] for e in hist["items"][:2]] == ["partner_ticket_updated", "partner_ticket_rekeyed"]
    assert [e["version"] for e in hist["items"][:2]] == [v0 + 2, v0 + 1]
    assert http.json("PUT", PT.format("TKT0196-B"), {"id": "TKT0197"}, creds["myhrw"])[0] == 409


def test_refusals_over_http(http):
    creds = _creds(http)
    v0 = _version_over_http(http)
    for headers, url, body, expected in [
        (creds["myhrw_partner18"], PT.format("TKT0196"), EXAMPLE, 404),
        (creds["myhrw_nogroup"], PT.format("TKT0196"), EXAMPLE, 403),
        ({"Authorization": "Bearer wrong"}, PT.format("TKT0196"), EXAMPLE, 401),
        (creds["myhrw"], PT.format("TKT0196"), {"status": "Open"}, 400),
        (creds["myhrw"], "/tickets/abc/tasks/1/partnertickets/TKT0196", EXAMPLE, 400),
        (creds["myhrw"], "/tickets/1001/tasks/x/partnertickets/TKT0196", EXAMPLE, 400),
        (creds["myhrw"], "/tickets/1001/tasks/7/partnertickets/TKT0196", EXAMPLE, 404),
    ]:
        status, out, problem = http.json("PUT", url, body, headers)
        assert status == expected, (url, problem)
        assert list(problem) == ERROR_KEYS and problem["status"] == expected
        assert out["Content-Type"] == "application/json; charset=utf-8"
    assert _version_over_http(http) == v0


def test_post_over_http_with_an_encoded_technical_id(http):
    creds = _creds(http)
    body = {"id": "TKT 0500", "status": "New", "priority": "4 - Low"}
    status, headers, got = http.json("POST", "/tickets/1001/tasks/2/partnertickets", body, creds["myhrw"])
    assert status == 201 and got["id"] == "TKT 0500" and got["ticketTaskId"] == 2
    location = headers["Location"]
    assert location == "/tickets/1001/tasks/2/partnertickets/TKT%200500"
    status, _, got = http.json("PUT", location, {**body, "status": "Open"}, creds["myhrw"])
    assert status == 200 and got["status"] == "Open" and got["priority"] == "4 - Low"
