"""Timed notifications about a ticket: one-time EventBridge Scheduler schedules whose
target is the notifier function.

* A schedule is named from the ticket and its purpose (``ticket-1001-particlespace-reminder``),
  so arming again *replaces* the pending one instead of adding a second, and
  ``cancel`` needs nothing but the same two values.
* It fires once (``at(...)``, UTC), is deleted after it ran (``ActionAfterCompletion:
  DELETE``), retries under ``RETRY_POLICY`` and, if it cannot invoke the notifier,
  lands in the dead-letter queue (``SCHEDULER_DLQ_ARN``).
* Its input is a ``Notice``: the ticket, what to send to whom, a ``delivery`` key
  (the notifier sends each delivery at most once, however often it is woken) and an
  ``expect`` map of ticket fields that must still hold when it fires (dotted paths
  into the stored ticket document, e.g. ``{"status": "on_hold", "status_since":
  "...", "notify.automated": true}``).  Other dialects never learn about schedules:
  the notifier's re-check of ``expect`` is what makes a stale one harmless.

Arm schedules after ``service.update_ticket`` has returned, from the ticket it
returned: they are side effects, and a command must stay pure.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ticketing import aws
from ticketing.errors import Unavailable
from ticketing.model import Ticket, utcnow
from ticketing.notifications import MAX_RECIPIENTS
from ticketing.repository import ticket_doc
from ticketing.settings import get_settings

# A notification more than 6 hours late is not worth sending; the notifier is
# idempotent, so a retried invocation costs nothing but an invocation.
RETRY_POLICY = {"MaximumEventAgeInSeconds": 6 * 3600, "MaximumRetryAttempts": 10}
_TRANSIENT = {"ThrottlingException", "InternalServerException", "ServiceQuotaExceededException"}

Purpose = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")]
DeliveryKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,128}$")]


class Message(BaseModel):
    """What the notifier sends: one message per recipient, on one channel."""

    model_config = ConfigDict(extra="forbid")

    channel: Literal["email", "sms"]
    to: list[Annotated[str, StringConstraints(min_length=3, max_length=320)]] = Field(
        min_length=1, max_length=MAX_RECIPIENTS
    )
    subject: str = ""
    body: Annotated[str, StringConstraints(min_length=1, max_length=65536)]


class Notice(BaseModel):
    """A schedule's input: the event the notifier receives."""

    model_config = ConfigDict(extra="forbid")

    v: Literal[1] = 1
    ticket_id: int = Field(gt=0)
    purpose: Purpose
    delivery: DeliveryKey
    due: datetime
    expect: dict[str, Any] = Field(default_factory=dict)
    message: Message
    armed_by: str = ""
    # the ticket version the notice was made from: a stream record older than it (delivered
    # late) leaves it alone (ticketing.automations); 0: unknown
    version: int = Field(default=0, ge=0)
    # what the arming request said that the stored ticket does not hold (Kapture's callback
    # comment): a notice armed again after another dialect's change carries it over
    note: Annotated[str, StringConstraints(max_length=10_000)] = ""

    @property
    def schedule(self) -> str:
        return schedule_name(self.ticket_id, self.purpose)


@dataclass(frozen=True)
class Automation:
    """A timed notification that follows the ticket whichever dialect changes it: ``watch``
    names the stored fields it depends on, ``notice(ticket, now, pending)`` says from the
    stored ticket (and the notice pending, if any) what it calls for (None: nothing).
    ``only_while_pending``: it keeps a pending notification in step but never starts one (the
    dialect's own request does, from what it was told).  Kept up to date by
    ``ticketing.automations``."""

    purpose: str
    watch: tuple[str, ...]
    notice: Callable[[Ticket, datetime, Notice | None], Notice | None]
    only_while_pending: bool = False


def schedule_name(ticket_id: int, purpose: str) -> str:
    return f"ticket-{ticket_id}-{purpose}"


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


def _settings_for_arming():
    settings = get_settings()
    if not settings.notifier_arn or not settings.scheduler_role_arn:
        raise RuntimeError("NOTIFIER_ARN and SCHEDULER_ROLE_ARN must be set to arm schedules")
    return settings


def _unavailable() -> Unavailable:
    return Unavailable("The scheduler is busy: the notification was not scheduled. Retry the request.")


def _is_transient(err: Exception) -> bool:
    if isinstance(err, BotoCoreError):
        return True
    return isinstance(err, ClientError) and err.response.get("Error", {}).get("Code") in _TRANSIENT


def arm(notice: Notice, *, now: datetime | None = None, client: Any = None) -> str:
    """Create, or replace, the schedule that hands ``notice`` to the notifier at ``notice.due``
    (at once when that is past).  Returns the schedule's name."""
    settings = _settings_for_arming()
    client = client or aws.client("scheduler")
    now = now or utcnow()
    when = max(notice.due, now)
    target: dict[str, Any] = {
        "Arn": settings.notifier_arn,
        "RoleArn": settings.scheduler_role_arn,
        "Input": notice.model_dump_json(),
        "RetryPolicy": dict(RETRY_POLICY),
    }
    if settings.scheduler_dlq_arn:
        target["DeadLetterConfig"] = {"Arn": settings.scheduler_dlq_arn}
    params = {
        "Name": notice.schedule,
        "GroupName": settings.schedule_group,
        "ScheduleExpression": at_expression(when),
        "ScheduleExpressionTimezone": "UTC",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "ActionAfterCompletion": "DELETE",
        "State": "ENABLED",
        "Description": f"{notice.purpose} for ticket {notice.ticket_id}",
        "Target": target,
    }
    try:
        for _ in range(3):  # create; if it exists, replace it; if it fired meanwhile, create again
            try:
                client.create_schedule(**params)
                return notice.schedule
            except ClientError as err:
                if err.response["Error"]["Code"] != "ConflictException":
                    raise
            try:
                client.update_schedule(**params)
                return notice.schedule
            except ClientError as err:
                if err.response["Error"]["Code"] != "ResourceNotFoundException":
                    raise
    except (ClientError, BotoCoreError) as err:
        if _is_transient(err):
            raise _unavailable() from err
        raise
    raise _unavailable()


def _found_or_none(client: Any, operation: str, **params: Any) -> dict[str, Any] | None:
    """One scheduler call: its answer, None if the schedule is not there; Unavailable when
    the scheduler is busy or unreachable."""
    try:
        return getattr(client, operation)(**params)
    except ClientError as err:
        if err.response["Error"]["Code"] == "ResourceNotFoundException":
            return None
        if _is_transient(err):
            raise _unavailable() from err
        raise
    except BotoCoreError as err:
        raise _unavailable() from err


def pending(ticket_id: int, purpose: str, *, client: Any = None) -> Notice | None:
    """The notice the pending schedule for this ticket and purpose carries (None: none pending,
    or one this code did not arm)."""
    schedule = _found_or_none(
        client or aws.client("scheduler"),
        "get_schedule",
        GroupName=get_settings().schedule_group,
        Name=schedule_name(ticket_id, purpose),
    )
    if schedule is None:
        return None
    try:
        return Notice.model_validate_json(schedule.get("Target", {}).get("Input") or "")
    except ValueError:
        return None


def cancel(ticket_id: int, purpose: str, *, client: Any = None) -> bool:
    """Delete the pending schedule for this ticket and purpose; False if there was none."""
    deleted = _found_or_none(
        client or aws.client("scheduler"),
        "delete_schedule",
        GroupName=get_settings().schedule_group,
        Name=schedule_name(ticket_id, purpose),
    )
    return deleted is not None
