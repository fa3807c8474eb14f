"""Domain operations shared by every dialect: resolve, read, create, change, history.

Dialect adapters turn their requests into calls here; nothing here knows a dialect.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ticketing import ids
from ticketing.catalog import Catalog, get_catalog
from ticketing.commands import ChangeSet, Command, UpdateResult, answering
from ticketing.errors import FieldError, Forbidden, NotFound, ValidationFailed, quoted
from ticketing.grants import Access
from ticketing.model import Actor, AuditEntry, Message, Task, Ticket, utcnow
from ticketing.repository import Repository

if TYPE_CHECKING:  # built only by the functions that create tickets (ticketing.new_ticket)
    from ticketing.new_ticket import NewTicket


_repo: Repository | None = None


def repository() -> Repository:
    global _repo
    if _repo is None:
        _repo = Repository()
    return _repo


def reset() -> None:
    global _repo
    _repo = None


def connect() -> None:
    """Make the store's client now, before threads share it (a batch's parallel reads and writes)."""
    _ = repository().client


def check_status(catalog: Catalog, status: str, sub_status: str | None, field: str = "status") -> None:
    if catalog.status(status) is None:
        raise ValidationFailed(
            f"Unknown status {quoted(status)}.", errors=[FieldError(field, f"unknown status {quoted(status)}")]
        )
    if sub_status is not None and not any(s.key == sub_status and s.status == status for s in catalog.sub_statuses):
        raise ValidationFailed(
            f"Sub-status {quoted(sub_status)} does not belong to status {quoted(status)}.",
            errors=[FieldError("sub_status", f"not a sub-status of {quoted(status)}")],
        )


def set_status(ticket: Ticket, status: str, sub_status: str | None, now: datetime) -> None:
    """Move a ticket; a new stay starts only when the status really changes."""
    catalog = get_catalog()
    check_status(catalog, status, sub_status)
    if ticket.status != status:
        ticket.status_since = now
    ticket.status, ticket.sub_status = status, sub_status
    closed = catalog.status(status).category == "closed"
    if closed and ticket.closed_at is None:
        ticket.closed_at = now
    elif not closed:
        ticket.closed_at = None


def get_ticket(identifier: str | int, *, access: Access) -> Ticket:
    """The ticket any identifier names (id, number, key or REF, old REFs included), if ``access``
    may read it: outside its grants a ticket is not found (its existence does not leak)."""
    parsed = ids.parse(str(identifier))
    if parsed is None:
        raise NotFound(f"Ticket {identifier} was not found.")
    ticket = repository().get(parsed.ticket_id)
    if ticket is None or not _ref_matches(ticket, parsed) or not access.can_read(ticket.queue):
        raise NotFound(f"Ticket {identifier} was not found.")
    return ticket


def read_ahead(identifier: str | int | None) -> None:
    """The request reads the ticket ``identifier`` names once its caller is known: read it
    beside the caller's credentials, when those are read (``store.readahead``; nothing is shown
    before the caller's checks, and an identifier that names no ticket reads nothing)."""
    parsed = ids.parse(str(identifier)) if identifier else None
    if parsed is not None:
        repository().read_ahead(parsed.ticket_id)


def get_tickets(ticket_ids: list[int], *, access: Access) -> dict[int, Ticket]:
    """The tickets among ``ticket_ids`` that exist and ``access`` may read, by id (batched reads)."""
    return {tid: t for tid, t in repository().get_many(ticket_ids).items() if access.can_read(t.queue)}


def readable(ticket: Ticket | None, access: Access) -> Ticket | None:
    """The ticket, if ``access`` may read it (for tickets read in bulk: a Kapture batch)."""
    return ticket if ticket is not None and access.can_read(ticket.queue) else None


def _may_write(ticket: Ticket, access: Access) -> None:
    if not access.can_write(ticket.queue):
        raise Forbidden(f"This client may read ticket {ticket.id} but not change it.", reason="grant")


def _within_grants(command: Command, access: Access, identifier: str | int) -> Command:
    """``command``, refused when it would move the ticket to a queue ``access`` may not write;
    checked on each ticket it is applied to (a racing move is checked again: moved out of the
    grants meanwhile, the ticket is not found, as it would be if read now)."""

    def guarded(ticket: Ticket, cs: ChangeSet) -> None:
        if not access.can_read(ticket.queue):
            raise NotFound(f"Ticket {identifier} was not found.", ticket_id=ticket.id)
        _may_write(ticket, access)
        command(ticket, cs)
        if not access.can_write(ticket.queue):
            raise Forbidden(f"This client may not move tickets to the queue {quoted(ticket.queue)}.", reason="grant")

    return guarded


def _ref_matches(ticket: Ticket, parsed: ids.Identifier) -> bool:
    if parsed.ref_prefix is None:
        return True
    ticket_type = get_catalog().type_for_prefix(parsed.ref_prefix)
    return ticket_type is not None and ticket_type.key in ticket.type_history


def current_ref(ticket: Ticket) -> str:
    ticket_type = get_catalog().ticket_type(ticket.type)
    return ticket.ref(ticket_type.ref_prefix if ticket_type else "TIC")


def create_ticket(spec: NewTicket, actor: Actor, *, access: Access, ticket_id: int | None = None) -> Ticket:
    if not access.can_write(spec.queue):
        raise Forbidden(f"This client may not create tickets in the queue {quoted(spec.queue)}.", reason="grant")
    catalog = get_catalog()
    errors = []
    if catalog.ticket_type(spec.type) is None:
        errors.append(FieldError("type", f"unknown ticket type {quoted(spec.type)}"))
    if errors:
        raise ValidationFailed(errors[0].message, errors=errors)
    check_status(catalog, spec.status, spec.sub_status)
    repo = repository()
    now = utcnow()
    data = spec.model_dump(exclude={"tasks"})
    ticket = Ticket(
        id=ticket_id or repo.allocate_id(),
        type_history=[spec.type],
        status_since=now,
        created_at=now,
        updated_at=now,
        creator_id=None,
        tasks={str(i): Task(id=i, title=t.title, created_at=now) for i, t in enumerate(spec.tasks, start=1)},
        **data,
    )
    if catalog.status(spec.status).category == "closed":
        ticket.closed_at = now
    return repo.create(ticket, actor)


def update_ticket(
    identifier: str | int,
    command: Command,
    actor: Actor,
    *,
    if_match: int | None = None,
    access: Access,
    respond: Callable[[UpdateResult], Any] | None = None,
    current: Ticket | None = None,
) -> UpdateResult:
    """Change the ticket ``identifier`` names.  ``respond``: renders the request's answer from the
    result before it is written (``result.answer``; for a change an earlier try of the same
    request made, the answer that try gave, when it was kept).  ``current``: the ticket, when the
    caller has just read it (by ``get_ticket``).  ``access``: the client's grants; a ticket it may
    read but not write is a 403, one it may not read a 404, and so is a move out of its grants."""
    ticket = current if current is not None else get_ticket(identifier, access=access)
    if readable(ticket, access) is None:
        raise NotFound(f"Ticket {identifier} was not found.")
    _may_write(ticket, access)
    if not access.unrestricted:
        command = _within_grants(command, access, identifier)
    from ticketing.quotas import RequestQuota
    from ticketing.repository import riding

    with riding(RequestQuota()):  # the relay limits of the notifications the change asks for
        if respond is None:
            return repository().update(ticket.id, command, actor, if_match=if_match, current=ticket)
        with answering(respond):
            result = repository().update(ticket.id, command, actor, if_match=if_match, current=ticket)
    if result.answer is None:
        result.answer = respond(result)  # nothing was written: the ticket as it is
    return result


def get_references(kind: str, keys: Iterable[str | int]) -> dict[str, dict[str, Any]]:
    """Reference data (users, orders, queues, operators, services...) of ``kind``, by key."""
    return repository().get_references(kind, keys)


def get_reference_kinds(wanted: dict[str, Iterable[str | int]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Reference data of several kinds read together, by kind and key."""
    return repository().get_reference_kinds(wanted)


def put_reference(kind: str, key: str | int, doc: dict[str, Any]) -> None:
    """Create or replace one reference document."""
    repository().put_reference(kind, key, doc)


def messages(ticket: Ticket, *, limit: int = 100) -> list[Message]:
    """The ticket's messages (comments, replies), oldest first; none read when it has none."""
    return repository().messages(ticket.id, limit=limit) if ticket.message_count else []


def read_ticket(ticket_id: int) -> Ticket | None:
    """The ticket (consistent read), for the hub's own functions (no client, no grants)."""
    return repository().get(ticket_id)


def audit_entry(ticket_id: int, key: str) -> AuditEntry | None:
    """The audit entry stored under ``key`` (its sort key; consistent read), for the hub's own
    functions (no client, no grants): the change-event consumer's (``ticketing.events``)."""
    return repository().audit_entry(ticket_id, key)


class _DeliveryRider:
    """The claim's final state, written in the same transaction as the history entry that tells it."""

    def __init__(self, ticket_id: int, key: str, fields: dict[str, Any]) -> None:
        self.update = repository().delivery_update(ticket_id, key, fields)

    def items(self, result: UpdateResult) -> list[dict[str, Any]]:
        return [{"Update": self.update}]

    def recall(self, item: dict[str, Any]) -> Any:
        return None


def record(
    ticket_id: int,
    event: str,
    detail: dict[str, Any],
    actor: Actor,
    *,
    also: Callable[[Ticket], None] | None = None,
    delivery: tuple[str, dict[str, Any]] | None = None,
) -> UpdateResult:
    """A history entry the hub itself writes about a ticket (``event``, ``detail``), with the
    change ``also`` makes to the ticket, if any, and the final state of the side effect
    ``delivery`` = (claim key, fields) in the same transaction: both are written, or neither."""

    def command(ticket: Ticket, cs: ChangeSet) -> None:
        cs.event = event
        cs.detail = detail
        cs.record_without_changes = True
        if also is not None:
            also(ticket)

    if delivery is None:
        return repository().update(ticket_id, command, actor)
    from ticketing.repository import riding

    with riding(_DeliveryRider(ticket_id, *delivery)):
        return repository().update(ticket_id, command, actor)


def claim_delivery(ticket_id: int, key: str, doc: dict[str, Any], *, version: int) -> str:
    """Claim side effect ``key`` of the ticket once, while it is at ``version`` (``Repository.claim_delivery``)."""
    return repository().claim_delivery(ticket_id, key, doc, version=version)


def get_delivery(ticket_id: int, key: str) -> dict[str, Any] | None:
    return repository().get_delivery(ticket_id, key)


def update_delivery(ticket_id: int, key: str, fields: dict[str, Any]) -> None:
    repository().finish_delivery(ticket_id, key, fields)


def take_notice_quota(ticket_id: int) -> str | None:
    """Count a notice the hub sends by itself against the ticket's hourly relay limit (``quotas``)."""
    from ticketing import quotas

    return quotas.take_notice(repository().client, ticket_id)


def take_over_delivery(ticket_id: int, key: str, fields: dict[str, Any], *, now: str) -> bool:
    return repository().take_over_delivery(ticket_id, key, fields, now=now)


def history(
    identifier: str | int, *, access: Access, limit: int, cursor: str | None
) -> tuple[Ticket, list[AuditEntry], str | None]:
    ticket = get_ticket(identifier, access=access)
    entries, next_cursor = repository().history(ticket.id, limit=limit, cursor=cursor, newest=ticket.version)
    return ticket, entries, next_cursor
