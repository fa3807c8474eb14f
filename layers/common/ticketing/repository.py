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
import hashlib
import json
import random
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from ticketing import aws, ids
from ticketing.commands import (
    AlreadyApplied,
    ChangeSet,
    Command,
    OutboxItem,
    UpdateResult,
    diff,
    reading,
    render_answer,
)
from ticketing.errors import BadRequest, Conflict, NotFound, PayloadTooLarge, PreconditionFailed, Unavailable
from ticketing.model import Actor, AuditEntry, Message, Ticket, utcnow
from ticketing.moments import check_ticket
from ticketing.observability import count, logger
from ticketing.settings import get_settings
from ticketing.sizes import item_size

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
_NEVER_GUARDED = {"id", "version", "updated_at"}  # the key; and the two every write sets itself
# A change that meets a true conflict (another writer changed a field it read or wrote) is
# applied again to the winner's ticket, with full-jitter exponential backoff, for at most this
# long: well under the functions' 10 s timeout (botocore's own retries come on top of it).
WRITE_BUDGET_SECONDS = 8.0
BACKOFF_BASE_SECONDS = 0.005
BACKOFF_CAP_SECONDS = 0.2
OUTBOX_DAYS = 7  # outbox items outlive the stream's 24 h retention, then expire (TTL)
EXPIRES_ATTR = "expires_at"
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


def audit_key(at: datetime, nonce: str) -> str:
    """An audit entry's sort key: when the change was made (UTC, microseconds), then a nonce.
    It does not depend on a version read beforehand, so writers that commute never collide on it."""
    return f"AUDIT#{at.astimezone(UTC):%Y-%m-%dT%H:%M:%S.%fZ}#{nonce}"


def _pk(ticket_id: int) -> str:
    return f"TICKET#{ticket_id}"


def _ticket_key(ticket_id: int) -> dict[str, Any]:
    return {"pk": {"S": _pk(ticket_id)}, "sk": {"S": "TICKET"}}


def doc_bytes(doc: dict[str, Any]) -> int:
    """A stored document's size as DynamoDB counts it (``MAX_TICKET_BYTES`` is in these bytes)."""
    return item_size(marshal(doc))


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
        return from_item(item) if item else None

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
                    ticket = from_item(item)
                    found[ticket.id] = ticket
                request = resp.get("UnprocessedKeys") or {}
                if not request:
                    break
                time.sleep(random.uniform(0, 0.01 * 2**attempt))  # throttled or over 16 MB: back off, read the rest
            else:
                raise Unavailable("The ticket store is busy; nothing was changed. Retry shortly.")
        return found

    def history(
        self, ticket_id: int, *, limit: int = 50, cursor: str | None = None, newest: int | None = None
    ) -> tuple[list[AuditEntry], str | None]:
        """The audit trail, newest first.  Entries are kept in the order their changes were made
        (their keys hold the time; a change that depends on another is always later than it), and
        each is given the version it made: ``newest`` (the ticket's version) for the latest, one
        less for each before it (a cursor carries the count on)."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :audit)",
            "ExpressionAttributeValues": {":pk": {"S": _pk(ticket_id)}, ":audit": {"S": "AUDIT#"}},
            "ScanIndexForward": False,
            "Limit": limit,
            "ConsistentRead": True,
        }
        label = newest if newest is not None else self.require(ticket_id).version
        if cursor:
            kwargs["ExclusiveStartKey"], label = self._decode_cursor(cursor, ticket_id)
        resp = self._call("query", **kwargs)
        entries = [AuditEntry.model_validate(unmarshal(i)) for i in resp.get("Items", [])]
        if label is not None:
            for offset, entry in enumerate(entries):
                entry.version = max(label - offset, 1)
            label = max(label - len(entries), 0)
        last = resp.get("LastEvaluatedKey")
        return entries, (self._encode_cursor(last, label) if last else None)

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
    def _encode_cursor(key: dict[str, Any], label: int | None) -> str:
        plain: dict[str, Any] = {k: v["S"] for k, v in key.items()}
        if label is not None:
            plain["n"] = label
        return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")

    @staticmethod
    def _decode_cursor(cursor: str, ticket_id: int) -> tuple[dict[str, Any], int | None]:
        try:
            plain = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            ok = (
                isinstance(plain, dict)
                and set(plain) - {"n"} == _KEY_ATTRS
                and (type(plain.get("n", 0)) is int)
                and plain["pk"] == _pk(ticket_id)
                and isinstance(plain["sk"], str)
                and plain["sk"].startswith("AUDIT#")
            )
        except (ValueError, binascii.Error, UnicodeDecodeError):
            ok = False
        if not ok:
            raise BadRequest("The cursor is not one this history returned.")
        return {k: {"S": plain[k]} for k in _KEY_ATTRS}, plain.get("n")

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
        audit = bounded(audit)
        key = audit_key(ticket.created_at, uuid.uuid4().hex[:12])
        items = [self._put(_pk(ticket.id), "TICKET", doc), self._audit_put(audit, key)]
        items += [self._put(_pk(ticket.id), f"MSG#{m.seq:08d}", m.model_dump(mode="json")) for m in messages]
        riders_from = len(items)
        result = UpdateResult(ticket, ticket, [], None, 1, committed=True)
        for rider in _RIDERS.get():
            items += rider.items(result)
        try:
            self._call("transact_write_items", TransactItems=items)
        except ClientError as err:
            if err.response["Error"]["Code"] == "TransactionCanceledException":
                for reason in _cancellation_reasons(err)[riders_from:]:
                    if reason.get("Code") == "ConditionalCheckFailed":  # made by an earlier try of this request
                        made = unmarshal(reason.get("Item") or {}).get("ticket_id")
                        if made:
                            return self.require(int(made))
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
        """Apply ``command`` to the ticket in one conditional write; see ``Writer``."""
        return _Writer(self, ticket_id, command, actor, if_match).run(current or self.require(ticket_id))

    def _ticket_update(
        self,
        ticket_id: int,
        writes: list[tuple[tuple[str, ...], Any]],
        after_updated_at: str,
        guards: list[tuple[tuple[str, ...], Any]],
        expected_version: int | None,
    ) -> dict[str, Any]:
        """The ticket's ``Update``: SET (or REMOVE, for ``ABSENT``) each written path, the version
        counted up with ADD; conditioned on each guarded path still holding the stored value the
        command saw (None: absent) and, with If-Match, on the version."""
        names: dict[str, str] = {"#pk": "pk", "#v": "version", "#u": "updated_at"}
        values: dict[str, Any] = {":one": {"N": "1"}, ":u": {"S": after_updated_at}}

        def path(parts: tuple[str, ...]) -> str:
            out = []
            for part in parts:
                alias = f"#n{len(names)}"
                names[alias] = part
                out.append(alias)
            return ".".join(out)

        sets, removes = ["#u = :u"], []
        for i, (parts, value) in enumerate(writes):
            if value is ABSENT:
                removes.append(path(parts))
            else:
                values[f":w{i}"] = _ser.serialize(_to_dynamo(value))
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
                "TableName": self.table,
                "Key": _ticket_key(ticket_id),
                "UpdateExpression": expr,
                "ConditionExpression": " AND ".join(conditions),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def _put(self, pk: str, sk: str, doc: dict[str, Any], *, unique: bool = True) -> dict[str, Any]:
        put: dict[str, Any] = {"TableName": self.table, "Item": marshal({**doc, "pk": pk, "sk": sk})}
        if unique:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        return {"Put": put}

    def _audit_put(self, entry: AuditEntry, key: str) -> dict[str, Any]:
        return self._put(_pk(entry.ticket_id), key, entry.model_dump(mode="json"))

    def _outbox_put(self, ticket_id: int, item: OutboxItem, actor: Actor, now: datetime) -> dict[str, Any]:
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
        return self._put(_pk(ticket_id), f"OUTBOX#{item.id}", doc, unique=False)

    def _transact(self, items: list[dict[str, Any]], token: str) -> None:
        """One ``TransactWriteItems``; its errors as the store gave them (the writer tells them apart)."""
        self.client.transact_write_items(TransactItems=items, ClientRequestToken=token)

    def audit_entry_exists(self, ticket_id: int, key: str) -> bool:
        resp = self._call(
            "get_item",
            TableName=self.table,
            Key={"pk": {"S": _pk(ticket_id)}, "sk": {"S": key}},
            ProjectionExpression="pk",
            ConsistentRead=True,
        )
        return "Item" in resp

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


# -- the write path -------------------------------------------------------------------------
class Rider(Protocol):
    """Transaction items that ride with every change written (e.g. an Idempotency-Key's marker)."""

    def items(self, result: UpdateResult) -> list[dict[str, Any]]: ...

    def recall(self, item: dict[str, Any]) -> Any:
        """What an item of this rider, found already there, says was answered (None: unknown)."""
        ...


_RIDERS: ContextVar[tuple[Rider, ...]] = ContextVar("riders", default=())
_THROTTLED = {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
_AMBIGUOUS = {"InternalServerError", "ServiceUnavailable"}  # the write may have been applied


@contextmanager
def riding(rider: Rider) -> Iterator[None]:
    """Within this block, every change written carries the transaction items ``rider`` gives for
    it (e.g. the request's idempotency record): they commit with the change, or nothing does."""
    token = _RIDERS.set((*_RIDERS.get(), rider))
    try:
        yield
    finally:
        _RIDERS.reset(token)


def _busy(ticket_id: int) -> Unavailable:
    return Unavailable(f"Ticket {ticket_id} is busy; nothing was changed. Retry shortly.")


class _Writer:
    """One change of one ticket: the command applied to a copy, and what changed written in one
    ``TransactWriteItems`` with its audit entry, messages, outbox items and riders.

    * The ticket's ``Update`` is conditioned on the fields the command read or wrote still
      holding the values it saw (not on the whole item), and counts the version up with ADD:
      writers that touch different fields commute; none is refused for the other.
    * A true conflict (a field the command depends on changed) applies the command again to the
      ticket returned with the cancellation (no read), after a full-jitter exponential backoff,
      within ``WRITE_BUDGET_SECONDS``; still in conflict after that: 503, nothing changed.
    * An ambiguous failure (a timeout, a 5xx after botocore's retries) is retried with the same
      ``ClientRequestToken``, which DynamoDB applies at most once; if the store stays out of
      reach, the request's own audit entry is looked for before anything is answered.
    """

    def __init__(self, repo: Repository, ticket_id: int, command: Command, actor: Actor, if_match: int | None):
        self.repo, self.ticket_id, self.command, self.actor, self.if_match = repo, ticket_id, command, actor, if_match
        self.deadline = time.monotonic() + WRITE_BUDGET_SECONDS
        self.nonce = uuid.uuid4().hex[:12]
        self.riders_from = 0
        self.riders: list[Rider] = []

    def run(self, current: Ticket) -> UpdateResult:
        attempt = 0
        while True:
            attempt += 1
            if self.if_match is not None and current.version != self.if_match:
                raise PreconditionFailed(
                    f"Ticket {self.ticket_id} is at version {current.version}, not {self.if_match}.",
                    current_version=current.version,
                )
            result, items, key = self._plan(current, attempt)
            if not items:
                return result
            try:
                fresh = self._commit(items, key)
            except AlreadyApplied as applied:
                logger.info("the change was made by an earlier try of this request", extra={"ticket_id": current.id})
                return UpdateResult(current, current, [], result.changeset, attempt, answer=applied.answer)
            if fresh is None:
                count("Updates")  # the one place a ticket change is written (metric per invocation)
                if attempt > 1:
                    count("WriteConflicts", attempt - 1)
                return result
            current = fresh
            self._pause(attempt)

    def _plan(self, current: Ticket, attempt: int) -> tuple[UpdateResult, list[dict[str, Any]], str]:
        # never before the change it follows, whatever this machine's clock says: the history's
        # order is the order of changes that depend on each other
        now = max(utcnow(), current.updated_at + timedelta(microseconds=1))
        draft = current.model_copy(deep=True)
        cs = ChangeSet(now=now, actor=self.actor)
        with reading(draft) as reads:
            self.command(draft, cs)
        check_ticket(draft)  # every datetime aware and within range (ticketing.moments), else a 400
        before_doc, after_doc = ticket_doc(current), ticket_doc(draft)
        changed = sorted(
            k
            for k in set(before_doc) | set(after_doc)
            if k not in _ALWAYS_WRITTEN and before_doc.get(k) != after_doc.get(k)
        )
        if not changed and not cs.messages and not cs.record_without_changes and not cs.outbox:
            return UpdateResult(current, current, [], cs, attempt), [], ""
        draft.version = current.version + 1
        draft.updated_at = now
        after_doc = ticket_doc(draft)
        _check_size(self.ticket_id, after_doc)
        changes = diff({k: before_doc.get(k) for k in changed}, {k: after_doc.get(k) for k in changed})
        # the entry's place in the history: as late as it can be known (after the command ran)
        key = audit_key(max(now, utcnow()), f"{self.nonce}{attempt:02d}")
        audit = AuditEntry(
            ticket_id=self.ticket_id,
            version=draft.version,
            at=now,
            actor=self.actor.client_id,
            actor_name=self.actor.name,
            dialect=self.actor.dialect,
            request_id=self.actor.request_id,
            event=cs.event,
            changes=changes,
            detail=cs.detail,
        )
        audit = bounded(audit)
        stored = stored_item(current)
        writes, guards = _writes_and_guards(stored, before_doc, after_doc, changed, reads)
        expected = self.if_match if self.if_match is not None else current.version if "version" in reads else None
        repo, pk = self.repo, _pk(self.ticket_id)
        update = repo._ticket_update(self.ticket_id, writes, after_doc["updated_at"], guards, expected)
        items = [update, repo._audit_put(audit, key)]
        items += [repo._put(pk, f"MSG#{m.seq:08d}", m.model_dump(mode="json")) for m in cs.messages]
        items += [repo._outbox_put(self.ticket_id, o, self.actor, now) for o in cs.outbox]
        result = UpdateResult(current, draft, changes, cs, attempt, committed=True)
        render_answer(result)  # before the write: nothing that can fail runs after it
        self.riders_from = len(items)
        self.riders = []
        for rider in _RIDERS.get():
            extra = rider.items(result)
            self.riders += [rider] * len(extra)
            items += extra
        return result, items, key

    def _commit(self, items: list[dict[str, Any]], key: str) -> Ticket | None:
        """Write; None once written, else the ticket to apply the command to again."""
        token = str(uuid.uuid4())  # the same for every retry of this very write: applied at most once
        ambiguous = False
        tries = 0
        while True:
            tries += 1
            try:
                self.repo._transact(items, token)
                return None
            except ClientError as err:
                code = err.response.get("Error", {}).get("Code", "")
                if code == "TransactionCanceledException":
                    if ambiguous and self._written(key):
                        return None  # the earlier try was applied; this one met its own change
                    fresh = self._winner(_cancellation_reasons(err))
                    if fresh is not None:
                        return fresh
                    # a racing transaction or throttling: nothing was applied; the same write again
                    token = str(uuid.uuid4())
                elif code in _THROTTLED and not ambiguous:
                    token = str(uuid.uuid4())
                elif code in _AMBIGUOUS or code in _THROTTLED:
                    ambiguous = True
                else:
                    raise
            except BotoCoreError:
                ambiguous = True  # timed out or cut off: it may have been applied
            if time.monotonic() + BACKOFF_CAP_SECONDS > self.deadline:
                return self._give_up(key, ambiguous)
            self._pause(tries)

    def _winner(self, reasons: list[dict[str, Any]]) -> Ticket | None:
        for rider, reason in zip(self.riders, reasons[self.riders_from :], strict=False):
            if reason.get("Code") == "ConditionalCheckFailed":
                raise AlreadyApplied(reason.get("Item"), rider.recall(reason.get("Item") or {}))
        first = reasons[0] if reasons else {}
        if first.get("Code") == "ConditionalCheckFailed":
            if first.get("Item"):
                return from_item(first["Item"])
            return self.repo.require(self.ticket_id)  # a store that does not return the item
        if any(r.get("Code") == "ConditionalCheckFailed" for r in reasons[1 : self.riders_from]):
            return self.repo.require(self.ticket_id)  # a message slot taken: the ticket moved on
        return None

    def _written(self, key: str) -> bool:
        try:
            return self.repo.audit_entry_exists(self.ticket_id, key)
        except Unavailable:
            return False

    def _give_up(self, key: str, ambiguous: bool) -> None:
        if not ambiguous:
            raise _busy(self.ticket_id)
        try:
            written = self.repo.audit_entry_exists(self.ticket_id, key)
        except Unavailable:
            raise Unavailable(
                f"The ticket store did not answer: the change to ticket {self.ticket_id} may or may not have "
                "been made. Retry with the same Idempotency-Key, or read the ticket before retrying."
            ) from None
        if not written:
            raise _busy(self.ticket_id)
        logger.info("the change was made although the store's answer was lost", extra={"ticket_id": self.ticket_id})
        return None

    def _pause(self, attempt: int) -> None:
        if time.monotonic() > self.deadline:
            raise _busy(self.ticket_id)
        ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** min(attempt, 10))
        time.sleep(random.uniform(0, min(ceiling, max(0.0, self.deadline - time.monotonic()))))


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = _Absent()
# Maps whose keys are independent of each other (a key changes from what that key held, never
# from another key): written and guarded key by key, so writers of different keys commute.
KEYED_MAPS = frozenset({"metadata", "extra", "tasks"})


def _writes_and_guards(
    stored: dict[str, Any], before: dict[str, Any], after: dict[str, Any], changed: list[str], reads: set[str]
) -> tuple[list[tuple[tuple[str, ...], Any]], list[tuple[tuple[str, ...], Any]]]:
    """What the ticket's Update writes (path, value or ABSENT) and what it is conditioned on
    (path, the stored value as read, or None for absent): the fields the command changed and
    read, each compared with the value it was read with, as stored (not as re-serialised)."""
    writes: list[tuple[tuple[str, ...], Any]] = []
    guards: list[tuple[tuple[str, ...], Any]] = []
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
    for attr in sorted(reads - set(changed) - _NEVER_GUARDED):
        guards.append(((attr,), stored.get(attr)))
    return writes, guards


def from_item(item: dict[str, Any]) -> Ticket:
    """A ticket from its stored item, keeping the item as stored (its values guard a write)."""
    ticket = Ticket.model_validate(unmarshal(item))
    ticket._stored = item
    return ticket


def stored_item(ticket: Ticket) -> dict[str, Any]:
    """The ticket's item as it was read (typed values); as it would be written when not read."""
    return ticket._stored if ticket._stored is not None else marshal(ticket_doc(ticket))


def load_catalog_document() -> str | None:
    return Repository().load_catalog_document()
