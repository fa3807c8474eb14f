"""SPP over HTTP on the local run (the rest: ``tests/integration/test_spp.py``)."""

from __future__ import annotations

import uuid

from doc_spp import TICKET_KEYS, TIMESTAMP, URL
from ticketing.dialects import spp

CANONICAL = {"Authorization": "Bearer tkt_demo_canonical"}


def _spp_auth(http, label="spp"):
    status, _, creds = http.json("GET", "/_local/credentials")
    assert status == 200
    return {"Authorization": creds["spp"][label]}


def test_spp_status_change_is_read_through_the_canonical_api_over_http(http):
    auth = _spp_auth(http)
    status, headers, body = http.json(
        "PUT", URL, {"status": 3, "tags[]": ["http"]}, {**auth, "X-Api-Version": "20231214"}
    )
    assert status == 200 and headers["X-Api-Version"] == "20231214" and uuid.UUID(headers["X-Api-Identifier"])
    assert list(body) == TICKET_KEYS and body["status"] == "Pending" and body["tags"] == ["http"]
    status, _, got = http.json("GET", "/tickets/1001", headers=CANONICAL)
    assert status == 200 and got["status"] == "pending" and got["tags"] == ["http"]
    status, _, hist = http.json("GET", "/tickets/1001/history", headers=CANONICAL)
    assert hist["items"][0]["dialect"] == "spp"


def test_canonical_status_change_shows_in_spp_over_http(http):
    auth = _spp_auth(http)
    status, _, _ = http.json("PATCH", "/tickets/1004", {"status": "resolved"}, CANONICAL)
    assert status == 200
    status, headers, body = http.json("PUT", "/api/tickets/C0597C96", {}, auth)
    assert status == 200 and headers["ETag"] == '"2"'
    assert body["status"] == "Resolved" and TIMESTAMP.match(body["date_closed"])
    assert body["order_id"] == 2 and body["client"]["name"] == "Mia Novak"


def test_refusals_over_http_carry_the_spp_headers(http):
    for headers, url, body, expected in [
        ({}, URL, {"status": 3}, 401),
        (_spp_auth(http, "spp_readonly"), URL, {"status": 3}, 403),
        (_spp_auth(http), "/api/tickets/E4A269FC", {"status": 3}, 404),
        (_spp_auth(http), URL, {"employees": [99]}, 400),
        ({**_spp_auth(http), "X-Api-Version": "1999-01-01"}, URL, {}, 400),
    ]:
        status, out, got = http.json("PUT", url, body, headers)
        assert status == expected, (url, got)
        assert uuid.UUID(out["X-Api-Identifier"]) and out["X-Api-Version"] == spp.DEFAULT_VERSION
        assert set(got) == {"message", "errors"}


def test_reference_data_over_http(http):
    status, _, _ = http.json("PUT", "/users/10", {"name_f": "Zoe", "name_l": "Lee", "group_id": 1}, CANONICAL)
    assert status == 201
    status, _, body = http.json("PUT", URL, {"employees": [10]}, _spp_auth(http))
    assert status == 200 and body["employees"][0]["name_f"] == "Zoe"
