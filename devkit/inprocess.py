"""In-process moto, one AWS request at a time, and transactions that do not copy tables.

moto's in-process backends are not thread-safe: its DynamoDB ``TransactWriteItems`` deep-
copies the table (and restores that copy if the transaction fails), so two threads
writing at once get ``dictionary changed size during iteration`` or lose a write.  The
local run's embedded AWS orders its requests one at a time (``devkit.serve``); this does
the same for moto in process, so handlers that call AWS from several threads (the
Kapture batch) can be tested and measured there.  Clients still issue their calls
concurrently; only moto's handling of them is serialised, as one DynamoDB partition
orders its writes.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
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
    moto's model instances forgotten after each request; and a count of the requests that may
    have changed something (``changes``), which wakes whoever waits for one (``wait_for_change``).
    """

    READS = ("Get", "List", "Describe", "Query", "Scan", "BatchGet", "TransactGet")

    def __init__(self, tokens: bool = True, forget_models: bool = False):
        self.lock = threading.RLock()
        self.tokens = TransactionTokens() if tokens else None
        self.forget_models = forget_models
        self.changes = 0
        self._changed = threading.Condition()

    def _after(self, operation: str | None) -> None:
        read = operation is not None and operation.startswith(self.READS)
        if self.forget_models:
            from moto.core.model_instances import reset_model_data

            # moto keeps every model object it ever made for its dashboard (moto-api), items
            # included, so every write would keep its items alive for good: forget them (the
            # backends hold the state)
            reset_model_data()
        if not read:
            with self._changed:
                self.changes += 1
                self._changed.notify_all()

    def wait_for_change(self, seen: int, timeout: float) -> int:
        """The change count once it differs from ``seen`` (or ``timeout`` seconds passed)."""
        with self._changed:
            self._changed.wait_for(lambda: self.changes != seen, timeout)
            return self.changes

    def in_process(self, call: Callable[[], Any], event_name: str, request: Any) -> Any:
        """A botocore request answered by moto in this process (``call``: moto's stubber)."""
        operation = event_name.rsplit(".", 1)[-1]
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
                self._after(operation)

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
        for key in [k for k, done in self._done.items() if now - done[0] > self.WINDOW_SECONDS]:
            del self._done[key]
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


def _transact_write_items(self, transact_items: list[dict]) -> None:
    """moto's ``DynamoDBBackend.transact_write_items`` (5.2.5), with the same answers, but the
    rollback kept per item instead of a deep copy of every table the transaction names.

    moto copies each named table whole before it applies anything (once per element), so a
    write costs time in proportion to the table, and the local run slows as history grows.
    Here every condition is evaluated first, against the untouched tables (elements never
    share an item, so none can see another's effect), and nothing is applied unless all
    hold; the elements are then applied in order, and should one still fail (an item over
    400 KB), the ones before it are put back as they were.  Requests are serialised around
    moto (see above), so nothing runs between the checks and the writes.
    """
    from moto.dynamodb.exceptions import (
        ConditionalCheckFailed,
        MockValidationException,
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )
    from moto.dynamodb.models import get_filter_expression

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    targets: set[tuple[str, str]] = set()
    plan: list[tuple[str, dict, dict]] = []  # (operation, its parameters, the item's key)
    errors: list[tuple] = []
    for element in transact_items:
        if len(element) > 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(element.items()))
        original = None
        try:
            if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                raise ValueError("Unsupported transaction operation")
            table = self.get_table(op["TableName"])
            if op_type == "Put":
                attrs = op["Item"]
                key = {table.hash_key_attr: attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = attrs[table.range_key_attr]
            else:
                key = op["Key"]
            target = (str(op["TableName"]), str(dict(sorted(key.items()))))
            if target in targets:
                raise MultipleTransactionsException()
            targets.add(target)
            plan.append((op_type, op, key))
            current = self.get_item(op["TableName"], key)
            condition = op.get("ConditionExpression")
            if condition is not None:
                check = get_filter_expression(
                    condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
                )
                if not check.expr(current):
                    if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                        original = current.to_json()["Attributes"]
                    raise ConditionalCheckFailed(item=original)
            errors.append((None, None, None))
        except (MultipleTransactionsException, MockValidationException):
            raise
        except ConditionalCheckFailed as e:
            errors.append(("ConditionalCheckFailed", str(e.message), original))
        except Exception as e:
            errors.append((type(e).__name__, str(e), original))
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)

    applied: list[tuple[str, dict, dict | None]] = []  # (table, key, the item before) to put back
    try:
        for index, (op_type, op, key) in enumerate(plan):
            table_name = op["TableName"]
            if op_type == "ConditionCheck":
                continue
            before = self.get_item(table_name, key)
            before = before.to_json()["Attributes"] if before is not None else None
            names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            try:
                if op_type == "Put":
                    self.put_item(table_name, op["Item"])
                elif op_type == "Delete":
                    self.delete_item(table_name, key)
                else:
                    self.update_item(
                        table_name,
                        key,
                        update_expression=op["UpdateExpression"],
                        expression_attribute_names=names,
                        expression_attribute_values=values,
                    )
            except MockValidationException:
                raise
            except Exception as e:
                failed = [(None, None, None)] * len(plan)
                failed[index] = (type(e).__name__, str(e), None)
                raise TransactionCanceledException(failed) from e
            applied.append((table_name, key, before))
    except Exception:
        for table_name, key, before in reversed(applied):
            if before is None:
                self.delete_item(table_name, key)
            else:
                self.put_item(table_name, before)
        raise


@contextmanager
def item_level_transactions() -> Iterator[None]:
    """Within this block, moto's TransactWriteItems rolls back per item (see above)."""
    from moto.dynamodb.models import DynamoDBBackend

    with mock.patch.object(DynamoDBBackend, "transact_write_items", _transact_write_items):
        yield


# DynamoDB's item operations: moto's answers to them hold only JSON's own types (attribute values
# are strings, lists and maps), so JSON is their wire form as it stands
ITEM_OPERATIONS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    }
)


class _NotPlain(Exception):
    pass


def _plain(value: Any) -> Any:
    """``value`` as moto's JSON serializer writes it for a DynamoDB item operation (members that
    are None left out; a datetime as epoch seconds to the millisecond), or ``_NotPlain`` for
    anything but JSON's own types."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        base = calendar.timegm(aware.utctimetuple())
        return base + (value.microsecond // 1000) / 1000.0 if value.microsecond else base
    raise _NotPlain(type(value).__name__)


@contextmanager
def fast_stream_records() -> Iterator[None]:
    """Within this block, moto writes its answer to DynamoDB Streams' ``GetRecords`` with
    ``json.dumps``: the records' images are attribute values already, and walking them through
    the output shape was a quarter of the local run's CPU under load (the stream pump reads
    every change).  Equal to moto's serializer's answer (tests/test_local_inprocess.py)."""
    from moto.core.responses import ActionResult
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    original = DynamoDBStreamsHandler.get_records

    class _Plain(ActionResult):
        def execute_result(self, context: Any) -> Any:
            try:
                body = json.dumps(_plain(self.result), separators=(",", ":"))
            except (_NotPlain, TypeError, ValueError):
                return super().execute_result(context)
            return 200, {"Content-Type": "application/x-amz-json-1.0"}, body

    def get_records(self: Any) -> Any:
        answer = original(self)
        return _Plain(answer.result) if type(answer) is ActionResult else answer

    with mock.patch.object(DynamoDBStreamsHandler, "get_records", get_records):
        yield


@contextmanager
def fast_dynamodb_results() -> Iterator[None]:
    """Within this block, moto writes its answers to DynamoDB's item operations with ``json.dumps``.

    moto 5.2 serialises every answer by walking botocore's output shape member by member: for a
    ticket of a few KB that is ~15 ms of a GetItem's ~16 ms, the largest cost of every request of
    the local run.  The answer of an item operation is JSON already (``dynamo_to_dict``), so it is
    written as it stands; anything else (an error, a table description with its dates, a value
    that is not plain JSON) still goes through moto's serializer.  The two agree on every item
    operation's answer (tests/test_local_inprocess.py)."""
    from moto.dynamodb.responses import DynamoResult

    original = DynamoResult.execute_result

    def execute_result(self, context):
        if context.operation_model.name in ITEM_OPERATIONS and not isinstance(self.result, Exception):
            try:
                body = json.dumps(_plain(self.result), separators=(",", ":"))
            except (_NotPlain, TypeError, ValueError):
                return original(self, context)
            return 200, {"Content-Type": "application/x-amz-json-1.0"}, body
        return original(self, context)

    with mock.patch.object(DynamoResult, "execute_result", execute_result):
        yield


@contextmanager
def fast_moto() -> Iterator[None]:
    """moto answering as it does, with less work per request: DynamoDB's item operations and
    Streams' GetRecords written with ``json.dumps`` (``fast_dynamodb_results``,
    ``fast_stream_records``), and the names of a response class's methods
    (looked up with ``inspect.getmembers`` on every request: ~0.5 ms) kept once per class."""
    import moto.core.responses as responses

    names: dict[type, list[str]] = {}
    original = responses.method_names_from_class

    def method_names_from_class(clazz: type) -> list[str]:
        found = names.get(clazz)
        if found is None:
            found = names[clazz] = original(clazz)
        return found

    with (
        fast_dynamodb_results(),
        fast_stream_records(),
        mock.patch.object(responses, "method_names_from_class", method_names_from_class),
    ):
        yield
