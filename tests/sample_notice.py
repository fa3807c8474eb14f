"""A notice as the scheduling layer arms it (``ticketing.scheduling.Notice``), for the notifier's
tests of every tier: ticket 1002's test reminder by email, due now, unless told otherwise."""

from __future__ import annotations

from ticketing import scheduling
from ticketing.model import utcnow


def notice(**overrides) -> scheduling.Notice:
    doc = {
        "ticket_id": 1002,
        "purpose": "test-reminder",
        "delivery": "d-1",
        "due": utcnow(),
        "expect": {"status": "open"},
        "message": {"channel": "email", "to": ["ops@example.com"], "subject": "Hi", "body": "Ticket 1002 waits."},
        **overrides,
    }
    return scheduling.Notice.model_validate(doc)


def notice_payload(to: str = "ops@example.com", **overrides) -> dict:
    """``notice`` to ``to``, as the Lambda payload a schedule hands the notifier (its JSON form)."""
    message = {"channel": "email", "to": [to], "subject": "Hi", "body": "Ticket 1002 waits."}
    return notice(**{"message": message, **overrides}).model_dump(mode="json")
