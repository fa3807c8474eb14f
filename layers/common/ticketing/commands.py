"""What a command is given and gives back: the domain side of one change of a ticket.

A *command* is a pure function of the ticket it is given: it changes the copy it gets, and
says in the ``ChangeSet`` what the change causes beside its fields (conversation messages,
the audit event, and the *outbox*: the notices and events the change calls for, committed
in the same write and carried out from the tickets table's stream).  It never calls AWS.

The repository runs a command on a copy of the ticket and writes what changed.  Which
fields the command *read* is recorded while it runs (``reading``): the write is
conditioned on those fields and the ones it changed still holding the values the command
saw, so writers that touch different fields commute instead of refusing each other.
"""

from __future__ import annotations

from abc import ABCMeta
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from ticketing.model import Actor, Change, Message, Ticket


class OutboxItem(NamedTuple):
    """Something the change causes, carried out after the commit by the stream's consumer.

    ``id`` names it for good: the same id is the same intent (a replayed stream record, an
    intent recorded twice), so carrying it out is idempotent.  ``kind`` says who handles
    it (e.g. ``notice``); ``doc`` is its JSON body."""

    id: str
    kind: str
    doc: dict[str, Any]


@dataclass
class ChangeSet:
    """What a command adds beside its field changes: messages, an audit event, the outbox."""

    now: datetime
    actor: Actor
    messages: list[Message] = field(default_factory=list)
    event: str = "update"
    detail: dict[str, Any] = field(default_factory=dict)
    record_without_changes: bool = False
    outbox: list[OutboxItem] = field(default_factory=list)

    def add_message(
        self, ticket: Ticket, body: str, *, author: str = "", author_id: int | None = None, staff_only: bool = False
    ) -> Message:
        ticket.message_count += 1
        ticket.last_message_at = self.now
        msg = Message(
            seq=ticket.message_count,
            author=author or self.actor.name,
            author_id=author_id,
            body=body,
            staff_only=staff_only,
            created_at=self.now,
        )
        self.messages.append(msg)
        return msg

    def emit(self, item: OutboxItem) -> None:
        """Commit ``item`` with the change (once per id: the last one given wins)."""
        self.outbox = [o for o in self.outbox if o.id != item.id] + [item]


Command = Callable[[Ticket, ChangeSet], None]


_RESPOND: ContextVar[Callable[[UpdateResult], Any] | None] = ContextVar("respond", default=None)


@contextmanager
def answering(respond: Callable[[UpdateResult], Any]) -> Iterator[None]:
    """Within this block, each change's answer is rendered by ``respond`` from the change about to
    be written, before the write: rendering never fails after the commit, and the answer can ride
    in the change's transaction (an Idempotency-Key's record)."""
    token = _RESPOND.set(respond)
    try:
        yield
    finally:
        _RESPOND.reset(token)


def render_answer(result: UpdateResult) -> None:
    respond = _RESPOND.get()
    if respond is not None and result.answer is None:
        result.answer = respond(result)


class AlreadyApplied(Exception):
    """A rider's item says this very write was committed before (a request retried with its
    Idempotency-Key): nothing is written again.  ``item``: the rider's item as stored."""

    def __init__(self, item: dict[str, Any] | None, answer: Any = None):
        super().__init__("already applied")
        self.item = item or {}
        self.answer = answer  # the answer the earlier try gave, when it was kept with its change


@dataclass
class UpdateResult:
    """A change as the repository made it: the ticket before and after, what changed."""

    before: Ticket
    ticket: Ticket
    changes: list[Change]
    changeset: ChangeSet | None = None
    attempts: int = 1
    committed: bool = False  # a write was made (False: the command changed nothing)
    # the answer to the request, rendered from this result BEFORE the write (``answering``), or
    # the answer an earlier try of the same request committed with its change (``AlreadyApplied``)
    answer: Any = None

    @property
    def changed(self) -> bool:
        return self.committed


def diff(before: Any, after: Any, path: str = "") -> list[Change]:
    """Leaf-level differences between two JSON documents, for the audit trail."""
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[Change] = []
        for k in sorted(set(before) | set(after), key=str):
            sub = f"{path}.{k}" if path else str(k)
            if k not in after:
                out.append(Change(field=sub, before=before[k], after=None))
            elif k not in before:
                out.append(Change(field=sub, before=None, after=after[k]))
            else:
                out.extend(diff(before[k], after[k], sub))
        return out
    return [] if before == after else [Change(field=path, before=before, after=after)]


# -- which fields a command read -----------------------------------------------------------
_FIELDS = frozenset(Ticket.model_fields)
_READS: ContextVar[set[str] | None] = ContextVar("ticket_reads", default=None)


def _noting_reads(self: Ticket, name: str) -> Any:
    if name in _FIELDS:
        reads = _READS.get()
        if reads is not None:
            reads.add(name)
    return object.__getattribute__(self, name)


# A ``Ticket`` that notes each field read while ``reading`` is active: a subclass of the same
# layout, so a copy is switched to it and back without copying.  Made with ``ABCMeta.__new__``
# (the class statement's work without pydantic's): pydantic would build this class a validator
# and a serializer of its own for every field (a second Ticket model at import), which nothing
# would use, since no instance is ever validated or made as one: Ticket's serve the instances
# switched to it.
_Watched = ABCMeta.__new__(
    type(Ticket),
    "_Watched",
    (Ticket,),
    {"__module__": __name__, "__qualname__": "_Watched", "__getattribute__": _noting_reads},
)


@contextmanager
def reading(ticket: Ticket) -> Iterator[set[str]]:
    """Within this block, every field of ``ticket`` that is read is added to the set given."""
    reads: set[str] = set()
    token = _READS.set(reads)
    ticket.__class__ = _Watched
    try:
        yield reads
    finally:
        ticket.__class__ = Ticket
        _READS.reset(token)
