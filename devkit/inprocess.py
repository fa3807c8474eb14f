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
