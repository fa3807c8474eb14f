"""Items a request will read, read ahead beside its first read of the store.

A route that knows before it authenticates its caller which item it will read (the ticket or
the webhook subscription its path names) says so (``want``). The request's first read -- its
caller's credentials, when they are not cached (``ticketing.auth``) -- then reads those items
too, in the same ``BatchGetItem`` and as consistently as the reads they stand for (``pending``,
``fill``); the read that wanted an item ``take``s it, once, instead of its own round trip. A
request whose caller is cached reads as before: nothing is waiting, and ``take`` answers "not
read". One round trip fewer for every request whose caller is read: a function's first, each
token's first per auth-cache period, every request of the local run (its cache is off).

- Nothing read ahead is shown before the route has authenticated and authorized its caller: the
  item waits here, and only the store's own read takes it, after the checks the route makes.
- It is as fresh as the read it replaces would be: read within the same request, before that
  read; a write is conditional on the version it read (``store.writer``), so a change made in
  between is caught there, as between any read and its write.
- Scoped to one invocation (``scope``, opened by ``http.entrypoint``): an item not taken (the
  request refused before its read) is dropped with the scope, never served to a later request;
  outside a scope ``want`` does nothing. A context variable, as ``ticketing.invocation``.
- The price: a request refused at the door (a token that is no client's, another dialect's
  client) has read the item too, in the same one round trip: its read units (a ticket is at
  most ``MAX_TICKET_BYTES``), never its content; one item at most (``MOST``), so a made-up
  token cannot make the store read a batch's worth of tickets.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

Key = dict[str, dict[str, str]]
_Identity = tuple[tuple[str, str, str], ...]
_PENDING: Any = object()  # wanted, not read yet

# per table, the items wanted: key identity -> (key, item once read: None when there is none)
_SCOPE: ContextVar[dict[str, dict[_Identity, list[Any]]] | None] = ContextVar("read_ahead", default=None)


@contextmanager
def scope() -> Iterator[None]:
    """Within this block, items may be read ahead; they go with it."""
    token = _SCOPE.set({})
    try:
        yield
    finally:
        _SCOPE.reset(token)


def _identity(key: Key) -> _Identity:
    return tuple(sorted((name, *next(iter(value.items()))) for name, value in key.items()))


def want(table: str, key: Key) -> None:
    """The request will read ``key`` of ``table``: read it beside its first read, if there is one."""
    wanted_here = _SCOPE.get()
    if wanted_here is not None:
        wanted_here.setdefault(table, {}).setdefault(_identity(key), [key, _PENDING])


def wanted(table: str) -> list[Key]:
    """The keys of ``table`` wanted and not read yet."""
    return [key for key, item in (_SCOPE.get() or {}).get(table, {}).values() if item is _PENDING]


MOST = 1  # items read ahead in one request: what one request on one ticket reads


def pending(most: int = MOST) -> dict[str, list[Key]]:
    """The keys wanted and not read yet, by table (tables with none left out) -- none at all
    when there are more than ``most``: a request that names more (a Kapture batch of several
    tickets) reads them itself, after its checks.  A caller with a made-up token thus makes the
    store read at most ``most`` items beside its failed lookup (failed lookups are not cached)."""
    found = {table: keys for table in _SCOPE.get() or {} if (keys := wanted(table))}
    return found if sum(len(keys) for keys in found.values()) <= most else {}


def forget() -> None:
    """Drop what was read ahead and not taken: the request is about to read again what it must
    read as it is now (a retry that found its first attempt committed meanwhile)."""
    wanted_here = _SCOPE.get()
    if wanted_here is not None:
        wanted_here.clear()


def fill(table: str, keys: list[Key], items: list[dict[str, Any]]) -> None:
    """``keys`` of ``table`` were read: ``items`` is what was found among them (in any order)."""
    wanted_here = (_SCOPE.get() or {}).get(table)
    if not wanted_here:
        return
    names = tuple(keys[0]) if keys else ()  # a table's keys all have its key schema's attributes
    found = {_identity({name: item[name] for name in names}): item for item in items}
    for key in keys:
        entry = wanted_here.get(_identity(key))
        if entry is not None and entry[1] is _PENDING:
            entry[1] = found.get(_identity(key))


def take(table: str, key: Key) -> tuple[bool, dict[str, Any] | None]:
    """(True, the item or None when there was none) if ``key`` was read ahead; then it is gone,
    and a second read of it goes to the store. (False, None) if it was not."""
    wanted_here = (_SCOPE.get() or {}).get(table)
    entry = wanted_here.get(_identity(key)) if wanted_here else None
    if entry is None or entry[1] is _PENDING:
        return False, None
    del wanted_here[_identity(key)]
    return True, entry[1]
