"""Grants without a store: the demo credentials and the grant syntax
(the rest: ``tests/integration/test_grants.py``)."""

from __future__ import annotations

import pytest
from test_auth_matrix import OWN_TOKEN, SCOPED_TOKEN
from ticketing.grants import parse_grant

from devkit import demo


def test_the_demo_credentials_list_the_scoped_clients():
    creds = demo.credentials()
    for dialect, token in SCOPED_TOKEN.items():
        scheme = "Basic" if dialect == "kapture" else "Bearer"
        assert creds[dialect][f"{dialect}_facilities"] == f"{scheme} {token}"
        # the first of each dialect (the local run's banner, the matrix's own client) sees everything
        first = next(iter(creds[dialect].values())).split(" ", 1)[1]
        assert first == OWN_TOKEN[dialect]
        assert next(s for s in demo.CLIENTS if s["token"] == first).get("grants") is None


@pytest.mark.parametrize("text", ["billing:admin", "billing:READ", ":write", ""])
def test_a_grant_names_a_queue_and_read_or_write(text):
    with pytest.raises(ValueError):
        parse_grant(text)


def test_a_grant_of_a_queue_with_a_colon_in_its_name_says_its_level():
    assert parse_grant("eu:billing:read") == ("eu:billing", "read")
    assert parse_grant("*") == ("*", "write")
