"""Item sizes by DynamoDB's rules (no moto), and what they bound: the ticket and its audit entry."""

from __future__ import annotations

import json

from ticketing import sizes
from ticketing.model import AuditEntry, Change
from ticketing.repository import AUDIT_ITEM_BYTES, bounded, doc_bytes, marshal

from devkit import apigw

AUTH = {"Authorization": "Bearer tkt_demo_canonical", "Content-Type": "application/json"}


def test_sizes_by_the_rules():
    # "pk" (2) + "TICKET#1" (8); "n" (1) + 12345 (3 digits pairs -> 3 + 1); "l" (1) + [1, 1] (3 + 2*(2+1))
    assert sizes.item_size({"pk": {"S": "TICKET#1"}}) == 10
    assert sizes.item_size({"n": {"N": "12345"}}) == 1 + 4
    assert sizes.item_size({"l": {"L": [{"N": "1"}, {"N": "1"}]}}) == 1 + 3 + 2 * 3
    assert sizes.item_size({"m": {"M": {"ab": {"BOOL": True}}}}) == 1 + 3 + (2 + 1 + 1)
    assert sizes.item_size({"s": {"S": "é"}}) == 1 + 2  # UTF-8 bytes
    assert sizes.attribute_size({"N": "0.00100"}) == 2  # one significant digit


def test_a_list_of_small_numbers_counts_more_than_its_json():
    doc = {"metadata": {"x": [1] * 85_000}}
    assert len(json.dumps(doc, separators=(",", ":"))) < 180_000 < doc_bytes(doc)
    assert doc_bytes(doc) == sizes.item_size(marshal(doc))


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


def test_bounded_leaves_small_entries_alone():
    entry = AuditEntry(
        ticket_id=1,
        version=2,
        at="2026-01-01T00:00:00Z",
        actor="a",
        dialect="d",
        changes=[Change(field="title", before="a", after="b")],
    )
    assert bounded(entry).changes[0].after == "b" and "changes_digested" not in entry.detail
