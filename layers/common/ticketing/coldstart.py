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
probe with the collector running, 1.11x with it paused for the imports and the client's build. Nothing is deferred: the
imports do the same work, without the collections. The cost: cyclic garbage the imports leave is
never freed (it is frozen with the rest); the bench's peak-memory column shows it.

A boto3 client, built on first use (``ticketing.aws``), is built inside ``paused()`` for the same
reason, but not frozen: tests build clients again and again, and each freeze would keep what the
test had then. Measured the same way (15 rounds each, against the same layer without it): the
probe's init with its client, PatchTicketFunction 1.13x the stack -> 0.99x (init plus first
request 1.16x -> 1.04x); GetWebhookDeliveriesFunction and PutUserFunction within the noise
(1.21x against 1.21x, 1.25x against 1.23x).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# boto3 first, before pydantic and the dialect's modules: every function loads it (ticketing.aws),
# and imported after them its import costs 25-35 ms more on some functions (PutUserFunction init
# 1.23x the stack -> 1.08x, GetWebhookDeliveriesFunction 1.19x -> 1.10x, KaptureUpdateTicketFunction
# unchanged, whose modules reach boto3 early anyway: 11-13 rounds each in one run). The extra time
# shows as urllib3.util.url's module body taking 30-50 ms instead of 5 ms; why was not found (the
# same regular expressions compile at their usual speed after our modules in a bare interpreter).
import boto3  # noqa: F401


@contextmanager
def paused() -> Iterator[None]:
    """Pause the collector for the block, then restore its state (enabled again unless it was
    already paused, so a nested or surrounding pause is kept). For a block that builds objects
    the container keeps, such as a boto3 client (``ticketing.aws``): its service model, shapes and
    endpoint rules are ~100k objects, and collections during their build find nothing to free.
    Nothing is frozen, so what the block leaves behind is collected as usual afterwards."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def loading() -> Iterator[None]:
    """``paused()`` for a handler module's imports, and what exists at the end is frozen."""
    with paused():
        try:
            yield
        finally:
            gc.freeze()
