"""Timed automations that follow the ticket, whichever dialect changed it.

A dialect that arms a timed notification does it in its own request, from the ticket it
has just written (``ticketing.scheduling``).  But a ticket is changed through every
dialect, and an automation a partner switched on must keep up with changes made through
the others: ParticleSpace's automated reminder is due a flow's time limit after the
ticket *entered* its flow, so a move made through SPP, Kapture, servicedesk or the
canonical API must re-arm it for the new stay (or cancel it, in a flow with no limit).

The tickets table streams every change of a ticket item (old and new image) to the
``TicketAutomations`` function, which hands each one to :func:`apply_change`:

* an ``Automation`` (``ticketing.scheduling``) names the stored fields it depends on (``watch``) and says, from
  the stored ticket alone, which notice it calls for (``notice``), or none;
* a change that touches none of an automation's fields costs nothing;
* otherwise: no notice called for -> the pending schedule is cancelled; a notice -> unless
  the pending schedule already carries that very notice (the dialect that made the change
  armed it in its request), it is armed, replacing the pending one.

Arming, cancelling and the notifier are idempotent (schedule names per ticket and
purpose, delivery keys the notifier claims once), so a record handled twice, or a stream
behind the dialect's own arming, changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from ticketing import scheduling
from ticketing.model import Ticket, utcnow
from ticketing.observability import count, emit_metrics, logger, own_log_keys
from ticketing.repository import unmarshal
from ticketing.scheduling import Automation


@dataclass(frozen=True)
class Outcome:
    purpose: str
    action: str  # "armed" | "cancelled" | "kept" (already pending) | "newer" (a later state's) | "none"


def registered() -> list[Automation]:
    """Every automation of the hub (imported here, so that only this function pays for them)."""
    from ticketing.dialects import kapture, particlespace

    return [particlespace.REMINDER_AUTOMATION, kapture.CALLBACK_AUTOMATION]


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
        if automation.only_while_pending and old_doc is None:
            continue  # a new ticket has nothing pending
        new = new or Ticket.model_validate(new_doc)
        if automation.only_while_pending:
            outcomes.append(_keep_in_step(automation, new, now))
            continue
        old = old or (Ticket.model_validate(old_doc) if old_doc is not None else None)
        wanted = automation.notice(new, now, None)
        before = automation.notice(old, now, None) if old is not None else None
        outcomes.append(_bring_up_to_date(automation, new, wanted, before))
    return outcomes


def _same(a: scheduling.Notice, b: scheduling.Notice) -> bool:
    """The same notification, whoever armed it."""
    return a.model_dump(exclude={"armed_by"}) == b.model_dump(exclude={"armed_by"})


def _context(automation: Automation, ticket: Ticket) -> dict[str, Any]:
    return {"ticket_id": ticket.id, "purpose": automation.purpose, "version": ticket.version}


def _bring_up_to_date(
    automation: Automation, ticket: Ticket, wanted: scheduling.Notice | None, before: scheduling.Notice | None
) -> Outcome:
    """``wanted``: what the new state calls for; ``before``: what the state before it did."""
    if wanted is None and before is None:
        return Outcome(automation.purpose, "none")  # nothing was called for, nothing is
    if wanted is not None and before is not None and _same(before, wanted):
        return Outcome(automation.purpose, "none")  # the change does not concern it after all
    pending = scheduling.pending(ticket.id, automation.purpose)
    if _newer(pending, ticket):
        return Outcome(automation.purpose, "newer")
    if wanted is None:
        return _cancel(automation, ticket) if pending is not None else Outcome(automation.purpose, "none")
    if pending is not None and _same(pending, wanted):
        return Outcome(automation.purpose, "kept")  # the dialect armed it in its own request
    return _arm(automation, ticket, wanted)


def _newer(pending: scheduling.Notice | None, ticket: Ticket) -> bool:
    """The pending notice was made from a later state of the ticket than this record's: the
    record came late (the stream hands the later change on after it), so it must not undo it."""
    return pending is not None and pending.version > ticket.version


def _keep_in_step(automation: Automation, ticket: Ticket, now: datetime) -> Outcome:
    """An automation that only follows a notification its dialect started."""
    pending = scheduling.pending(ticket.id, automation.purpose)
    if pending is None:
        return Outcome(automation.purpose, "none")
    if _newer(pending, ticket):
        return Outcome(automation.purpose, "newer")
    wanted = automation.notice(ticket, now, pending)
    if wanted is None:
        return _cancel(automation, ticket)
    if _same(pending, wanted):
        return Outcome(automation.purpose, "kept")
    return _arm(automation, ticket, wanted)


def _cancel(automation: Automation, ticket: Ticket) -> Outcome:
    if not scheduling.cancel(ticket.id, automation.purpose):
        return Outcome(automation.purpose, "none")
    logger.info("automation cancelled its pending notification", extra=_context(automation, ticket))
    return Outcome(automation.purpose, "cancelled")


def _arm(automation: Automation, ticket: Ticket, wanted: scheduling.Notice) -> Outcome:
    scheduling.arm(wanted)
    logger.info(
        "automation armed a notification", extra={**_context(automation, ticket), "due": wanted.due.isoformat()}
    )
    return Outcome(automation.purpose, "armed")


# -- the TicketAutomations function: DynamoDB Streams records of the tickets table -----------------
TICKET_SORT_KEY = "TICKET"


def _record(record: Any) -> None:
    change = record.raw_event.get("dynamodb") or {}
    if (change.get("Keys") or {}).get("sk", {}).get("S") != TICKET_SORT_KEY:
        return  # audit entries, messages, deliveries...: the event source's filter keeps them out
    for outcome in apply_change(change.get("OldImage"), change.get("NewImage")):
        if outcome.action in ("armed", "cancelled"):
            count(f"Automation{outcome.action.capitalize()}")


@logger.inject_lambda_context(clear_state=True)
@own_log_keys
@emit_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Each ticket change in the batch on its own: a failed one is reported (and retried by the
    event source from it on, in order), the others stand."""
    # every failure is reported, even a whole batch's: the event source retries from the first one
    processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
    return process_partial_response(event=event, record_handler=_record, processor=processor, context=context)
