"""Inject AWS errors into the layer's clients, below botocore's retry logic.

A ``before-send`` handler that returns a response replaces the HTTP exchange of one
attempt (botocore's Stubber works one level higher and so skips retries): the
injected error body goes through the client's real error parsing and retry policy.

It reaches the layer's clients of this process: the in-process tests' handlers.  The local run's
handlers run in its worker processes (``devkit.local.workers``), out of its reach.
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


def error_response(model: Any, fault: Fault) -> tuple[dict[str, str], bytes]:
    """The error as the service's protocol writes it: XML for the query protocols (SNS, SES v1,
    SQS's older one), JSON with ``__type`` for ``json`` (DynamoDB), and JSON with the code in
    ``x-amzn-ErrorType`` for ``rest-json`` (SES v2, Scheduler)."""
    from xml.sax.saxutils import escape

    message = f"injected {fault.code}"
    if model.protocol in ("query", "ec2", "rest-xml"):
        extra = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in fault.extra.items())
        error = f"<Type>Sender</Type><Code>{escape(fault.code)}</Code><Message>{escape(message)}</Message>{extra}"
        if model.protocol == "rest-xml":
            body = f"<Error>{error}<RequestId>fault</RequestId></Error>"
        elif model.protocol == "ec2":
            body = f"<Response><Errors><Error>{error}</Error></Errors><RequestID>fault</RequestID></Response>"
        else:
            body = f"<ErrorResponse><Error>{error}</Error><RequestId>fault</RequestId></ErrorResponse>"
        return {"x-amzn-RequestId": "fault", "Content-Type": "text/xml"}, body.encode()
    namespace = f"com.amazonaws.{model.endpoint_prefix}.v{model.api_version.replace('-', '')}"
    payload = {"__type": f"{namespace}#{fault.code}", "message": message, **fault.extra}
    content_type = "application/json" if model.protocol == "rest-json" else "application/x-amz-json-1.0"
    headers = {"x-amzn-RequestId": "fault", "Content-Type": content_type, "x-amzn-ErrorType": fault.code}
    return headers, json.dumps(payload).encode()


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
    model = client.meta.service_model
    # botocore names its events by the service id (``sesv2``), not the endpoint prefix (``email``)
    event = f"before-send.{model.service_id.hyphenize()}.{operation}"
    uid = f"fault-{id(fault)}"

    def handler(request: Any = None, **_: Any) -> Any:
        if fault.injected >= fault.times:
            return None
        fault.injected += 1
        # botocore asks every before-send handler; point this attempt elsewhere so that an
        # in-process moto does not also carry it out behind the injected error
        request.url = "https://fault.invalid/"
        headers, body = error_response(model, fault)
        return AWSResponse(url="https://fault.invalid", status_code=fault.status, headers=headers, raw=_Raw(body))

    client.meta.events.register(event, handler, unique_id=uid)
    try:
        yield fault
    finally:
        client.meta.events.unregister(event, unique_id=uid)
