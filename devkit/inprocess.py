"""In-process moto, one AWS request at a time.

moto's in-process backends are not thread-safe: a DynamoDB ``TransactWriteItems`` deep-
copies the table (and restores that copy if the transaction fails), so two threads
writing at once get ``dictionary changed size during iteration`` or lose a write.  The
local run's embedded AWS orders its requests one at a time (``devkit.serve``); this does
the same for moto in process, so handlers that call AWS from several threads (the
Kapture batch) can be tested and measured there.  Clients still issue their calls
concurrently; only moto's handling of them is serialised, as one DynamoDB partition
orders its writes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock


@contextmanager
def serialised_moto() -> Iterator[None]:
    """Within this block, moto (``mock_aws``) handles one request at a time."""
    from moto.core.botocore_stubber import BotocoreStubber

    lock = threading.RLock()
    original = BotocoreStubber.__call__

    def locked(self, event_name, request, **kwargs):
        with lock:
            return original(self, event_name, request, **kwargs)

    with mock.patch.object(BotocoreStubber, "__call__", locked):
        yield
