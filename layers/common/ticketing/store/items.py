"""The transaction items a change writes: the ticket's guarded ``Update`` and the puts beside it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ticketing.commands import OutboxItem
from ticketing.model import Actor, AuditEntry
from ticketing.store.codec import AUDIT_KEY_ATTR, marshal, pk, serialize, ticket_key

OUTBOX_DAYS = 7  # outbox items outlive the stream's 24 h retention, then expire (TTL)
EXPIRES_ATTR = "expires_at"
# every write sets them itself (the entry's key: storage, never a field of the model or the diff)
ALWAYS_WRITTEN = {"version", "updated_at", AUDIT_KEY_ATTR}
NEVER_GUARDED = {"id", *ALWAYS_WRITTEN}  # the key; and what every write sets itself
# Maps whose keys are independent of each other (a key changes from what that key held, never
# from another key): written and guarded key by key, so writers of different keys commute.
KEYED_MAPS = frozenset({"metadata", "extra", "tasks"})

Path = tuple[str, ...]


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = _Absent()


def writes_and_guards(
    stored: dict[str, Any], before: dict[str, Any], after: dict[str, Any], changed: list[str], reads: set[str]
) -> tuple[list[tuple[Path, Any]], list[tuple[Path, Any]]]:
    """What the ticket's Update writes (path, value or ABSENT) and what it is conditioned on
    (path, the stored value as read, or None for absent): the fields the command changed and
    read, each compared with the value it was read with, as stored (not as re-serialised)."""
    writes: list[tuple[Path, Any]] = []
    guards: list[tuple[Path, Any]] = []
    for attr in changed:
        old, new, raw = before.get(attr), after.get(attr), stored.get(attr)
        if attr in KEYED_MAPS and isinstance(old, dict) and isinstance(new, dict) and raw and "M" in raw:
            for key in sorted(set(old) | set(new)):
                if old.get(key) != new.get(key):
                    writes.append(((attr, key), new.get(key, ABSENT)))
                    guards.append(((attr, key), raw["M"].get(key)))
            continue
        writes.append(((attr,), new if attr in after else ABSENT))
        guards.append(((attr,), raw))
    for attr in sorted(reads - set(changed) - NEVER_GUARDED):
        guards.append(((attr,), stored.get(attr)))
    return writes, guards


def ticket_update(
    table: str,
    ticket_id: int,
    writes: list[tuple[Path, Any]],
    after_updated_at: str,
    guards: list[tuple[Path, Any]],
    expected_version: int | None,
    audit_sk: str,
) -> dict[str, Any]:
    """The ticket's ``Update``: SET (or REMOVE, for ``ABSENT``) each written path and
    ``AUDIT_KEY_ATTR`` (``audit_sk``: the key of the audit entry put beside it), the version
    counted up with ADD; conditioned on each guarded path still holding the stored value the
    command saw (None: absent) and, with If-Match, on the version."""
    names: dict[str, str] = {"#pk": "pk", "#v": "version", "#u": "updated_at", "#a": AUDIT_KEY_ATTR}
    values: dict[str, Any] = {":one": {"N": "1"}, ":u": {"S": after_updated_at}, ":a": {"S": audit_sk}}

    def path(parts: Path) -> str:
        out = []
        for part in parts:
            alias = f"#n{len(names)}"
            names[alias] = part
            out.append(alias)
        return ".".join(out)

    sets, removes = ["#u = :u", "#a = :a"], []
    for i, (parts, value) in enumerate(writes):
        if value is ABSENT:
            removes.append(path(parts))
        else:
            values[f":w{i}"] = serialize(value)
            sets.append(f"{path(parts)} = :w{i}")
    conditions = ["attribute_exists(#pk)"]
    for i, (parts, stored) in enumerate(guards):
        if stored is None:
            conditions.append(f"attribute_not_exists({path(parts)})")
        else:
            values[f":g{i}"] = stored
            conditions.append(f"{path(parts)} = :g{i}")
    if expected_version is not None:
        values[":expected"] = {"N": str(expected_version)}
        conditions.append("#v = :expected")
    expr = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "") + " ADD #v :one"
    return {
        "Update": {
            "TableName": table,
            "Key": ticket_key(ticket_id),
            "UpdateExpression": expr,
            "ConditionExpression": " AND ".join(conditions),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def put(table: str, pk_: str, sk: str, doc: dict[str, Any], *, unique: bool = True) -> dict[str, Any]:
    item: dict[str, Any] = {"TableName": table, "Item": marshal({**doc, "pk": pk_, "sk": sk})}
    if unique:
        item["ConditionExpression"] = "attribute_not_exists(pk)"
    return {"Put": item}


def audit_put(table: str, entry: AuditEntry, key: str) -> dict[str, Any]:
    return put(table, pk(entry.ticket_id), key, entry.model_dump(mode="json"))


def outbox_put(table: str, ticket_id: int, item: OutboxItem, actor: Actor, now: datetime) -> dict[str, Any]:
    """An outbox item: the stream hands it to its consumer once committed.  Not conditioned:
    the same intent recorded again (a replayed request) is the same item."""
    doc = {
        "kind": item.kind,
        "doc": item.doc,
        "ticket_id": ticket_id,
        "request_id": actor.request_id,
        "at": now.isoformat(),
        EXPIRES_ATTR: int((now + timedelta(days=OUTBOX_DAYS)).timestamp()),
    }
    return put(table, pk(ticket_id), f"OUTBOX#{item.id}", doc, unique=False)
