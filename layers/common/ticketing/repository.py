"""DynamoDB repository: the only module that speaks to the tickets table.

Single-table layout (partition ``pk``, sort ``sk``):

==================  ====================  ==========================================
pk                  sk                    item
==================  ====================  ==========================================
``TICKET#<id>``     ``TICKET``            the ticket (attributes of ``model.Ticket``)
``TICKET#<id>``     ``AUDIT#<version>``   one audit entry per version (10 digits)
``TICKET#<id>``     ``MSG#<seq>``         one conversation message (8 digits)
``COUNTER``         ``ticket``            the id allocator
``CATALOG``         ``default``           optional stored status catalog (JSON)
``REF#<kind>``      ``<key>``             reference data: users, orders, services...
``TICKET#<id>``     ``DELIVERY#<key>``    a claimed scheduled notification (sent once)
==================  ====================  ==========================================

Every change is one ``TransactWriteItems``: the ticket ``Update`` sets only the
attributes that changed and is conditioned on the version that was read, and the
audit entry (and any new message) is put beside it.  When the condition fails the
item that won is returned with the cancellation, the command is applied again to
it, and the write retried: concurrent changes to different fields all survive, a
state change is re-validated against the state that is really there, and an
``If-Match`` version that is no longer current is a 412 instead of a retry.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from ticketing import aws, ids
from ticketing.errors import BadRequest, Conflict, NotFound, PayloadTooLarge, PreconditionFailed, Unavailable
from ticketing.model import Actor, AuditEntry, Change, Message, Ticket, utcnow
from ticketing.moments import check_ticket
from ticketing.observability import count
from ticketing.settings import get_settings

_ser = TypeSerializer()
_deser = TypeDeserializer()

_TRANSIENT = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "LimitExceededException",
}
_THROTTLED_REASONS = {"ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}
_KEY_ATTRS = {"pk", "sk"}
_ALWAYS_WRITTEN = {"version", "updated_at"}
MAX_ATTEMPTS = 6
# A ticket is one DynamoDB item (400 KB at most): a change that would make it larger than this
# (as JSON) is refused with 413 instead of failing in the store as a 500.  Below half the limit
# because the embedded AWS (moto) counts a replaced attribute's old and new value together, and
# an audit entry holds a changed value's before and after.  (The dialects check it too, in
# their own words, where their fields can grow a ticket.)
MAX_TICKET_BYTES = 180_000


# -- (de)serialisation ------------------------------------------------------------
def _to_dynamo(value: Any) -> Any:
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


def marshal(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(v) for k, v in _to_dynamo(doc).items()}


def unmarshal(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _from_dynamo(_deser.deserialize(v)) for k, v in item.items()}


def ticket_doc(ticket: Ticket) -> dict[str, Any]:
    return ticket.model_dump(mode="json", exclude_none=True)


def _pk(ticket_id: int) -> str:
    return f"TICKET#{ticket_id}"


def _ticket_key(ticket_id: int) -> dict[str, Any]:
    return {"pk": {"S": _pk(ticket_id)}, "sk": {"S": "TICKET"}}


# -- the change set a command fills in ---------------------------------------------
@dataclass
class ChangeSet:
    """What a command adds beside its field changes: messages and an audit event."""

    now: datetime
    actor: Actor
    messages: list[Message] = field(default_factory=list)
    event: str = "update"
    detail: dict[str, Any] = field(default_factory=dict)
    record_without_changes: bool = False

    def add_message(
        self, ticket: Ticket, body: str, *, author: str = "", author_id: int | None = None, staff_only: bool = False
    ) -> Message:
        ticket.message_count += 1
        ticket.last_message_at = self.now
        msg = Message(
            seq=ticket.message_count,
            author=author or self.actor.name,
            author_id=author_id,
            body=body,
            staff_only=staff_only,
            created_at=self.now,
        )
        self.messages.append(msg)
        return msg


Command = Callable[[Ticket, ChangeSet], None]


@dataclass
class UpdateResult:
    before: Ticket
    ticket: Ticket
    changes: list[Change]
    changeset: ChangeSet | None = None
    attempts: int = 1

    @property
    def changed(self) -> bool:
        return self.ticket.version != self.before.version


def diff(before: Any, after: Any, path: str = "") -> list[Change]:
    """Leaf-level differences between two JSON documents, for the audit trail."""
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[Change] = []
        for k in sorted(set(before) | set(after), key=str):
            sub = f"{path}.{k}" if path else str(k)
            if k not in after:
                out.append(Change(field=sub, before=before[k], after=None))
            elif k not in before:
                out.append(Change(field=sub, before=None, after=after[k]))
            else:
                out.extend(diff(before[k], after[k], sub))
        return out
    return [] if before == after else [Change(field=path, before=before, after=after)]


def doc_bytes(doc: dict[str, Any]) -> int:
    """A stored document's size, as ``MAX_TICKET_BYTES`` counts it (compact JSON, UTF-8)."""
    return len(json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode())


def ticket_bytes(ticket: Ticket) -> int:
    return doc_bytes(ticket_doc(ticket))


def _check_size(ticket_id: int, doc: dict[str, Any]) -> None:
    size = doc_bytes(doc)
    if size > MAX_TICKET_BYTES:
        raise PayloadTooLarge(
            f"Ticket {ticket_id} would hold {size} bytes with this change, {MAX_TICKET_BYTES} at most; send less."
        )


def _cancellation_reasons(err: ClientError) -> list[dict[str, Any]]:
    return err.response.get("CancellationReasons") or []


def _transient(err: Exception) -> bool:
    if isinstance(err, BotoCoreError):
        return True
    return isinstance(err, ClientError) and err.response.get("Error", {}).get("Code") in _TRANSIENT


def call(client: Any, op: str, **kwargs: Any) -> dict[str, Any]:
    """One DynamoDB call; throttling and outages (after botocore's retries) become ``Unavailable``."""
    try:
        return getattr(client, op)(**kwargs)
    except (ClientError, BotoCoreError) as err:
        if _transient(err):
            raise Unavailable("The ticket store is busy; nothing was changed. Retry shortly.") from err
        raise


class Repository:
    def __init__(self, client: Any | None = None, table: str | None = None):
        self._client = client
        self._table = table

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws.dynamodb()
        return self._client

    @property
    def table(self) -> str:
        if self._table is None:
            self._table = get_settings().tickets_table
        return self._table

    def _call(self, op: str, **kwargs: Any) -> dict[str, Any]:
        return call(self.client, op, **kwargs)

    # -- reads -----------------------------------------------------------------
    def get(self, ticket_id: int) -> Ticket | None:
        resp = self._call("get_item", TableName=self.table, Key=_ticket_key(ticket_id), ConsistentRead=True)
        item = resp.get("Item")
        return Ticket.model_validate(unmarshal(item)) if item else None

    def require(self, ticket_id: int) -> Ticket:
        ticket = self.get(ticket_id)
        if ticket is None:
            raise NotFound(f"Ticket {ticket_id} was not found.")
        return ticket

    def get_many(self, ticket_ids: Iterable[int]) -> dict[int, Ticket]:
        """The tickets that exist among ``ticket_ids``, by id: consistent ``BatchGetItem``
        reads of up to 100 keys each (batch requests), unprocessed keys read again."""
        wanted = list(dict.fromkeys(int(t) for t in ticket_ids))
        found: dict[int, Ticket] = {}
        for start in range(0, len(wanted), 100):
            keys = [_ticket_key(t) for t in wanted[start : start + 100]]
            request: dict[str, Any] = {self.table: {"Keys": keys, "ConsistentRead": True}}
            for attempt in range(8):
                resp = self._call("batch_get_item", RequestItems=request)
                for item in resp.get("Responses", {}).get(self.table, []):
                    ticket = Ticket.model_validate(unmarshal(item))
                    found[ticket.id] = ticket
                request = resp.get("UnprocessedKeys") or {}
                if not request:
                    break
                time.sleep(random.uniform(0, 0.01 * 2**attempt))  # throttled or over 16 MB: back off, read the rest
            else:
                raise Unavailable("The ticket store is busy; nothing was changed. Retry shortly.")
        return found

    def history(
        self, ticket_id: int, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[AuditEntry], str | None]:
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :audit)",
            "ExpressionAttributeValues": {":pk": {"S": _pk(ticket_id)}, ":audit": {"S": "AUDIT#"}},
            "ScanIndexForward": False,
            "Limit": limit,
            "ConsistentRead": True,
        }
        if cursor:
            kwargs["ExclusiveStartKey"] = self._decode_cursor(cursor, ticket_id)
        resp = self._call("query", **kwargs)
        entries = [AuditEntry.model_validate(unmarshal(i)) for i in resp.get("Items", [])]
        last = resp.get("LastEvaluatedKey")
        return entries, (self._encode_cursor(last) if last else None)

    def messages(self, ticket_id: int, *, limit: int = 100) -> list[Message]:
        resp = self._call(
            "query",
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :m)",
            ExpressionAttributeValues={":pk": {"S": _pk(ticket_id)}, ":m": {"S": "MSG#"}},
            ScanIndexForward=False,
            Limit=limit,
        )
        return sorted((Message.model_validate(unmarshal(i)) for i in resp.get("Items", [])), key=lambda m: m.seq)

    @staticmethod
    def _encode_cursor(key: dict[str, Any]) -> str:
        plain = {k: v["S"] for k, v in key.items()}
        return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")

    @staticmethod
    def _decode_cursor(cursor: str, ticket_id: int) -> dict[str, Any]:
        try:
            plain = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            ok = (
                isinstance(plain, dict)
                and set(plain) == _KEY_ATTRS
                and plain["pk"] == _pk(ticket_id)
                and isinstance(plain["sk"], str)
                and plain["sk"].startswith("AUDIT#")
            )
        except (ValueError, binascii.Error, UnicodeDecodeError):
            ok = False
        if not ok:
            raise BadRequest("The cursor is not one this history returned.")
        return {k: {"S": v} for k, v in plain.items()}

    # -- writes ------------------------------------------------------------------
    def allocate_id(self) -> int:
        while True:
            resp = self._call(
                "update_item",
                TableName=self.table,
                Key={"pk": {"S": "COUNTER"}, "sk": {"S": "ticket"}},
                UpdateExpression="ADD #n :one",
                ExpressionAttributeNames={"#n": "next"},
                ExpressionAttributeValues={":one": {"N": "1"}},
                ReturnValues="UPDATED_NEW",
            )
            value = int(resp["Attributes"]["next"]["N"])
            if value > ids.MAX_ID:
                raise Unavailable("The ticket id space is exhausted.")
            if ids.allocatable(value):
                return value

    def set_counter_floor(self, floor: int) -> None:
        """Make the next allocated id larger than ``floor`` (imports, demo data)."""
        try:
            self._call(
                "update_item",
                TableName=self.table,
                Key={"pk": {"S": "COUNTER"}, "sk": {"S": "ticket"}},
                UpdateExpression="SET #n = :f",
                ConditionExpression="attribute_not_exists(#n) OR #n < :f",
                ExpressionAttributeNames={"#n": "next"},
                ExpressionAttributeValues={":f": {"N": str(floor)}},
            )
        except ClientError as err:
            if err.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def create(self, ticket: Ticket, actor: Actor, messages: Iterable[Message] = ()) -> Ticket:
        check_ticket(ticket)  # every datetime aware and within range (ticketing.moments), else a 400
        doc = ticket_doc(ticket)
        _check_size(ticket.id, doc)
        audit = AuditEntry(
            ticket_id=ticket.id,
            version=ticket.version,
            at=ticket.created_at,
            actor=actor.client_id,
            actor_name=actor.name,
            dialect=actor.dialect,
            request_id=actor.request_id,
            event="create",
            changes=[c for c in diff({}, doc) if c.field not in _ALWAYS_WRITTEN],
        )
        items = [self._put(_pk(ticket.id), "TICKET", doc), self._audit_put(audit)]
        items += [self._put(_pk(ticket.id), f"MSG#{m.seq:08d}", m.model_dump(mode="json")) for m in messages]
        try:
            self._call("transact_write_items", TransactItems=items)
        except ClientError as err:
            if err.response["Error"]["Code"] == "TransactionCanceledException":
                raise Conflict(f"Ticket {ticket.id} already exists.") from err
            raise
        count("Creates")
        return ticket

    def update(
        self,
        ticket_id: int,
        command: Command,
        actor: Actor,
        *,
        if_match: int | None = None,
        current: Ticket | None = None,
    ) -> UpdateResult:
        """Apply ``command`` to the ticket in one conditional write, retried on races."""
        current = current or self.require(ticket_id)
        throttled = False
        for attempt in range(1, MAX_ATTEMPTS + 1):
            if if_match is not None and current.version != if_match:
                raise PreconditionFailed(
                    f"Ticket {ticket_id} is at version {current.version}, not {if_match}.",
                    current_version=current.version,
                )
            now = utcnow()
            draft = current.model_copy(deep=True)
            changeset = ChangeSet(now=now, actor=actor)
            command(draft, changeset)
            check_ticket(draft)  # every datetime aware and within range (ticketing.moments), else a 400
            before_doc, after_doc = ticket_doc(current), ticket_doc(draft)
            changed = sorted(
                k
                for k in set(before_doc) | set(after_doc)
                if k not in _ALWAYS_WRITTEN and before_doc.get(k) != after_doc.get(k)
            )
            if not changed and not changeset.messages and not changeset.record_without_changes:
                return UpdateResult(current, current, [], changeset, attempt)
            draft.version = current.version + 1
            draft.updated_at = now
            after_doc = ticket_doc(draft)
            _check_size(ticket_id, after_doc)
            changes = [c for c in diff({k: before_doc.get(k) for k in changed}, {k: after_doc.get(k) for k in changed})]
            audit = AuditEntry(
                ticket_id=ticket_id,
                version=draft.version,
                at=now,
                actor=actor.client_id,
                actor_name=actor.name,
                dialect=actor.dialect,
                request_id=actor.request_id,
                event=changeset.event,
                changes=changes,
                detail=changeset.detail,
            )
            items = [
                self._ticket_update(ticket_id, current.version, changed + sorted(_ALWAYS_WRITTEN), after_doc),
                self._audit_put(audit),
            ]
            items += [
                self._put(_pk(ticket_id), f"MSG#{m.seq:08d}", m.model_dump(mode="json")) for m in changeset.messages
            ]
            try:
                self._call("transact_write_items", TransactItems=items)
                count("Updates")  # the one place a ticket change is written (metric per invocation)
                return UpdateResult(current, draft, changes, changeset, attempt)
            except ClientError as err:
                if err.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                reasons = _cancellation_reasons(err)
                first = reasons[0] if reasons else {}
                throttled = any(r.get("Code") in _THROTTLED_REASONS for r in reasons)
                if first.get("Code") == "ConditionalCheckFailed" and first.get("Item"):
                    current = Ticket.model_validate(unmarshal(first["Item"]))
                else:  # a racing transaction, throttling, or a store that does not return the item
                    time.sleep(random.uniform(0, 0.02 * attempt))
                    current = self.require(ticket_id)
        if throttled:
            raise Unavailable("The ticket store is busy; nothing was changed. Retry shortly.")
        raise Conflict(f"Ticket {ticket_id} is being changed by others too often; retry the request.")

    def _ticket_update(
        self, ticket_id: int, expected_version: int, attrs: list[str], after: dict[str, Any]
    ) -> dict[str, Any]:
        names = {"#pk": "pk", "#v": "version"}
        values = {":expected": {"N": str(expected_version)}}
        sets, removes = [], []
        for i, attr in enumerate(attrs):
            names[f"#a{i}"] = attr
            if attr in after:
                values[f":a{i}"] = _ser.serialize(_to_dynamo(after[attr]))
                sets.append(f"#a{i} = :a{i}")
            else:
                removes.append(f"#a{i}")
        expr = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        return {
            "Update": {
                "TableName": self.table,
                "Key": _ticket_key(ticket_id),
                "UpdateExpression": expr,
                "ConditionExpression": "attribute_exists(#pk) AND #v = :expected",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def _put(self, pk: str, sk: str, doc: dict[str, Any]) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self.table,
                "Item": marshal({**doc, "pk": pk, "sk": sk}),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _audit_put(self, entry: AuditEntry) -> dict[str, Any]:
        return self._put(_pk(entry.ticket_id), f"AUDIT#{entry.version:010d}", entry.model_dump(mode="json"))

    # -- exactly-once side effects (scheduled notifications) --------------------------
    def claim_delivery(self, ticket_id: int, key: str, doc: dict[str, Any], *, version: int) -> str:
        """Claim the side effect ``key`` of a ticket, once, while the ticket is still at ``version``.

        One ``TransactWriteItems``: a ``ConditionCheck`` that the ticket is still at the version
        the caller read (and checked), and a ``Put`` of ``DELIVERY#<key>`` that must not exist.
        Returns ``"claimed"`` (go ahead), ``"taken"`` (claimed before: never do it again) or
        ``"moved"`` (the ticket changed since it was read: read it and check again).
        """
        items = [
            {
                "ConditionCheck": {
                    "TableName": self.table,
                    "Key": _ticket_key(ticket_id),
                    "ConditionExpression": "#v = :v",
                    "ExpressionAttributeNames": {"#v": "version"},
                    "ExpressionAttributeValues": {":v": {"N": str(version)}},
                }
            },
            self._put(_pk(ticket_id), f"DELIVERY#{key}", doc),
        ]
        try:
            self._call("transact_write_items", TransactItems=items)
            return "claimed"
        except ClientError as err:
            if err.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            codes = [r.get("Code") for r in _cancellation_reasons(err)]
            if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
                return "taken"
            return "moved"  # the version moved on, or a racing transaction: read again

    def finish_delivery(self, ticket_id: int, key: str, fields: dict[str, Any]) -> None:
        """Record how a claimed side effect ended (``state``, counts...) on its claim."""
        names = {f"#f{i}": k for i, k in enumerate(fields)}
        values = {f":f{i}": _ser.serialize(_to_dynamo(v)) for i, v in enumerate(fields.values())}
        self._call(
            "update_item",
            TableName=self.table,
            Key={"pk": {"S": _pk(ticket_id)}, "sk": {"S": f"DELIVERY#{key}"}},
            UpdateExpression="SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(fields))),
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def get_delivery(self, ticket_id: int, key: str) -> dict[str, Any] | None:
        resp = self._call(
            "get_item",
            TableName=self.table,
            Key={"pk": {"S": _pk(ticket_id)}, "sk": {"S": f"DELIVERY#{key}"}},
            ConsistentRead=True,
        )
        item = resp.get("Item")
        return unmarshal(item) if item else None

    # -- reference data ------------------------------------------------------------
    def put_reference(self, kind: str, key: str | int, doc: dict[str, Any]) -> None:
        self._call("put_item", TableName=self.table, Item=marshal({**doc, "pk": f"REF#{kind}", "sk": str(key)}))

    def get_references(self, kind: str, keys: Iterable[str | int]) -> dict[str, dict[str, Any]]:
        wanted = list(dict.fromkeys(str(k) for k in keys))
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(wanted), 100):
            keys_page = [{"pk": {"S": f"REF#{kind}"}, "sk": {"S": k}} for k in wanted[start : start + 100]]
            request = {self.table: {"Keys": keys_page}}
            for _ in range(5):
                resp = self._call("batch_get_item", RequestItems=request)
                for item in resp.get("Responses", {}).get(self.table, []):
                    doc = unmarshal(item)
                    found[doc.pop("sk")] = doc
                    doc.pop("pk", None)
                request = resp.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise Unavailable("The ticket store is busy; retry shortly.")
        return found

    def load_catalog_document(self) -> str | None:
        resp = self._call("get_item", TableName=self.table, Key={"pk": {"S": "CATALOG"}, "sk": {"S": "default"}})
        item = resp.get("Item")
        return item["document"]["S"] if item else None

    def store_catalog_document(self, document: str) -> None:
        self._call(
            "put_item",
            TableName=self.table,
            Item={"pk": {"S": "CATALOG"}, "sk": {"S": "default"}, "document": {"S": document}},
        )


def load_catalog_document() -> str | None:
    return Repository().load_catalog_document()
