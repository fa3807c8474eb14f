"""Datetimes over HTTP on the local run (the rest: ``tests/integration/test_datetimes.py``)."""

from __future__ import annotations

from urllib.parse import urlencode

from datetime_rules import NAIVE, PS_FIELDS, RANGE, problem, ps_problem
from doc_kapture import URL as KAPTURE_URL
from doc_kapture import element
from doc_particlespace import AUTH as PARTICLESPACE
from doc_particlespace import FORM
from doc_particlespace import KEY as PS_KEY  # demo ticket 1002

CANONICAL = {"Authorization": "Bearer tkt_demo_canonical"}


def test_http_canonical_naive_follow_up_refused_then_kapture_updates(http):
    _, _, before = http.json("GET", "/tickets/1004", headers=CANONICAL)
    status, headers, body = http.json("PATCH", "/tickets/1004", {"follow_up_at": "2030-01-01T00:00:00"}, CANONICAL)
    assert status == 400 and headers["Content-Type"] == "application/problem+json"
    assert body == problem("/tickets/1004", body, "follow_up_at", NAIVE)
    assert http.json("GET", "/tickets/1004", headers=CANONICAL)[2] == before
    _, _, creds = http.json("GET", "/_local/credentials")
    kapture_auth = {"Authorization": creds["kapture"]["kapture"]}
    status, _, body = http.json("POST", KAPTURE_URL, [element(ticket_id="1004", sub_status="PS")], kapture_auth)
    assert status == 200 and body["status"] == "success"


def test_http_particlespace_year_9999_time_refused(http):
    _, _, before = http.json("GET", "/tickets/1002", headers=CANONICAL)
    for value in ("9999-12-31T23:59:59-05:00", "9999-12-31 23:59:59", "0001-01-01T00:00:00+05:00"):
        data = urlencode({**PS_FIELDS, "time": value}).encode()
        status, headers, body = http.json("PUT", f"/api/v1/ticket/{PS_KEY}", data, {**PARTICLESPACE, **FORM})
        assert status == 400 and headers["Content-Type"] == "application/json"
        assert body == ps_problem(body, RANGE)
    assert http.json("GET", "/tickets/1002", headers=CANONICAL)[2] == before
    assert http.json("GET", "/_local/schedules")[2] == []
