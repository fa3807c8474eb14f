"""Secrets never reach the logs; every request's log lines carry a correlation id."""

from __future__ import annotations

import json

from devkit import apigw


def test_tokens_never_appear_in_logs(aws, seeded, log_output):
    for token in ("tkt_demo_canonical", "tkt_not_a_real_token_123", "tkt_demo_disabled"):
        apigw.request(aws, "GET", "/tickets/1001", headers={"Authorization": f"Bearer {token}"})
        apigw.request(aws, "POST", "/tickets", body='{"title": ', headers={"Authorization": f"Bearer {token}"})
    text = log_output.getvalue()
    assert text, "the requests above should have logged their refusals"
    for token in ("tkt_demo_canonical", "tkt_not_a_real_token_123", "tkt_demo_disabled"):
        assert token not in text
    for line in text.splitlines():
        entry = json.loads(line)
        assert entry["correlation_id"] and entry["service"] == "tickets"
