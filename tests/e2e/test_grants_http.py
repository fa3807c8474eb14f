"""Grants over HTTP on the local run (the rest: ``tests/integration/test_grants.py``)."""

from __future__ import annotations

from test_auth_matrix import SCOPED_TOKEN


def test_local_credentials_list_the_scoped_clients_and_they_are_scoped(local_run):
    assert local_run.request("POST", "/_local/reset")[0] == 200
    status, _, creds = local_run.json("GET", "/_local/credentials")
    assert status == 200
    for dialect, token in SCOPED_TOKEN.items():
        assert creds[dialect][f"{dialect}_facilities"].endswith(f" {token}")
    authorization = {"Authorization": creds["canonical"]["canonical_facilities"]}
    assert local_run.json("GET", "/tickets/1001", headers=authorization)[0] == 200
    assert local_run.json("GET", "/tickets/1002", headers=authorization)[0] == 200
    assert local_run.json("GET", "/tickets/1004", headers=authorization)[0] == 404
