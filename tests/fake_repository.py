"""An in-memory stand-in for the ticket repository (the service's port to the store), for the unit tier.

It implements what ``ticketing.service`` asks of ``ticketing.repository.Repository``: read one or
many tickets, create one, change one by running its ``Command`` on a copy with the same
``ChangeSet`` semantics (messages, audit event, outbox; unchanged tickets are not written), the
history newest first with its versions, each audit entry by its key and the key the ticket's
latest change wrote (the store's ``audit_sk``), the messages, the reference data and the id counter.

It is kept honest by tests/integration/test_repository_contract.py, which runs the same assertions
against it and against the real repository on moto.  What it leaves out on purpose: concurrency
(one writer, no conflicts to retry), riders (the Idempotency-Key's record rides on DynamoDB's
transaction), the audit entries' digests of large values and the ticket size limit.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from ticketing import ids
from ticketing.commands import ChangeSet, Command, OutboxItem, UpdateResult, diff, reading, render_answer
from ticketing.errors import BadRequest, Conflict, NotFound, PreconditionFailed, Unavailable
from ticketing.model import Actor, AuditEntry, Message, Ticket, utcnow
from ticketing.moments import check_ticket
from ticketing.store.codec import audit_key

ALWAYS_WRITTEN = {"version", "updated_at"}  # every write sets them: never listed as changes


def _doc(ticket: Ticket) -> dict[str, Any]:
    return ticket.model_dump(mode="json", exclude_none=True)


class FakeRepository:
    def __init__(self) -> None:
        self.tickets: dict[int, Ticket] = {}
        self.audit: dict[int, list[AuditEntry]] = {}  # oldest first
        self.audit_by_key: dict[int, dict[str, AuditEntry]] = {}
        self.change_keys: dict[int, str] = {}  # the ticket item's audit_sk: its latest change's entry
        self.message_log: dict[int, dict[int, Message]] = {}
        self.outbox: list[tuple[int, OutboxItem]] = []
        self.references: dict[tuple[str, str], dict[str, Any]] = {}
        self.counter = 0
        self.calls: list[str] = []

    # -- reads -------------------------------------------------------------------------------
    def get(self, ticket_id: int) -> Ticket | None:
        self.calls.append("get")
        ticket = self.tickets.get(int(ticket_id))
        return ticket.model_copy(deep=True) if ticket else None

    def require(self, ticket_id: int) -> Ticket:
        ticket = self.get(ticket_id)
        if ticket is None:
            raise NotFound(f"Ticket {ticket_id} was not found.")
        return ticket

    def get_many(self, ticket_ids: Iterable[int]) -> dict[int, Ticket]:
        self.calls.append("get_many")
        wanted = dict.fromkeys(int(t) for t in ticket_ids)
        return {t: self.tickets[t].model_copy(deep=True) for t in wanted if t in self.tickets}

    def history(
        self, ticket_id: int, *, limit: int = 50, cursor: str | None = None, newest: int | None = None
    ) -> tuple[list[AuditEntry], str | None]:
        entries = list(reversed(self.audit.get(int(ticket_id), [])))
        label = newest if newest is not None else self.require(ticket_id).version
        start = 0
        if cursor:
            try:
                ticket, offset, label = (int(part) for part in cursor.split("."))
            except ValueError:
                ticket = offset = -1
            if ticket != int(ticket_id) or not 0 < offset <= len(entries):
                raise BadRequest("The cursor is not one this history returned.")
            start = offset
        page = [e.model_copy(deep=True) for e in entries[start : start + limit]]
        for offset, entry in enumerate(page):
            entry.version = max(label - offset, 1)
        label = max(label - len(page), 0)
        end = start + len(page)
        return page, (f"{int(ticket_id)}.{end}.{label}" if end < len(entries) and page else None)

    def audit_entry(self, ticket_id: int, key: str) -> AuditEntry | None:
        entry = self.audit_by_key.get(int(ticket_id), {}).get(key)
        return entry.model_copy(deep=True) if entry else None

    def change_key(self, ticket_id: int) -> str | None:
        return self.change_keys.get(int(ticket_id))

    def messages(self, ticket_id: int, *, limit: int = 100) -> list[Message]:
        held = sorted(self.message_log.get(int(ticket_id), {}).values(), key=lambda m: m.seq)
        return [m.model_copy(deep=True) for m in held[-limit:]] if limit else []

    # -- writes ------------------------------------------------------------------------------
    def allocate_id(self) -> int:
        while True:
            self.counter += 1
            if self.counter > ids.MAX_ID:
                raise Unavailable("The ticket id space is exhausted.")
            if ids.allocatable(self.counter):
                return self.counter

    def set_counter_floor(self, floor: int) -> None:
        self.counter = max(self.counter, floor)

    def create(self, ticket: Ticket, actor: Actor, messages: Iterable[Message] = ()) -> Ticket:
        check_ticket(ticket)
        if ticket.id in self.tickets:
            raise Conflict(f"Ticket {ticket.id} already exists.")
        changes = [c for c in diff({}, _doc(ticket)) if c.field not in ALWAYS_WRITTEN]
        self._record(ticket, actor, "create", ticket.created_at, changes, {})
        self.tickets[ticket.id] = ticket.model_copy(deep=True)
        self.message_log[ticket.id] = {m.seq: m.model_copy(deep=True) for m in messages}
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
        self.calls.append("update")
        stored = self.require(ticket_id)  # one writer: the ticket as stored is the one to change
        if if_match is not None and stored.version != if_match:
            raise PreconditionFailed(
                f"Ticket {ticket_id} is at version {stored.version}, not {if_match}.", current_version=stored.version
            )
        now = max(utcnow(), stored.updated_at + timedelta(microseconds=1))
        draft = stored.draft()
        cs = ChangeSet(now=now, actor=actor)
        with reading(draft):
            command(draft, cs)
        check_ticket(draft)
        before, after = _doc(stored), _doc(draft)
        changed = sorted(
            k for k in set(before) | set(after) if k not in ALWAYS_WRITTEN and before.get(k) != after.get(k)
        )
        if not changed and not cs.messages and not cs.record_without_changes and not cs.outbox:
            return UpdateResult(stored, stored, [], cs, 1)
        draft.version = stored.version + 1
        draft.updated_at = now
        after = _doc(draft)
        changes = diff({k: before.get(k) for k in changed}, {k: after.get(k) for k in changed})
        result = UpdateResult(stored, draft, changes, cs, 1, committed=True)
        render_answer(result)  # before the write, as the repository does
        self._record(draft, actor, cs.event, now, changes, cs.detail)
        self.tickets[draft.id] = draft.model_copy(deep=True)
        for message in cs.messages:
            self.message_log.setdefault(draft.id, {})[message.seq] = message.model_copy(deep=True)
        self.outbox += [(draft.id, item) for item in cs.outbox]
        return result

    def _record(self, ticket: Ticket, actor: Actor, event: str, at: datetime, changes, detail) -> None:
        key = audit_key(at, uuid.uuid4().hex[:14])
        entry = AuditEntry(
            ticket_id=ticket.id,
            version=ticket.version,
            at=at,
            actor=actor.client_id,
            actor_name=actor.name,
            dialect=actor.dialect,
            request_id=actor.request_id,
            event=event,
            changes=changes,
            detail=detail,
        )
        self.audit.setdefault(ticket.id, []).append(entry)
        self.audit_by_key.setdefault(ticket.id, {})[key] = entry
        self.change_keys[ticket.id] = key

    # -- reference data ----------------------------------------------------------------------
    def put_reference(self, kind: str, key: str | int, doc: dict[str, Any]) -> None:
        self.references[(kind, str(key))] = dict(doc)

    def get_references(self, kind: str, keys: Iterable[str | int]) -> dict[str, dict[str, Any]]:
        wanted = dict.fromkeys(str(k) for k in keys)
        return {k: dict(self.references[(kind, k)]) for k in wanted if (kind, k) in self.references}

    def get_reference_kinds(self, wanted: dict[str, Iterable[str | int]]) -> dict[str, dict[str, dict[str, Any]]]:
        found = {kind: self.get_references(kind, keys) for kind, keys in wanted.items()}
        return {kind: docs for kind, docs in found.items() if docs}
