"""What ``notify`` and ``automated`` cause: the update's notification (emitted by its command
into the change's outbox) and the automated reminder of a stay in a flow (derived from the
stored ticket by the stream's consumer, ``ticketing.automations``).  The design:
``docs/particlespace.md``, "Notifications: the design"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ticketing import scheduling
from ticketing.catalog import Term, Vocabulary, get_catalog
from ticketing.dialects.particlespace import NAME, PURPOSE_NOTIFY, PURPOSE_REMINDER
from ticketing.model import Notify, Ticket
from ticketing.notifications import SMS_MAX_CHARS, SUBJECT_MAX_CHARS

MESSAGE_MAX_CHARS = 10_000


# -- flows, time limits and messages -----------------------------------------------------------
def time_limit_minutes(flows: Vocabulary, flow: Term | None) -> int:
    """The flow's time limit (its ``time_limit_minutes``, else the vocabulary's
    ``default_time_limit_minutes``); 0 means the flow has none."""
    default = flows.attrs.get("default_time_limit_minutes", 0)
    raw = (flow.attrs if flow else {}).get("time_limit_minutes", default)
    try:
        return max(int(raw), 0)
    except (TypeError, ValueError):
        return 0


def _duration(minutes: int) -> str:
    size, unit = next((s, u) for s, u in ((1440, "day"), (60, "hour"), (1, "minute")) if minutes % s == 0)
    n = minutes // size
    return f"{n} {unit}{'' if n == 1 else 's'}"


def _flow_label(ticket: Ticket, flow: Term | None) -> str:
    return f"{flow.name} ({flow.term})" if flow else ticket.status


def _notify_message(ticket: Ticket, notify: Notify, flow: Term | None) -> scheduling.Message:
    label = _flow_label(ticket, flow)
    subject = notify.subject or f"Ticket {ticket.key}: {ticket.title}"[:SUBJECT_MAX_CHARS]
    body = notify.message
    if not body:
        body = f'Ticket {ticket.key} "{ticket.title}" is in {label}.'
        if notify.channel == "email" and ticket.description:
            body += f"\n\n{ticket.description}"
    return scheduling.Message(
        channel=notify.channel, to=notify.contacts, subject=subject, body=body[: _max_body(notify.channel)]
    )


def _reminder_message(ticket: Ticket, notify: Notify, flow: Term | None, minutes: int) -> scheduling.Message:
    label, duration = _flow_label(ticket, flow), _duration(minutes)
    since = ticket.status_since.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    name = flow.name if flow else ticket.status
    return scheduling.Message(
        channel=notify.channel,
        to=notify.contacts,
        subject=f"Reminder: ticket {ticket.key} has been in {name} for over {duration}"[:SUBJECT_MAX_CHARS],
        body=(
            f'Ticket {ticket.key} "{ticket.title}" has been in {label} since {since} UTC, '
            f"longer than the flow's time limit of {duration}."
        )[: _max_body(notify.channel)],
    )


def _max_body(channel: str) -> int:
    return SMS_MAX_CHARS if channel == "sms" else MESSAGE_MAX_CHARS


def reminder_due(ticket: Ticket, flows: Vocabulary) -> datetime | None:
    """When the automated reminder for the ticket's current stay is due (None: no reminder)."""
    notify = ticket.notify
    if notify is None or not (notify.enabled and notify.automated and notify.contacts):
        return None
    minutes = time_limit_minutes(flows, flows.for_status(ticket.status, ticket.sub_status))
    return ticket.status_since + timedelta(minutes=minutes) if minutes else None


_STAY = ("status", "sub_status", "status_since")
# what the reminder depends on in the notify settings (not the update's own subject, message, time)
_REMINDER_NOTIFY = ("notify.enabled", "notify.automated", "notify.channel", "notify.contacts")


def notify_notice(ticket: Ticket, flows: Vocabulary, now: datetime, armed_by: str) -> scheduling.Notice | None:
    """The notification of an update with ``notify=1``, from the ticket as the update leaves it
    (pure: the command emits it into the change's outbox).  None: nobody to tell.  Its id is what
    the update stored; timed, it expects the notify settings (docs/particlespace.md)."""
    notify = ticket.notify
    if notify is None or not (notify.enabled and notify.contacts and notify.channel):
        return None
    settings = notify.model_dump(mode="json", exclude={"notice"}, exclude_none=True)
    stay = {"status": ticket.status, "sub_status": ticket.sub_status, "status_since": ticket.status_since}
    fields = {"title": ticket.title, "description": ticket.description, **stay, "notify": settings}
    key = scheduling.delivery_key(ticket.id, PURPOSE_NOTIFY, fields)
    timed = notify.time is not None and notify.time > now
    expect = {"notify": {**settings, "notice": key}} if timed else {}
    return scheduling.Notice(
        id=key,
        ticket_id=ticket.id,
        purpose=PURPOSE_NOTIFY,
        delivery=key,
        due=notify.time or now,
        expect=expect,
        message=_notify_message(ticket, notify, flows.for_status(ticket.status, ticket.sub_status)),
        armed_by=armed_by,
    )


def _timed_notice(ticket: Ticket) -> str | None:
    """The id of the timed notification the ticket's notify settings asked for (None: none)."""
    notify = ticket.notify
    return notify.notice if notify is not None and notify.enabled and notify.time and notify.notice else None


def reminder_id(ticket: Ticket, flows: Vocabulary) -> str | None:
    """The id of the automated reminder the ticket calls for: its stay and whom to tell."""
    if reminder_due(ticket, flows) is None:
        return None
    notify = ticket.notify
    stay = [ticket.status, ticket.sub_status, ticket.status_since]
    return scheduling.delivery_key(ticket.id, PURPOSE_REMINDER, stay, notify.channel, notify.contacts)


def reminder_notice(ticket: Ticket, flows: Vocabulary, notice_id: str, armed_by: str) -> scheduling.Notice | None:
    """The automated reminder of the ticket's stay in its flow (None: it calls for none).

    Its delivery key is the stay, so each stay in a flow is reminded of at most once, whoever
    armed it and however often."""
    due = reminder_due(ticket, flows)
    if due is None or ticket.notify is None:
        return None
    flow = flows.for_status(ticket.status, ticket.sub_status)
    return scheduling.Notice(
        id=notice_id,
        ticket_id=ticket.id,
        purpose=PURPOSE_REMINDER,
        delivery=scheduling.delivery_key(ticket.id, PURPOSE_REMINDER, scheduling.expect_of(ticket, *_STAY)),
        due=due,
        expect=scheduling.expect_of(ticket, *_STAY, *_REMINDER_NOTIFY),
        message=_reminder_message(ticket, ticket.notify, flow, time_limit_minutes(flows, flow)),
        armed_by=armed_by,
        version=ticket.version,
    )


def _reminder_id(ticket: Ticket) -> str | None:
    return reminder_id(ticket, get_catalog().vocabulary(NAME))


def _reminder_called_for(ticket: Ticket, notice_id: str, now: datetime) -> scheduling.Notice | None:
    return reminder_notice(ticket, get_catalog().vocabulary(NAME), notice_id, "automations")


# The automated reminder follows the ticket's moves through every dialect, this one included
# (ticketing.automations): each stay is reminded of, and a move re-arms or cancels it.
REMINDER_AUTOMATION = scheduling.Automation(
    PURPOSE_REMINDER, ("status", "sub_status", "status_since", "notify"), _reminder_id, _reminder_called_for
)
# A timed notification is emitted by the update that asks for it (the outbox); the next
# notifying update, or notify=0, supersedes it: its schedule is cancelled.
NOTIFY_AUTOMATION = scheduling.Automation(PURPOSE_NOTIFY, ("notify",), _timed_notice)
