"""A function's init: its handler module's imports, with the garbage collector paused.

A cold start builds objects that live as long as the container: modules, classes, pydantic's
validators and schemas, botocore's service models. While they are built, CPython's collector runs a
full collection each time the tracked heap has grown by a quarter, tracing every one of them again,
and finds almost nothing to free. So each handler module (``functions/*/app.py``) imports its
dialect inside ``loading()``: the collector is paused for the imports; at the end what they built is
frozen (``gc.freeze``: moved to the permanent generation, which collections skip, so a warm
request's full collection no longer traces the init's objects either) and the collector resumes.
This is the sequence CPython's documentation gives for ``gc.freeze`` (pause early, freeze when the
long-lived objects are built, resume).

Measured (``make bench``'s cold probe, PutUserFunction, 21 rounds in one run): init 1.30x the stack
probe with the collector running during the imports, 1.11x with it paused. Nothing is deferred: the
imports do the same work, without the collections. The cost: cyclic garbage the imports leave is
never freed (it is frozen with the rest); the bench's peak-memory column shows it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def loading() -> Iterator[None]:
    """Pause the collector for the block; then freeze what exists and restore the collector's state
    (enabled again unless it was already paused, so a nested or surrounding pause is kept)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
