"""Sizes on the store: refused before any write, audit entries within budget
(the rest: ``tests/unit/test_sizes.py``)."""

from __future__ import annotations

import json

from ticketing.store.codec import AUDIT_ITEM_BYTES, doc_bytes

from devkit.local import apigateway as apigw

AUTH = {"Authorization": "Bearer tkt_demo_canonical", "Content-Type": "application/json"}


def test_a_metadata_value_too_large_by_dynamodbs_rules_is_refused_before_any_write(aws, seeded):
    body = json.dumps({"metadata": {"x": [1] * 85_000}})
    resp = apigw.request(aws, "PATCH", "/tickets/1001", body=body, headers=AUTH)
    assert resp["statusCode"] == 413, resp["body"]
    got = json.loads(apigw.request(aws, "GET", "/tickets/1001", headers=AUTH)["body"])
    assert got["version"] == 1


def test_an_audit_entry_never_outgrows_its_budget(aws, seeded):
    from ticketing import service

    for letter in "ab":
        body = json.dumps({"metadata": {"x": letter * 80_000}})
        assert apigw.request(aws, "PATCH", "/tickets/1001", body=body, headers=AUTH)["statusCode"] == 200
    entries, _ = service.repository().history(1001, limit=1)
    entry = entries[0]
    assert doc_bytes(entry.model_dump(mode="json")) <= AUDIT_ITEM_BYTES
    (change,) = entry.changes
    assert change.field == "metadata.x"
    assert (
        change.before["bytes"] == change.after["bytes"] == 80_002 and change.before["sha256"] != change.after["sha256"]
    )
    assert entry.detail["changes_digested"] is True
    assert service.repository().get(1001).metadata["x"] == "b" * 80_000  # the ticket holds the value
