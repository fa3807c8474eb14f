"""Item sizes by DynamoDB's rules (no moto), and what they bound: the ticket and its audit entry."""

from __future__ import annotations

import json

import pytest
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


def test_a_document_is_counted_as_its_marshalled_item():
    import random

    rng = random.Random(7)

    def value(depth: int):
        pick = rng.randrange(9 if depth < 3 else 6)
        if pick == 0:
            return rng.choice(["", "a", "é", "日本", "x" * rng.randrange(50)])
        if pick == 1:
            return rng.choice([0, 1, -7, 10**20, 123456789, -(10**37)])
        if pick == 2:
            return rng.choice([0.5, 1e-07, 1.0, -2.25, 1e16, 3.141592653589793, 1e99, -1e-99])
        if pick == 3:
            return rng.choice([True, False])
        if pick in (4, 5):
            return None
        if pick in (6, 7):
            return [value(depth + 1) for _ in range(rng.randrange(4))]
        return {rng.choice(["k", "ключ", "", "a b"]) + str(i): value(depth + 1) for i in range(rng.randrange(4))}

    for _ in range(500):
        doc = {f"f{i}": value(0) for i in range(rng.randrange(1, 8))}
        assert sizes.doc_size(doc) == sizes.item_size(marshal(doc)), doc
    # what JSON does not hold is counted from the marshalled item, or refused as marshal refuses it
    for odd in ({"k": {1: "a"}}, {"k": float("inf")}, {"k": 1e300}, {"k": 10**40}, {"k": b"x"}):
        with pytest.raises(sizes.NotPlain):
            sizes.doc_size(odd)
        try:
            expected = sizes.item_size(marshal(odd))
        except Exception as refused:
            with pytest.raises(type(refused)):
                doc_bytes(odd)
        else:
            assert doc_bytes(odd) == expected
