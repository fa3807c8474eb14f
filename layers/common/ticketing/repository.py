"""The repository: what the service asks of the ticket store (``ticketing.store``, which has
the table's layout and a module per job).

Every change is one ``TransactWriteItems`` (``store.writer``): the ticket ``Update`` sets only
the attributes that changed and is conditioned on the fields the command read or wrote, and the
audit entry (and any new message) is put beside it.  When the condition fails the item that won
is returned with the cancellation, the command is applied again to it, and the write retried:
concurrent changes to different fields all survive, a state change is re-validated against the
state that is really there, and an ``If-Match`` version that is no longer current is a 412
instead of a retry.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from botocore.exceptions import ClientError

from ticketing import ids

# ChangeSet and Command are the domain's (ticketing.commands): named here only for the importers
# that still take them from this module; the store itself never builds one.
from ticketing.commands import ChangeSet, Command, UpdateResult, diff
from ticketing.errors import Conflict, NotFound, Unavailable
from ticketing.model import Actor, AuditEntry, Message, Ticket
from ticketing.moments import check_ticket
from ticketing.observability import count
from ticketing.store import items, readahead
from ticketing.store.calls import batch_get, call, cancellation_reasons, error_code
from ticketing.store.codec import (
    AUDIT_KEY_ATTR,
    MAX_TICKET_BYTES,
    audit_key,
    bounded,
    check_size,
    decode_cursor,
    encode_cursor,
    from_item,
    marshal,
    message_key,
    pk,
    reference_key,
    ticket_bytes,
    ticket_doc,
    ticket_key,
    unmarshal,
)
from ticketing.store.deliveries import Deliveries
from ticketing.store.writer import Writer, riders, riding

__all__ = [
    "MAX_TICKET_BYTES",
    "ChangeSet",
    "Command",
    "Repository",
    "call",
    "from_item",
    "load_catalog_document",
    "marshal",
    "riding",
    "ticket_bytes",
    "ticket_doc",
    "unmarshal",
]

COUNTER_KEY = {"pk": {"S": "COUNTER"}, "sk": {"S": "ticket"}}
CATALOG_KEY = {"pk": {"S": "CATALOG"}, "sk": {"S": "default"}}
REFERENCES_BUSY = "The ticket store is busy; retry shortly."


class Repository(Deliveries):
    """The tickets table, as the service uses it (the exactly-once deliveries from ``Deliveries``)."""

    # -- reads -----------------------------------------------------------------
    def get(self, ticket_id: int) -> Ticket | None:
        key = ticket_key(ticket_id)
        read, item = readahead.take(self.table, key)
        if not read:
            item = self._call("get_item", TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        return from_item(item) if item else None

    def read_ahead(self, ticket_id: int) -> None:
        """This request reads the ticket next: read it beside its first read (``store.readahead``)."""
        readahead.want(self.table, ticket_key(ticket_id))

    def require(self, ticket_id: int) -> Ticket:
        ticket = self.get(ticket_id)
        if ticket is None:
            raise NotFound(f"Ticket {ticket_id} was not found.")
        return ticket

    def get_many(self, ticket_ids: Iterable[int]) -> dict[int, Ticket]:
        """The tickets that exist among ``ticket_ids``, by id: those read ahead (``read_ahead``),
        the others in consistent ``BatchGetItem`` reads of up to 100 keys each
        (``store.calls.batch_get``)."""
        items, keys = [], []
        for key in (ticket_key(t) for t in dict.fromkeys(int(t) for t in ticket_ids)):
            read, item = readahead.take(self.table, key)
            if not read:
                keys.append(key)
            elif item:
                items.append(item)
        if keys:
            items += batch_get(self.client, self.table, keys, consistent=True)
        found = [from_item(item) for item in items]
        return {ticket.id: ticket for ticket in found}

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
            "ExpressionAttributeValues": {":pk": {"S": pk(ticket_id)}, ":audit": {"S": "AUDIT#"}},
            "ScanIndexForward": False,
            "Limit": limit,
            "ConsistentRead": True,
        }
        label = newest if newest is not None else self.require(ticket_id).version
        if cursor:
            kwargs["ExclusiveStartKey"], label = decode_cursor(cursor, ticket_id)
        resp = self._call("query", **kwargs)
        entries = [AuditEntry.model_validate(unmarshal(i)) for i in resp.get("Items", [])]
        if label is not None:
            for offset, entry in enumerate(entries):
                entry.version = max(label - offset, 1)
            label = max(label - len(entries), 0)
        last = resp.get("LastEvaluatedKey")
        return entries, (encode_cursor(last, label) if last else None)

    def messages(self, ticket_id: int, *, limit: int = 100) -> list[Message]:
        resp = self._call(
            "query",
            TableName=self.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :m)",
            ExpressionAttributeValues={":pk": {"S": pk(ticket_id)}, ":m": {"S": "MSG#"}},
            ScanIndexForward=False,
            Limit=limit,
        )
        return sorted((Message.model_validate(unmarshal(i)) for i in resp.get("Items", [])), key=lambda m: m.seq)

    def audit_entry(self, ticket_id: int, key: str) -> AuditEntry | None:
        """The audit entry stored under sort key ``key`` (a consistent read), None if none is;
        its ``version`` as the writer planned it (``store.writer``)."""
        if not key.startswith("AUDIT#"):
            return None
        resp = self._call(
            "get_item", TableName=self.table, Key={"pk": {"S": pk(ticket_id)}, "sk": {"S": key}}, ConsistentRead=True
        )
        item = resp.get("Item")
        return AuditEntry.model_validate(unmarshal(item)) if item else None

    def change_key(self, ticket_id: int) -> str | None:
        """The sort key of the audit entry the ticket's latest change wrote (``AUDIT_KEY_ATTR``;
        None: no such ticket, or one written before the key was kept)."""
        resp = self._call(
            "get_item",
            TableName=self.table,
            Key=ticket_key(ticket_id),
            ProjectionExpression="#a",
            ExpressionAttributeNames={"#a": AUDIT_KEY_ATTR},
            ConsistentRead=True,
        )
        return (resp.get("Item") or {}).get(AUDIT_KEY_ATTR, {}).get("S")

    def audit_entry_exists(self, ticket_id: int, key: str) -> bool:
        resp = self._call(
            "get_item",
            TableName=self.table,
            Key={"pk": {"S": pk(ticket_id)}, "sk": {"S": key}},
            ProjectionExpression="pk",
            ConsistentRead=True,
        )
        return "Item" in resp

    # -- writes ------------------------------------------------------------------
    def allocate_id(self) -> int:
        while True:
            resp = self._call(
                "update_item",
                TableName=self.table,
                Key=COUNTER_KEY,
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
                Key=COUNTER_KEY,
                UpdateExpression="SET #n = :f",
                ConditionExpression="attribute_not_exists(#n) OR #n < :f",
                ExpressionAttributeNames={"#n": "next"},
                ExpressionAttributeValues={":f": {"N": str(floor)}},
            )
        except ClientError as err:
            if error_code(err) != "ConditionalCheckFailedException":
                raise

    def create(self, ticket: Ticket, actor: Actor, messages: Iterable[Message] = ()) -> Ticket:
        check_ticket(ticket)  # every datetime aware and within range (ticketing.moments), else a 400
        doc = ticket_doc(ticket)
        check_size(ticket.id, doc)
        audit = AuditEntry(
            ticket_id=ticket.id,
            version=ticket.version,
            at=ticket.created_at,
            actor=actor.client_id,
            actor_name=actor.name,
            dialect=actor.dialect,
            request_id=actor.request_id,
            event="create",
            changes=[c for c in diff({}, doc) if c.field not in items.ALWAYS_WRITTEN],
        )
        audit = bounded(audit)
        key = audit_key(ticket.created_at, uuid.uuid4().hex[:12])
        table, ticket_pk = self.table, pk(ticket.id)
        stored = {**doc, AUDIT_KEY_ATTR: key}  # the entry of version 1 (``store.writer``)
        transaction = [items.put(table, ticket_pk, "TICKET", stored), items.audit_put(table, audit, key)]
        transaction += [items.put(table, ticket_pk, message_key(m.seq), m.model_dump(mode="json")) for m in messages]
        riders_from = len(transaction)
        result = UpdateResult(ticket, ticket, [], None, 1, committed=True)
        for rider in riders():
            transaction += rider.items(result)
        try:
            self._call("transact_write_items", TransactItems=transaction)
        except ClientError as err:
            if error_code(err) == "TransactionCanceledException":
                for reason in cancellation_reasons(err)[riders_from:]:
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
        """Apply ``command`` to the ticket in one conditional write; see ``store.writer.Writer``."""
        return Writer(self, ticket_id, command, actor, if_match).run(current or self.require(ticket_id))

    def _transact(self, transaction: list[dict[str, Any]], token: str) -> None:
        """One ``TransactWriteItems``; its errors as the store gave them (the writer tells them apart)."""
        self.client.transact_write_items(TransactItems=transaction, ClientRequestToken=token)

    # -- reference data ------------------------------------------------------------
    def put_reference(self, kind: str, key: str | int, doc: dict[str, Any]) -> None:
        self._call("put_item", TableName=self.table, Item=marshal({**doc, "pk": f"REF#{kind}", "sk": str(key)}))

    def get_references(self, kind: str, keys: Iterable[str | int]) -> dict[str, dict[str, Any]]:
        """The documents of ``kind`` found among ``keys``, by key (eventually consistent reads)."""
        return self.get_reference_kinds({kind: keys}).get(kind, {})

    def get_reference_kinds(self, wanted: dict[str, Iterable[str | int]]) -> dict[str, dict[str, dict[str, Any]]]:
        """The documents found among the keys of each kind, by kind and key: the kinds' keys read
        together (eventually consistent batched reads)."""
        keys = [reference_key(kind, k) for kind, ks in wanted.items() for k in dict.fromkeys(str(k) for k in ks)]
        found: dict[str, dict[str, dict[str, Any]]] = {}
        for item in batch_get(self.client, self.table, keys, consistent=False, busy=REFERENCES_BUSY):
            doc = unmarshal(item)
            key, kind = doc.pop("sk"), doc.pop("pk").removeprefix("REF#")
            found.setdefault(kind, {})[key] = doc
        return found

    # -- the status catalog ------------------------------------------------------------
    def load_catalog_document(self) -> str | None:
        resp = self._call("get_item", TableName=self.table, Key=CATALOG_KEY)
        item = resp.get("Item")
        return item["document"]["S"] if item else None

    def store_catalog_document(self, document: str) -> None:
        self._call("put_item", TableName=self.table, Item={**CATALOG_KEY, "document": {"S": document}})


def load_catalog_document() -> str | None:
    return Repository().load_catalog_document()
