"""The Lambda invocation being served: its context, for code that must be done before it ends.

``http.entrypoint`` sets it around the route; the store's writer reads the time left from it
(``ticketing.store.writer``), so a write gives up in time to answer instead of being killed with
the function.  A context variable: Kapture's batch runs its writes in threads, each in a copy of
the request's context.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_CONTEXT: ContextVar[Any] = ContextVar("lambda_context", default=None)


@contextmanager
def serving(context: Any) -> Iterator[None]:
    """Within this block, ``remaining_seconds`` is the time ``context`` has left."""
    token = _CONTEXT.set(context)
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def remaining_seconds() -> float | None:
    """Seconds before the invocation's timeout; None outside an invocation (or for a context
    without Lambda's ``get_remaining_time_in_millis``)."""
    remaining = getattr(_CONTEXT.get(), "get_remaining_time_in_millis", None)
    return remaining() / 1000 if callable(remaining) else None
