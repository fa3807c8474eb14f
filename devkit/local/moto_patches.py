"""moto answering as it does, with less work: DynamoDB transactions rolled back per item instead of
by a copy of every table they name, answers that are JSON already written as they stand, and
what moto works out again on every request worked out once.

Each patch replaces or wraps a function of moto and was written against one moto release
(``MOTO``, the version ``requirements-dev.txt`` pins).  The copied ``transact_write_items`` is
checked at import; every other copy (``send_message``), and every moto function a cache relies
on (that a parsed expression is never changed, that a traverser's node types are fixed, how
``Table.query`` reads its table), is checked by SHA-256 of its source when its patch is entered:
should the installed moto differ, the patch raises ``RuntimeError`` naming what to compare,
rather than running an old copy of moto's code silently.  tests/integration/test_moto_patches.py,
test_moto_transactions.py and test_local_inprocess.py check the answers against moto's own.
"""

from __future__ import annotations

import base64
import calendar
import copy
import functools
import hashlib
import inspect
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import moto
from moto.dynamodb.comparisons import ConditionExpressionParser
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.table import Table
from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, Expression, Node, UpdateExpressionFunction
from moto.dynamodb.parsing.expressions import UpdateExpressionParser
from moto.dynamodb.parsing.validators import Validator
from moto.sqs.models import SQSBackend

# moto's own functions, as imported (the patches below may be entered more than once: each checks
# and wraps these, never another patch's replacement)
MOTO_SEND_MESSAGE = SQSBackend.send_message
MOTO_UPDATE_EXPRESSION_MAKE = UpdateExpressionParser.make.__func__
MOTO_NODES_TO_BE_PROCESSED = DepthFirstTraverser.nodes_to_be_processed
MOTO_CONDITION_PARSE = ConditionExpressionParser.parse
MOTO_TABLE_QUERY = Table.query
MOTO_VALIDATOR_INIT = Validator.__init__
MOTO_PROCESS = DepthFirstTraverser.process
MOTO_TRAVERSE_NODE = DepthFirstTraverser.traverse_node_recursively
MOTO_FIND_CLAUSES = Node.find_clauses
MOTO_ITEM_INIT = Item.__init__
MOTO_TO_REGULAR_JSON = DynamoType.to_regular_json

# the moto release the copy of ``DynamoDBBackend.transact_write_items`` below follows, and the
# SHA-256 of that function's source (``inspect.getsource``) in it
MOTO = "5.2.5"
TRANSACT_WRITE_ITEMS_SHA256 = "81db2cb7d94e39c90b3a2077e1f4bb41a449c558ef9b1b1e2910fdaa39978ad4"


@functools.cache
def source_of(function: Any) -> str:
    """A function's source, as ``inspect.getsource`` gives it: read once per function a process
    (each patch checks the code it copies whenever it is applied, the tests' ``aws`` fixture once a
    test: reading them was ~5 ms a time)."""
    return inspect.getsource(function)


def source_digest(function: Any) -> str:
    """The SHA-256 of a function's source (``source_of``)."""
    return hashlib.sha256(source_of(function).encode()).hexdigest()


def check_copied_from(version: str, digest: str) -> None:
    """Refuse to run the copy of moto's ``transact_write_items`` on any moto but the one it was
    copied from (``moto.__version__`` and the original function's source both as then)."""
    found = source_digest(DynamoDBBackend.transact_write_items)
    if moto.__version__ == version and found == digest:
        return
    raise RuntimeError(
        f"devkit/local/moto_patches.py copies moto {version}'s DynamoDBBackend.transact_write_items "
        f"(moto/dynamodb/models/__init__.py), but the installed moto is {moto.__version__} and that "
        f"function's source {'is unchanged' if found == digest else 'has changed'} (SHA-256 {found}). "
        "Re-check the copy, _transact_write_items, against the installed function: the same checks, "
        "errors and answers (tests/integration/test_moto_transactions.py compares them); drop it if moto no longer "
        "deep-copies every table a transaction names.  Then set MOTO and TRANSACT_WRITE_ITEMS_SHA256 "
        "in that file, and moto's pin in requirements-dev.txt, to the installed release."
    )


check_copied_from(MOTO, TRANSACT_WRITE_ITEMS_SHA256)

# the other functions of moto copied below, each with the SHA-256 of the original's source in ``MOTO``
SEND_MESSAGE_SHA256 = "bf161af09a9e6b860e3dd5d8f58ccc802623caa86883fab9b2ffb333f8f70330"
# what the caches of parsed update expressions and of traversers' node types rely on, as in ``MOTO``:
UPDATE_EXPRESSION_MAKE_SHA256 = "2c00ed96d6e191f243b449166e75bfb38f307b2e19405bc0981847061e0dbee3"
VALIDATOR_INIT_SHA256 = "9489b532dd0fb359e273711c1a67971f1b73af47ddbaa91868e9cc42a26ddbb3"  # copies the AST
NODES_TO_BE_PROCESSED_SHA256 = "1c2c84c8097e35172d289d2cc30029d2d1c518f7680232a3f3c9f09e56a5e9b0"
TABLE_QUERY_SHA256 = "002b4d00be6df07cf37f6cbe0132e5eb89455ae12a8e79b23db3fb492450f21e"
TABLE_ALL_ITEMS_SHA256 = "c80d2ee3c896acd0cab6ca35aaeae3ab3fb65858933f8a3403d4e027c240f31d"
CONDITION_PARSE_SHA256 = "5c9b63c5f49ed5d5d644eb0ac7422fb3c2ac4bbd310374f4161686bc4e10c453"
PROCESSING_MAPS_SHA256 = "e7165c6ba87506d23682654ba94abc0d9116f842ced202693004bf8ab66786c4"  # every traverser's
# the functions ``lighter_expressions`` and ``lighter_items`` write again, as in ``MOTO``:
TRAVERSE_NODE_SHA256 = "d7f01d9b45cf9f64ac84751ec4c8cab3114e7c179350eb1b81ffe5f0a114aa78"
PROCESS_SHA256 = "58328ec7c2f9b1f96244bf498dd0ca6d91e2fd83ea57a82f6190997b8d1f9d51"
FIND_CLAUSES_SHA256 = "b77be7ac447d7617ea68e818e2bceb652a8a14257001715c64b36b3244a04c55"
TO_REGULAR_JSON_SHA256 = "a9fe48d6f3f9aa7e73b2822278a77f698944176a2de656f84af8963676e63f3e"
ITEM_INIT_SHA256 = "d9c12b62cb921831aab9b2eb22ac24fbd600689064a0219ae3ffbe057ae4be74"
LIMITED_SIZE_SETITEM_SHA256 = "d979580fdbe14f79f3216564e1385c4b3485db82bc88193326c467a037331e81"


def check_copy(function: Any, where: str, digest: str, version: str = MOTO) -> None:
    """Refuse to run a copy of moto's ``function`` (``where``: its module) on any moto but the one
    it was copied from, as ``check_copied_from`` does for ``transact_write_items``."""
    found = source_digest(function)
    if moto.__version__ == version and found == digest:
        return
    raise RuntimeError(
        f"devkit/local/moto_patches.py copies moto {version}'s {function.__qualname__} ({where}), but the "
        f"installed moto is {moto.__version__} and that function's source "
        f"{'is unchanged' if found == digest else 'has changed'} (SHA-256 {found}). Re-check the copy "
        "against the installed function (tests/integration/test_moto_patches.py compares them), then set "
        "its SHA-256 and MOTO in that file, and moto's pin in requirements-dev.txt, to the installed release."
    )


def _transact_write_items(self, transact_items: list[dict]) -> None:
    """moto's ``DynamoDBBackend.transact_write_items`` (``MOTO``), with the same answers, but the
    rollback kept per item instead of a deep copy of every table the transaction names.

    moto copies each named table whole before it applies anything (once per element), so a
    write costs time in proportion to the table, and the local run slows as history grows.
    Still so in 5.2.5, though its items copy faster since getmoto/moto#9670: one transaction of
    two elements on a table of 100, 1,000 and 3,000 items of 1.5 KB took a median 24, 121 and
    350 ms there, against 6, 10 and 10 ms here (in process, 15 transactions each).
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
    every change).  Equal to moto's serializer's answer (tests/integration/test_local_inprocess.py)."""
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
    operation's answer (tests/integration/test_local_inprocess.py)."""
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


def _send_message(
    self,
    queue_name: str,
    message_body: str,
    message_attributes: dict[str, Any] | None = None,
    delay_seconds: int | None = None,
    deduplication_id: str | None = None,
    group_id: str | None = None,
    system_attributes: dict[str, Any] | None = None,
    validate_group_id: bool = True,
) -> Any:
    """moto's ``SQSBackend.send_message`` (``MOTO``), with the same answers, but a standard
    queue's content-based deduplication (always off: SQS has it for FIFO queues only) known
    without building every attribute of the queue.

    moto asks ``queue.attributes.get("ContentBasedDeduplication")`` on every send; building
    them counts the queue's messages three times over (visible, delayed, in flight), reading
    the clock once per message.  The local run's bus tap (``devkit.local.bus``) is a standard
    queue that nothing consumes, so every event put on the bus cost time in proportion to
    every event put before it.  Only the standard-queue case differs from moto's code (the
    attribute is not in a standard queue's attributes: moto's lookup gives None there too)."""
    import hashlib as _hashlib
    import string

    from moto.sqs import models as sqs

    queue = self.get_queue(queue_name)

    self._validate_message(
        queue,
        message_body=message_body,
        delay_seconds=int(delay_seconds or 0),
        deduplication_id=deduplication_id,
        group_id=group_id,
        validate_group_id=validate_group_id,
    )

    if delay_seconds is not None:
        delay_seconds = int(delay_seconds)
    else:
        delay_seconds = queue.delay_seconds

    message_id = str(sqs.random.uuid4())
    message = sqs.Message(message_id, message_body, system_attributes)

    # if content based deduplication is set then set sha256 hash of the message
    # as the deduplication_id
    if queue.fifo_queue and queue.attributes.get("ContentBasedDeduplication") == "true":
        sha256 = _hashlib.sha256()
        sha256.update(message_body.encode("utf-8"))
        message.deduplication_id = sha256.hexdigest()

    # Attributes, but not *message* attributes
    if deduplication_id is not None:
        message.deduplication_id = deduplication_id
        message.sequence_number = "".join(sqs.random.choice(string.digits) for _ in range(20))

    if group_id is not None:
        message.group_id = group_id

    if message_attributes:
        message.message_attributes = message_attributes

    if delay_seconds > sqs.MAXIMUM_MESSAGE_DELAY:
        msg = (
            f"Value {delay_seconds} for parameter DelaySeconds is invalid. "
            "Reason: DelaySeconds must be >= 0 and <= 900."
        )
        raise sqs.InvalidParameterValue(msg)

    message.mark_sent(delay_seconds=delay_seconds)

    queue.add_message(message)

    return message


@contextmanager
def fast_sqs_sends() -> Iterator[None]:
    """Within this block, a message sent to a standard queue costs the same however many wait in
    it (``_send_message``)."""
    check_copy(MOTO_SEND_MESSAGE, "moto/sqs/models.py", SEND_MESSAGE_SHA256)
    with mock.patch.object(SQSBackend, "send_message", _send_message):
        yield


@contextmanager
def cached_jsonpaths(size: int = 512) -> Iterator[None]:
    """Within this block, ``jsonpath_ng.ext.parse`` parses each path once: moto's EventBridge
    parses every path of a target's input transformer again for every event it delivers (eight
    paths for the default one), and each parse builds a new PLY parser, ~0.5 ms.  A parsed path
    is not changed by finding it in a document, so one is shared by every event."""
    import functools

    import jsonpath_ng.ext as ext

    original = ext.parse
    cached = functools.lru_cache(maxsize=size)(original)

    def parse(path: Any, debug: Any = None) -> Any:
        try:
            return cached(path, debug)
        except TypeError:  # an unhashable path: as jsonpath_ng would have it
            return original(path, debug)

    with mock.patch.object(ext, "parse", parse):
        yield


@contextmanager
def cached_update_expressions(size: int = 512) -> Iterator[None]:
    """Within this block, moto parses each distinct UpdateExpression once.

    A TransactWriteItems Update's expression is parsed twice per call (the handler checks the
    names it uses, then ``update_item``), ~0.3 ms each for a ticket's; the local run's writes
    share a handful of shapes (the names are ``#n<i>`` aliases).  moto never changes the parsed
    tree: its readers only look for clauses, and the validator works on a deep copy of it
    (``Validator.__init__``, checked here with ``make`` itself)."""
    import functools

    check_copy(MOTO_UPDATE_EXPRESSION_MAKE, "moto/dynamodb/parsing/expressions.py", UPDATE_EXPRESSION_MAKE_SHA256)
    check_copy(MOTO_VALIDATOR_INIT, "moto/dynamodb/parsing/validators.py", VALIDATOR_INIT_SHA256)
    original = MOTO_UPDATE_EXPRESSION_MAKE
    cached = functools.lru_cache(maxsize=size)(lambda expression: original(UpdateExpressionParser, expression))

    def make(cls: type, expression_str: Any) -> Any:
        if cls is UpdateExpressionParser and isinstance(expression_str, str):
            return cached(expression_str)
        return original(cls, expression_str)

    with mock.patch.object(UpdateExpressionParser, "make", classmethod(make)):
        yield


def _subclasses(root: type) -> list[type]:
    """``root`` and every class derived from it, at any depth."""
    found, todo = [root], [root]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.append(sub)
                todo.append(sub)
    return found


def _traversers() -> list[type]:
    """moto's AST traversers (``moto.dynamodb.parsing.validators``, imported above, holds them)."""
    return sorted(_subclasses(DepthFirstTraverser)[1:], key=lambda c: c.__qualname__)


def processing_maps_digest() -> str:
    """The SHA-256 of every moto traverser's ``_processing_map`` source, in name order."""
    return hashlib.sha256("".join(source_of(t._processing_map) for t in _traversers()).encode()).hexdigest()


@contextmanager
def cached_traversal_keys() -> Iterator[None]:
    """Within this block, a moto AST traverser's node types are known once per traverser class.

    ``DepthFirstTraverser.nodes_to_be_processed`` builds the traverser's processing map (a dict
    of bound methods) again at every node of every traversal: an update runs ten traversals of
    its expression.  Every traverser's map has the same keys (node classes) whatever the
    instance (each ``_processing_map`` returns a literal dict: their sources are checked here)."""
    check_copy(MOTO_NODES_TO_BE_PROCESSED, "moto/dynamodb/parsing/ast_nodes.py", NODES_TO_BE_PROCESSED_SHA256)
    found = processing_maps_digest()
    if found != PROCESSING_MAPS_SHA256:
        raise RuntimeError(
            "devkit/local/moto_patches.py keeps each moto traverser's node types once per class, as moto "
            f"{MOTO}'s _processing_map methods allow, but theirs have changed (SHA-256 {found}): check that "
            "every one still returns a dict whose keys do not depend on the instance, then set "
            "PROCESSING_MAPS_SHA256 in that file."
        )
    keys: dict[type, tuple[type, ...]] = {}

    def nodes_to_be_processed(self: Any) -> tuple[type, ...]:
        found = keys.get(type(self))
        if found is None:
            found = keys[type(self)] = tuple(self._processing_map().keys())
        return found

    with mock.patch.object(DepthFirstTraverser, "nodes_to_be_processed", nodes_to_be_processed):
        yield


@contextmanager
def cached_conditions(size: int = 1024) -> Iterator[None]:
    """Within this block, moto parses a condition expression once per (expression, names, values).

    A TransactWriteItems element's ConditionExpression is parsed twice per call (the handler
    validates the names it uses, then the transaction evaluates it: ``_transact_write_items``),
    and some recur unchanged (``attribute_not_exists(pk)`` on every audit entry).  The parse
    reads the names and values into the condition it returns, so they are part of the key (as
    JSON: a request whose values are not JSON is parsed as before); evaluating a condition
    never changes it.  What the parse notes on its parser (the names and values it used) is
    noted again from the cached parse."""
    check_copy(MOTO_CONDITION_PARSE, "moto/dynamodb/comparisons.py", CONDITION_PARSE_SHA256)
    cache: dict[tuple[Any, str, str], tuple[Any, list[str], list[str]]] = {}

    def parse(self: Any) -> Any:
        try:
            key = (
                self.condition_expression,
                json.dumps(self.expression_attribute_names, sort_keys=True),
                json.dumps(self.expression_attribute_values, sort_keys=True),
            )
        except (TypeError, ValueError):
            return MOTO_CONDITION_PARSE(self)
        found = cache.get(key)
        if found is None:
            names, values = len(self.expr_attr_names_found), len(self.expr_attr_values_found)
            op = MOTO_CONDITION_PARSE(self)  # an invalid one raises, and is parsed again next time
            if len(cache) >= size:
                del cache[next(iter(cache))]
            cache[key] = (op, self.expr_attr_names_found[names:], self.expr_attr_values_found[values:])
            return op
        op, names_found, values_found = found
        self.expr_attr_names_found.extend(names_found)
        self.expr_attr_values_found.extend(values_found)
        return op

    with mock.patch.object(ConditionExpressionParser, "parse", parse):
        yield


def _kind_cache(classes: tuple[type, ...]) -> Any:
    """``isinstance(x, classes)`` as a lookup per concrete type: moto's AST classes are ABCs, whose
    instance check is a Python call (``ABCMeta.__instancecheck__``) on every node of every
    traversal.  The same answer while no class is registered as a virtual subclass later (moto
    registers none)."""
    known: dict[type, bool] = {}

    def kind(kind_of: type) -> bool:
        found = known.get(kind_of)
        if found is None:
            found = known[kind_of] = issubclass(kind_of, classes)
        return found

    return kind


def _copy_tree(node: Any, memo: dict[int, Any], is_node: Any) -> Any:
    """``copy.deepcopy`` of a moto AST node, written for its classes: each node's attributes are
    its ``type`` and ``node_type`` names, its ``parent`` and a ``children`` list of nodes and
    leaves (names, values); anything else goes to ``deepcopy`` with the same memo.  The
    generic deepcopy (``__reduce_ex__`` per node) was a tenth of a TransactWriteItems' time."""
    found = memo.get(id(node))
    if found is not None:
        return found
    copied = object.__new__(type(node))
    memo[id(node)] = copied
    state = {}
    for name, value in node.__dict__.items():
        if is_node(type(value)):
            state[name] = _copy_tree(value, memo, is_node)
        elif type(value) is list:
            state[name] = [
                _copy_tree(child, memo, is_node) if is_node(type(child)) else copy.deepcopy(child, memo)
                for child in value
            ]
        else:
            state[name] = copy.deepcopy(value, memo)
    copied.__dict__.update(state)
    return copied


@contextmanager
def lighter_expressions() -> Iterator[None]:
    """Within this block, moto validates an update expression as it does, with less work per node.

    ``Validator.__init__`` copies the expression's tree (``_copy_tree`` for ``deepcopy``), and
    the ten traversals of the validation (``DepthFirstTraverser.traverse_node_recursively``,
    ``process``) and ``Node.find_clauses`` check each node's class once per class
    (``_kind_cache``), and look a traverser's processing map up once per traverser rather than
    once per node (each map is a literal dict of its own methods: ``PROCESSING_MAPS_SHA256``).
    Every function written again here is checked by its source's SHA-256 in ``MOTO``; together
    they were about a third of a Kapture batch's TransactWriteItems."""
    check_copy(MOTO_VALIDATOR_INIT, "moto/dynamodb/parsing/validators.py", VALIDATOR_INIT_SHA256)
    check_copy(MOTO_TRAVERSE_NODE, "moto/dynamodb/parsing/ast_nodes.py", TRAVERSE_NODE_SHA256)
    check_copy(MOTO_PROCESS, "moto/dynamodb/parsing/ast_nodes.py", PROCESS_SHA256)
    check_copy(MOTO_FIND_CLAUSES, "moto/dynamodb/parsing/ast_nodes.py", FIND_CLAUSES_SHA256)
    if processing_maps_digest() != PROCESSING_MAPS_SHA256:
        raise RuntimeError("moto's traversers' _processing_map methods have changed: see cached_traversal_keys")
    overriding = [
        f"{t.__qualname__}.{name}"
        for t in _traversers()
        for name in ("traverse_node_recursively", "process", "traverse")
        if name in vars(t)
    ] + [f"{t.__qualname__}.find_clauses" for t in _subclasses(Node)[1:] if "find_clauses" in vars(t)]
    if overriding:
        raise RuntimeError(f"moto's AST classes now override what lighter_expressions writes again: {overriding}")
    is_node = _kind_cache((Node,))
    descends = _kind_cache((Expression, UpdateExpressionFunction))
    processor_keys: dict[tuple[type, type], type | None] = {}

    def validator_init(
        self: Any,
        expression: Any,
        expression_attribute_names: Any,
        expression_attribute_values: Any,
        item: Any,
        table: Any,
    ) -> None:
        self.expression_attribute_names = expression_attribute_names
        self.expression_attribute_values = expression_attribute_values
        self.item = item
        self.table = table
        self.processors = self.get_ast_processors()
        self.node_to_validate = (
            _copy_tree(expression, {}, is_node) if is_node(type(expression)) else copy.deepcopy(expression)
        )

    def processor_of(traverser: Any, node: Any) -> Any:
        """The method that processes ``node``: the first key of the map it is an instance of."""
        key = (type(traverser), type(node))
        if key not in processor_keys:
            processor_keys[key] = next((k for k in traverser._processing_map() if isinstance(node, k)), None)
        found = processor_keys[key]
        if found is None:
            return None
        per_instance = traverser.__dict__.get("_lighter_map")
        if per_instance is None:
            per_instance = traverser.__dict__["_lighter_map"] = traverser._processing_map()
        return per_instance[found]

    def process(self: Any, node: Any) -> Any:
        found = processor_of(self, node)
        return found(node) if found is not None else None

    def traverse_node_recursively(self: Any, node: Any, child_id: int = -1) -> Any:
        if is_node(type(node)):
            parent_node = node.parent
            if node.children is not None:
                for i, child_node in enumerate(node.children):
                    self.pre_processing_of_child(node, i)
                    self.traverse_node_recursively(child_node, i)
            found = processor_of(self, node)
            if found is not None:
                node = found(node)
                node.parent = parent_node
                if parent_node:
                    parent_node.children[child_id] = node
        return node

    def find_clauses(self: Any, clause_types: Any) -> list[Any]:
        clauses = []
        for child in self.children or []:
            if type(child) in clause_types:
                clauses.append(child)
            elif descends(type(child)):
                clauses.extend(child.find_clauses(clause_types))
        return clauses

    with (
        mock.patch.object(Validator, "__init__", validator_init),
        mock.patch.object(DepthFirstTraverser, "process", process),
        mock.patch.object(DepthFirstTraverser, "traverse_node_recursively", traverse_node_recursively),
        mock.patch.object(Node, "find_clauses", find_clauses),
    ):
        yield


@contextmanager
def lighter_items() -> Iterator[None]:
    """Within this block, moto makes and reads DynamoDB items as it does, with less work.

    * ``Item.__init__`` checks the item's size once per attribute against the attributes before
      it, as moto's ``LimitedSizeDict.__setitem__`` does, but adds each attribute's size to a
      running total rather than summing every attribute again: the same
      ``ItemSizeTooLarge`` at the same attribute, linear rather than quadratic.
    * ``DynamoType.to_regular_json`` (an item's JSON: every answer and stream image) converts
      each nested value once: moto deep-copies the whole value and then converts the copies,
      which deep-copy their own values again, at every level.  The same JSON."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.utilities import bytesize

    check_copy(MOTO_ITEM_INIT, "moto/dynamodb/models/dynamo_type.py", ITEM_INIT_SHA256)
    check_copy(LimitedSizeDict.__setitem__, "moto/dynamodb/models/dynamo_type.py", LIMITED_SIZE_SETITEM_SHA256)
    check_copy(MOTO_TO_REGULAR_JSON, "moto/dynamodb/models/dynamo_type.py", TO_REGULAR_JSON_SHA256)

    def item_init(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
        self.hash_key = hash_key
        self.range_key = range_key
        self.attrs = LimitedSizeDict()
        size = 0
        for key, value in attrs.items():
            typed = DynamoType(value)
            size += bytesize(key) + typed.size()
            if size > 405000:  # moto's limit (LimitedSizeDict)
                raise ItemSizeTooLarge
            dict.__setitem__(self.attrs, key, typed)

    def to_regular_json(self: Any) -> dict[str, Any]:
        value = self.value
        if isinstance(value, dict):
            value = {
                key: nested.to_regular_json() if isinstance(nested, DynamoType) else copy.deepcopy(nested)
                for key, nested in value.items()
            }
        elif isinstance(value, list):
            value = [val.to_regular_json() if isinstance(val, DynamoType) else copy.deepcopy(val) for val in value]
        else:
            value = copy.deepcopy(value)
        if self.is_binary() and isinstance(value, str):
            value = base64.b64decode(value)
        return {self.type: value}

    with (
        mock.patch.object(Item, "__init__", item_init),
        mock.patch.object(DynamoType, "to_regular_json", to_regular_json),
    ):
        yield


class _OneHashKey:
    """A table as moto's ``Table.query`` sees it for a query of one hash key on the table itself
    (not an index): every attribute and method the table's, but ``all_items`` only that key's
    items, in the order ``Table.all_items`` gives them (its sort key).  The query keeps, of
    all the items, those with that hash key: these are they, without sorting every item of
    the table first (moto does, for every Query: the tickets table holds every audit entry)."""

    def __init__(self, table: Any, hash_key: Any):
        self._table, self._hash_key = table, hash_key

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)

    def all_items(self) -> list[Any]:
        found = self._table.items.get(self._hash_key)  # .get: moto's defaultdict gains no key
        if found is None:
            return []
        items = list(found.values()) if self._table.range_key_attr else [found]
        return sorted(items, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)


@contextmanager
def one_key_queries() -> Iterator[None]:
    """Within this block, moto's Query of a table's hash key reads that key's items only
    (``_OneHashKey``); an index's Query is moto's own.  ``Table.query`` only reads its table, and
    reads ``all_items`` only for a query of the table itself (both checked: SHA-256 in ``MOTO``)."""
    check_copy(MOTO_TABLE_QUERY, "moto/dynamodb/models/table.py", TABLE_QUERY_SHA256)
    check_copy(Table.all_items, "moto/dynamodb/models/table.py", TABLE_ALL_ITEMS_SHA256)
    signature = inspect.signature(MOTO_TABLE_QUERY)

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        hash_key = bound.arguments.get("hash_key")
        if bound.arguments.get("index_name") or hash_key is None:
            return MOTO_TABLE_QUERY(self, *args, **kwargs)
        return MOTO_TABLE_QUERY(_OneHashKey(self, hash_key), *args, **kwargs)

    with mock.patch.object(Table, "query", query):
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
        fast_sqs_sends(),
        cached_jsonpaths(),
        cached_update_expressions(),
        cached_traversal_keys(),
        cached_conditions(),
        lighter_expressions(),
        lighter_items(),
        one_key_queries(),
        mock.patch.object(responses, "method_names_from_class", method_names_from_class),
    ):
        yield
