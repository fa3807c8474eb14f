"""Applying a batch: each update atomically and on its own (one conditional write of its ticket,
with its audit entry and comment), a bad one failing alone.

A batch costs DynamoDB one ``BatchGetItem`` of its tickets (and one of the queues it names,
beside it), then its writes in parallel on a bounded thread pool, beside one ``BatchGetItem``
each of the users and the queues the answers show: N + 2 to N + 4 calls in about 3 + N/10
sequential round trips, instead of 2N calls one after the other.  Updates of the same ticket
run one after the other, in request order."""

from __future__ import annotations

import contextvars
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ticketing import auth, idempotency, service
from ticketing.catalog import Vocabulary
from ticketing.commands import ChangeSet, Command
from ticketing.dialects.common import actor_for, merge_patch
from ticketing.errors import BadRequest, DomainError, NotFound
from ticketing.http import Request
from ticketing.model import Actor, Ticket, utcnow
from ticketing.observability import logger
from ticketing.references import References
from ticketing.repository import MAX_TICKET_BYTES, ticket_bytes

from .answers import user_keys
from .dialect import NAME, QUEUE_KIND, USER_KIND, shown, status_of, zone_of
from .updates import KaptureTicketUpdate, parse_update

# Threads applying a batch's updates: botocore's default connection pool per client
# (max_pool_connections), so no thread waits for a connection.  The boto3 client is thread-safe.
MAX_WORKERS = 10
MAX_TICKET_EXTRA_KEYS = 100  # additional details kept on one ticket
DEADLINE_MARGIN_SECONDS = 3.0  # kept to answer the batch once its updates are done
OUT_OF_TIME = "This update was not applied: the batch ran out of time. Send it again."


# -- the change ----------------------------------------------------------------------------------
def command_for(update: KaptureTicketUpdate, vocab: Vocabulary, author: Actor, author_id: int | None) -> Command:
    """The update as a pure function of the ticket it is given (it may run again on a
    fresher ticket when another writer got there first)."""

    def command(ticket: Ticket, cs: ChangeSet) -> None:
        term = update.term
        showing = vocab.for_status(ticket.status, ticket.sub_status)
        if showing is None or showing.term != term.term:  # the status it already shows keeps its stay
            service.set_status(ticket, term.status, term.sub_status, cs.now)
        if update.queue:
            ticket.queue = update.queue
        if update.disposition:
            ticket.disposition = update.disposition
        if update.callback is not None:
            if update.callback != ticket.follow_up_at:
                if ticket.follow_up_at is not None:
                    ticket.last_follow_up_at = ticket.follow_up_at
                ticket.follow_up_at = update.callback
            # the reminder is ticket state: the stream's consumer arms it from the stored ticket
            ticket.follow_up_reminder = True
            ticket.follow_up_note = update.comment
        extras = update.extras
        if extras:
            merged = merge_patch(ticket.extra, extras)
            if len(merged) > MAX_TICKET_EXTRA_KEYS:
                raise BadRequest(
                    f"Ticket {ticket.id} cannot hold more than {MAX_TICKET_EXTRA_KEYS} additional details; "
                    "send null for the keys no longer needed."
                )
            ticket.extra = merged
            size = ticket_bytes(ticket)
            if size > MAX_TICKET_BYTES:
                raise BadRequest(f"Ticket {ticket.id} cannot hold these additional details: it would be too large.")
        if update.comment:
            cs.add_message(ticket, update.comment, author=author.name, author_id=author_id)
        cs.event = "kapture_update"
        cs.detail = {"sub_status": str(term.term), **({"fields": update.given} if update.given else {})}

    return command


# -- applying a batch ----------------------------------------------------------------------------
@dataclass
class Outcome:
    """What became of one element: the updated ticket, or its failure."""

    status: int
    ticket: Ticket | None = None
    update: KaptureTicketUpdate | None = None
    error: str = ""


class Batch:
    """One request's updates: read together, written in parallel, answered in order."""

    def __init__(self, client: auth.Client, request: Request, vocab: Vocabulary, context: Any = None) -> None:
        self.client = client
        self.actor = actor_for(client, NAME, request)
        self.vocab = vocab
        self.zone = zone_of(vocab)
        self.refs = References()
        self.now = utcnow()
        # updates not started by then are answered "not applied": the rest of the batch must be
        # answered (and kept for its Idempotency-Key) before the function's time runs out
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        self.deadline = time.monotonic() + remaining() / 1000 - DEADLINE_MARGIN_SECONDS if remaining else math.inf

    # each step catches its own failures: one element never takes another down
    def fail(self, error: Exception) -> Outcome:
        if isinstance(error, NotFound) and "ticket_id" in error.detail:  # moved out of the grants meanwhile
            return Outcome(404, error=f"No Data found for ticket_id {error.detail['ticket_id']}.")
        if isinstance(error, DomainError):
            return Outcome(status_of(error), error=error.message)
        logger.exception("kapture update failed")
        return Outcome(500, error="An internal error occurred while applying this update; retry it.")

    def run(self, items: list[Any]) -> list[Outcome]:
        outcomes: dict[int, Outcome] = {}
        updates: dict[int, KaptureTicketUpdate] = {}  # by the element's place in the batch
        for index, data in enumerate(items):
            try:
                updates[index] = parse_update(data, self.vocab, self.zone)
            except DomainError as err:
                outcomes[index] = self.fail(err)
        if updates:
            self._apply(updates, outcomes)
        return [outcomes[i] for i in range(len(items))]

    def _apply(self, updates: dict[int, KaptureTicketUpdate], outcomes: dict[int, Outcome]) -> None:
        service.connect()  # one client for every thread, made before them
        queues = [u.queue for u in updates.values() if u.queue]
        workers = min(MAX_WORKERS, len({u.ticket_id for u in updates.values()}) + 2)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kapture") as pool:
            # 1. the tickets, and the queues named, side by side (one BatchGetItem each)
            ticket_ids = [u.ticket_id for u in updates.values()]
            # in a copy of this context: the tickets read ahead with the client are taken there
            read = contextvars.copy_context().run
            tickets_read = pool.submit(read, service.get_tickets, ticket_ids, access=self.client.access)
            queues_read = pool.submit(self.refs.load, QUEUE_KIND, queues) if queues else None
            try:
                tickets = tickets_read.result()
                if queues_read:
                    queues_read.result()
            except DomainError as err:  # the store is unavailable: every update fails alike
                for index in updates:
                    outcomes[index] = self.fail(err)
                return
            groups: dict[int, list[tuple[int, KaptureTicketUpdate]]] = {}
            for index, u in updates.items():
                if u.queue and self.refs.get(QUEUE_KIND, u.queue) is None:
                    outcomes[index] = Outcome(400, error=f"Invalid queue {shown(u.queue)}: no queue has this key.")
                elif u.ticket_id not in tickets:
                    outcomes[index] = Outcome(404, error=f"No Data found for ticket_id {u.ticket_id}.")
                else:
                    groups.setdefault(u.ticket_id, []).append((index, u))
            if not groups:
                return
            # 2. the users and queues the answers show (read beside the writes), and each ticket's
            #    updates in request order; different tickets in parallel
            found = [tickets[t] for t in groups]
            users_read = pool.submit(self.refs.load, USER_KIND, [u for t in found for u in user_keys(t)])
            queues_shown = pool.submit(self.refs.load, QUEUE_KIND, [t.queue for t in found])
            # each group in a copy of this context: the request's Idempotency-Key rides with its writes
            futures = [
                pool.submit(contextvars.copy_context().run, self._apply_group, tickets[t], group)
                for t, group in groups.items()
            ]
            for future in futures:
                outcomes.update(future.result())  # _apply_group never raises
            users_read.exception()  # a failed read is read again below
            queues_shown.exception()
        # 3. whatever the answers show that was not read yet (an assignee changed meanwhile, or a
        #    read failed): the updates are stored, so a failure here only blanks names
        done = [o.ticket for o in outcomes.values() if o.ticket is not None]
        if done:
            try:
                self._load_refs(done)
            except Exception:  # the answers must still go out
                logger.exception("reference data unavailable: the answers show blank names")

    def _load_refs(self, tickets: list[Ticket]) -> None:
        self.refs.load(USER_KIND, [u for t in tickets for u in user_keys(t)])
        self.refs.load(QUEUE_KIND, [t.queue for t in tickets])

    def _apply_group(self, current: Ticket, group: list[tuple[int, KaptureTicketUpdate]]) -> dict[int, Outcome]:
        out: dict[int, Outcome] = {}
        for index, update in group:
            if time.monotonic() > self.deadline:
                out[index] = Outcome(503, error=OUT_OF_TIME)
                continue
            try:
                command = command_for(update, self.vocab, self.actor, self.client.user_id)
                with idempotency.step(index):  # the update's place in the batch, the same when resent
                    result = service.update_ticket(
                        current.id, command, self.actor, access=self.client.access, current=current
                    )
                current = result.ticket
                out[index] = Outcome(200, current, update)
            except Exception as err:  # one element's failure is its own
                out[index] = self.fail(err)
        return out
