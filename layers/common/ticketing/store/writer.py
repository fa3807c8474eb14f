"""One change of one ticket, written in one ``TransactWriteItems`` (see ``Writer``)."""

from __future__ import annotations

import math
import random
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from ticketing import aws, invocation
from ticketing.commands import AlreadyApplied, ChangeSet, Command, UpdateResult, diff, reading, render_answer
from ticketing.errors import PreconditionFailed, Unavailable
from ticketing.model import Actor, AuditEntry, Ticket, utcnow
from ticketing.moments import check_ticket
from ticketing.observability import count, logger
from ticketing.store import items
from ticketing.store.calls import AMBIGUOUS, BACKOFF_CAP_SECONDS, THROTTLED, backoff_ceiling, cancellation_reasons
from ticketing.store.codec import audit_key, bounded, check_size, from_item, message_key, pk, stored_item, ticket_doc

if TYPE_CHECKING:
    from ticketing.repository import Repository

# A change that meets a true conflict (another writer changed a field it read or wrote) is
# applied again to the winner's ticket, with full-jitter exponential backoff, for at most this
# long: well under the functions' 10 s timeout
# (botocore's own retries come on top of it).
WRITE_BUDGET_SECONDS = 8.0
# Within a Lambda invocation the budget also ends this long before the function's timeout: time
# for the last try to come back (a throttled call's botocore backoff, ``aws.MAX_BACKOFF_SECONDS``)
# and for the answer; a 10 s function that starts its write at once gets about 6.4 s.
ANSWER_SECONDS = 0.5
BUDGET_MARGIN_SECONDS = aws.MAX_BACKOFF_SECONDS + ANSWER_SECONDS
# After an ambiguous failure, the request's audit entry is looked for only while one attempt of a
# call and the answer still fit before the timeout; later (the store hung), the answer is "may or
# may not have been made" at once, instead of a function killed mid-call.
CHECK_SECONDS = aws.CONNECT_TIMEOUT_SECONDS + aws.READ_TIMEOUT_SECONDS + ANSWER_SECONDS


class Rider(Protocol):
    """Transaction items that ride with every change written (e.g. an Idempotency-Key's marker)."""

    def items(self, result: UpdateResult) -> list[dict[str, Any]]: ...

    def recall(self, item: dict[str, Any]) -> Any:
        """What an item of this rider, found already there, says was answered (None: unknown)."""
        ...


_RIDERS: ContextVar[tuple[Rider, ...]] = ContextVar("riders", default=())


@contextmanager
def riding(rider: Rider) -> Iterator[None]:
    """Within this block, every change written carries the transaction items ``rider`` gives for
    it (e.g. the request's idempotency record): they commit with the change, or nothing does."""
    token = _RIDERS.set((*_RIDERS.get(), rider))
    try:
        yield
    finally:
        _RIDERS.reset(token)


def riders() -> tuple[Rider, ...]:
    return _RIDERS.get()


def _busy(ticket_id: int) -> Unavailable:
    return Unavailable(f"Ticket {ticket_id} is busy; nothing was changed. Retry shortly.")


def _unknown(ticket_id: int) -> Unavailable:
    return Unavailable(
        f"The ticket store did not answer: the change to ticket {ticket_id} may or may not have "
        "been made. Retry with the same Idempotency-Key, or read the ticket before retrying."
    )


def write_window(now: float) -> tuple[float, float]:
    """(the write budget's end, the invocation's end) on the monotonic clock, from ``now``: the
    budget is ``WRITE_BUDGET_SECONDS``, ended earlier by the invocation's
    remaining time less ``BUDGET_MARGIN_SECONDS`` when the write runs in one."""
    remaining = invocation.remaining_seconds()
    end = now + remaining if remaining is not None else math.inf
    return min(now + WRITE_BUDGET_SECONDS, end - BUDGET_MARGIN_SECONDS), end


class Writer:
    """One change of one ticket: the command applied to a copy, and what changed written in one
    ``TransactWriteItems`` with its audit entry, messages, outbox items and riders.

    * The ticket's ``Update`` is conditioned on the fields the command read or wrote still
      holding the values it saw (not on the whole item), and counts the version up with ADD:
      writers that touch different fields commute; none is refused for the other.
    * A true conflict (a field the command depends on changed) applies the command again to the
      ticket returned with the cancellation (no read), after a full-jitter exponential backoff,
      within the write budget (``write_window``); still in conflict after that: 503, nothing changed.
    * An ambiguous failure (a timeout, a 5xx after botocore's retries) is retried with the same
      ``ClientRequestToken``, which DynamoDB applies at most once; if the store stays out of
      reach, the request's own audit entry is looked for before anything is answered.
    * The audit entry's ``version`` is the one planned (read version + 1): two commuting writers
      from version N both plan N+1, and may commit in the opposite order of their audit keys
      (the key's time is fixed before the write).  So the ticket's ``Update`` also SETs
      ``audit_sk`` (``codec.AUDIT_KEY_ATTR``) to the sort key of the entry it commits with: the
      entry of a ticket version is the one the ticket item at that version names, never the
      one found by version (``ticketing.events`` matches a stream record to its entry so).
    """

    def __init__(self, repo: Repository, ticket_id: int, command: Command, actor: Actor, if_match: int | None):
        self.repo, self.ticket_id, self.command, self.actor, self.if_match = repo, ticket_id, command, actor, if_match
        self.deadline, self.end = write_window(time.monotonic())
        self.nonce = uuid.uuid4().hex[:12]
        self.riders_from = 0
        self.riders: list[Rider] = []

    def run(self, current: Ticket) -> UpdateResult:
        attempt = 0
        while True:
            attempt += 1
            if self.if_match is not None and current.version != self.if_match:
                raise PreconditionFailed(
                    f"Ticket {self.ticket_id} is at version {current.version}, not {self.if_match}.",
                    current_version=current.version,
                )
            result, transaction, key = self._plan(current, attempt)
            if not transaction:
                return result
            try:
                fresh = self._commit(transaction, key)
            except AlreadyApplied as applied:
                logger.info("the change was made by an earlier try of this request", extra={"ticket_id": current.id})
                return UpdateResult(current, current, [], result.changeset, attempt, answer=applied.answer)
            if fresh is None:
                count("Updates")  # the one place a ticket change is written (metric per invocation)
                if attempt > 1:
                    count("WriteConflicts", attempt - 1)
                return result
            current = fresh
            self._pause(attempt)

    def _plan(self, current: Ticket, attempt: int) -> tuple[UpdateResult, list[dict[str, Any]], str]:
        # never before the change it follows, whatever this machine's clock says: the history's
        # order is the order of changes that depend on each other
        now = max(utcnow(), current.updated_at + timedelta(microseconds=1))
        draft = current.draft()
        cs = ChangeSet(now=now, actor=self.actor)
        with reading(draft) as reads:
            self.command(draft, cs)
        check_ticket(draft)  # every datetime aware and within range (ticketing.moments), else a 400
        before_doc, after_doc = ticket_doc(current), ticket_doc(draft)
        changed = sorted(
            k
            for k in set(before_doc) | set(after_doc)
            if k not in items.ALWAYS_WRITTEN and before_doc.get(k) != after_doc.get(k)
        )
        if not changed and not cs.messages and not cs.record_without_changes and not cs.outbox:
            return UpdateResult(current, current, [], cs, attempt), [], ""
        draft.version = current.version + 1
        draft.updated_at = now
        after_doc = ticket_doc(draft)
        check_size(self.ticket_id, after_doc)
        changes = diff({k: before_doc.get(k) for k in changed}, {k: after_doc.get(k) for k in changed})
        # the entry's place in the history: as late as it can be known (after the command ran);
        # the ticket's Update names it (AUDIT_KEY_ATTR): the version's entry is the one it names
        key = audit_key(max(now, utcnow()), f"{self.nonce}{attempt:02d}")
        audit = AuditEntry(
            ticket_id=self.ticket_id,
            version=draft.version,
            at=now,
            actor=self.actor.client_id,
            actor_name=self.actor.name,
            dialect=self.actor.dialect,
            request_id=self.actor.request_id,
            event=cs.event,
            changes=changes,
            detail=cs.detail,
        )
        audit = bounded(audit)
        writes, guards = items.writes_and_guards(stored_item(current), before_doc, after_doc, changed, reads)
        expected = self.if_match if self.if_match is not None else current.version if "version" in reads else None
        table, ticket_pk = self.repo.table, pk(self.ticket_id)
        update = items.ticket_update(table, self.ticket_id, writes, after_doc["updated_at"], guards, expected, key)
        transaction = [update, items.audit_put(table, audit, key)]
        transaction += [items.put(table, ticket_pk, message_key(m.seq), m.model_dump(mode="json")) for m in cs.messages]
        transaction += [items.outbox_put(table, self.ticket_id, o, self.actor, now) for o in cs.outbox]
        result = UpdateResult(current, draft, changes, cs, attempt, committed=True)
        render_answer(result)  # before the write: nothing that can fail runs after it
        self.riders_from = len(transaction)
        self.riders = []
        for rider in riders():
            extra = rider.items(result)
            self.riders += [rider] * len(extra)
            transaction += extra
        return result, transaction, key

    def _commit(self, transaction: list[dict[str, Any]], key: str) -> Ticket | None:
        """Write; None once written, else the ticket to apply the command to again."""
        token = str(uuid.uuid4())  # the same for every retry of this very write: applied at most once
        ambiguous = False
        tries = 0
        while True:
            tries += 1
            try:
                self.repo._transact(transaction, token)
                return None
            except ClientError as err:
                code = err.response.get("Error", {}).get("Code", "")
                if code == "TransactionCanceledException":
                    if ambiguous and self._written(key):
                        return None  # the earlier try was applied; this one met its own change
                    fresh = self._winner(cancellation_reasons(err))
                    if fresh is not None:
                        return fresh
                    # a racing transaction or throttling: nothing was applied; the same write again
                    token = str(uuid.uuid4())
                elif code in THROTTLED and not ambiguous:
                    token = str(uuid.uuid4())
                elif code in AMBIGUOUS or code in THROTTLED:
                    ambiguous = True
                else:
                    raise
            except BotoCoreError:
                ambiguous = True  # timed out or cut off: it may have been applied
            if time.monotonic() + BACKOFF_CAP_SECONDS > self.deadline:
                return self._give_up(key, ambiguous)
            self._pause(tries)

    def _winner(self, reasons: list[dict[str, Any]]) -> Ticket | None:
        for rider, reason in zip(self.riders, reasons[self.riders_from :], strict=False):
            if reason.get("Code") == "ConditionalCheckFailed":
                raise AlreadyApplied(reason.get("Item"), rider.recall(reason.get("Item") or {}))
        first = reasons[0] if reasons else {}
        if first.get("Code") == "ConditionalCheckFailed":
            if first.get("Item"):
                return from_item(first["Item"])
            return self.repo.require(self.ticket_id)  # a store that does not return the item
        if any(r.get("Code") == "ConditionalCheckFailed" for r in reasons[1 : self.riders_from]):
            return self.repo.require(self.ticket_id)  # a message slot taken: the ticket moved on
        return None

    def _written(self, key: str) -> bool:
        try:
            return self.repo.audit_entry_exists(self.ticket_id, key)
        except Unavailable:
            return False

    def _give_up(self, key: str, ambiguous: bool) -> None:
        if not ambiguous:
            raise _busy(self.ticket_id)
        if self.end - time.monotonic() < CHECK_SECONDS:
            raise _unknown(self.ticket_id)  # no time left to look: the function would be killed mid-call
        try:
            written = self.repo.audit_entry_exists(self.ticket_id, key)
        except Unavailable:
            raise _unknown(self.ticket_id) from None
        if not written:
            raise _busy(self.ticket_id)
        logger.info("the change was made although the store's answer was lost", extra={"ticket_id": self.ticket_id})
        return None

    def _pause(self, attempt: int) -> None:
        if time.monotonic() > self.deadline:
            raise _busy(self.ticket_id)
        ceiling = backoff_ceiling(attempt)
        time.sleep(random.uniform(0, min(ceiling, max(0.0, self.deadline - time.monotonic()))))
