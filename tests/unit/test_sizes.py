"""Item sizes by DynamoDB's rules (no moto), and what they bound: the ticket and its audit entry."""

from __future__ import annotations

import json

from ticketing import sizes
from ticketing.model import AuditEntry, Change
from ticketing.store.codec import bounded, doc_bytes, marshal


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
