"""End to end: the local run started as the README says, spoken to over HTTP."""

from __future__ import annotations


def _auth(http, dialect="canonical", label=None):
    status, _, creds = http.json("GET", "/_local/credentials")
    assert status == 200
    values = creds[dialect]
    return {"Authorization": values[label] if label else next(iter(values.values()))}


def test_canonical_api_over_http(http):
    auth = _auth(http)
    status, headers, created = http.json("POST", "/tickets", {"title": "Over HTTP", "type": "incident"}, auth)
    assert status == 201 and headers["Location"] == f"/tickets/{created['id']}"
    assert headers["x-amzn-RequestId"]
    status, headers, got = http.json("GET", f"/tickets/{created['ref']}", headers=auth)
    assert status == 200 and got["title"] == "Over HTTP" and headers["ETag"] == '"1"'
    status, _, _ = http.json(
        "PATCH", f"/tickets/{created['id']}", {"status": "in_progress"}, {**auth, "If-Match": '"1"'}
    )
    assert status == 200
    status, _, hist = http.json("GET", f"/tickets/{created['id']}/history", headers=auth)
    assert status == 200 and [e["version"] for e in hist["items"]] == [2, 1]
    assert hist["items"][0]["changes"][0] == {"field": "status", "before": "new", "after": "in_progress"}


def test_bad_token_is_401_problem(http):
    status, headers, problem = http.json("GET", "/tickets/1001", headers={"Authorization": "Bearer wrong"})
    assert status == 401 and headers["Content-Type"] == "application/problem+json"
    assert problem["status"] == 401


def test_unknown_route_is_api_gateways_403(http):
    status, _, body = http.json("GET", "/no/such/route")
    assert status == 403 and body == {"message": "Missing Authentication Token"}


def test_reset_restores_the_demo_data(http):
    auth = _auth(http)
    _, _, created = http.json("POST", "/tickets", {"title": "Gone after reset"}, auth)
    assert http.request("POST", "/_local/reset")[0] == 200
    assert http.json("GET", f"/tickets/{created['id']}", headers=auth)[0] == 404
    assert http.json("GET", "/tickets/1001", headers=auth)[0] == 200


def test_outbox_starts_empty(http):
    status, _, box = http.json("GET", "/_local/outbox")
    assert status == 200 and box == {"emails": [], "sms": []}


def test_every_demo_credential_authenticates_for_its_dialect(http):
    _, _, creds = http.json("GET", "/_local/credentials")
    assert set(creds) >= {"canonical", "myhrw", "spp", "particlespace", "kapture", "servicedesk"}
    assert creds["kapture"]["kapture"].startswith("Basic ")


def test_openapi_document_is_served(http):
    status, _, doc = http.json("GET", "/openapi.json")
    assert status == 200 and doc["openapi"].startswith("3.")
    assert "/tickets/{id}" in doc["paths"] and "/api/Tickets/WorkflowPush" in doc["paths"]


def test_settle_returns_once_what_a_change_set_off_is_done(http):
    """POST /_local/settle: no sleeping "long enough" -- once it answers, the stream has been handed
    to its consumers, the notice they wrote sent (two stream hops and the notifier), and a second
    settle has nothing left to do."""
    from urllib.parse import urlencode

    from doc_particlespace import AUTH, EXAMPLE, FORM, KEY

    status, _, body = http.json("POST", "/_local/settle")
    assert status == 200 and body["settled"] is True
    assert http.json("GET", "/_local/outbox")[2]["emails"] == []
    data = urlencode({**EXAMPLE, "automated": 0}).encode()
    assert http.json("PUT", f"/api/v1/ticket/{KEY}", data, {**AUTH, **FORM})[0] == 200
    status, _, body = http.json("POST", "/_local/settle?timeout=20")
    assert status == 200 and body["settled"] is True and body["rounds"] >= 2
    emails = http.json("GET", "/_local/outbox")[2]["emails"]
    assert len(emails) == 1 and emails[0]["to"] == ["example@example.com"]
    status, _, body = http.json("POST", "/_local/settle")
    assert status == 200 and body["rounds"] == 1  # nothing more to do
    assert len(http.json("GET", "/_local/outbox")[2]["emails"]) == 1
    assert http.json("POST", "/_local/settle?timeout=soon")[0] == 400
