"""Timed notifications about a ticket: what a notice is, and how one is carried out.

A ``Notice`` is what the notifier receives: the ticket, what to send to whom (``message``),
when (``due``), what must still hold when it is sent (``expect``: dotted paths into the stored
ticket document, e.g. ``{"status": "on_hold", "notify.automated": true}``; the notifier
re-checks them, so a notice whose ticket moved on sends nothing), and a ``delivery`` key (the
notifier sends each delivery at most once, however often it is woken).  Its ``id`` names it
for good: it is a pure function of the ticket state the notice comes from, so the same
notification always has the same id and another never has it.  Two notices never replace
each other, and the schedule that carries one is named by it (``ticket-<id>-<purpose>-<id>``,
64 characters at most).

Notices are *decided* purely, where the change is made, and *carried out* from the tickets
table's stream, never in a request:

* a command emits the notices its request asks for into the change's outbox
  (``ChangeSet.emit``): they commit in the ticket's own ``TransactWriteItems``;
* an ``Automation`` says from a ticket's state alone which notice it calls for (a reminder that
  follows the ticket, whichever dialect changes it);
* the stream's consumer (``ticketing.automations``) hands each to ``carry_out``: due within
  ``LEAD`` (a minute) or past, straight to the notifier with an asynchronous Lambda invoke
  (``send_now``; never a schedule ``at(now)``, which is past by the time Scheduler reads it);
  later, one one-time EventBridge Scheduler schedule (``arm``: ``at(...)`` in UTC, at least
  ``LEAD`` ahead, ``ActionAfterCompletion: DELETE``, ``RETRY_POLICY``, the dead-letter queue
  ``SCHEDULER_DLQ_ARN``); a schedule of that name existing already means it is armed.
  ``cancel`` deletes the schedule of a notice the ticket no longer calls for.

Each step is idempotent, so a stream record handled twice changes nothing.  A notice armed
before ids existed has none: its schedule is the one per ticket and purpose
(``ticket-<id>-<purpose>``), and it still fires.
"""

import hashlib
import json
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ticketing import aws
from ticketing.catalog import get_catalog
from ticketing.model import Ticket, utcnow
from ticketing.notifications import MAX_RECIPIENTS, SMS_MAX_CHARS, SUBJECT_MAX_CHARS, header_text
from ticketing.settings import get_settings
from ticketing.store.codec import ticket_doc

# A notification more than 6 hours late is not worth sending; the notifier is
# idempotent, so a retried invocation costs nothing but an invocation.
RETRY_POLICY = {"MaximumEventAgeInSeconds": 6 * 3600, "MaximumRetryAttempts": 10}
# Scheduler only ever gets times at least this far ahead; a notice due sooner is sent at once
# (so it may go out up to a minute early).
LEAD = timedelta(seconds=60)
MAX_SCHEDULE_NAME = 64  # Scheduler's limit; names are [0-9a-zA-Z-_.]
MESSAGE_BODY_MAX = 65_536

Purpose = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")]
DeliveryKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,128}$")]
NoticeId = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z._-]{0,64}$")]


class Message(BaseModel):
    """What the notifier sends: one message per recipient, on one channel."""

    model_config = ConfigDict(extra="forbid")

    channel: Literal["email", "sms"]
    to: list[Annotated[str, StringConstraints(min_length=3, max_length=320)]] = Field(
        min_length=1, max_length=MAX_RECIPIENTS
    )
    subject: str = ""
    body: Annotated[str, StringConstraints(min_length=1, max_length=MESSAGE_BODY_MAX)]
    # subject and body are templates (``${title}``, ``${flow}``...: ``render``), filled in from
    # the ticket as it is when the message is sent, not as it was when the notice was made
    templated: bool = False
    vocabulary: str = ""  # the catalog vocabulary whose names ``${flow}`` shows (a dialect's)


class Notice(BaseModel):
    """A notification the notifier carries out: the event it receives (from a schedule, or invoked)."""

    model_config = ConfigDict(extra="forbid")

    v: Literal[1] = 1
    ticket_id: int = Field(gt=0)
    purpose: Purpose
    delivery: DeliveryKey
    due: datetime
    expect: dict[str, Any] = Field(default_factory=dict)
    message: Message
    # names the notice and its schedule (empty: a notice armed before ids, one schedule per
    # ticket and purpose)
    id: NoticeId = ""
    armed_by: str = ""
    # kept so that notices armed by earlier versions still validate: the ticket version the
    # notice was made from, and what the arming request said beside the ticket
    version: int = Field(default=0, ge=0)
    note: Annotated[str, StringConstraints(max_length=10_000)] = ""

    @property
    def schedule(self) -> str:
        return schedule_name(self.ticket_id, self.purpose, self.id)


@dataclass(frozen=True)
class Automation:
    """A notification that follows the ticket whichever dialect changes it (kept in step by
    ``ticketing.automations`` from each change's old and new image).

    * ``watch``: the stored fields it depends on (a change touching none of them costs nothing);
    * ``key(ticket)``: the id of the notice the ticket calls for (None: none), from the ticket
      alone: the consumer cancels the id the old image called for and carries out the one the
      new image calls for, without asking Scheduler what is pending;
    * ``notice(ticket, id, now)``: that notice (it may read reference data, e.g. an assignee's
      email; None: nobody to tell).  None instead of a function: the notices are emitted by the
      dialect's command into the outbox, and the automation only cancels the one superseded."""

    purpose: str
    watch: tuple[str, ...]
    key: Callable[[Ticket], str | None]
    notice: Callable[[Ticket, str, datetime], Notice | None] | None = None
    # whether a superseded notice may be pending (a schedule to cancel); False for notices that
    # are always due at once (a movement's), so that superseding one costs no Scheduler call
    cancels: bool = True


def literal(text: str) -> str:
    """``text`` as a template that renders to itself (a caller's own words: no placeholders)."""
    return text.replace("$", "$$")


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if value else ""


def placeholders(ticket: Ticket, vocabulary: str = "") -> dict[str, str]:
    """What a templated message may say about the ticket, from its state now."""
    catalog = get_catalog()
    ticket_type = catalog.ticket_type(ticket.type)
    term = catalog.vocabulary(vocabulary).for_status(ticket.status, ticket.sub_status) if vocabulary else None
    status = catalog.status(ticket.status)
    status_name = status.name if status is not None else ticket.status
    return {
        "id": str(ticket.id),
        "key": ticket.key,
        "number": ticket.number,
        "ref": ticket.ref(ticket_type.ref_prefix if ticket_type else "TIC"),
        "title": ticket.title,
        "description": ticket.description,
        "description_block": f"\n\n{ticket.description}" if ticket.description else "",
        "status": ticket.status,
        "status_name": status_name,
        "flow": f"{term.name} ({term.term})" if term else ticket.status,
        "flow_name": term.name if term else status_name,
        "flow_term": str(term.term) if term else ticket.status,
        "status_since": _when(ticket.status_since),
        "follow_up_at": _when(ticket.follow_up_at),
    }


def render(message: Message, ticket: Ticket) -> Message:
    """The message as it is sent: a templated one filled in from ``ticket`` (as it is now), its
    subject fit for a mail header (no line breaks or control characters), its body within the
    channel's limit."""
    subject, body = message.subject, message.body
    if message.templated:
        values = placeholders(ticket, message.vocabulary)
        subject = string.Template(subject).safe_substitute(values)
        body = string.Template(body).safe_substitute(values)
    limit = SMS_MAX_CHARS if message.channel == "sms" else MESSAGE_BODY_MAX
    return message.model_copy(
        update={"subject": header_text(subject, SUBJECT_MAX_CHARS), "body": body[:limit] or " ", "templated": False}
    )


def schedule_name(ticket_id: int, purpose: str, notice_id: str = "") -> str:
    base = f"ticket-{ticket_id}-{purpose}"
    return f"{base}-{notice_id}"[:MAX_SCHEDULE_NAME] if notice_id else base


def delivery_key(*parts: Any) -> str:
    """A stable key for one notification: the same parts always give the same key."""
    raw = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:40]


def lookup(doc: Mapping[str, Any], path: str) -> Any:
    value: Any = doc
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None  # absent and null are the same thing in a stored ticket
        value = value[part]
    return value


def expect_of(ticket: Ticket, *paths: str) -> dict[str, Any]:
    """The values ``paths`` have in ``ticket``, in the form ``mismatches`` compares."""
    doc = ticket_doc(ticket)
    return {path: lookup(doc, path) for path in paths}


def mismatches(ticket: Ticket, expect: Mapping[str, Any]) -> list[str]:
    """The ``expect`` paths whose value the ticket no longer has (empty: all still hold)."""
    doc = ticket_doc(ticket)
    return [path for path, value in expect.items() if lookup(doc, path) != value]


def at_expression(when: datetime) -> str:
    return f"at({when.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S')})"


def sent_at_once(notice: Notice, now: datetime) -> bool:
    """Whether the notice is due too soon for a schedule (within ``LEAD``, or past)."""
    return notice.due.astimezone(UTC).replace(microsecond=0) < now + LEAD


def carry_out(notice: Notice, *, now: datetime | None = None) -> str:
    """Hand ``notice`` to the notifier now, or arm its schedule: ``"sent"`` (invoked),
    ``"armed"`` (schedule created) or ``"kept"`` (its schedule was there already)."""
    now = now or utcnow()
    if sent_at_once(notice, now):
        send_now(notice)
        return "sent"
    return arm(notice, now=now)


def send_now(notice: Notice, *, client: Any = None) -> None:
    """An asynchronous invoke of the notifier with the notice (Lambda retries a failed run, then
    sends it to the notifier's dead-letter queue)."""
    arn = get_settings().notifier_arn
    if not arn:
        raise RuntimeError("NOTIFIER_ARN must be set to send notifications")
    (client or aws.client("lambda")).invoke(
        FunctionName=arn, InvocationType="Event", Payload=notice.model_dump_json().encode()
    )


def arm(notice: Notice, *, now: datetime | None = None, client: Any = None) -> str:
    """Create the schedule that hands ``notice`` to the notifier at ``notice.due``: ``"armed"``,
    or ``"kept"`` if a schedule of its name is there already (the same notice, armed before).
    A notice due within ``LEAD`` is refused (``carry_out`` sends it instead)."""
    settings = get_settings()
    if not settings.notifier_arn or not settings.scheduler_role_arn:
        raise RuntimeError("NOTIFIER_ARN and SCHEDULER_ROLE_ARN must be set to arm schedules")
    if not notice.id:
        raise ValueError("a notice without an id cannot be armed")
    now = now or utcnow()
    if sent_at_once(notice, now):
        raise ValueError(f"the notice is due at {notice.due.isoformat()}, too soon for a schedule: send it now")
    target: dict[str, Any] = {
        "Arn": settings.notifier_arn,
        "RoleArn": settings.scheduler_role_arn,
        "Input": notice.model_dump_json(),
        "RetryPolicy": dict(RETRY_POLICY),
    }
    if settings.scheduler_dlq_arn:
        target["DeadLetterConfig"] = {"Arn": settings.scheduler_dlq_arn}
    try:
        (client or aws.client("scheduler")).create_schedule(
            Name=notice.schedule,
            GroupName=settings.schedule_group,
            ScheduleExpression=at_expression(notice.due),
            ScheduleExpressionTimezone="UTC",
            FlexibleTimeWindow={"Mode": "OFF"},
            ActionAfterCompletion="DELETE",
            State="ENABLED",
            Description=f"{notice.purpose} for ticket {notice.ticket_id}",
            Target=target,
        )
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") == "ConflictException":
            return "kept"
        raise
    return "armed"


def cancel(ticket_id: int, purpose: str, notice_id: str, *, client: Any = None) -> bool:
    """Delete the schedule of this notice; False if there was none (fired, or never armed)."""
    try:
        (client or aws.client("scheduler")).delete_schedule(
            GroupName=get_settings().schedule_group, Name=schedule_name(ticket_id, purpose, notice_id)
        )
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return False
        raise
    return True
