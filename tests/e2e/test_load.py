"""Concurrency, nothing lost: the load run of ``devkit.load`` against the local run.

Several client processes change the same demo tickets through the five dialects and the
canonical API at once; afterwards every request must have been answered without a 5xx,
every accepted change must be in the ticket and in its audit history (once), and racing
workflow pushes must have applied at most once per state.  Then the same checks are run on
doctored copies of what was read, to show that each of them does fail when it should.
"""

from __future__ import annotations

import copy

import boto3
import pytest
from botocore.exceptions import ClientError

from devkit import load
from devkit import template as tpl
from devkit.local.embedded_aws import EmbeddedAWS

PROCESSES, REQUESTS = 4, 25


def test_concurrent_changes_through_every_dialect_lose_nothing(local_run):
    report = load.run(local_run.url, processes=PROCESSES, requests=REQUESTS, max_seconds=40, reset=True)
    print(report.render())
    assert report.problems == [], report.render()
    assert report.sent == PROCESSES * REQUESTS
    assert report.answered == report.sent + report.reads
    assert report.reads == sum(c["reads"] for c in report.by_dialect.values())
    assert report.server_errors == 0 and report.unexpected == []
    assert report.lost == [] and report.twice == []
    assert report.refused_but_written == [] and report.unexplained_writes == []
    # a run that got nothing through would prove nothing: every dialect changed the tickets
    assert {d: report.by_dialect[d]["accepted"] > 0 for d in load.DIALECTS} == dict.fromkeys(load.DIALECTS, True)
    workflow = report.workflow
    assert workflow["chained"] and workflow["accepted"] >= 1
    assert workflow["assign_sent"] == PROCESSES and workflow["assigned"] == 1  # REQ-001003 was New: one won

    # -- each check fails when what it looks for is not there --------------------------------------
    evidence = report.evidence
    records = evidence["records"]

    def doctored(change) -> load.Report:
        copied = copy.deepcopy(evidence)
        change(copied)
        return load.reverify(report, copied)

    assert load.reverify(report, copy.deepcopy(evidence)).problems == []

    patch = next(r for r in records if r["op"]["op"] == "patch" and r["status"] == 200)
    ticket = patch["op"]["tickets"][0]
    key = next(iter(patch["op"]["expect"]["metadata"]))

    def drop_audit(e):
        e["histories"][ticket] = [x for x in e["histories"][ticket] if x["request_id"] != patch["request_id"]]

    assert any(patch["request_id"] in x for x in doctored(drop_audit).lost)

    def drop_key(e):
        del e["after"][ticket]["metadata"][key]

    assert any(key in x for x in doctored(drop_key).lost)

    def audit_twice(e):
        entry = next(x for x in e["histories"][ticket] if x["request_id"] == patch["request_id"])
        e["histories"][ticket].append({**entry, "version": max(x["version"] for x in e["histories"][ticket]) + 1})

    assert doctored(audit_twice).twice

    def push_twice(e):  # a suspend applied again from the state the previous one had left
        history = e["histories"][load.WORKFLOW_TICKET]
        last = max((x for x in history if x["event"] == "workflow_push"), key=lambda x: x["version"])
        history.append({**last, "version": max(x["version"] for x in history) + 1, "request_id": "again"})

    again = doctored(push_twice)
    assert not again.workflow["chained"] and any("applied twice from one state" in p for p in again.problems)

    def server_error(e):
        next(r for r in e["records"] if r["request_id"] == patch["request_id"])["status"] = 502

    assert doctored(server_error).server_errors == 1

    def refused_written(e):  # answered 409, yet its change is in the history
        next(r for r in e["records"] if r["request_id"] == patch["request_id"])["status"] = 409

    assert doctored(refused_written).refused_but_written

    comment = next(r for r in records if r["op"]["op"] == "batch_comment" and r["status"] == 200)
    seq = comment["answer"]["elements"][1]["seq"]  # the update of 1004

    def lose_message(e):
        e["msgs"][1004][seq] = "someone else's"
        e["after"][1004]["message_count"] -= 1

    assert len(doctored(lose_message).lost) == 2

    def second_assign(e):
        loser = next(r for r in e["records"] if r["op"]["op"] == "assign_race" and r["status"] != 200)
        loser["status"] = 200
        e["histories"][load.ASSIGN_TICKET].append(
            {**e["histories"][load.ASSIGN_TICKET][0], "version": 10**6, "request_id": loser["request_id"]}
        )

    assert any("assign race" in p for p in doctored(second_assign).problems)


@pytest.fixture
def embedded_aws():
    aws = EmbeddedAWS("127.0.0.1", 0)
    aws.start()
    client = boto3.client("dynamodb", endpoint_url=aws.endpoint, region_name=tpl.REGION)
    table = "LoadTokensTest"
    client.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    yield client, table
    client.delete_table(TableName=table)
    aws.stop()


def test_the_embedded_aws_applies_a_transaction_once_per_client_request_token(embedded_aws):
    """As DynamoDB does: botocore keeps a call's ClientRequestToken across its retries, so a
    retry after a client-side timeout (the load run's busiest moments) is not applied twice."""
    client, table = embedded_aws

    def add(amount: int, token: str | None) -> dict:
        kwargs = {"ClientRequestToken": token} if token else {}
        update = {
            "TableName": table,
            "Key": {"pk": {"S": "counter"}},
            "UpdateExpression": "ADD n :a",
            "ExpressionAttributeValues": {":a": {"N": str(amount)}},
        }
        return client.transact_write_items(TransactItems=[{"Update": update}], **kwargs)

    def value() -> int:
        return int(client.get_item(TableName=table, Key={"pk": {"S": "counter"}})["Item"]["n"]["N"])

    add(1, "token-1")
    add(1, "token-1")  # the retry of the same call
    assert value() == 1
    add(1, "token-2")
    assert value() == 2
    with pytest.raises(ClientError) as err:
        add(5, "token-1")  # another request under a token already used
    assert err.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"
    assert value() == 2
    add(1, None)  # botocore fills a fresh token in itself
    add(1, None)
    assert value() == 4


def test_the_embedded_aws_keeps_no_copy_of_a_table_per_write(embedded_aws, monkeypatch):
    """moto tracks every model object it makes (for its dashboard), and its own
    TransactWriteItems deep-copies the table: with both, every write of the local run kept a
    copy of the whole table (hundreds of MB per load run) and took time in proportion to it.
    The embedded AWS forgets the objects every ``FORGET_EVERY`` requests (here 4) and rolls
    transactions back per item."""
    import copy

    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.models.table import Table

    from devkit.local.gate import Gate

    monkeypatch.setattr(Gate, "FORGET_EVERY", 4)
    copied, deepcopy = [], copy.deepcopy
    monkeypatch.setattr(copy, "deepcopy", lambda obj, *a: copied.append(type(obj).__name__) or deepcopy(obj, *a))
    client, table = embedded_aws
    kept = []
    for i in range(12):
        update = {
            "TableName": table,
            "Key": {"pk": {"S": f"item-{i}"}},
            "UpdateExpression": "SET n = :n",
            "ExpressionAttributeValues": {":n": {"N": str(i)}},
        }
        client.transact_write_items(TransactItems=[{"Update": update}])
        kept.append((len(Table.instances_tracked), len(Item.instances_tracked)))
    assert client.scan(TableName=table)["Count"] == 12
    # forgotten within every 4 requests: no more kept than 4 requests made, however many writes
    assert all((0, 0) in kept[start : start + 4] for start in range(len(kept) - 3)), kept
    assert "Table" not in copied
