"""What an SPP update changes: the body checked against the catalog and the reference data,
and the change itself as a pure function of the ticket it is given."""

from __future__ import annotations

from ticketing import service
from ticketing.catalog import Term, Vocabulary, get_catalog
from ticketing.commands import ChangeSet, Command
from ticketing.dialects.common import merge_patch
from ticketing.dialects.reference_data import ORDER_KIND, USER_KIND
from ticketing.dialects.spp.dialect import NAME
from ticketing.dialects.spp.request import SaveTicketRequest
from ticketing.errors import FieldError, PayloadTooLarge
from ticketing.model import Ticket
from ticketing.references import References
from ticketing.repository import MAX_TICKET_BYTES, ticket_bytes


def status_term(vocab: Vocabulary, status_id: int) -> Term | None:
    """The catalog term of an SPP status id (``None`` if the vocabulary has no such id)."""
    return vocab.lookup(status_id) or vocab.lookup(str(status_id))


def plan(body: SaveTicketRequest, given: set[str], refs: References) -> tuple[Term | None, list[FieldError]]:
    """Check what the body names (status id, employees, order) against the catalog and
    the reference data; every problem is reported at once."""
    errors: list[FieldError] = []
    term = None
    refs.load_kinds({USER_KIND: body.employees or [], ORDER_KIND: [] if body.order is None else [body.order]})
    if "status" in given:
        term = status_term(get_catalog().vocabulary(NAME), body.status)
        if term is None:
            errors.append(FieldError("status", f"The selected status {body.status} is invalid."))
    if body.employees:
        unknown = refs.missing(USER_KIND, list(dict.fromkeys(body.employees)))
        if unknown:
            ids = ", ".join(str(u) for u in unknown)
            errors.append(FieldError("employees", f"The selected employees do not exist: {ids}."))
    if body.order is not None and refs.missing(ORDER_KIND, [body.order]):
        errors.append(FieldError("order", f"The selected order {body.order} does not exist."))
    return term, errors


def command_for(body: SaveTicketRequest, given: set[str], term: Term | None) -> Command:
    """The change, as a pure function of the ticket it is given (it may run again on a
    fresher ticket when another writer got there first)."""
    vocab = get_catalog().vocabulary(NAME)

    def command(ticket: Ticket, cs: ChangeSet) -> None:
        if "subject" in given:
            ticket.title = body.subject
        if "tags" in given:
            ticket.tags = list(dict.fromkeys(body.tags or []))
        if "employees" in given:
            ticket.assignee_ids = list(dict.fromkeys(body.employees or []))
        if "order" in given:
            ticket.order_number = body.order
        if "metadata" in given and body.metadata:
            ticket.metadata = merge_patch(ticket.metadata, body.metadata)
            size = ticket_bytes(ticket)
            if size > MAX_TICKET_BYTES:
                message = f"The ticket would hold {size} bytes with this metadata, {MAX_TICKET_BYTES} at most."
                raise PayloadTooLarge(message, errors=[FieldError("metadata", message)])
        if term is not None:
            shown = vocab.for_status(ticket.status, ticket.sub_status)
            if shown is None or shown.term != term.term:  # the status it already shows keeps its sub-status
                service.set_status(ticket, term.status, term.sub_status, cs.now)

    return command
