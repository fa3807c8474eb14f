"""One DynamoDB call: transient errors, full-jitter backoff, and the one batch-get loop."""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ticketing import aws
from ticketing.errors import Unavailable
from ticketing.settings import get_settings

TRANSIENT = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "LimitExceededException",
}
THROTTLED = {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
AMBIGUOUS = {"InternalServerError", "ServiceUnavailable"}  # a write may have been applied
BUSY = "The ticket store is busy; nothing was changed. Retry shortly."
# Full-jitter exponential backoff (a conflict re-applied, unprocessed keys read again): the n-th
# pause is random(0, min(cap, base x 2^n)).
BACKOFF_BASE_SECONDS = 0.005
BACKOFF_CAP_SECONDS = 0.2
BATCH_KEYS = 100  # BatchGetItem's limit per request
BATCH_ATTEMPTS = 8  # reads of one page's unprocessed keys before the store is called busy


def backoff_ceiling(attempt: int) -> float:
    return min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** min(attempt, 10))


def transient(err: Exception) -> bool:
    if isinstance(err, BotoCoreError):
        return True
    return isinstance(err, ClientError) and err.response.get("Error", {}).get("Code") in TRANSIENT


def error_code(err: ClientError) -> str:
    return err.response.get("Error", {}).get("Code", "")


def cancellation_reasons(err: ClientError) -> list[dict[str, Any]]:
    return err.response.get("CancellationReasons") or []


def call(client: Any, op: str, **kwargs: Any) -> dict[str, Any]:
    """One DynamoDB call; throttling and outages (after botocore's retries) become ``Unavailable``."""
    try:
        return getattr(client, op)(**kwargs)
    except (ClientError, BotoCoreError) as err:
        if transient(err):
            raise Unavailable(BUSY) from err
        raise


def batch_get(
    client: Any, table: str, keys: Iterable[dict[str, Any]], *, consistent: bool, busy: str = BUSY
) -> list[dict[str, Any]]:
    """The items found among ``keys`` (in no particular order): one ``BatchGetItem`` per 100 keys,
    the keys it leaves unprocessed (throttled, or over 16 MB) read again after a full-jitter
    backoff, ``BATCH_ATTEMPTS`` times at most; then ``Unavailable(busy)``."""
    wanted = list(keys)
    found: list[dict[str, Any]] = []
    for start in range(0, len(wanted), BATCH_KEYS):
        page: dict[str, Any] = {"Keys": wanted[start : start + BATCH_KEYS]}
        if consistent:
            page["ConsistentRead"] = True
        found += read_batch(client, {table: page}, busy=busy).get(table, [])
    return found


def read_batch(client: Any, request: dict[str, Any], *, busy: str = BUSY) -> dict[str, list[dict[str, Any]]]:
    """The items found by one ``BatchGetItem`` request (``RequestItems``: up to 100 keys, of
    one table or several, each table's ``ConsistentRead`` its own), by table: the keys left
    unprocessed read again after a full-jitter backoff, ``BATCH_ATTEMPTS`` times at most; then
    ``Unavailable(busy)``."""
    found: dict[str, list[dict[str, Any]]] = {}
    for attempt in range(BATCH_ATTEMPTS):
        resp = call(client, "batch_get_item", RequestItems=request)
        for table, items in resp.get("Responses", {}).items():
            found.setdefault(table, []).extend(items)
        request = resp.get("UnprocessedKeys") or {}
        if not request:
            return found
        if attempt + 1 < BATCH_ATTEMPTS:
            time.sleep(random.uniform(0, backoff_ceiling(attempt)))
    raise Unavailable(busy)


class Table:
    """The tickets table and its client, both found on first use (never at import)."""

    def __init__(self, client: Any | None = None, table: str | None = None):
        self._client = client
        self._table = table

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws.dynamodb()
        return self._client

    @property
    def table(self) -> str:
        if self._table is None:
            self._table = get_settings().tickets_table
        return self._table

    def _call(self, op: str, **kwargs: Any) -> dict[str, Any]:
        return call(self.client, op, **kwargs)
