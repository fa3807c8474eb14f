"""The embedded DynamoDB's TransactWriteItems with item-level rollback answers as moto's own.

``devkit.local.moto_patches.item_level_transactions`` replaces moto's table-copying rollback (the
local run and these tests use it); each scenario here runs under moto's implementation and
under ours, and both must give the same errors and leave the same items.
"""

from __future__ import annotations

import contextlib

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from devkit import template as tpl
from devkit.local.moto_patches import item_level_transactions

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


def test_the_copy_refuses_a_moto_other_than_the_one_it_was_copied_from():
    """The copy of moto's ``transact_write_items`` runs only on the moto it follows: the installed
    release and that function's source as they were (``requirements-dev.txt`` pins it)."""
    import moto
    from moto.dynamodb.models import DynamoDBBackend

    from devkit.local import moto_patches

    assert moto.__version__ == moto_patches.MOTO  # else importing moto_patches raised already
    moto_patches.check_copied_from(moto_patches.MOTO, moto_patches.TRANSACT_WRITE_ITEMS_SHA256)
    with pytest.raises(RuntimeError, match=r"copies moto 5\.2\.4's .*installed moto is 5\.2\.5 .* is unchanged"):
        moto_patches.check_copied_from("5.2.4", moto_patches.TRANSACT_WRITE_ITEMS_SHA256)
    with pytest.raises(RuntimeError, match=r"has changed \(SHA-256 [0-9a-f]{64}\)\. Re-check the copy"):
        moto_patches.check_copied_from(moto_patches.MOTO, "0" * 64)
    assert moto_patches.source_digest(DynamoDBBackend.transact_write_items) == moto_patches.TRANSACT_WRITE_ITEMS_SHA256
    requirement = next(
        line.strip() for line in (tpl.ROOT / "requirements-dev.txt").read_text().splitlines() if line.startswith("moto")
    )
    assert requirement == f"moto[server]=={moto_patches.MOTO}"
