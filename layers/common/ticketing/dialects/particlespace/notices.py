"""What ``notify`` and ``automated`` cause: the update's notification (emitted by its command
into the change's outbox) and the automated reminder of a stay in a flow (derived from the
stored ticket by the stream's consumer, ``ticketing.automations``).  The design:
``docs/particlespace.md``, "Notifications: the design"."""

from __future__ import annotations

from datetime import datetime, timedelta

from ticketing import scheduling
from ticketing.catalog import Term, Vocabulary, get_catalog
from ticketing.dialects.particlespace import NAME, PURPOSE_MOVEMENT, PURPOSE_NOTIFY, PURPOSE_REMINDER
from ticketing.model import Notify, Ticket, stay_key
from ticketing.notifications import SMS_MAX_CHARS

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


# Messages are templates (``scheduling.placeholders``), filled in from the ticket as it is when
# they are sent; a caller's own subject and message are sent as written (``literal``).
_SUBJECT = "Ticket ${key}: ${title}"
_BODY = 'Ticket ${key} "${title}" is in ${flow}.'


def _message(notify: Notify, subject: str, body: str) -> scheduling.Message:
    return scheduling.Message(
        channel=notify.channel, to=notify.contacts, subject=subject, body=body, templated=True, vocabulary=NAME
    )


def _notify_message(notify: Notify) -> scheduling.Message:
    subject = scheduling.literal(notify.subject) if notify.subject else _SUBJECT
    if notify.message:
        body = scheduling.literal(notify.message[: _max_body(notify.channel)])
    else:
        body = _BODY + ("${description_block}" if notify.channel == "email" else "")
    return _message(notify, subject, body)


def _reminder_message(notify: Notify, minutes: int) -> scheduling.Message:
    duration = _duration(minutes)
    return _message(
        notify,
        f"Reminder: ticket ${{key}} has been in ${{flow_name}} for over {duration}",
        f'Ticket ${{key}} "${{title}}" has been in ${{flow}} since ${{status_since}} UTC, '
        f"longer than the flow's time limit of {duration}.",
    )


def _movement_message(notify: Notify) -> scheduling.Message:
    body = 'Ticket ${key} "${title}" moved to ${flow}.'
    return _message(notify, "Ticket ${key} moved to ${flow_name}", body)


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
        # due now, it tells of the update just made: written from the ticket as the update
        # leaves it; timed, from the ticket as it is when it is sent
        message=_notify_message(notify) if timed else scheduling.render(_notify_message(notify), ticket),
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
        message=_reminder_message(ticket.notify, time_limit_minutes(flows, flow)),
        armed_by=armed_by,
        version=ticket.version,
    )


def _reminder_id(ticket: Ticket) -> str | None:
    return reminder_id(ticket, get_catalog().vocabulary(NAME))


def _reminder_called_for(ticket: Ticket, notice_id: str, now: datetime) -> scheduling.Notice | None:
    return reminder_notice(ticket, get_catalog().vocabulary(NAME), notice_id, "automations")


def reminder_pending(ticket: Ticket, flows: Vocabulary) -> datetime | None:
    """When the stay's reminder will be sent: None when it calls for none, or it has been sent."""
    due = reminder_due(ticket, flows)
    if due is None or ticket.notices_sent.get(PURPOSE_REMINDER) == reminder_id(ticket, flows):
        return None
    return due


def movement_id(ticket: Ticket) -> str | None:
    """The id of the notice telling the contacts of the ticket's latest movement: None when
    nobody asked to be told (``notify=0``), or when the stay is the one the update's own
    notification told of (a ParticleSpace update that moved the ticket with ``notify=1``)."""
    notify = ticket.notify
    if notify is None or not (notify.enabled and notify.contacts and notify.channel):
        return None
    stay = stay_key(ticket)
    if notify.told == stay:
        return None
    return scheduling.delivery_key(ticket.id, PURPOSE_MOVEMENT, stay, notify.channel, notify.contacts)


def movement_notice(ticket: Ticket, notice_id: str, now: datetime) -> scheduling.Notice | None:
    """The movement's notice: due now, sent only while the ticket is still in that stay (moved
    on meanwhile, the next movement's own notice tells)."""
    if ticket.notify is None:
        return None
    return scheduling.Notice(
        id=notice_id,
        ticket_id=ticket.id,
        purpose=PURPOSE_MOVEMENT,
        delivery=notice_id,
        due=now,
        expect=scheduling.expect_of(ticket, *_STAY, "notify.enabled", "notify.channel", "notify.contacts"),
        message=_movement_message(ticket.notify),
        armed_by="automations",
        version=ticket.version,
    )


# The automated reminder follows the ticket's moves through every dialect, this one included
# (ticketing.automations): each stay is reminded of, and a move re-arms or cancels it.
REMINDER_AUTOMATION = scheduling.Automation(
    PURPOSE_REMINDER, ("status", "sub_status", "status_since", "notify"), _reminder_id, _reminder_called_for
)
# A timed notification is emitted by the update that asks for it (the outbox); the next
# notifying update, or notify=0, supersedes it: its schedule is cancelled.
NOTIFY_AUTOMATION = scheduling.Automation(PURPOSE_NOTIFY, ("notify",), _timed_notice)
# A movement made through any other dialect (or by ParticleSpace without notify=1) tells the
# contacts that asked to be told of movements, once per movement (the document: "notify of
# creation and movement of ticket").
MOVEMENT_AUTOMATION = scheduling.Automation(
    PURPOSE_MOVEMENT, ("status", "sub_status", "status_since", "notify"), movement_id, movement_notice, cancels=False
)
