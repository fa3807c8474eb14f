"""A function that records the events it gets and answers with them."""

import json

EVENTS = []


def lambda_handler(event, context):
    EVENTS.append(event)
    return {
        "statusCode": 200,
        "headers": {"X-Single": "one"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": json.dumps({"echo": event}),
        "isBase64Encoded": False,
    }
