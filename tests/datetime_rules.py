"""What the datetimes tests of every tier share: the wording of ``ticketing.moments``' field
errors, the error bodies that carry them, and the ParticleSpace fields a time is sent with.

The range: 1900-01-01T00:00:00Z to 9998-12-31T23:59:59Z (the rest: ``tests/integration/test_datetimes.py``)."""

from __future__ import annotations

# The shared wording (ticketing.moments), as every dialect's field errors show it.
NAIVE = "must include a UTC offset, e.g. 2030-01-01T09:00:00Z or 2030-01-01T09:00:00+02:00"
RANGE = "must be from 1900-01-01T00:00:00Z to 9998-12-31T23:59:59Z"
PS_FIELDS = {
    "title": "Leaking faucet",
    "description": "Leak under the kitchen sink.",
    "status": "ON_HOLD",
    "notify": 1,
    "type": "email",
    "contacts": "example@example.com",
    "automated": 0,
}


def problem(instance, body, field, message):
    """The canonical API's problem+json for one bad field (``message`` None: any wording)."""
    got = body["errors"][0]["message"]
    expected_message = got if message is None else message
    return {
        "type": "urn:tickets:problem:validation_failed",
        "title": "Bad Request",
        "status": 400,
        "detail": f"The request is invalid: {field}: {expected_message}.",
        "instance": instance,
        "request_id": body.get("request_id"),
        "errors": [{"field": field, "message": expected_message}],
    }


def ps_problem(body, message):
    return {
        "success": False,
        "status": 400,
        "error": "Bad Request",
        "code": "validation_failed",
        "message": f"The request is invalid: time: {message}.",
        "errors": [{"field": "time", "message": message}],
        "requestId": body.get("requestId"),
    }
