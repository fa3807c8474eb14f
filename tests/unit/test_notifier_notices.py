"""Notices without a store: schedule names, malformed notices, masking
(the rest: ``tests/integration/test_notifier.py``)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sample_notice import notice
from ticketing import notifications, scheduling


def test_schedule_names_fit_schedulers_limit():
    long_purpose = "p" * 40
    name = scheduling.schedule_name(4_294_967_295, long_purpose, "f" * 40)
    assert len(name) == 64 and name.startswith(f"ticket-4294967295-{long_purpose}-")
    assert (
        scheduling.schedule_name(1002, "particlespace-reminder", "0" * 40)
        == "ticket-1002-particlespace-reminder-" + "0" * 29
    )
    assert notice().schedule == "ticket-1002-test-reminder"  # a notice armed before ids: one per ticket and purpose


@pytest.mark.parametrize(
    "change",
    [
        {"purpose": "Bad Purpose"},
        {"delivery": "has spaces"},
        {"message": {"channel": "fax", "to": ["x@example.com"], "body": "b"}},
        {"message": {"channel": "email", "to": [], "body": "b"}},
        {"ticket_id": 0},
    ],
)
def test_malformed_notices_are_refused(change):
    with pytest.raises(ValidationError):
        notice(**change)


def test_masking():
    assert notifications.mask("jane.doe@example.org") == "j***@example.org"
    assert notifications.mask("+11112223333") == "+1********33"
    assert notifications.mask("123") == "***"
