"""Kapture's models against its document (the rest: ``tests/integration/test_kapture.py``)."""

from __future__ import annotations

from doc_kapture import ANSWER_KEYS, DOC_TICKET
from ticketing.dialects import kapture


def test_models_follow_the_document():
    assert list(kapture.KaptureTicket.model_fields) == list(DOC_TICKET)
    assert list(kapture.KaptureSuccess.model_fields) == ANSWER_KEYS
    assert list(kapture.KaptureFailure.model_fields) == ["message", "status"]
