"""Inject AWS errors into the layer's clients, below botocore's retry logic.

A ``before-send`` handler that returns a response replaces the HTTP exchange of one
attempt (botocore's Stubber works one level higher and so skips retries): the
injected error body goes through the client's real error parsing and retry policy.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from ticketing import aws


class _Raw:
    def __init__(self, body: bytes):
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


@dataclass
class Fault:
    operation: str
    code: str
    times: int
    status: int = 400
    extra: dict[str, Any] = field(default_factory=dict)
    injected: int = 0


@contextmanager
def inject(
    service: str,
    operation: str,
    code: str,
    *,
    times: int = 10_000,
    status: int = 400,
    extra: dict[str, Any] | None = None,
) -> Iterator[Fault]:
    """Make the next ``times`` calls of ``operation`` fail with ``code``."""
    fault = Fault(operation, code, times, status, extra or {})
    client = aws.client(service)
    event = f"before-send.{client.meta.service_model.endpoint_prefix}.{operation}"
    uid = f"fault-{id(fault)}"

    def handler(request: Any = None, **_: Any) -> Any:
        if fault.injected >= fault.times:
            return None
        fault.injected += 1
        # botocore asks every before-send handler; point this attempt elsewhere so that an
        # in-process moto does not also carry it out behind the injected error
        request.url = "https://fault.invalid/"
        body = {
            "__type": f"com.amazonaws.dynamodb.v20120810#{fault.code}",
            "message": f"injected {fault.code}",
            **fault.extra,
        }
        return AWSResponse(
            url="https://fault.invalid",
            status_code=fault.status,
            headers={"x-amzn-RequestId": "fault", "Content-Type": "application/x-amz-json-1.0"},
            raw=_Raw(json.dumps(body).encode()),
        )

    client.meta.events.register(event, handler, unique_id=uid)
    try:
        yield fault
    finally:
        client.meta.events.unregister(event, unique_id=uid)
