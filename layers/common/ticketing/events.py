"""Change events: every committed change of a ticket, once, as the tickets table's stream gives it.

A committed change is one ``TransactWriteItems`` (``ticketing.repository``): the ticket item's
update (its ``version`` counted up by one) and the change's audit entry (``AUDIT#...``: actor,
client, dialect, each changed field before and after), together.  The stream carries both: the
ticket item's record with its old and new image (the ticket exactly at the version the change
made: its type, queue and status then, not now), and the audit item's INSERT.  An event is made
from the pair, one per version:

* the **ticket record** drives it (one per version, in the ticket's order: DynamoDB Streams keeps
  one item's records in order), so a version is never missed nor made twice from one record;
* the **audit entry** of that version is the one the ticket item names: its ``audit_sk``
  (``store.codec.AUDIT_KEY_ATTR``), the sort key of the entry written in the same transaction.
  Never matched by version: two commuting writers from version N both write entries that say
  N+1, and may commit in the opposite order of their keys (``store.writer.Writer``).  The entry
  comes from the batch's INSERTs by that key when it is there (the two items share their
  partition key, so the same shard), else from one consistent GetItem of exactly that key
  (``service.audit_entry``).  A ticket item written before the key was kept (no ``audit_sk``)
  falls back to the entry of its version: the batch's, else read back from the history
  (``service.history``: newest first, versions by key order).

``ChangeEvent`` is the event's ``detail`` (its JSON Schema is checked in: ``events.schema.json``,
``python -m devkit.eventschema``); ``detail-type`` says the kind; the event id is the ticket id and
the version (``ticket-<id>-v<version>``), which consumers de-duplicate by.  Used by both stream
consumers: ``ticketing.eventbus`` (to the EventBridge bus) and ``ticketing.webhooks.fanout``.
"""

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ticketing import service
from ticketing.event_kinds import KINDS as KINDS  # named here too (the kinds a consumer may hear)
from ticketing.event_kinds import Kind
from ticketing.fields import new_list
from ticketing.grants import EVERYTHING
from ticketing.model import AuditEntry, Ticket
from ticketing.repository import unmarshal
from ticketing.store.codec import AUDIT_KEY_ATTR

SOURCE = "ticket-hub"
TICKET_SORT_KEY = "TICKET"
AUDIT_PREFIX = "AUDIT#"
# A changed value whose JSON is larger than this is sent as its size and SHA-256 (the ticket,
# read through any dialect, holds the value itself); the detail as a whole stays under
# MAX_DETAIL_BYTES, far inside EventBridge's 256 KB per entry (changes past it are dropped and
# ``changes_truncated`` says so).
VALUE_BYTES = 1024
MAX_DETAIL_BYTES = 64 * 1024


class TicketIds(BaseModel):
    """The ticket's identifiers in every dialect: canonical and Kapture ``id``, SPP ``number``,
    ParticleSpace ``key``, servicedesk ``ref`` (its current type's prefix; ``refs``: every prefix
    it was known under)."""

    model_config = ConfigDict(frozen=True)
    id: int
    number: str = Field(examples=["E4A269FC"])
    key: str = Field(examples=["tic_0q3x7bd"])
    ref: str = Field(examples=["INC-001001"])
    refs: list[str] = Field(default_factory=new_list)


class FieldChange(BaseModel):
    """One changed field (a dotted path into the canonical ticket), before and after.  A value
    over ``VALUE_BYTES`` of JSON comes as ``{"bytes": n, "sha256": "..."}`` and ``truncated``."""

    field: str
    before: Any = None
    after: Any = None
    truncated: bool = False


class ChangeActor(BaseModel):
    client_id: str = Field(description="the API client that made the change ('system': the hub itself)")
    name: str = ""
    dialect: str = Field(description="the API it spoke: canonical, spp, kapture, servicedesk, particlespace, myhrw")


class ChangeEvent(BaseModel):
    """The ``detail`` of a change event: one per committed version of a ticket."""

    model_config = ConfigDict(title="TicketChangeEvent")
    event_id: str = Field(description="ticket-<id>-v<version>: the same for every delivery of this change")
    kind: Kind = Field(description="as the event's detail-type")
    ticket: TicketIds
    version: int = Field(ge=1, description="the ticket's version this change made")
    previous_version: int | None = Field(default=None, description="None for a new ticket")
    type: str
    queue: str
    status: str
    sub_status: str | None = None
    actor: ChangeActor
    request_id: str = ""
    event: str = Field(description="the audit entry's name for the change (create, update, workflow_push...)")
    changes: list[FieldChange]
    changes_truncated: bool = False
    time: datetime = Field(description="when the change was committed (the audit entry's time), UTC")


class BusEvent(BaseModel):
    """A change event as EventBridge delivers it to a rule's target (its envelope; ``id`` is
    EventBridge's own: de-duplicate by ``detail.event_id``)."""

    model_config = ConfigDict(title="TicketChangeBusEvent", defer_build=True, populate_by_name=True)
    version: str = "0"
    id: str
    detail_type: Kind = Field(alias="detail-type")
    source: Literal["ticket-hub"]
    account: str = Field(default="", description="the AWS account (the local run's emulation leaves it out)")
    time: datetime
    region: str
    resources: list[str] = Field(default_factory=new_list)
    detail: ChangeEvent


class PayloadView(BaseModel):
    model_config = ConfigDict(defer_build=True)
    format: str = Field(description="the subscription's payload_format: canonical, or its dialect's")
    ticket: dict[str, Any] | None = Field(description="the ticket as this change left it, in that format")
    omitted: str | None = Field(default=None, description="why ticket is null (too large for one delivery)")


class WebhookData(ChangeEvent):
    model_config = ConfigDict(title="TicketChangeWebhookData", defer_build=True)
    view: PayloadView


class WebhookPayload(BaseModel):
    """The body of a webhook delivery (Standard Webhooks: ``type``, ``timestamp``, ``data``); its
    ``webhook-id`` header is ``data.event_id``."""

    model_config = ConfigDict(title="TicketChangeWebhook", defer_build=True)
    type: Kind
    timestamp: datetime
    data: WebhookData


def event_id(ticket_id: int, version: int) -> str:
    return f"ticket-{ticket_id}-v{version}"


def kind_of(entry: AuditEntry) -> str:
    """The event's kind, from the audit entry alone (the first that applies, in this order)."""
    fields = {c.field.split(".", 1)[0] for c in entry.changes}
    if entry.event == "create":
        return "Ticket Created"
    if "type" in fields:
        return "Ticket Converted"
    if fields & {"status", "sub_status"}:
        return "Ticket Status Changed"
    if entry.event.startswith("partner_ticket") or any(".partner_tickets" in c.field for c in entry.changes):
        return "Partner Ticket Changed"
    if fields and fields <= {"message_count", "last_message_at"}:
        return "Ticket Message Added"
    return "Ticket Changed"


def _bounded(value: Any) -> tuple[Any, bool]:
    text = json.dumps(value, default=str, separators=(",", ":"))
    if len(text.encode()) <= VALUE_BYTES:
        return value, False
    return {"bytes": len(text.encode()), "sha256": hashlib.sha256(text.encode()).hexdigest()}, True


def build(ticket: Ticket, entry: AuditEntry, previous_version: int | None) -> ChangeEvent:
    """The event of the change that made ``ticket`` (at ``entry.version``)."""
    catalog = service.get_catalog()
    refs = [ticket.ref(t.ref_prefix) for k in ticket.type_history if (t := catalog.ticket_type(k))]
    changes, size, cut = [], 0, False
    for change in entry.changes:
        before, b_cut = _bounded(change.before)
        after, a_cut = _bounded(change.after)
        one = FieldChange(field=change.field, before=before, after=after, truncated=b_cut or a_cut)
        size += len(one.model_dump_json())
        if size > MAX_DETAIL_BYTES:
            cut = True
            break
        changes.append(one)
    return ChangeEvent(
        event_id=event_id(ticket.id, ticket.version),
        kind=kind_of(entry),
        ticket=TicketIds(
            id=ticket.id, number=ticket.number, key=ticket.key, ref=service.current_ref(ticket), refs=refs
        ),
        version=ticket.version,
        previous_version=previous_version,
        type=ticket.type,
        queue=ticket.queue,
        status=ticket.status,
        sub_status=ticket.sub_status,
        actor=ChangeActor(client_id=entry.actor, name=entry.actor_name, dialect=entry.dialect),
        request_id=entry.request_id,
        event=entry.event,
        changes=changes,
        changes_truncated=cut,
        time=entry.at,
    )


@dataclass(frozen=True)
class Committed:
    """A committed change found in a stream batch: the ticket record's sequence number (what a
    consumer reports as its batch item failure), the ticket at that version, and its event."""

    sequence_number: str
    ticket: Ticket
    event: ChangeEvent


def _sort_key(record: Mapping[str, Any]) -> str:
    return ((record.get("dynamodb") or {}).get("Keys") or {}).get("sk", {}).get("S", "")


def audit_entries(records: Iterable[Mapping[str, Any]]) -> dict[tuple[int, str], AuditEntry]:
    """The audit entries a batch inserted, by (ticket id, sort key)."""
    found = {}
    for record in records:
        image = (record.get("dynamodb") or {}).get("NewImage")
        key = _sort_key(record)
        if record.get("eventName") == "INSERT" and key.startswith(AUDIT_PREFIX) and image:
            entry = AuditEntry.model_validate(unmarshal(dict(image)))
            found[(entry.ticket_id, key)] = entry
    return found


def entry_of(ticket: Ticket, key: str | None, batch_entries: Mapping[tuple[int, str], AuditEntry]) -> AuditEntry:
    """The audit entry of the change that made ``ticket`` (at its version): the one stored under
    ``key``, the ticket item's ``audit_sk`` (from the batch, else one GetItem); without a key (an
    item written before it was kept), the entry of that version (the batch's, else the history's)."""
    if key:
        entry = batch_entries.get((ticket.id, key)) or service.audit_entry(ticket.id, key)
        if entry is None:
            raise LookupError(f"ticket {ticket.id} v{ticket.version}: no audit entry {key}")
        return entry
    same = [e for (t, _), e in sorted(batch_entries.items()) if t == ticket.id and e.version == ticket.version]
    return same[-1] if same else read_entry(ticket.id, ticket.version)


def read_entry(ticket_id: int, version: int) -> AuditEntry:
    """The audit entry of one version, read back (its INSERT was in another batch)."""
    cursor = None
    while True:
        _, entries, cursor = service.history(ticket_id, access=EVERYTHING, limit=25, cursor=cursor)
        for entry in entries:
            if entry.version == version:
                return entry
            if entry.version < version:
                break
        else:
            if cursor:
                continue
        raise LookupError(f"ticket {ticket_id}: no audit entry for version {version}")


def committed(record: Mapping[str, Any], batch_entries: Mapping[tuple[int, str], AuditEntry]) -> Committed | None:
    """The committed change a ticket record is, or None (another item's record; a rewrite of the
    same version, which is no change)."""
    change = record.get("dynamodb") or {}
    if record.get("eventName") not in ("INSERT", "MODIFY") or _sort_key(record) != TICKET_SORT_KEY:
        return None
    if not change.get("NewImage"):
        return None
    new = unmarshal(dict(change["NewImage"]))
    old = unmarshal(dict(change["OldImage"])) if change.get("OldImage") else None
    previous = int(old["version"]) if old else None
    if previous is not None and previous >= int(new["version"]):
        return None
    ticket = Ticket.model_validate(new)
    entry = entry_of(ticket, new.get(AUDIT_KEY_ATTR), batch_entries)
    return Committed(change.get("SequenceNumber", ""), ticket, build(ticket, entry, previous))


def changes_in(records: list[Mapping[str, Any]]) -> Iterable[Committed]:
    """The batch's committed changes, in stream order (lazily: a consumer that fails on one stops)."""
    entries = audit_entries(records)
    for record in records:
        found = committed(record, entries)
        if found is not None:
            yield found
