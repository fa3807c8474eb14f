"""Who may touch which ticket: a client's grants, by queue.

A ticket belongs to its queue (every dialect maps one: SPP's and Kapture's queue keys,
ParticleSpace's and servicedesk's tickets keep the queue they were given). A client holds
grants to queues, each ``read`` or ``write``; ``*`` stands for every queue, and a grant to a
queue by name wins over ``*`` (``{"*": "read", "billing": "write"}``: writes billing only;
``{"*": "write", "hr": "read"}``: everything but hr). The queue ``""`` (no queue) is reached
only through ``*``.

The three questions the model answers:

* **Who may create a ticket where:** a client with ``write`` on the new ticket's queue.
* **Who may move a ticket out of a queue:** a client with ``write`` on the queue it is in and on
  the queue it goes to (a change is checked on the ticket as it was and as it will be).
* **What a client sees of a ticket it can read but not write:** all of it, through its
  dialect's views (history included); every write is its dialect's 403.

A ticket outside the grants does not exist for the client: its dialect's "not found". The check
costs no round trip: the grants come with the client's record (read and cached), and the ticket
is read anyway. Enforced in ``ticketing.service``, the only way to the tickets.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal, NamedTuple

Level = Literal["read", "write"]
READ: Level = "read"
WRITE: Level = "write"
ANY_QUEUE = "*"


class Access(NamedTuple):
    """What a client may do to tickets, by queue (``ticketing.grants``)."""

    grants: Mapping[str, Level] = MappingProxyType({})  # none: no ticket at all

    def level(self, queue: str) -> Level | None:
        if queue in self.grants:
            return self.grants[queue]
        return self.grants.get(ANY_QUEUE)

    def can_read(self, queue: str) -> bool:
        return self.level(queue) in (READ, WRITE)

    def can_write(self, queue: str) -> bool:
        return self.level(queue) == WRITE

    @property
    def unrestricted(self) -> bool:
        """Every queue, to write: nothing to check (and no field to condition a write on)."""
        return dict(self.grants) == {ANY_QUEUE: WRITE}


EVERYTHING = Access({ANY_QUEUE: WRITE})  # the hub itself (notifier, automations), and clients from before grants


def parse_grant(text: str) -> tuple[str, Level]:
    """``QUEUE[:read|write]`` (write when not said) -> (queue, level).  After a colon comes the
    level, nothing else (``billing:wirte`` is refused, not a grant to a queue of that name); a
    queue whose name holds a colon says its level (``eu:billing:write``)."""
    queue, colon, level = text.rpartition(":")
    if not colon:
        queue, level = text, WRITE
    if level not in (READ, WRITE):
        raise ValueError(f"a grant is QUEUE, QUEUE:read or QUEUE:write, not {text!r}")
    if not queue:
        raise ValueError(f"a grant names a queue (or *): {text!r}")
    return queue, level  # type: ignore[return-value]
