"""In-process moto, one AWS request at a time: the gate every AWS request of the local run passes.

moto's in-process backends are not thread-safe: its DynamoDB ``TransactWriteItems`` deep-
copies the table (and restores that copy if the transaction fails), so two threads
writing at once get ``dictionary changed size during iteration`` or lose a write.  The
local run's embedded AWS orders its requests one at a time (``devkit.local.embedded_aws``);
this does the same for moto in process, so handlers that call AWS from several threads (the
Kapture batch) can be tested and measured there.  Clients still issue their calls
concurrently; only moto's handling of them is serialised, as one DynamoDB partition
orders its writes.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http import HTTPStatus
from typing import Any
from unittest import mock

log = logging.getLogger("local")

Answer = tuple[int, list[tuple[str, str]], bytes]  # an HTTP answer: status, headers, body


@contextmanager
def serialised_moto(gate: Gate | None = None) -> Iterator[Gate]:
    """Within this block, moto (``mock_aws``) handles one request at a time.

    With a ``gate`` (the local run's), in-process requests share its lock with moto's server,
    and go through its ``TransactionTokens`` and change counter as the server's requests do."""
    from moto.core.botocore_stubber import BotocoreStubber

    gate = gate or Gate(tokens=False)
    original = BotocoreStubber.__call__

    def locked(self, event_name, request, **kwargs):
        if not self.enabled:
            return None
        return gate.in_process(lambda: original(self, event_name, request, **kwargs), event_name, request)

    with mock.patch.object(BotocoreStubber, "__call__", locked):
        yield gate


class Gate:
    """What every AWS request of the local run passes through, from moto's server (HTTP: other
    processes, ``sam local invoke``, the AWS CLI) or in process (the handlers): one lock, as one
    DynamoDB partition orders its writes; DynamoDB's ``ClientRequestToken`` (``TransactionTokens``);
    moto's model instances forgotten every ``FORGET_EVERY`` requests; and a count of the requests
    that may have changed something (``changes``), which wakes whoever waits for one
    (``wait_for_change``).
    """

    READS = ("Get", "List", "Describe", "Query", "Scan", "BatchGet", "TransactGet")
    FORGET_EVERY = 32

    def __init__(self, tokens: bool = True, forget_models: bool = False):
        self.lock = threading.RLock()
        self.tokens = TransactionTokens() if tokens else None
        self.forget_models = forget_models
        self._unforgotten = 0  # requests since moto's model instances were last forgotten
        self.changes = 0
        self._by_service: dict[str | None, int] = {}  # the changes by service (None: not known)
        self._changed = threading.Condition()

    def changes_of(self, *services: str) -> int:
        """How many requests may have changed something of these services (botocore's names:
        ``scheduler``, ``sqs``...): those known to be theirs and those of no known service
        (moto's server is not told)."""
        by = self._by_service
        return by.get(None, 0) + sum(by.get(s, 0) for s in services)

    def _after(self, operation: str | None, service: str | None = None) -> None:
        read = operation is not None and operation.startswith(self.READS)
        if self.forget_models:
            self._unforgotten += 1
            if self._unforgotten >= self.FORGET_EVERY:
                from moto.core.model_instances import reset_model_data

                # moto keeps every model object it ever made for its dashboard (moto-api), items
                # included, so every write would keep its items alive for good: forget them (the
                # backends hold the state). Every FORGET_EVERY requests, not after each: it visits
                # every model class of every service moto has, ~2% of the local run's time under load
                self._unforgotten = 0
                reset_model_data()
        if not read:
            with self._changed:
                self.changes += 1
                self._by_service[service] = self._by_service.get(service, 0) + 1
                self._changed.notify_all()

    def wait_for_change(self, seen: int, timeout: float) -> int:
        """The change count once it differs from ``seen`` (or ``timeout`` seconds passed)."""
        with self._changed:
            self._changed.wait_for(lambda: self.changes != seen, timeout)
            return self.changes

    def in_process(self, call: Callable[[], Any], event_name: str, request: Any) -> Any:
        """A botocore request answered by moto in this process (``call``: moto's stubber)."""
        _, service, operation = event_name.rsplit(".", 2) if event_name.count(".") >= 2 else ("", None, event_name)
        with self.lock:
            try:
                if self.tokens is None or event_name != "before-send.dynamodb.TransactWriteItems":
                    return call()
                from botocore.awsrequest import AWSResponse
                from moto.core.botocore_stubber import MockRawResponse

                def answered() -> Answer | None:
                    response = call()
                    if response is None:
                        return None
                    return response.status_code, list(response.headers.items()), response.content

                body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
                answer = self.tokens.around(body, answered)
                if answer is None:
                    return None
                status, headers, data = answer
                return AWSResponse(request.url, status, dict(headers), MockRawResponse(data))
            finally:
                self._after(operation, service)

    def wsgi(self, app: Any, before: Callable[[dict], Answer | None] | None = None) -> Any:
        """moto's server app behind this gate; ``before`` may answer a request first, outside the
        lock (Lambda's Invoke: the function calls this AWS itself)."""

        def gated(environ: dict[str, Any], start_response: Any) -> list[bytes]:
            answered = before(environ) if before else None
            if answered is not None:
                status, headers, data = answered
                start_response(status_line(status), headers)
                return [data]
            target = environ.get("HTTP_X_AMZ_TARGET") or ""
            with self.lock:
                try:
                    if self.tokens is not None and target == TransactionTokens.TARGET:
                        status, headers, data = self.tokens.wsgi(app, environ)
                        start_response(status_line(status), headers)
                        return [data]
                    return list(app(environ, start_response))
                finally:
                    self._after(target.rsplit(".", 1)[-1] if target else None)

        return gated


def status_line(status: int | str) -> str:
    if isinstance(status, str):
        return status
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


_TOKEN = re.compile(rb'"ClientRequestToken"\s*:\s*"((?:[^"\\]|\\.)*)"')


class TransactionTokens:
    """DynamoDB's ``ClientRequestToken`` on ``TransactWriteItems``, which moto ignores: a call
    repeated with the token of one that succeeded within 10 minutes changes nothing and answers
    as the first did (a different request under the same token: ``IdempotentParameterMismatch``).

    botocore gives every call a token and keeps it across its retries, so when a call fails on
    the client after the embedded AWS applied it (over HTTP, ``read_timeout`` is 5 s; a busy
    local run can take longer; in process, an error injected after the commit), the retry is not
    applied a second time -- as DynamoDB guarantees.  Called with the gate's lock held."""

    TARGET = "DynamoDB_20120810.TransactWriteItems"
    WINDOW_SECONDS = 600

    def __init__(self) -> None:
        self._done: dict[str, tuple[float, str, Answer]] = {}

    def clear(self) -> None:
        self._done.clear()

    def _expire(self, now: float) -> None:
        """Forget the tokens older than the window: the oldest first, as they were kept (a dict
        keeps its insertion order, and each is kept at the time it was done), so a call looks at
        those it forgets and one more, not at every token of the last 10 minutes."""
        while self._done:
            token, (done_at, _, _) = next(iter(self._done.items()))
            if now - done_at <= self.WINDOW_SECONDS:
                return
            del self._done[token]

    def around(self, body: bytes, call: Callable[[], Answer | None]) -> Answer | None:
        """The answer to the TransactWriteItems ``body``: ``call()``'s, or the one given before
        under its token."""
        # botocore writes the same call's body byte for byte on every retry, token included: the
        # body itself tells a retry from a different request (no parse of a large transaction)
        found = _TOKEN.search(body)
        token = found.group(1).decode() if found else None
        if not token:
            return call()
        now = time.monotonic()
        self._expire(now)
        digest = hashlib.sha256(body).hexdigest()
        if token in self._done:
            _, seen, answer = self._done[token]
            if seen != digest:
                data = json.dumps(
                    {
                        "__type": "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException",
                        "message": "The request uses the same client token as a previous, but non-identical request.",
                    }
                ).encode()
                return 400, [("Content-Type", "application/x-amz-json-1.0")], data
            log.info("TransactWriteItems retried with the token of one applied: answered as before")
            return answer
        answer = call()
        if answer is not None and answer[0] == 200:
            self._done[token] = (now, digest, answer)
        return answer

    def wsgi(self, app: Any, environ: dict[str, Any]) -> Answer:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)

        def call() -> Answer:
            seen: dict[str, Any] = {}

            def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
                seen.update(status=status, headers=list(headers))
                return lambda _data: None

            data = b"".join(app(environ, capture))
            return int(seen["status"].split()[0]), seen["headers"], data

        return self.around(body, call)  # type: ignore[return-value]
