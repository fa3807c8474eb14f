"""The local run's faster embedded AWS answers as moto does (``devkit.local.moto_patches``, the
bus tap's bound in ``devkit.local.bus``, the stream pump's in-process reads in
``devkit.local.streams``): each check runs moto's own code and the faster one on the same
requests and compares what comes back."""

from __future__ import annotations

import base64
import contextlib
import json
from datetime import datetime
from unittest import mock

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.comparisons import ConditionExpressionParser
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, Node
from moto.dynamodb.parsing.expressions import UpdateExpressionParser
from moto.dynamodb.parsing.validators import Validator
from moto.sqs.models import SQSBackend

from devkit import template as tpl
from devkit.local import bus, moto_patches, streams
from devkit.local.moto_patches import (
    MOTO_CONDITION_PARSE,
    MOTO_FIND_CLAUSES,
    MOTO_ITEM_INIT,
    MOTO_NODES_TO_BE_PROCESSED,
    MOTO_PROCESS,
    MOTO_SEND_MESSAGE,
    MOTO_TABLE_QUERY,
    MOTO_TO_REGULAR_JSON,
    MOTO_TRAVERSE_NODE,
    MOTO_UPDATE_EXPRESSION_MAKE,
    MOTO_VALIDATOR_INIT,
)


@contextlib.contextmanager
def motos_own():
    """moto's own functions, whatever the other tests' fixtures patched (the local run's patches)."""
    with (
        mock.patch.object(SQSBackend, "send_message", MOTO_SEND_MESSAGE),
        mock.patch.object(UpdateExpressionParser, "make", classmethod(MOTO_UPDATE_EXPRESSION_MAKE)),
        mock.patch.object(DepthFirstTraverser, "nodes_to_be_processed", MOTO_NODES_TO_BE_PROCESSED),
        mock.patch.object(ConditionExpressionParser, "parse", MOTO_CONDITION_PARSE),
        mock.patch.object(Table, "query", MOTO_TABLE_QUERY),
        mock.patch.object(Validator, "__init__", MOTO_VALIDATOR_INIT),
        mock.patch.object(DepthFirstTraverser, "process", MOTO_PROCESS),
        mock.patch.object(DepthFirstTraverser, "traverse_node_recursively", MOTO_TRAVERSE_NODE),
        mock.patch.object(Node, "find_clauses", MOTO_FIND_CLAUSES),
        mock.patch.object(Item, "__init__", MOTO_ITEM_INIT),
        mock.patch.object(DynamoType, "to_regular_json", MOTO_TO_REGULAR_JSON),
    ):
        yield


def _sqs_session(patched: bool) -> list:
    """Messages sent to a standard queue, a FIFO queue with content-based deduplication and one
    without, as received back (and the errors of sends SQS refuses), under moto's send_message
    or the copy."""
    with (
        mock_aws(),
        motos_own(),
        moto_patches.fast_sqs_sends() if patched else contextlib.nullcontext(),
    ):
        sqs = boto3.client("sqs", region_name=tpl.REGION)
        std = sqs.create_queue(QueueName="std")["QueueUrl"]
        cbd = sqs.create_queue(
            QueueName="cbd.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
        )["QueueUrl"]
        fifo = sqs.create_queue(QueueName="plain.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        out: list = []
        sends = [
            (std, {"MessageBody": "one"}),
            (std, {"MessageBody": "two", "MessageAttributes": {"a": {"DataType": "String", "StringValue": "x"}}}),
            (std, {"MessageBody": "late", "DelaySeconds": 0}),
            (std, {"MessageBody": "too late", "DelaySeconds": 901}),
            (cbd, {"MessageBody": "same", "MessageGroupId": "g"}),
            (cbd, {"MessageBody": "same", "MessageGroupId": "g"}),  # deduplicated by its content
            (cbd, {"MessageBody": "other", "MessageGroupId": "g"}),
            (fifo, {"MessageBody": "f1", "MessageGroupId": "g", "MessageDeduplicationId": "d1"}),
            (fifo, {"MessageBody": "f1 again", "MessageGroupId": "g", "MessageDeduplicationId": "d1"}),
            (fifo, {"MessageBody": "no id", "MessageGroupId": "g"}),  # refused: no deduplication id
        ]
        for url, kwargs in sends:
            try:
                answer = sqs.send_message(QueueUrl=url, **kwargs)
                out.append(("sent", sorted(k for k in answer if k != "ResponseMetadata")))
            except ClientError as err:
                out.append(("refused", err.response["Error"]["Code"], err.response["Error"]["Message"]))
        for url in (std, cbd, fifo):
            got = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
            )["Messages"]
            for m in got:
                attrs = m["Attributes"]
                out.append(
                    (
                        m["Body"],
                        attrs.get("MessageDeduplicationId"),
                        len(attrs.get("SequenceNumber", "")),
                        m.get("MessageAttributes"),
                    )
                )
            counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            out.append({k: v for k, v in counts.items() if "Timestamp" not in k})
        return out


def test_a_send_answers_and_leaves_the_queues_as_motos_own():
    ours, theirs = _sqs_session(patched=True), _sqs_session(patched=False)
    assert ours == theirs
    assert ours[3][:2] == ("refused", "InvalidParameterValue")  # the checks are there: a delay over 900 s
    assert ours[9][0] == "refused"  # and a FIFO send without a deduplication id


def test_the_copies_refuse_a_moto_other_than_the_one_they_were_copied_from():
    moto_patches.check_copy(MOTO_SEND_MESSAGE, "moto/sqs/models.py", moto_patches.SEND_MESSAGE_SHA256)
    with pytest.raises(RuntimeError, match=r"copies moto 5\.2\.4's SQSBackend\.send_message .* is unchanged"):
        moto_patches.check_copy(MOTO_SEND_MESSAGE, "moto/sqs/models.py", moto_patches.SEND_MESSAGE_SHA256, "5.2.4")
    with pytest.raises(RuntimeError, match=r"has changed \(SHA-256 [0-9a-f]{64}\)\. Re-check the copy"):
        moto_patches.check_copy(MOTO_SEND_MESSAGE, "moto/sqs/models.py", "0" * 64)


def test_cached_json_paths_give_moto_the_same_events():
    import jsonpath_ng.ext
    from moto.events.utils import EventTemplateParser

    event = {
        "id": "e1",
        "time": 1767225600,
        "ingestion-time": 1767225600,
        "detail-type": "Ticket Changed",
        "source": "ticket-hub",
        "region": tpl.REGION,
        "account": tpl.ACCOUNT,
        "resources": [],
        "detail": {"ticket": {"id": 1001, "title": "x"}, "changes": [{"field": "title"}]},
    }
    custom = ('{"t": "<title>", "kind": "<kind>"}', {"title": "$.detail.ticket.title", "kind": "$.detail-type"})
    theirs = [EventTemplateParser.parse(None, {}, event), EventTemplateParser.parse(*custom, event)]
    original, parsed = jsonpath_ng.ext.parse, []

    def counted(path, debug=None):
        parsed.append(path)
        return original(path, debug)

    with mock.patch.object(jsonpath_ng.ext, "parse", counted), moto_patches.cached_jsonpaths():
        ours = [EventTemplateParser.parse(None, {}, event), EventTemplateParser.parse(*custom, event)]
        again = [EventTemplateParser.parse(None, {}, event), EventTemplateParser.parse(*custom, event)]
    assert jsonpath_ng.ext.parse is original
    assert ours == theirs == again
    assert sorted(parsed) == sorted(set(parsed)) and "$.detail" in parsed  # each path parsed once
    assert ours[1] == {"t": "x", "kind": "Ticket Changed"}


def test_the_local_tap_keeps_the_latest_events_only():
    with mock_aws(), motos_own(), bus.bounded_tap(keep=5):
        sqs = boto3.client("sqs", region_name=tpl.REGION)
        tap = sqs.create_queue(QueueName=bus.TAP_QUEUE)["QueueUrl"]
        other = sqs.create_queue(QueueName="other")["QueueUrl"]
        for i in range(12):
            sqs.send_message(QueueUrl=tap, MessageBody=str(i))
            sqs.send_message(QueueUrl=other, MessageBody=str(i))
        from devkit.local.deliveries import peek

        with mock.patch("devkit.local.deliveries.json.loads", lambda body: body):
            assert peek(bus.TAP_QUEUE) == [str(i) for i in range(7, 12)]
            assert len(peek("other")) == 12  # the other queues keep everything, as SQS does


def _one_key_table(stream: bool = False):
    """A client of moto's DynamoDB (within mock_aws) and its table "T", keyed by the string "pk"."""
    ddb = boto3.client("dynamodb", region_name=tpl.REGION)
    extra = {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}} if stream else {}
    ddb.create_table(
        TableName="T",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )
    return ddb


def test_records_read_in_process_are_getrecords_records_as_lambda_hands_them_on():
    """The stream pump reads moto's shard in process (``_MotoShard``): the records are those
    GetRecords gives, as the event source passes them (times in epoch seconds); a binary value
    is its base64 text, as in the JSON Lambda sends (botocore would give bytes)."""
    with mock_aws():
        ddb = _one_key_table(stream=True)
        item = {"pk": {"S": "a"}, "m": {"M": {"x": {"N": "1"}, "l": {"L": [{"NULL": True}]}}}}
        ddb.put_item(TableName="T", Item=item)
        ddb.update_item(
            TableName="T",
            Key={"pk": {"S": "a"}},
            UpdateExpression="SET b = :b, s = :s",
            ExpressionAttributeValues={":b": {"B": b"\x01\x02"}, ":s": {"SS": ["p", "q"]}},
        )
        ddb.delete_item(TableName="T", Key={"pk": {"S": "a"}})
        arn = ddb.describe_table(TableName="T")["Table"]["LatestStreamArn"]
        client = boto3.client("dynamodbstreams", region_name=tpl.REGION)
        shard_id = client.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
        iterator = client.get_shard_iterator(StreamArn=arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON")
        theirs = [
            streams._as_lambda_gives_it(r, arn)
            for r in client.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
        ]

        from moto.dynamodb.models import dynamodb_backends

        table = dynamodb_backends[tpl.ACCOUNT][tpl.REGION].tables["T"]
        shard = streams._MotoShard(table.stream_shard)
        assert f"{table.table_arn}/stream/{table.latest_stream_label}" == arn
        ours = shard.read(arn)
        assert shard.read(arn) == []  # read on from where the last read ended, as NextShardIterator does
        ddb.put_item(TableName="T", Item={"pk": {"S": "b"}})
        ddb.put_item(TableName="T", Item={"pk": {"S": "c"}})
        [later] = shard.read(arn, wanted=lambda r: streams.matches(r, {"dynamodb": {"Keys": {"pk": {"S": ["c"]}}}}))
        assert later["eventName"] == "INSERT" and later["dynamodb"]["Keys"] == {"pk": {"S": "c"}}
        assert later["eventSourceARN"] == arn

    assert [r["eventName"] for r in ours] == ["INSERT", "MODIFY", "REMOVE"]
    assert all(isinstance(r["dynamodb"]["ApproximateCreationDateTime"], int) for r in ours)
    binary = ours[1]["dynamodb"]["NewImage"]["b"]
    assert binary == {"B": base64.b64encode(b"\x01\x02").decode()}  # as Lambda's JSON has it
    assert theirs[1]["dynamodb"]["NewImage"]["b"] == {"B": b"\x01\x02"}  # botocore's parse
    theirs[1]["dynamodb"]["NewImage"]["b"] = theirs[2]["dynamodb"]["OldImage"]["b"] = binary
    assert ours == theirs
    assert json.loads(json.dumps(ours)) == ours  # plain JSON: a copy of moto's records, not moto's own


def _items(patched: bool) -> list:
    """Puts of every attribute type, items at moto's size limit, and what moto answers and streams
    of them, under moto's own code or ``lighter_items`` (``patched``)."""
    from moto.dynamodb.models import dynamodb_backends

    from devkit.local.moto_patches import lighter_items

    nested = {
        "M": {"b": {"B": b"\x00\xff"}, "l": {"L": [{"N": "1"}, {"M": {"s": {"SS": ["x", "y"]}}}, {"NULL": True}]}}
    }
    items = [
        {"pk": {"S": "types"}, "n": {"N": "1.50"}, "bool": {"BOOL": False}, "bs": {"BS": [b"\x01", b"\x02"]}},
        {"pk": {"S": "nested"}, "m": nested, "ns": {"NS": ["1", "2.5"]}, "l": {"L": [nested, {"S": "é"}]}},
        {"pk": {"S": "at limit"}, "big": {"S": "x" * (405000 - len("pk") - len("at limit") - len("big"))}},
        {"pk": {"S": "over"}, "a": {"S": "é" * 100}, "big": {"S": "x" * 405000}, "z": {"N": "1"}},
        {"pk": {"S": "over by one"}, "big": {"S": "x" * (405001 - len("pk") - len("over by one") - len("big"))}},
    ]
    out: list = []
    at = datetime(2026, 1, 2, 3, 4, 5, 600000)  # a record's SizeBytes counts its time's JSON
    with (
        mock_aws(),
        motos_own(),
        lighter_items() if patched else contextlib.nullcontext(),
        mock.patch("moto.dynamodb.models.table.utcnow", lambda: at),
    ):
        ddb = _one_key_table(stream=True)
        for item in items:
            try:
                ddb.put_item(TableName="T", Item=item)
                out.append("ok")
            except ClientError as err:
                out.append((err.response["Error"]["Code"], err.response["Error"]["Message"]))
        out.append(ddb.scan(TableName="T")["Items"])
        out.append(ddb.get_item(TableName="T", Key={"pk": {"S": "nested"}})["Item"])
        table = dynamodb_backends[tpl.ACCOUNT][tpl.REGION].tables["T"]
        out.append([r.record["dynamodb"] for r in table.stream_shard.items])
        out.append([item.to_json() for item in table.all_items()])
    return out


def test_lighter_items_are_made_and_read_as_motos_own():
    ours, theirs = _items(patched=True), _items(patched=False)
    assert ours == theirs
    assert ours[:5] == ["ok", "ok", "ok", ours[3], ours[4]] and ours[3][0] == ours[4][0] == "ValidationException"
    assert len(ours[5]) == 3  # three stored, two refused as too large


UPDATES = [  # (UpdateExpression, values, condition): every one twice, so the second is the cached parse
    ("SET v = :v", {":v": {"N": "2"}, ":one": {"N": "1"}}, "v = :one AND attribute_not_exists(nope)"),
    ("SET w = :v", {":v": {"N": "3"}, ":one": {"N": "1"}}, "v = :one"),  # refused the second time: v is 2
    ("SET w = :v", {":v": {"N": "3"}, ":w": {"N": "3"}}, "#t = :w OR begins_with(pk, :p)"),  # a name missing
    ("SET w = :v", {":v": {"N": "3"}}, "v BETWEEN :v AND"),  # refused: not a condition
    ("SET v = v + :one, #t = :t ADD c :one", {":one": {"N": "1"}, ":t": {"S": "x"}}, None),
    ("SET m.k = :t REMOVE gone", {":t": {"S": "y"}}, "attribute_exists(pk)"),
    ("SET l = list_append(if_not_exists(l, :empty), :l)", {":empty": {"L": []}, ":l": {"L": [{"N": "2"}]}}, None),
    ("SET v = :t", {":t": {"S": "bad"}, ":one": {"N": "1"}}, "v = :one"),  # refused: v is 2 by then
    ("SET pk = :t", {":t": {"S": "key"}}, None),  # refused: the key cannot be updated
    ("SET v = v + :t", {":t": {"S": "not a number"}}, None),  # refused: a type mismatch
    ("SET = :t", {":t": {"S": "x"}}, None),  # refused: not an expression
    ("SET m.#t = :m, l[0] = :t", {":m": {"M": {"a": {"L": [{"S": "x"}, {"B": "AAE="}]}}}, ":t": {"N": "7"}}, None),
    ("SET m.#t.a[1] = :t REMOVE l[0]", {":t": {"BOOL": True}, ":z": {"N": "0"}}, "size(l) > :z"),
    ("ADD s :s SET b = :b", {":s": {"SS": ["a", "b", "c"]}, ":b": {"B": b"\x00\x01"}}, None),
    ("DELETE s :d", {":d": {"SS": ["b"]}}, None),
    ("SET m = :v, m.k = :v", {":v": {"S": "x"}}, None),  # refused: overlapping paths
    ("SET v = if_not_exists(nope, :v) - :one", {":v": {"N": "10"}, ":one": {"N": "1"}}, None),
    ("SET x = :v ADD v :v REMOVE w SET y = :v", {":v": {"N": "1"}}, None),  # refused: two SET clauses
    ("SET nope.deeper = :v", {":v": {"N": "1"}}, None),  # refused: the path does not exist
]


def _updates(patched: bool | None) -> list:
    """The updates under moto's own code, the caches (``patched``), or whatever is in place (None)."""
    from devkit.local.moto_patches import (
        cached_conditions,
        cached_traversal_keys,
        cached_update_expressions,
        lighter_expressions,
        lighter_items,
    )

    with (
        mock_aws(),
        motos_own() if patched is not None else contextlib.nullcontext(),
        cached_update_expressions() if patched else contextlib.nullcontext(),
        cached_traversal_keys() if patched else contextlib.nullcontext(),
        cached_conditions() if patched else contextlib.nullcontext(),
        lighter_expressions() if patched else contextlib.nullcontext(),
        lighter_items() if patched else contextlib.nullcontext(),
    ):
        ddb = _one_key_table()
        ddb.put_item(TableName="T", Item={"pk": {"S": "a"}, "v": {"N": "1"}, "m": {"M": {}}, "gone": {"S": "x"}})
        out = []
        for expression, values, condition in [u for u in UPDATES for _ in (0, 1)]:
            for transact in (False, True):
                update = {
                    "TableName": "T",
                    "Key": {"pk": {"S": "a"}},
                    "UpdateExpression": expression,
                    "ExpressionAttributeValues": values,
                }
                if "#t" in expression:
                    update["ExpressionAttributeNames"] = {"#t": "t"}
                if condition:
                    update["ConditionExpression"] = condition
                try:
                    if transact:
                        ddb.transact_write_items(TransactItems=[{"Update": update}])
                    else:
                        ddb.update_item(**update)
                    out.append("ok")
                except ClientError as err:
                    out.append((err.response["Error"]["Code"], err.response["Error"]["Message"]))
                except Exception as err:  # moto's own failure (a name missing: a KeyError in it)
                    out.append((type(err).__name__, str(err)))
                out.append(ddb.get_item(TableName="T", Key={"pk": {"S": "a"}})["Item"])
        return out


def test_cached_update_expressions_and_traversals_update_items_as_motos_own():
    ours, theirs = _updates(patched=True), _updates(patched=False)
    assert ours == theirs
    assert "ok" in ours and any(isinstance(o, tuple) for o in ours)  # both outcomes are covered


def test_a_cached_update_expression_is_never_changed_by_its_use():
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    from devkit.local.moto_patches import cached_update_expressions

    def shape(node) -> object:
        children = getattr(node, "children", None)
        return (type(node).__name__, [shape(c) for c in children] if children is not None else repr(node))

    expression = "SET v = v + :one, #t = :t ADD c :one"
    with motos_own(), cached_update_expressions():
        before = shape(UpdateExpressionParser.make(expression))
        _updates(patched=None)  # every update and transaction of the other test, through this cache
        parsed = UpdateExpressionParser.make(expression)
        assert parsed is UpdateExpressionParser.make(expression)  # one parse, kept
        assert shape(parsed) == before


def test_the_traversal_cache_refuses_traversers_other_than_the_ones_it_was_checked_against(monkeypatch):
    from devkit.local.moto_patches import cached_traversal_keys

    assert moto_patches.processing_maps_digest() == moto_patches.PROCESSING_MAPS_SHA256
    monkeypatch.setattr(moto_patches, "PROCESSING_MAPS_SHA256", "0" * 64)
    with pytest.raises(RuntimeError, match="_processing_map methods allow, but theirs have changed"):  # noqa: SIM117
        with cached_traversal_keys():
            pass


def _queries(patched: bool) -> list:
    """Queries of a table with a sort key (and one without), of its index and of keys it lacks,
    paged, both ways, filtered and projected, under moto's Query or the one-key one."""
    with mock_aws(), motos_own(), moto_patches.one_key_queries() if patched else contextlib.nullcontext():
        ddb = boto3.client("dynamodb", region_name=tpl.REGION)
        ddb.create_table(
            TableName="T",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "g")],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "byg",
                    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        ddb.create_table(
            TableName="H",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        for p in ("a", "b", "c"):
            ddb.put_item(TableName="H", Item={"pk": {"S": p}, "n": {"N": "1"}})
            for i in (3, 1, 2, 10, 0):
                item = {"pk": {"S": p}, "sk": {"S": f"AUDIT#{i:02d}" if i % 2 else f"MSG#{i}"}, "n": {"N": str(i)}}
                if i == 2:
                    item["g"] = {"S": p}
                ddb.put_item(TableName="T", Item=item)
        out = []
        queries = [
            {"TableName": "T", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "b"}}},
            {
                "TableName": "T",
                "KeyConditionExpression": "pk = :p AND begins_with(sk, :a)",
                "ExpressionAttributeValues": {":p": {"S": "a"}, ":a": {"S": "AUDIT#"}},
                "ScanIndexForward": False,
                "Limit": 1,
            },
            {
                "TableName": "T",
                "KeyConditionExpression": "pk = :p AND sk BETWEEN :x AND :y",
                "ExpressionAttributeValues": {
                    ":p": {"S": "c"},
                    ":x": {"S": "AUDIT#00"},
                    ":y": {"S": "MSG#2"},
                    ":z": {"N": "1"},
                },
                "FilterExpression": "n > :z",
                "ProjectionExpression": "sk, n",
            },
            {"TableName": "T", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "zz"}}},
            {
                "TableName": "T",
                "IndexName": "byg",
                "KeyConditionExpression": "g = :g",
                "ExpressionAttributeValues": {":g": {"S": "b"}},
            },
            {"TableName": "H", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "c"}}},
        ]
        for query in queries:
            pages, start = [], None
            while True:
                page = ddb.query(**query, **({"ExclusiveStartKey": start} if start else {}))
                pages.append({k: v for k, v in page.items() if k != "ResponseMetadata"})
                start = page.get("LastEvaluatedKey")
                if not start or len(pages) > 20:
                    break
            out.append(pages)
        return out


def test_one_key_queries_answer_as_motos_own():
    ours, theirs = _queries(patched=True), _queries(patched=False)
    assert ours == theirs
    assert [len(p[0].get("Items", [])) for p in ours] == [5, 1, 3, 0, 1, 1]  # each query found what it should
    assert len(ours[1]) == 2  # the descending history, one entry a page, was paged through


def test_a_one_key_query_leaves_moto_s_items_as_they_were():
    with mock_aws(), motos_own(), moto_patches.one_key_queries():
        ddb = boto3.client("dynamodb", region_name=tpl.REGION)
        ddb.create_table(
            TableName="T",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk")],
            BillingMode="PAY_PER_REQUEST",
        )
        ddb.query(TableName="T", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "none"}})
        from moto.dynamodb.models import dynamodb_backends

        assert dict(dynamodb_backends[tpl.ACCOUNT][tpl.REGION].tables["T"].items) == {}  # no key made by the lookup
