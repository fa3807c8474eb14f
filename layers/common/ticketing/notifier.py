"""The notifier: the function every notification schedule wakes, and the tickets table's stream
consumer invokes for a notice due now (see ``scheduling``, ``automations``).

Delivery is at least once, with duplicates kept rare (docs/particlespace.md, "Delivery"). For
each ``Notice`` it

1. validates the notice (a malformed one raises ``MalformedNotice``: Lambda retries it, then
   it goes to the dead-letter queue);
2. reads the ticket (consistent read) and checks that every ``expect`` value still holds; if
   the ticket has moved on, the notice is stale and nothing is sent;
3. claims the delivery in one conditional write (the ticket still at the version it checked,
   ``DELIVERY#<key>`` new), with a lease: a second wake-up for the same delivery finds the
   claim and sends nothing, unless the run holding it gave up for a retry (``deferred``) or
   died (its lease ran out): then it takes the claim over and sends what is left;
4. renders the message from the ticket as it is now (``scheduling.render``), and sends it,
   one message per recipient (SES v2 or SNS), marking each recipient done on the claim as it
   goes: a retry never sends a recipient marked done again (a crash between a send and its
   mark is the one way a recipient hears twice);
5. a send that SES/SNS throttle, or that cannot reach them, past botocore's retries: the
   recipients left are kept, a ``notification.deferred`` entry goes to the ticket's history,
   and the run raises, so Lambda retries it later (then its dead-letter queue: the notice is
   never dropped unseen; ``python -m devkit.notices replay`` hands dead letters back);
6. the outcome (``notification.sent`` / ``partial`` / ``failed``) is written to the history in
   the same transaction as the claim's final state: both, or neither (and the retry records).

Contacts appear only masked in logs and in the history.
"""

import hashlib
from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from ticketing import notifications, scheduling, service
from ticketing.errors import Conflict
from ticketing.model import Actor, Ticket, utcnow
from ticketing.observability import count, dimension, emit_metrics, logger

NOTIFIER = Actor(client_id="notifier", name="Notifier", dialect="system")
MAX_CLAIM_ATTEMPTS = 6
# how long a run may hold a claim: the function's timeout (template.yaml: 120 s) and a margin.
# A claim older than this whose run did not finish is taken over by the next wake-up.
LEASE = timedelta(seconds=150)
FINAL = ("sent", "partial", "failed", "limited")
AUTOMATIONS = "automations"  # ``armed_by`` of the notices the hub sends by itself (movements, reminders)


class MalformedNotice(ValueError):
    """The event is not a ``Notice``.  Its message names the bad fields, never their values
    (Lambda logs it, and a notice holds contacts)."""


class SendDeferred(RuntimeError):
    """SES/SNS throttled or were out of reach for some recipients: raised so that Lambda runs the
    notice again later (the recipients already sent are not sent again)."""


def parse_notice(event: Any) -> scheduling.Notice:
    try:
        return scheduling.Notice.model_validate(event)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'event'}: {e['msg']}"
            for e in err.errors(include_input=False, include_url=False, include_context=False)
        )
        raise MalformedNotice(f"not a notification notice: {problems}") from None


def recipient_mark(contact: str) -> str:
    """What the claim keeps of a recipient it has sent to (never the contact itself)."""
    return hashlib.sha256(contact.strip().lower().encode()).hexdigest()[:16]


def _result(outcome: str, notice: scheduling.Notice, **extra: Any) -> dict[str, Any]:
    return {"outcome": outcome, "ticket_id": notice.ticket_id, "purpose": notice.purpose, **extra}


def _claim(notice: scheduling.Notice, request_id: str) -> tuple[str, list[str], Ticket | None, dict[str, Any]]:
    """(state, stale fields, ticket, claim): "claimed" (send), "resumed" (send what is left),
    "gone", "stale", "taken" (another run holds it, or it has ended)."""
    now = utcnow()
    claim_doc = {
        "ticket_id": notice.ticket_id,
        "purpose": notice.purpose,
        "schedule": notice.schedule,
        "delivery": notice.delivery,
        "due": notice.due.isoformat(),
        "channel": notice.message.channel,
        "recipients": [notifications.mask(to) for to in notice.message.to],
        "state": "claimed",
        "claimed_at": now.isoformat(),
        "lease_until": (now + LEASE).isoformat(),
        "request_id": request_id,
        "attempts": 1,
        "done": [],
        "results": [],
    }
    for _ in range(MAX_CLAIM_ATTEMPTS):
        ticket = service.read_ticket(notice.ticket_id)
        if ticket is None:
            return "gone", [], None, {}
        held = service.get_delivery(ticket.id, notice.delivery)
        if held is not None:
            if held.get("state") in FINAL:
                return "taken", [], ticket, held
            fields = {"state": "claimed", "lease_until": (now + LEASE).isoformat(), "request_id": request_id}
            fields["attempts"] = int(held.get("attempts") or 1) + 1
            if service.take_over_delivery(ticket.id, notice.delivery, fields, now=now.isoformat()):
                return "resumed", [], ticket, {**held, **fields}
            return "taken", [], ticket, held
        stale = scheduling.mismatches(ticket, notice.expect)
        if stale:
            return "stale", stale, ticket, {}
        claim = service.claim_delivery(ticket.id, notice.delivery, claim_doc, version=ticket.version)
        if claim == "claimed":
            return "claimed", [], ticket, claim_doc
        if claim != "moved":
            continue  # taken meanwhile: read it, and see whether it is held or ended
    raise Conflict(f"Ticket {notice.ticket_id} kept changing; the notification will be retried.")


def _actor(request_id: str) -> Actor:
    return NOTIFIER.model_copy(update={"request_id": request_id})


def _detail(notice: scheduling.Notice, outcome: str, results: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "purpose": notice.purpose,
        "schedule": notice.schedule,
        "delivery": notice.delivery,
        "due": notice.due.isoformat(),
        "channel": notice.message.channel,
        "outcome": outcome,
        "recipients": results,
        "armed_by": notice.armed_by,
        **extra,
    }


def process(event: dict[str, Any], *, request_id: str = "") -> dict[str, Any]:
    """Handle one notice; returns what happened (``outcome``: sent, partial, failed, limited,
    stale, duplicate or gone); raises ``SendDeferred`` when sends must be retried later."""
    notice = parse_notice(event)
    dimension("purpose", notice.purpose)  # <dialect>-<what>: per dialect and kind of notification
    logger.append_keys(ticket_id=notice.ticket_id, purpose=notice.purpose, delivery=notice.delivery)
    state, stale, ticket, claim = _claim(notice, request_id)
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
    assert ticket is not None
    if state == "claimed" and notice.armed_by == AUTOMATIONS:  # a request's notices counted when asked
        refusal = service.take_notice_quota(ticket.id)
        if refusal is not None:
            return _limited(notice, refusal, request_id)
    return _send(notice, ticket, claim, request_id)


def _limited(notice: scheduling.Notice, refusal: str, request_id: str) -> dict[str, Any]:
    """Over the ticket's notices-per-hour limit (a relay limit): nothing is sent, and it is told."""
    logger.warning("notification over a relay limit; nothing sent", extra={"limit": refusal})
    fields = {"state": "limited", "limit": refusal, "finished_at": utcnow().isoformat()}
    service.record(
        notice.ticket_id,
        "notification.limited",
        _detail(notice, "limited", [], limit=refusal),
        _actor(request_id),
        delivery=(notice.delivery, fields),
    )
    return _result("limited", notice, limit=refusal)


def _send(notice: scheduling.Notice, ticket: Ticket, claim: dict[str, Any], request_id: str) -> dict[str, Any]:
    message = scheduling.render(notice.message, ticket)  # the ticket as it is now
    done = list(claim.get("done") or [])
    results: list[dict[str, Any]] = list(claim.get("results") or [])
    deferred: list[notifications.SendResult] = []
    for to in message.to:
        mark = recipient_mark(to)
        if mark in done:
            continue  # sent by an earlier run of this notice
        result = notifications.send_one(message.channel, to, message.subject, message.body)
        if result.retryable:
            deferred.append(result)
            continue
        done.append(mark)
        results.append(result.as_dict())
        service.update_delivery(notice.ticket_id, notice.delivery, {"done": done, "results": results})
    sent = sum(1 for r in results if r.get("ok"))
    failed = len(results) - sent
    count("NotificationsSent", sum(1 for r in results[len(claim.get("results") or []) :] if r.get("ok")))
    if deferred:
        return _defer(notice, claim, deferred, sent, request_id)
    count("NotificationsFailed", failed)
    outcome = "sent" if not failed else "failed" if not sent else "partial"
    fields = {"state": outcome, "sent": sent, "failed": failed, "finished_at": utcnow().isoformat()}

    def remember(current: Ticket) -> None:
        if sent:  # what the ticket has been told (a reminder sent is no longer pending)
            current.notices_sent = {**current.notices_sent, notice.purpose: notice.id or notice.delivery}

    service.record(
        notice.ticket_id,
        f"notification.{outcome}",
        _detail(notice, outcome, results, attempts=int(claim.get("attempts") or 1)),
        _actor(request_id),
        also=remember,
        delivery=(notice.delivery, fields),
    )
    log = logger.info if outcome == "sent" else logger.warning
    log("notification " + outcome, extra={"channel": message.channel, "recipients": results})
    return _result(outcome, notice, sent=sent, failed=failed, recorded=True)


def _defer(
    notice: scheduling.Notice,
    claim: dict[str, Any],
    deferred: list[notifications.SendResult],
    sent: int,
    request_id: str,
) -> dict[str, Any]:
    count("NotificationsDeferred", len(deferred))
    attempt = int(claim.get("attempts") or 1)
    errors = sorted({d.error for d in deferred})
    service.update_delivery(
        notice.ticket_id, notice.delivery, {"state": "deferred", "deferred_at": utcnow().isoformat()}
    )
    detail = _detail(notice, "deferred", [d.as_dict() for d in deferred], attempt=attempt, sent_so_far=sent)
    service.record(notice.ticket_id, "notification.deferred", detail, _actor(request_id))
    logger.warning(
        "notification deferred: sends throttled or out of reach; Lambda runs it again",
        extra={"pending": len(deferred), "errors": errors, "attempt": attempt},
    )
    raise SendDeferred(f"{len(deferred)} recipient(s) not reached ({', '.join(errors)}); retried later")


@logger.inject_lambda_context(clear_state=True)
@emit_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The notifier Lambda function (target of every notification schedule; invoked asynchronously
    by the automations function for a notice due now)."""
    return process(event, request_id=getattr(context, "aws_request_id", "") or "")
