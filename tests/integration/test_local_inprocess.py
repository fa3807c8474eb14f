"""The embedded AWS in process (issue 19): moto's answers to DynamoDB's item operations written
with json.dumps are the answers moto's serializer writes; ClientRequestToken holds for the
handlers' in-process calls as it does over HTTP; faults.inject works for services whose event
name is not their endpoint prefix (SES v2) and for XML-protocol services (SNS)."""

from __future__ import annotations

import json
import threading
from unittest import mock

import pytest
from botocore.exceptions import ClientError
from moto.dynamodb.responses import DynamoResult
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

from devkit.local import apigateway as apigw
from devkit.local import faults
from devkit.local.gate import Gate, serialised_moto
from devkit.local.moto_patches import fast_dynamodb_results

# moto's own, taken before any fixture patches them (the aws fixture has the local run's faster moto)
MOTO_EXECUTE_RESULT = DynamoResult.execute_result
MOTO_GET_RECORDS = DynamoDBStreamsHandler.get_records


def test_item_operations_answer_as_motos_serializer_does(seeded, aws, monkeypatch):
    from ticketing import aws as layer_aws

    original = MOTO_EXECUTE_RESULT
    with mock.patch.object(DynamoResult, "execute_result", original), fast_dynamodb_results():
        fast = DynamoResult.execute_result
    pairs: list[tuple[str, tuple, tuple]] = []

    def both(self, context):
        ours, theirs = fast(self, context), original(self, context)
        pairs.append((context.operation_model.name, ours, theirs))
        return theirs

    monkeypatch.setattr(DynamoResult, "execute_result", both)
    ddb = layer_aws.dynamodb()
    key = {"pk": {"S": "TICKET#1001"}, "sk": {"S": "TICKET"}}
    ddb.get_item(TableName="TicketsTable", Key=key)
    ddb.get_item(TableName="TicketsTable", Key={"pk": {"S": "TICKET#9"}, "sk": {"S": "TICKET"}})
    ddb.get_item(TableName="TicketsTable", Key=key, ProjectionExpression="title, tasks")
    ddb.query(TableName="TicketsTable", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": key["pk"]})
    ddb.query(
        TableName="TicketsTable", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": key["pk"]}, Limit=1
    )
    ddb.scan(TableName="TicketsTable", Limit=3)
    ddb.scan(TableName="ClientsTable", Select="COUNT")
    ddb.batch_get_item(
        RequestItems={"TicketsTable": {"Keys": [key, {"pk": {"S": "TICKET#1002"}, "sk": {"S": "TICKET"}}]}}
    )
    item = {
        "pk": {"S": "T#x"},
        "sk": {"S": "x"},
        "b": {"B": b"\x00\x01"},
        "n": {"NS": ["1", "2.5"]},
        "l": {"L": [{"NULL": True}, {"BOOL": False}]},
    }
    ddb.put_item(TableName="TicketsTable", Item=item, ReturnValues="ALL_OLD")
    ddb.put_item(TableName="TicketsTable", Item=item, ReturnValues="ALL_OLD", ReturnConsumedCapacity="TOTAL")
    ddb.update_item(
        TableName="TicketsTable",
        Key={"pk": {"S": "T#x"}, "sk": {"S": "x"}},
        UpdateExpression="SET m = :m ADD c :one",
        ExpressionAttributeValues={":m": {"M": {"a": {"SS": ["p", "q"]}}}, ":one": {"N": "1"}},
        ReturnValues="ALL_NEW",
    )
    ddb.transact_get_items(TransactItems=[{"Get": {"TableName": "TicketsTable", "Key": key}}])
    ddb.transact_write_items(TransactItems=[{"Put": {"TableName": "TicketsTable", "Item": {**item, "sk": {"S": "y"}}}}])
    ddb.batch_write_item(RequestItems={"TicketsTable": [{"PutRequest": {"Item": {**item, "sk": {"S": "z"}}}}]})
    ddb.delete_item(TableName="TicketsTable", Key={"pk": {"S": "T#x"}, "sk": {"S": "x"}}, ReturnValues="ALL_OLD")
    # and whatever the handlers ask: a read and writes through three dialects
    headers = {"Authorization": "Bearer tkt_demo_canonical"}
    assert apigw.request(aws, "GET", "/tickets/1001/history?limit=5", headers=headers)["statusCode"] == 200
    assert apigw.request(aws, "PATCH", "/tickets/1002", body='{"title": "x"}', headers=headers)["statusCode"] == 200
    spp = {"Authorization": "Bearer tkt_demo_spp"}
    assert apigw.request(aws, "PUT", "/api/tickets/8FC95B0F", body='{"subject": "y"}', headers=spp)["statusCode"] == 200

    seen = {name for name, _, _ in pairs}
    assert {"GetItem", "Query", "Scan", "BatchGetItem", "PutItem", "UpdateItem", "DeleteItem"} <= seen
    assert "TransactGetItems" in seen
    for name, (s1, h1, b1), (s2, h2, b2) in pairs:
        assert (s1, json.loads(b1)) == (s2, json.loads(b2)), name
        assert h1["Content-Type"] == h2["Content-Type"], name


def test_a_transaction_retried_with_its_token_in_process_is_not_applied_twice(aws):
    from ticketing import aws as layer_aws

    gate = Gate(tokens=True)
    with serialised_moto(gate):  # the local run's gate: its TransactionTokens answer in process too
        ddb = layer_aws.dynamodb()
        update = {
            "Update": {
                "TableName": "TicketsTable",
                "Key": {"pk": {"S": "T#tok"}, "sk": {"S": "n"}},
                "UpdateExpression": "ADD n :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        }
        for _ in range(3):
            ddb.transact_write_items(TransactItems=[update], ClientRequestToken="same-token")
        item = ddb.get_item(TableName="TicketsTable", Key={"pk": {"S": "T#tok"}, "sk": {"S": "n"}})["Item"]
        assert item["n"] == {"N": "1"}
        with pytest.raises(ClientError) as err:
            other = {**update, "Update": {**update["Update"], "ExpressionAttributeValues": {":one": {"N": "2"}}}}
            ddb.transact_write_items(TransactItems=[other], ClientRequestToken="same-token")
        assert err.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"
        ddb.transact_write_items(TransactItems=[update], ClientRequestToken="another-token")
        item = ddb.get_item(TableName="TicketsTable", Key={"pk": {"S": "T#tok"}, "sk": {"S": "n"}})["Item"]
        assert item["n"] == {"N": "2"}
        assert gate.changes >= 2


def test_the_gate_counts_changes_and_wakes_who_waits(aws):
    from ticketing import aws as layer_aws

    gate = Gate(tokens=False)
    with serialised_moto(gate):
        ddb = layer_aws.dynamodb()
        seen = gate.changes
        ddb.get_item(TableName="TicketsTable", Key={"pk": {"S": "x"}, "sk": {"S": "y"}})
        assert gate.changes == seen  # a read changes nothing
        woke: list[int] = []
        waiter = threading.Thread(target=lambda: woke.append(gate.wait_for_change(seen, timeout=10)))
        waiter.start()
        ddb.put_item(TableName="TicketsTable", Item={"pk": {"S": "x"}, "sk": {"S": "y"}})
        waiter.join(timeout=10)
        assert woke == [seen + 1]
        # and by service: a pump that reads one service is not woken by another's writes
        scheduler, sqs = gate.changes_of("scheduler"), gate.changes_of("sqs", "events")
        ddb.put_item(TableName="TicketsTable", Item={"pk": {"S": "x"}, "sk": {"S": "z"}})
        assert gate.changes_of("dynamodb") == gate.changes and gate.changes_of("scheduler") == scheduler
        layer_aws.client("sqs").create_queue(QueueName="woken")
        assert gate.changes_of("sqs", "events") == sqs + 1 and gate.changes_of("scheduler") == scheduler
        gate._after("PutItem")  # a request of moto's server (no service told): every service may have changed
        assert gate.changes_of("scheduler") == scheduler + 1


def test_faults_inject_works_for_ses_v2(aws):
    from ticketing import aws as layer_aws

    client = layer_aws.client("sesv2")
    content = {"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}}
    sending = {"FromEmailAddress": "tickets@example.com", "Destination": {"ToAddresses": ["a@example.com"]}}
    with faults.inject("sesv2", "SendEmail", "MessageRejected", times=1) as fault, pytest.raises(ClientError) as err:
        client.send_email(**sending, Content=content)
    assert fault.injected == 1
    assert err.value.response["Error"]["Code"] == "MessageRejected"
    from moto.ses.models import ses_backends  # SES v2's messages land here: the attempt never reached moto

    from devkit import template as tpl

    assert ses_backends[tpl.ACCOUNT][tpl.REGION].sent_messages == []


def test_faults_inject_works_for_sns_with_its_xml_errors(aws):
    from ticketing import aws as layer_aws

    client = layer_aws.client("sns")
    with faults.inject("sns", "Publish", "InvalidParameter", times=1) as fault, pytest.raises(ClientError) as err:
        client.publish(PhoneNumber="+14445556666", Message="hi")
    assert fault.injected == 1
    assert err.value.response["Error"]["Code"] == "InvalidParameter"
    assert "injected" in err.value.response["Error"]["Message"]


def test_faults_inject_retryable_errors_go_through_the_clients_retries(aws):
    from ticketing import aws as layer_aws

    client = layer_aws.client("sns")
    with faults.inject("sns", "Publish", "Throttling", times=1, status=400) as fault:
        client.publish(PhoneNumber="+14445556666", Message="hi")  # retried by botocore: the second attempt is moto's
    assert fault.injected == 1


def test_stream_records_answer_as_motos_serializer_does(aws):
    import boto3
    from ticketing import aws as layer_aws

    from devkit import template as tpl
    from devkit.local.moto_patches import fast_stream_records

    ddb = layer_aws.dynamodb()
    ddb.put_item(TableName="TicketsTable", Item={"pk": {"S": "T#s"}, "sk": {"S": "a"}, "m": {"M": {"x": {"N": "1"}}}})
    ddb.update_item(
        TableName="TicketsTable",
        Key={"pk": {"S": "T#s"}, "sk": {"S": "a"}},
        UpdateExpression="SET b = :b",
        ExpressionAttributeValues={":b": {"B": b"\x01"}},
    )
    ddb.delete_item(TableName="TicketsTable", Key={"pk": {"S": "T#s"}, "sk": {"S": "a"}})
    streams = boto3.client("dynamodbstreams", region_name=tpl.REGION)
    arn = ddb.describe_table(TableName="TicketsTable")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]

    def records() -> list:
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
        answer = streams.get_records(ShardIterator=it["ShardIterator"])
        return answer["Records"]

    with mock.patch.object(DynamoDBStreamsHandler, "get_records", MOTO_GET_RECORDS):
        theirs = records()
        with fast_stream_records():
            ours = records()
    assert len(ours) == 3 and [r["eventName"] for r in ours] == ["INSERT", "MODIFY", "REMOVE"]
    assert ours == theirs
