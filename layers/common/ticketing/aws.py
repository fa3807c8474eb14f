"""boto3 clients, created once per container on first use (never at import).

Their endpoints are boto3's own: ``AWS_ENDPOINT_URL`` (empty when deployed; ``sam local invoke``
sets it to the local run's embedded AWS, events/env.json) or the region's."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from ticketing import coldstart

# Every call must give up inside its function's timeout, so that a slow or unreachable service
# is answered as the dialect's 503 (ticketing.errors.Unavailable) and not as API Gateway's 504
# after Lambda killed the function.  One call's worst case, in standard retry mode:
#
#     attempts x (connect + read) + backoff before attempts 2 and 3
#   = 3 x (0.5 s + 1.5 s)         + (< 1 s) + (< 2 s)      (backoff: random(0, 1) x 2^(attempt - 1))
#   = 9 s  <  10 s, the API functions' timeout (Globals), 20 s Kapture's, 60 s and 120 s the
#     automations' and the notifier's.
#
# (The earlier 2 s connect / 5 s read gave 3 x 7 + 3 = 24 s.)  A throttled or refused call answers at
# once and costs only the backoff: at most 3 s.  DynamoDB, SES, SNS, Scheduler and Lambda answer
# in-region within tens of milliseconds; 1.5 s of silence on a socket is an outage, not a slow answer.
# These bound one call; a request makes several (the write path also retries conflicts, within
# store.writer.write_window, which ends before the function's timeout), so only the first stuck
# call is guaranteed its 503.
CONNECT_TIMEOUT_SECONDS = 0.5
READ_TIMEOUT_SECONDS = 1.5
MAX_ATTEMPTS = 3
MAX_BACKOFF_SECONDS = sum(2 ** (attempt - 1) for attempt in range(1, MAX_ATTEMPTS))  # 1 + 2
WORST_CALL_SECONDS = MAX_ATTEMPTS * (CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS) + MAX_BACKOFF_SECONDS

_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
    connect_timeout=CONNECT_TIMEOUT_SECONDS,
    read_timeout=READ_TIMEOUT_SECONDS,
    tcp_keepalive=True,
)


@cache
def client(service: str) -> Any:
    with coldstart.paused():  # its ~100k long-lived objects, built without collections (ticketing.coldstart)
        return boto3.session.Session().client(service, config=_CONFIG)


def dynamodb() -> Any:
    return client("dynamodb")


def reset() -> None:
    client.cache_clear()
