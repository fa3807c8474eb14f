"""The embedded DynamoDB's TransactWriteItems with item-level rollback answers as moto's own.

``devkit.inprocess.item_level_transactions`` replaces moto's table-copying rollback (the
local run and these tests use it); each scenario here runs under moto's implementation and
under ours, and both must give the same errors and leave the same items.
"""

from __future__ import annotations

import contextlib

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from devkit.inprocess import item_level_transactions

TABLE = "T"


def _put(pk, **extra):
    return {"Put": {"TableName": TABLE, "Item": {"pk": {"S": pk}, **extra}}}


def _update(pk, expression, values, condition=None, all_old=False):
    op = {
        "TableName": TABLE,
        "Key": {"pk": {"S": pk}},
        "UpdateExpression": expression,
        "ExpressionAttributeValues": values,
    }
    if condition:
        op["ConditionExpression"] = condition
    if all_old:
        op["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    return {"Update": op}


def _exists(pk):
    return {
        "ConditionCheck": {"TableName": TABLE, "Key": {"pk": {"S": pk}}, "ConditionExpression": "attribute_exists(pk)"}
    }


SCENARIOS = {
    "all apply": [
        _put("b", v={"N": "1"}),
        _update("a", "SET v = v + :one", {":one": {"N": "1"}, ":v": {"N": "1"}}, "v = :v"),
        _exists("c"),
        {"Delete": {"TableName": TABLE, "Key": {"pk": {"S": "d"}}}},
    ],
    "a later condition fails: nothing applies": [
        _put("b", v={"N": "1"}),
        _update("a", "SET v = :two", {":two": {"N": "2"}, ":v": {"N": "9"}}, "v = :v", all_old=True),
    ],
    "a condition check fails": [
        _put("b"),
        _exists("zz"),
    ],
    "one item twice": [_put("b"), _update("b", "SET v = :one", {":one": {"N": "1"}})],
    "an item grows over 400 KB: the earlier ones are undone": [
        _put("b", v={"N": "5"}),
        _update("a", "SET big = :big", {":big": {"S": "x" * 420_000}}),
    ],
    "unknown table": [_put("b"), {"Put": {"TableName": "nope", "Item": {"pk": {"S": "x"}}}}],
}


def _run(items, patched: bool):
    with mock_aws(), item_level_transactions() if patched else contextlib.nullcontext():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        for pk in ("a", "c", "d"):
            client.put_item(TableName=TABLE, Item={"pk": {"S": pk}, "v": {"N": "1"}})
        error = None
        try:
            client.transact_write_items(TransactItems=items)
        except ClientError as e:
            reasons = [(r.get("Code"), r.get("Item")) for r in e.response.get("CancellationReasons", [])]
            error = (e.response["Error"]["Code"], reasons)
        items_after = sorted(client.scan(TableName=TABLE)["Items"], key=lambda i: i["pk"]["S"])
        return error, items_after


@pytest.mark.parametrize("name", SCENARIOS)
def test_same_answers_and_items_as_motos_own(name):
    theirs = _run(SCENARIOS[name], patched=False)
    ours = _run(SCENARIOS[name], patched=True)
    assert ours == theirs


def test_the_scenarios_cover_success_and_each_failure():
    outcomes = {name: _run(items, patched=True)[0] for name, items in SCENARIOS.items()}
    assert outcomes["all apply"] is None
    codes = {name: error[0] for name, error in outcomes.items() if error}
    assert codes["a later condition fails: nothing applies"] == "TransactionCanceledException"
    assert codes["one item twice"] == "ValidationException"
    reasons = outcomes["a later condition fails: nothing applies"][1]
    assert reasons[0] == ("None", None) and reasons[1][0] == "ConditionalCheckFailed" and reasons[1][1]
