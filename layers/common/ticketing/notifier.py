"""The notifier: the function every notification schedule wakes, and the tickets table's stream
consumer invokes for a notice due now (see ``scheduling``, ``automations``).

For each ``Notice`` it

1. validates the notice (a malformed one raises ``MalformedNotice``: Lambda retries
   it, then it goes to the dead-letter queue, where someone can look at it);
2. reads the ticket (consistent read) and checks that every ``expect`` value still
   holds; if the ticket has moved on, the notice is stale and nothing is sent;
3. claims the delivery in one conditional write: the ticket must still be at the
   version it just read and checked, and ``DELIVERY#<key>`` must not exist yet.  A
   second wake-up for the same delivery (a retried invocation, a request replayed
   and re-armed) finds the claim and sends nothing.  A change to the ticket between
   the read and the claim makes the claim fail; it reads and checks again;
4. sends, one message per recipient (SES v2 or SNS);
5. records the outcome on the claim and in the ticket's history
   (``notification.sent`` / ``notification.partial`` / ``notification.failed``).

Sends are at most once: after a claim, a crash or a failed send is recorded (or
logged), never retried into a second message.  Contacts appear only masked in logs
and in the history.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from ticketing import notifications, scheduling, service
from ticketing.errors import Conflict, DomainError
from ticketing.model import Actor, Ticket, utcnow
from ticketing.observability import count, dimension, emit_metrics, logger
from ticketing.repository import ChangeSet

NOTIFIER = Actor(client_id="notifier", name="Notifier", dialect="system")
MAX_CLAIM_ATTEMPTS = 6


class MalformedNotice(ValueError):
    """The event is not a ``Notice``.  Its message names the bad fields, never their values
    (Lambda logs it, and a notice holds contacts)."""


def parse_notice(event: Any) -> scheduling.Notice:
    try:
        return scheduling.Notice.model_validate(event)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'event'}: {e['msg']}"
            for e in err.errors(include_input=False, include_url=False, include_context=False)
        )
        raise MalformedNotice(f"not a notification notice: {problems}") from None


def _result(outcome: str, notice: scheduling.Notice, **extra: Any) -> dict[str, Any]:
    return {"outcome": outcome, "ticket_id": notice.ticket_id, "purpose": notice.purpose, **extra}


def _claim(notice: scheduling.Notice, request_id: str) -> tuple[str, list[str]]:
    """("claimed", []), or why not to send: ("gone", []), ("stale", <fields changed>), ("taken", [])."""
    repo = service.repository()
    claim_doc = {
        "ticket_id": notice.ticket_id,
        "purpose": notice.purpose,
        "schedule": notice.schedule,
        "delivery": notice.delivery,
        "due": notice.due.isoformat(),
        "channel": notice.message.channel,
        "recipients": [notifications.mask(to) for to in notice.message.to],
        "state": "claimed",
        "claimed_at": utcnow().isoformat(),
        "request_id": request_id,
    }
    for _ in range(MAX_CLAIM_ATTEMPTS):
        ticket = repo.get(notice.ticket_id)
        if ticket is None:
            return "gone", []
        stale = scheduling.mismatches(ticket, notice.expect)
        if stale:
            return "stale", stale
        claim = repo.claim_delivery(ticket.id, notice.delivery, claim_doc, version=ticket.version)
        if claim != "moved":
            return claim, []
    raise Conflict(f"Ticket {notice.ticket_id} kept changing; the notification will be retried.")


def _record(ticket_id: int, outcome: str, detail: dict[str, Any], request_id: str) -> bool:
    def command(ticket: Ticket, cs: ChangeSet) -> None:
        cs.event = f"notification.{outcome}"
        cs.detail = detail
        cs.record_without_changes = True

    try:
        service.repository().update(ticket_id, command, NOTIFIER.model_copy(update={"request_id": request_id}))
        return True
    except (DomainError, ClientError, BotoCoreError):
        # the messages are out: losing their history entry must not make a retry send them again
        logger.exception("notification sent but not recorded in the ticket's history", extra={"outcome": outcome})
        return False


def process(event: dict[str, Any], *, request_id: str = "") -> dict[str, Any]:
    """Handle one notice; returns what happened (``outcome``: sent, partial, failed,
    stale, duplicate or gone)."""
    notice = parse_notice(event)
    dimension("purpose", notice.purpose)  # <dialect>-<what>: per dialect and kind of notification
    logger.append_keys(ticket_id=notice.ticket_id, purpose=notice.purpose, delivery=notice.delivery)
    state, stale = _claim(notice, request_id)
    if state == "gone":
        logger.info("ticket no longer exists; nothing sent")
        count("NotificationsSkipped")
        return _result("gone", notice)
    if state == "stale":
        logger.info("ticket moved on since the notification was armed; nothing sent", extra={"changed": stale})
        count("NotificationsSkipped")
        return _result("stale", notice, changed=stale)
    if state == "taken":
        logger.info("delivery already claimed; nothing sent again")
        count("NotificationsSkipped")
        return _result("duplicate", notice)

    message = notice.message
    results = notifications.send(message.channel, message.to, message.subject, message.body)
    sent = sum(1 for r in results if r.ok)
    failed = len(results) - sent
    count("NotificationsSent", sent)  # messages, one per recipient
    count("NotificationsFailed", failed)
    outcome = "sent" if not failed else "failed" if not sent else "partial"
    recipients = [r.as_dict() for r in results]
    service.repository().finish_delivery(
        notice.ticket_id,
        notice.delivery,
        {"state": outcome, "sent": sent, "failed": failed, "results": recipients, "finished_at": utcnow().isoformat()},
    )
    detail = {
        "purpose": notice.purpose,
        "schedule": notice.schedule,
        "delivery": notice.delivery,
        "due": notice.due.isoformat(),
        "channel": message.channel,
        "outcome": outcome,
        "recipients": recipients,
        "armed_by": notice.armed_by,
    }
    recorded = _record(notice.ticket_id, outcome, detail, request_id)
    log = logger.info if outcome == "sent" else logger.warning
    log("notification " + outcome, extra={"channel": message.channel, "recipients": recipients})
    return _result(outcome, notice, sent=sent, failed=failed, recorded=recorded)


@logger.inject_lambda_context(clear_state=True)
@emit_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The notifier Lambda function (target of every notification schedule; invoked asynchronously
    by the automations function for a notice due now)."""
    return process(event, request_id=getattr(context, "aws_request_id", "") or "")
