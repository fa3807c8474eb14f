"""The bench's DynamoDB request units (``devkit.bench``, section capacity), against sizes and
units worked out by hand from DynamoDB's documented rules ("Item sizes and formats",
"Capacity unit consumption for read/write operations"):

* a string is its UTF-8 bytes, a binary its raw bytes, a number 1 byte per two significant
  digits (leading and trailing zeros trimmed; rounded up) plus 1, a boolean or null 1 byte;
* a list or map is 3 bytes, plus each element's size and 1 byte per element (a map element's
  name counts); every attribute's name counts its UTF-8 bytes;
* reads: 1 unit per 4 KB rounded up (at least 1), half when eventually consistent; writes:
  1 unit per 1 KB of the larger of the item before and after; in a transaction, twice.
"""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from devkit import bench


@pytest.mark.parametrize(
    ("item", "size"),
    [
        # "pk" 2 + "TICKET#1001" 11, "sk" 2 + "TICKET" 6
        ({"pk": {"S": "TICKET#1001"}, "sk": {"S": "TICKET"}}, 21),
        ({"name": {"S": "café"}}, 4 + 5),  # é is two bytes in UTF-8
        ({"version": {"N": "12"}}, 7 + 1 + 1),  # 2 significant digits: 1 byte, + 1
        ({"n": {"N": "123"}}, 1 + 2 + 1),  # 3 digits: 2 bytes (rounded up), + 1
        ({"n": {"N": "-1000"}}, 1 + 1 + 1),  # trailing zeros trimmed: 1 digit
        ({"n": {"N": "0.0015"}}, 1 + 1 + 1),  # leading zeros trimmed: "15"
        ({"n": {"N": "12345678901234567890"}}, 1 + 10 + 1),
        ({"ok": {"BOOL": True}, "x": {"NULL": True}}, (2 + 1) + (1 + 1)),
        ({"b": {"B": b"\x00\x01\x02"}}, 1 + 3),  # raw bytes...
        ({"b": {"B": "AAEC"}}, 1 + 3),  # ...also when given as the wire's base64
        ({"e": {"M": {}}, "l": {"L": []}}, (1 + 3) + (1 + 3)),  # empty map or list: 3 bytes
        ({"tags": {"L": [{"S": "a"}, {"S": "bc"}]}}, 4 + 3 + (1 + 1) + (2 + 1)),
        ({"m": {"M": {"k": {"N": "5"}}}}, 1 + 3 + (1 + 2 + 1)),  # element: name 1 + number 2, + 1
        ({"m": {"M": {"in": {"L": [{"BOOL": False}]}}}}, 1 + 3 + (2 + (3 + 1 + 1) + 1)),
        ({"ss": {"SS": ["a", "bb"]}, "ns": {"NS": ["1", "22"]}}, (2 + 3) + (2 + 2 + 2)),
        ({}, 0),
        (None, 0),
    ],
)
def test_item_size(item, size):
    assert bench.item_size(item) == size


def test_units():
    assert bench.read_units(0) == 1  # an item that is not there still costs the minimum
    assert bench.read_units(4096) == 1
    assert bench.read_units(4097) == 2
    assert bench.read_units(4097, consistent=False) == 1.0
    assert bench.read_units(100, consistent=False) == 0.5
    assert bench.write_units(1) == 1
    assert bench.write_units(1024) == 1
    assert bench.write_units(1025) == 2
    assert bench.write_units(1702) == 2  # a ~1.7 KB ticket


def test_meter_counts_calls_and_units_by_the_rules():
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        reader = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="T",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        key = {"pk": {"S": "A"}, "sk": {"S": "X"}}  # 2 + 1 + 2 + 1 = 6 bytes
        big = {**key, "d": {"S": "x" * 1693}}  # 6 + 1 + 1693 = 1700 bytes: 2 write units, 1 read unit
        client.put_item(TableName="T", Item=big)
        other_key = {"pk": {"S": "B"}, "sk": {"S": "X"}}
        client.put_item(TableName="T", Item={**other_key, "v": {"N": "1"}})  # 6 + 1 + 2 = 9 bytes

        with bench.CapacityMeter(client, reader) as meter:
            client.get_item(TableName="T", Key=key, ConsistentRead=True)  # 1
            client.get_item(TableName="T", Key=key)  # 0.5
            client.batch_get_item(  # found 0.5 + missing 0.5
                RequestItems={"T": {"Keys": [key, {"pk": {"S": "none"}, "sk": {"S": "X"}}]}}
            )
            client.transact_write_items(
                TransactItems=[
                    {  # 1700 -> 1700 + 1 + 250 = 1951 bytes: 2 KB, twice
                        "Update": {
                            "TableName": "T",
                            "Key": key,
                            "UpdateExpression": "SET e = :e",
                            "ExpressionAttributeValues": {":e": {"S": "y" * 250}},
                        }
                    },
                    {"Put": {"TableName": "T", "Item": {"pk": {"S": "A"}, "sk": {"S": "AUDIT#1"}}}},  # 1 KB, twice
                    {  # 9 bytes: a read (1 unit), twice
                        "ConditionCheck": {
                            "TableName": "T",
                            "Key": other_key,
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                ]
            )
            client.update_item(  # 9 bytes -> 9 (22: two digits, still 2 bytes): 1 unit
                TableName="T",
                Key=other_key,
                UpdateExpression="SET v = :v",
                ExpressionAttributeValues={":v": {"N": "22"}},
            )
            client.delete_item(TableName="T", Key={"pk": {"S": "A"}, "sk": {"S": "AUDIT#1"}})  # 1

        assert dict(meter.calls) == {
            "GetItem": 2,
            "BatchGetItem": 1,
            "TransactWriteItems": 1,
            "UpdateItem": 1,
            "DeleteItem": 1,
        }
        assert {op: units for op, units in meter.rru.items() if units} == {
            "GetItem": 1.5,
            "BatchGetItem": 1.0,
            "TransactWriteItems": 2.0,
        }
        assert {op: units for op, units in meter.wru.items() if units} == {
            "TransactWriteItems": 2 * 2 + 2 * 1,
            "UpdateItem": 1,
            "DeleteItem": 1,
        }
        update = next(w for w in meter.writes if w[:2] == ("TransactWriteItems", "Update"))
        assert update[3:] == (1700, 1951)
        assert next(w for w in meter.writes if w[0] == "UpdateItem")[3:] == (9, 9)
