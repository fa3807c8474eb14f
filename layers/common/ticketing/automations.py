"""The tickets table's stream consumer: it carries out the notifications ticket changes call for.

Nothing that can fail runs after a request's commit.  A request decides, purely, what its
change calls for and commits it with the change; this function (``TicketAutomationsFunction``,
on the tickets table's DynamoDB stream: INSERT and MODIFY records of ticket items and outbox
items) carries it out, idempotently, from the records:

* **Outbox items** (``pk=TICKET#<id>, sk=OUTBOX#<item id>``, written by the repository in the
  ticket's own ``TransactWriteItems`` from ``ChangeSet.emit``): kind ``notice`` is a
  ``scheduling.Notice`` a request asked for (ParticleSpace's notification of an update), handed
  to ``scheduling.carry_out``: sent at once if due within a minute, else one schedule named by
  the notice's id.  Each notice has its own id, so two never replace each other.
* **Ticket items** (old and new image): every ``Automation`` (``ticketing.scheduling``) says from
  the ticket alone which notice it calls for, and its id: ParticleSpace's automated reminder
  (one per stay in a flow), Kapture's callback reminder (one per follow-up time and assignee),
  and the supersession of ParticleSpace's timed notification.  These follow the ticket
  whichever dialect changed it, the automation's own dialect included (its request arms
  nothing): the id the old image called for is cancelled and the one the new image calls for
  carried out, when they differ.  Nothing asks Scheduler what is pending: ids are deterministic,
  so the records alone say what to do.  A change that touches none of an automation's
  ``watch`` fields costs nothing.

Records are handled in stream order; the first that fails (Scheduler or Lambda throttled or
out of reach) is reported as the batch item failure, and the records after it are left for the
event source to hand on again, in order, after it (then its on-failure queue, after its
retries).  Every step is idempotent (schedule names per notice id, creating one that exists is
"already armed", cancelling one that is gone is nothing, the notifier claims each delivery
once), so a record handled twice sends nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ticketing import scheduling
from ticketing.model import Ticket, utcnow
from ticketing.observability import count, emit_metrics, logger
from ticketing.scheduling import Automation
from ticketing.store.codec import unmarshal

TICKET_SORT_KEY = "TICKET"
OUTBOX_PREFIX = "OUTBOX#"


@dataclass(frozen=True)
class Outcome:
    """What the automation of one notice purpose did with a change."""

    purpose: str
    # "armed" (a schedule created) | "kept" (it was armed already) | "sent" (handed to the notifier)
    # | "cancelled" (the old one's schedule deleted) | "none" (nothing to do)
    action: str
    cancelled: bool = False  # the notice the old image called for was cancelled on the way


def registered() -> list[Automation]:
    """Every automation of the hub (imported here, so that only this function pays for them)."""
    from ticketing.dialects import kapture, particlespace

    return [
        particlespace.REMINDER_AUTOMATION,
        particlespace.NOTIFY_AUTOMATION,
        particlespace.MOVEMENT_AUTOMATION,
        kapture.CALLBACK_AUTOMATION,
    ]


def _watched(doc: Mapping[str, Any] | None, paths: Iterable[str]) -> tuple[Any, ...]:
    return tuple(scheduling.lookup(doc or {}, path) for path in paths)


def apply_change(
    old_image: Mapping[str, Any] | None,
    new_image: Mapping[str, Any] | None,
    automations: Iterable[Automation] | None = None,
    now: datetime | None = None,
) -> list[Outcome]:
    """Bring every automation the change concerns up to date with the ticket's new state.

    ``old_image`` / ``new_image``: the ticket item as DynamoDB Streams gives it (typed
    attribute values); no old image for a new ticket, no new one for a removed ticket."""
    if not new_image:
        return []  # removed: a pending notification finds no ticket and sends nothing
    old_doc = unmarshal(dict(old_image)) if old_image else None
    new_doc = unmarshal(dict(new_image))
    old: Ticket | None = None
    new: Ticket | None = None
    now = now or utcnow()
    outcomes = []
    for automation in registered() if automations is None else automations:
        if old_doc is not None and _watched(old_doc, automation.watch) == _watched(new_doc, automation.watch):
            continue
        new = new or Ticket.model_validate(new_doc)
        old = old or (Ticket.model_validate(old_doc) if old_doc is not None else None)
        outcomes.append(_follow(automation, old, new, now))
    return outcomes


def _context(automation: Automation, ticket: Ticket, notice_id: str) -> dict[str, Any]:
    return {"ticket_id": ticket.id, "purpose": automation.purpose, "notice": notice_id, "version": ticket.version}


def _follow(automation: Automation, old: Ticket | None, new: Ticket, now: datetime) -> Outcome:
    """Carry out the notice the new image calls for, then cancel the one the old image called
    for (in that order: a failure between the two leaves the old one, which the change made
    stale, never neither)."""
    before = automation.key(old) if old is not None else None
    wanted = automation.key(new)
    if before == wanted:
        return Outcome(automation.purpose, "none")  # the change does not concern it after all
    action = "none"
    if wanted is not None and automation.notice is not None:
        notice = automation.notice(new, wanted, now)
        if notice is None:
            logger.info("notification called for, but nobody to tell", extra=_context(automation, new, wanted))
        else:
            action = scheduling.carry_out(notice, now=now)
            extra = {**_context(automation, new, wanted), "due": notice.due.isoformat()}
            logger.info(f"automation {action} a notification", extra=extra)
    cancelled = before is not None and automation.cancels and scheduling.cancel(new.id, automation.purpose, before)
    if cancelled:
        logger.info("notification no longer called for: cancelled", extra=_context(automation, new, before or ""))
    return Outcome(automation.purpose, "cancelled" if cancelled and action == "none" else action, cancelled)


def carry_out_item(new_image: Mapping[str, Any], now: datetime | None = None) -> Outcome:
    """An outbox item, carried out.  A kind this consumer does not know fails the record (it is
    retried, then lands in the on-failure queue): an intent is never dropped unseen."""
    item = unmarshal(dict(new_image))
    if item.get("kind") != "notice":
        raise ValueError(f"outbox item {item.get('sk')} of ticket {item.get('ticket_id')}: unknown kind")
    notice = scheduling.Notice.model_validate(item.get("doc"))
    action = scheduling.carry_out(notice, now=now)
    logger.info(
        f"outbox notice {action}",
        extra={
            "ticket_id": notice.ticket_id,
            "purpose": notice.purpose,
            "notice": notice.id,
            "due": notice.due.isoformat(),
            "request_id": item.get("request_id"),
        },
    )
    return Outcome(notice.purpose, action)


# -- the TicketAutomations function: DynamoDB Streams records of the tickets table -----------------
_METRICS = {"armed": "AutomationArmed", "sent": "AutomationSent", "cancelled": "AutomationCancelled"}


def handle(record: Mapping[str, Any]) -> list[Outcome]:
    """One stream record: a ticket's change, or an outbox item (anything else is left alone: the
    event source's filter keeps it out)."""
    if record.get("eventName") not in ("INSERT", "MODIFY"):
        return []
    change = record.get("dynamodb") or {}
    sort_key = (change.get("Keys") or {}).get("sk", {}).get("S", "")
    if sort_key == TICKET_SORT_KEY:
        outcomes = apply_change(change.get("OldImage"), change.get("NewImage"))
    elif sort_key.startswith(OUTBOX_PREFIX) and change.get("NewImage"):
        outcomes = [carry_out_item(change["NewImage"])]
    else:
        return []
    for outcome in outcomes:
        if outcome.cancelled and outcome.action != "cancelled":
            count(_METRICS["cancelled"])
        if outcome.action in _METRICS:
            count(_METRICS[outcome.action])
    return outcomes


@logger.inject_lambda_context(clear_state=True)
@emit_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The batch's records in order; the first that fails is reported (the event source hands it
    on again, and every record after it), and the ones after it are not handled now."""
    for record in event.get("Records") or []:
        change = record.get("dynamodb") or {}
        try:
            handle(record)
        except Exception:
            logger.exception(
                "stream record failed: it and the records after it are handed on again",
                extra={"sequence_number": change.get("SequenceNumber"), "sk": (change.get("Keys") or {}).get("sk")},
            )
            count("AutomationFailures")
            return {"batchItemFailures": [{"itemIdentifier": change.get("SequenceNumber", "")}]}
    return {"batchItemFailures": []}
