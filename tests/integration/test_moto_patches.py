"""The local run's faster embedded AWS answers as moto does (``devkit.local.moto_patches``, the
bus tap's bound in ``devkit.local.bus``, the stream pump's in-process reads in
``devkit.local.streams``): each check runs moto's own code and the faster one on the same
requests and compares what comes back."""

from __future__ import annotations

import base64
import contextlib
import json
from unittest import mock

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.sqs.models import SQSBackend

from devkit import template as tpl
from devkit.local import bus, moto_patches, streams

# moto's own, taken before any fixture patches it
MOTO_SEND_MESSAGE = SQSBackend.send_message


def _sqs_session(patched: bool) -> list:
    """Messages sent to a standard queue, a FIFO queue with content-based deduplication and one
    without, as received back (and the errors of sends SQS refuses), under moto's send_message
    or the copy."""
    with (
        mock_aws(),
        mock.patch.object(SQSBackend, "send_message", MOTO_SEND_MESSAGE),
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
    with mock_aws(), mock.patch.object(SQSBackend, "send_message", MOTO_SEND_MESSAGE), bus.bounded_tap(keep=5):
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


def test_records_read_in_process_are_getrecords_records_as_lambda_hands_them_on():
    """The stream pump reads moto's shard in process (``_MotoShard``): the records are those
    GetRecords gives, as the event source passes them (times in epoch seconds); a binary value
    is its base64 text, as in the JSON Lambda sends (botocore would give bytes)."""
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name=tpl.REGION)
        ddb.create_table(
            TableName="T",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
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
        ours = [streams._as_lambda_gives_it(r, arn) for r in shard.read()]
        assert shard.read() == []  # read on from where the last read ended, as NextShardIterator does
        ddb.put_item(TableName="T", Item={"pk": {"S": "b"}})
        [later] = shard.read()
        assert later["eventName"] == "INSERT" and later["dynamodb"]["Keys"] == {"pk": {"S": "b"}}

    assert [r["eventName"] for r in ours] == ["INSERT", "MODIFY", "REMOVE"]
    assert all(isinstance(r["dynamodb"]["ApproximateCreationDateTime"], int) for r in ours)
    binary = ours[1]["dynamodb"]["NewImage"]["b"]
    assert binary == {"B": base64.b64encode(b"\x01\x02").decode()}  # as Lambda's JSON has it
    assert theirs[1]["dynamodb"]["NewImage"]["b"] == {"B": b"\x01\x02"}  # botocore's parse
    theirs[1]["dynamodb"]["NewImage"]["b"] = theirs[2]["dynamodb"]["OldImage"]["b"] = binary
    assert ours == theirs
    assert json.loads(json.dumps(ours)) == ours  # plain JSON: a copy of moto's records, not moto's own
