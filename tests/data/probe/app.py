"""A function that reports on the process it runs in (the local run's workers: tests/e2e/test_local_workers.py)."""

import json
import os

import boto3


def _answer(body, status=200):
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def lambda_handler(event, context):
    path = event["path"]
    query = event.get("queryStringParameters") or {}
    if path == "/probe/process":
        return _answer(
            {
                "pid": os.getpid(),
                "request_id": context.aws_request_id,
                "remaining_ms": context.get_remaining_time_in_millis(),
            }
        )
    if path == "/probe/invoke":  # Lambda's Invoke of another function, synchronously
        answer = boto3.client("lambda").invoke(
            FunctionName=query.get("function", "EchoFunction"),
            InvocationType=query.get("type", "RequestResponse"),
            Payload=json.dumps({"path": "/things/special", "from": "probe"}),
        )
        payload = answer["Payload"].read()
        return _answer(
            {
                "status": answer["StatusCode"],
                "error": answer.get("FunctionError"),
                "payload": json.loads(payload) if payload else None,
            }
        )
    if path == "/probe/cache":  # the layer's client, cached per container
        from ticketing import aws

        return _answer({"client": id(aws.client("sqs"))})
    if path == "/probe/queue":  # an AWS request of the worker's client, answered by the local run's moto
        sqs = boto3.client("sqs")
        url = sqs.create_queue(QueueName=query["name"])["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=query.get("body", "hello"))
        return _answer({"url": url, "queues": sqs.list_queues().get("QueueUrls", [])})
    if path == "/probe/missing":  # an AWS error, parsed by the worker's client
        try:
            boto3.client("sqs").get_queue_url(QueueName="no-such-queue")
        except Exception as err:
            return _answer({"error": type(err).__name__, "code": err.response["Error"]["Code"]})
    raise ValueError(f"no probe at {path}")
