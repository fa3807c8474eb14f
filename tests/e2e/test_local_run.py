"""End to end: the local run started as the README says, spoken to over HTTP."""

from __future__ import annotations

import pytest


@pytest.fixture
def http(local_run):
    assert local_run.request("POST", "/_local/reset")[0] == 200
    return local_run


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
