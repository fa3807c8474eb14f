"""Items <-> models: (de)serialisation, keys, sizes, bounded audit entries, history cursors."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from ticketing.errors import BadRequest, PayloadTooLarge
from ticketing.model import AuditEntry, Ticket
from ticketing.sizes import NotPlain, doc_size, item_size

_ser = TypeSerializer()
_deser = TypeDeserializer()

KEY_ATTRS = {"pk", "sk"}
# The ticket item's one attribute besides its key that is storage, not ticket: the sort key of the
# audit entry its latest change wrote (``store.writer``), which the change-event consumer finds
# that change's entry by (``ticketing.events``).  Never a field of the model, an answer or a diff.
AUDIT_KEY_ATTR = "audit_sk"
STORAGE_ATTRS = KEY_ATTRS | {AUDIT_KEY_ATTR}
# A ticket is one DynamoDB item (400 KB at most): a change that would make it larger than this
# (by DynamoDB's own size rules, ``ticketing.sizes``) is refused with 413 instead of failing in the
# store as a 500.  Below half the limit because the embedded AWS (moto) counts a replaced
# attribute's old and new value together.  (The dialects check it too, in their own words, where
# their fields can grow a ticket: this is the one definition.)
MAX_TICKET_BYTES = 180_000
# An audit entry keeps each change's before and after whole while the entry stays within
# AUDIT_ITEM_BYTES; past that, values over AUDIT_VALUE_BYTES are kept as a digest (the ticket
# holds the new value; the history says what changed, how large it was, and its hash).
AUDIT_ITEM_BYTES = 64 * 1024
AUDIT_VALUE_BYTES = 1024


# -- (de)serialisation ------------------------------------------------------------
def to_dynamo(value: Any) -> Any:
    # floats must travel as Decimal; a JSON round trip does that for nested values too
    return json.loads(json.dumps(value), parse_float=Decimal)


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, (list, set, tuple)):
        return [_from_dynamo(v) for v in value]
    return value


def serialize(value: Any) -> dict[str, Any]:
    """One value as a typed attribute value (``{"S": ...}``, ``{"M": ...}``...)."""
    return _ser.serialize(to_dynamo(value))


def marshal(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(v) for k, v in to_dynamo(doc).items()}


def unmarshal(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _from_dynamo(_deser.deserialize(v)) for k, v in item.items()}


def ticket_doc(ticket: Ticket) -> dict[str, Any]:
    """The ticket's fields as stored (the model's: never its key nor ``AUDIT_KEY_ATTR``)."""
    return ticket.model_dump(mode="json", exclude_none=True)


def from_item(item: dict[str, Any]) -> Ticket:
    """A ticket from its stored item (its key and ``AUDIT_KEY_ATTR`` left out), keeping the item
    as stored (its values guard a write)."""
    ticket = Ticket.model_validate(unmarshal({k: v for k, v in item.items() if k not in STORAGE_ATTRS}))
    ticket._stored = item
    return ticket


def stored_item(ticket: Ticket) -> dict[str, Any]:
    """The ticket's item as it was read (typed values); as it would be written when not read."""
    return ticket._stored if ticket._stored is not None else marshal(ticket_doc(ticket))


# -- keys --------------------------------------------------------------------------
def pk(ticket_id: int) -> str:
    return f"TICKET#{ticket_id}"


def ticket_key(ticket_id: int) -> dict[str, Any]:
    return {"pk": {"S": pk(ticket_id)}, "sk": {"S": "TICKET"}}


def audit_key(at: datetime, nonce: str) -> str:
    """An audit entry's sort key: when the change was made (UTC, microseconds), then a nonce.
    It does not depend on a version read beforehand, so writers that commute never collide on it."""
    return f"AUDIT#{at.astimezone(UTC):%Y-%m-%dT%H:%M:%S.%fZ}#{nonce}"


# what ``AUDIT_KEY_ATTR`` adds to a ticket item's size: its name and a key (a writer's nonce is
# 14 characters: 12 of hex and the try's number, ``store.writer``)
AUDIT_KEY_BYTES = len(AUDIT_KEY_ATTR) + len(audit_key(datetime(2000, 1, 1, tzinfo=UTC), "0" * 14))


def message_key(seq: int) -> str:
    return f"MSG#{seq:08d}"


def delivery_key(ticket_id: int, key: str) -> dict[str, Any]:
    return {"pk": {"S": pk(ticket_id)}, "sk": {"S": f"DELIVERY#{key}"}}


def reference_key(kind: str, key: str) -> dict[str, Any]:
    return {"pk": {"S": f"REF#{kind}"}, "sk": {"S": key}}


# -- sizes -------------------------------------------------------------------------
def doc_bytes(doc: dict[str, Any]) -> int:
    """A stored document's size as DynamoDB counts it (``MAX_TICKET_BYTES`` is in these bytes):
    counted from the document (a JSON one: ``ticket_doc``, an audit entry's), else from its item."""
    try:
        return doc_size(doc)
    except NotPlain:
        return item_size(marshal(doc))


def ticket_item_bytes(doc: dict[str, Any]) -> int:
    """A ticket item's size: its fields ``doc`` and ``AUDIT_KEY_ATTR`` (``MAX_TICKET_BYTES``
    counts both)."""
    return doc_bytes(doc) + AUDIT_KEY_BYTES


def ticket_bytes(ticket: Ticket) -> int:
    return ticket_item_bytes(ticket_doc(ticket))


def check_size(ticket_id: int, doc: dict[str, Any]) -> None:
    size = ticket_item_bytes(doc)
    if size > MAX_TICKET_BYTES:
        raise PayloadTooLarge(
            f"Ticket {ticket_id} would hold {size} bytes with this change, {MAX_TICKET_BYTES} at most; send less."
        )


def _digest(value: Any) -> dict[str, Any]:
    raw = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    return {"omitted": "too large for the audit trail", "bytes": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}


def bounded(entry: AuditEntry) -> AuditEntry:
    """The entry, with its large values digested if it would outgrow ``AUDIT_ITEM_BYTES``."""
    if doc_bytes(entry.model_dump(mode="json")) <= AUDIT_ITEM_BYTES:
        return entry
    for limit in (AUDIT_VALUE_BYTES, 0):  # the large values first; then, if need be, every value
        for change in entry.changes:
            for side in ("before", "after"):
                value = getattr(change, side)
                if value is not None and doc_bytes({"v": value}) > limit:
                    setattr(change, side, _digest(value))
        if doc_bytes(entry.model_dump(mode="json")) <= AUDIT_ITEM_BYTES:
            break
    entry.detail = {"changes_digested": True, **entry.detail}
    return entry


# -- history cursors ---------------------------------------------------------------
def encode_cursor(key: dict[str, Any], label: int | None) -> str:
    """A history page's cursor: the last key read and the version its next entry is given."""
    plain: dict[str, Any] = {k: v["S"] for k, v in key.items()}
    if label is not None:
        plain["n"] = label
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, ticket_id: int) -> tuple[dict[str, Any], int | None]:
    try:
        plain = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        ok = (
            isinstance(plain, dict)
            and set(plain) - {"n"} == KEY_ATTRS
            and (type(plain.get("n", 0)) is int)
            and plain["pk"] == pk(ticket_id)
            and isinstance(plain["sk"], str)
            and plain["sk"].startswith("AUDIT#")
        )
    except (ValueError, binascii.Error, UnicodeDecodeError):
        ok = False
    if not ok:
        raise BadRequest("The cursor is not one this history returned.")
    return {k: {"S": plain[k]} for k in KEY_ATTRS}, plain.get("n")
