"""The callback reminder: an email to the ticket's assignee at its next follow-up.

A Kapture ``callback_time`` switches it on (``follow_up_reminder``, with the update's comment as
``follow_up_note``).  The request arms nothing: the reminder is a function of the stored ticket
(``CALLBACK_AUTOMATION``), which the tickets table's stream consumer (``ticketing.automations``)
keeps armed whichever dialect moves the follow-up, reassigns or closes the ticket."""

from __future__ import annotations

from datetime import datetime, tzinfo

from ticketing import scheduling, service
from ticketing.catalog import Vocabulary, get_catalog
from ticketing.model import Ticket
from ticketing.notifications import SUBJECT_MAX_CHARS
from ticketing.observability import logger

from .dialect import NAME, USER_KIND, format_time, zone_label, zone_of

PURPOSE = "kapture-callback"  # the callback reminder: one per follow-up time


def reminder(
    ticket: Ticket, to: str, vocab: Vocabulary, zone: tzinfo, armed_by: str, notice_id: str = ""
) -> scheduling.Notice:
    """The reminder of the ticket's callback, to its assignee, at its next follow-up, quoting the
    callback's comment (``follow_up_note``).

    Delivered once per follow-up time (its delivery key: ticket and time), so arming it again
    (a replayed record, a reassignment) never sends it twice; it expects the same follow-up,
    assignee and an open ticket when it fires, so a callback moved, reassigned or closed
    meanwhile (through any dialect) sends nothing."""
    due = ticket.follow_up_at
    term = vocab.for_status(ticket.status, ticket.sub_status)
    when = format_time(due, zone)
    lines = [
        f'The callback for ticket {ticket.id} "{ticket.title}" is due at {when} ({zone_label(zone)}).',
        f"Status: {term.name if term else ticket.status}",
    ]
    if ticket.queue:
        lines.append(f"Queue: {ticket.queue}")
    if ticket.disposition:
        lines.append(f"Disposition: {ticket.disposition}")
    if ticket.follow_up_note:
        lines += ["", ticket.follow_up_note]
    return scheduling.Notice(
        id=notice_id or callback_id(ticket) or "",
        ticket_id=ticket.id,
        purpose=PURPOSE,
        delivery=scheduling.delivery_key(ticket.id, PURPOSE, due.isoformat()),
        due=due,
        expect=scheduling.expect_of(ticket, "follow_up_at", "closed_at", "assignee_ids", "follow_up_reminder"),
        message=scheduling.Message(
            channel="email",
            to=[to],
            subject=f"Callback due: ticket {ticket.id} {ticket.title}"[:SUBJECT_MAX_CHARS],
            body="\n".join(lines)[: scheduling.MESSAGE_BODY_MAX],
        ),
        armed_by=armed_by,
        version=ticket.version,
    )


def callback_id(ticket: Ticket) -> str | None:
    """The id of the callback reminder the ticket calls for (None: none): a Kapture callback
    switched it on, the follow-up is set, the ticket open and assigned.  From the ticket alone:
    its follow-up time, its assignee's id and the callback's comment."""
    if not ticket.follow_up_reminder or ticket.follow_up_at is None or ticket.closed_at is not None:
        return None
    if not ticket.assignee_ids:
        return None
    when = ticket.follow_up_at.isoformat()
    return scheduling.delivery_key(ticket.id, PURPOSE, when, ticket.assignee_ids[0], ticket.follow_up_note)


def _callback_called_for(ticket: Ticket, notice_id: str, now: datetime) -> scheduling.Notice | None:
    """The callback reminder, to the assignee's email (reference data); None if they have none."""
    assignee = ticket.assignee_ids[0]
    user = service.get_references(USER_KIND, [assignee]).get(str(assignee))
    recipient = (user or {}).get("email")
    if not recipient:
        logger.warning("callback time stored, but the ticket's assignee has no email", extra={"ticket_id": ticket.id})
        return None
    vocab = get_catalog().vocabulary(NAME)
    return reminder(ticket, recipient, vocab, zone_of(vocab), "automations", notice_id)


# Whichever dialect moves the follow-up, reassigns or closes the ticket (Kapture included), the
# reminder follows (ticketing.automations).  Only a Kapture callback switches it on.
CALLBACK_AUTOMATION = scheduling.Automation(
    PURPOSE,
    ("follow_up_at", "closed_at", "assignee_ids", "follow_up_reminder", "follow_up_note"),
    callback_id,
    _callback_called_for,
)
