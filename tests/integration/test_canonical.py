"""The canonical API through its handlers, on moto: the foundation's promises."""

from __future__ import annotations

import json

import pytest
from ticketing import auth, service
from ticketing.errors import PreconditionFailed
from ticketing.grants import EVERYTHING
from ticketing.model import Actor

from devkit import metering
from devkit.local import apigateway as apigw

AUTH = {"Authorization": "Bearer tkt_demo_canonical"}


def call(template, method, url, body=None, headers=None):
    data = json.dumps(body) if isinstance(body, (dict, list)) else (body or "")
    resp = apigw.request(template, method, url, body=data, headers={**AUTH, **(headers or {})})
    payload = json.loads(resp["body"]) if resp["body"] else None
    return resp["statusCode"], resp["headers"], payload


def test_create_then_read_by_every_identifier_and_history(aws, seeded):
    status, headers, created = call(
        aws, "POST", "/tickets", {"type": "service_request", "title": "Badge", "tags": ["access"]}
    )
    assert status == 201
    assert headers["Location"] == f"/tickets/{created['id']}"
    assert headers["ETag"] == '"1"'
    for ident in (created["id"], created["number"], created["key"], created["ref"]):
        status, headers, got = call(aws, "GET", f"/tickets/{ident}")
        assert status == 200, ident
        assert got["id"] == created["id"] and got["title"] == "Badge"
        assert headers["ETag"] == '"1"'
    status, _, hist = call(aws, "GET", f"/tickets/{created['id']}/history")
    assert status == 200
    assert [e["event"] for e in hist["items"]] == ["create"]
    assert {"field": "title", "before": None, "after": "Badge"} in hist["items"][0]["changes"]
    assert hist["items"][0]["dialect"] == "canonical"


def test_conditional_get_returns_304(aws, seeded):
    status, headers, _ = call(aws, "GET", "/tickets/1001")
    status, _, body = call(aws, "GET", "/tickets/1001", headers={"If-None-Match": headers["ETag"]})
    assert status == 304 and body is None


def test_history_is_newest_first_and_paginates(aws, seeded):
    for i in range(5):
        assert call(aws, "PATCH", "/tickets/1002", {"metadata": {"step": i}})[0] == 200
    seen, cursor = [], None
    while True:
        url = "/tickets/1002/history?limit=2" + (f"&cursor={cursor}" if cursor else "")
        status, headers, page = call(aws, "GET", url)
        assert status == 200 and len(page["items"]) <= 2
        seen += [e["version"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
        assert 'rel="next"' in headers["Link"]
    assert seen == [6, 5, 4, 3, 2, 1]


def test_cursor_of_another_ticket_is_refused(aws, seeded):
    call(aws, "PATCH", "/tickets/1002", {"queue": "a"})
    _, _, page = call(aws, "GET", "/tickets/1002/history?limit=1")
    status, _, problem = call(aws, "GET", f"/tickets/1001/history?cursor={page['next_cursor']}")
    assert status == 400 and problem["type"] == "urn:tickets:problem:bad_request"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, 401),
        ({"Authorization": "Bearer nope"}, 401),
        ({"Authorization": "Basic tkt_demo_canonical"}, 401),
        ({"Authorization": "Bearer tkt_demo_disabled"}, 401),
        ({"Authorization": "Bearer tkt_demo_kapture"}, 403),
    ],
)
def test_auth_failures_are_problem_documents(aws, seeded, headers, expected):
    resp = apigw.request(aws, "GET", "/tickets/1001", headers=headers)
    assert resp["statusCode"] == expected
    assert resp["headers"]["Content-Type"] == "application/problem+json"
    problem = json.loads(resp["body"])
    assert problem["status"] == expected and problem["instance"] == "/tickets/1001"
    if expected == 401:
        assert resp["headers"]["WWW-Authenticate"].startswith("Bearer")


def test_expired_client_is_refused(aws, seeded):
    from datetime import timedelta

    from ticketing.model import utcnow

    token, client = auth.create_client("temp", ["canonical"])
    auth.save_client(client.model_copy(update={"expires_at": utcnow() - timedelta(seconds=1)}), auth.hash_token(token))
    assert apigw.request(aws, "GET", "/tickets/1001", headers={"Authorization": f"Bearer {token}"})["statusCode"] == 401


def test_tokens_are_stored_hashed_only(aws, seeded):
    import boto3

    token, _ = auth.create_client("hashed", ["canonical"])
    items = boto3.client("dynamodb").scan(TableName="ClientsTable")["Items"]
    dump = json.dumps(items)
    assert token not in dump and "tkt_demo_canonical" not in dump
    assert auth.hash_token(token) in dump


def test_two_concurrent_updates_to_different_fields_both_survive(aws, seeded):
    repo = service.repository()
    actor = Actor(client_id="t", dialect="canonical")
    raced = []

    def set_queue(ticket, cs):
        if not raced:  # between this command's read and its write, another writer commits
            raced.append(True)
            repo.update(1001, lambda t, c: setattr(t, "priority", 4), actor)
        ticket.queue = "hardware"

    result = repo.update(1001, set_queue, actor)
    assert result.attempts == 1  # they commute: the write is conditioned on the queue alone, not the version
    stored = repo.get(1001)
    assert stored.queue == "hardware" and stored.priority == 4 and stored.version == 3
    entries, _ = repo.history(1001)
    assert [(e.version, [c.field for c in e.changes]) for e in entries[:2]] == [(3, ["queue"]), (2, ["priority"])]
    assert entries[0].changes[0].before == "facilities"


def test_racing_writer_makes_if_match_stale(aws, seeded):
    repo = service.repository()
    actor = Actor(client_id="t", dialect="canonical")
    repo.update(1001, lambda t, c: setattr(t, "queue", "x"), actor)
    with pytest.raises(PreconditionFailed):
        repo.update(1001, lambda t, c: setattr(t, "queue", "y"), actor, if_match=1)
    assert repo.get(1001).queue == "x"


def test_stale_if_match_over_the_handler_is_412_and_changes_nothing(aws, seeded):
    assert call(aws, "PATCH", "/tickets/1001", {"queue": "a"}, {"If-Match": '"1"'})[0] == 200
    status, _, problem = call(aws, "PATCH", "/tickets/1001", {"queue": "b"}, {"If-Match": '"1"'})
    assert status == 412 and problem["current_version"] == 2
    assert call(aws, "GET", "/tickets/1001")[2]["queue"] == "a"


def test_invalid_patch_writes_nothing(aws, seeded):
    status, _, problem = call(aws, "PATCH", "/tickets/1001", {"queue": "x", "status": "sleeping"})
    assert status == 400 and problem["errors"][0]["field"] == "status"
    got = call(aws, "GET", "/tickets/1001")[2]
    assert got["version"] == 1 and got["queue"] == "facilities"


@pytest.mark.parametrize("status", [None, "", "sleeping"])
def test_status_cannot_be_removed_or_unknown(aws, seeded, status):
    code, _, problem = call(aws, "PATCH", "/tickets/1001", {"status": status, "queue": "x"})
    assert code == 400 and problem["errors"][0]["field"] == "status"
    assert call(aws, "GET", "/tickets/1001")[2]["version"] == 1


@pytest.mark.parametrize("title", [None, "", "   "])
def test_title_cannot_be_removed(aws, seeded, title):
    status, headers, problem = call(aws, "PATCH", "/tickets/1001", {"title": title, "queue": "x"})
    assert status == 400 and headers["Content-Type"] == "application/problem+json"
    assert problem["errors"][0]["field"] == "title"
    got = call(aws, "GET", "/tickets/1001")[2]
    assert got["version"] == 1 and got["title"] and got["queue"] == "facilities"


def test_dynamodb_calls_per_request(aws, seeded):
    call(aws, "GET", "/tickets/1001")  # warm: catalog loaded
    with metering.aws_calls() as calls:
        call(aws, "PATCH", "/tickets/8FC95B0F", {"queue": "q"})  # by alias: no extra read
    # auth lookup (cache disabled locally) with the ticket read ahead beside it, consistently; one atomic write
    assert calls == {"BatchGetItem": 1, "TransactWriteItems": 1}


def test_a_request_whose_caller_is_cached_reads_its_ticket_itself_and_never_an_earlier_requests(
    aws, seeded, monkeypatch
):
    from ticketing import settings

    monkeypatch.setenv("AUTH_CACHE_SECONDS", "60")
    settings.reset()
    auth._cache.clear()
    try:
        call(aws, "GET", "/tickets/1001")  # the client is read (the ticket with it), then cached
        refused = call(aws, "GET", "/tickets/1001", headers={"Authorization": "Bearer tkt_unknown"})
        assert refused[0] == 401  # its read took the ticket too: dropped with the request
        actor = Actor(client_id="t", dialect="canonical")
        service.update_ticket(1001, lambda t, cs: setattr(t, "queue", "moved"), actor, access=EVERYTHING)
        with metering.aws_calls() as calls:
            status, _, got = call(aws, "GET", "/tickets/1001")
        assert calls == {"GetItem": 1}  # the cached caller: nothing read ahead, the ticket read now
        assert status == 200 and got["queue"] == "moved" and got["version"] == 2
    finally:
        auth._cache.clear()
        monkeypatch.delenv("AUTH_CACHE_SECONDS")
        settings.reset()


def test_the_first_request_reads_its_client_and_a_stale_catalog_together(aws, seeded):
    from ticketing import catalog

    doc = catalog.default_catalog().model_dump(mode="json")
    for ticket_type in doc["ticket_types"]:
        ticket_type["ref_prefix"] = "X" + ticket_type["ref_prefix"]
    service.repository().store_catalog_document(json.dumps(doc))
    catalog.reset()
    sent = []
    client = auth.aws.dynamodb()
    client.meta.events.register(
        "before-call.dynamodb.BatchGetItem", lambda params, **_: sent.append(params), unique_id="first-request-sent"
    )
    try:
        with metering.aws_calls() as calls:
            assert call(aws, "GET", "/tickets/1001", headers={"Authorization": "Bearer tkt_unknown"})[0] == 401
        assert calls == {"BatchGetItem": 1}  # nothing but the credentials' check is answered
        body = json.loads(sent[0]["body"])["RequestItems"]
        assert body["ClientsTable"]["ConsistentRead"] is True
        # beside it the catalog, and the ticket the path names, read ahead as consistently as its own read
        assert body["TicketsTable"] == {
            "Keys": [
                {"pk": {"S": "CATALOG"}, "sk": {"S": "default"}},
                {"pk": {"S": "TICKET#1001"}, "sk": {"S": "TICKET"}},
            ],
            "ConsistentRead": True,
        }
        sent.clear()
        with metering.aws_calls() as calls:
            status, _, got = call(aws, "GET", "/tickets/1001")
        assert calls == {"BatchGetItem": 1}  # the catalog cached by the refused request's read: the client, the ticket
        assert json.loads(sent[0]["body"])["RequestItems"]["TicketsTable"]["Keys"] == [
            {"pk": {"S": "TICKET#1001"}, "sk": {"S": "TICKET"}}
        ]
        assert status == 200 and got["ref"].startswith("X")
        with metering.aws_calls() as calls:
            assert call(aws, "GET", "/tickets/9999")[0] == 404  # read ahead and not there: not read again
        assert calls == {"BatchGetItem": 1}
    finally:
        client.meta.events.unregister("before-call.dynamodb.BatchGetItem", unique_id="first-request-sent")
        catalog.reset()


def test_idempotency_key_replays_and_refuses_other_bodies(aws, seeded):
    body = {"title": "Exactly once"}
    first = call(aws, "POST", "/tickets", body, {"Idempotency-Key": "k-1"})
    second = call(aws, "POST", "/tickets", body, {"Idempotency-Key": "k-1"})
    assert first[0] == second[0] == 201
    assert first[2]["id"] == second[2]["id"]
    assert second[1].get("Idempotent-Replayed") == "true"
    status, _, problem = call(aws, "POST", "/tickets", {"title": "Other"}, {"Idempotency-Key": "k-1"})
    assert status == 422 and problem["type"] == "urn:tickets:problem:idempotency_key_reused"
    # a failed request is not kept: the same key may be used once the body is fixed
    assert call(aws, "POST", "/tickets", {"nope": 1}, {"Idempotency-Key": "k-2"})[0] == 400
    assert call(aws, "POST", "/tickets", {"title": "Fixed"}, {"Idempotency-Key": "k-2"})[0] == 201


def test_idempotency_keys_are_per_client(aws, seeded):
    token, _ = auth.create_client("second", ["canonical"])
    a = call(aws, "POST", "/tickets", {"title": "Same"}, {"Idempotency-Key": "shared"})
    b = call(
        aws, "POST", "/tickets", {"title": "Same"}, {"Idempotency-Key": "shared", "Authorization": f"Bearer {token}"}
    )
    assert a[2]["id"] != b[2]["id"]


def test_oversized_body_is_refused(aws, seeded):
    status, _, problem = call(aws, "POST", "/tickets", {"title": "x", "description": "a" * 1_100_000})
    assert status == 413 and problem["type"] == "urn:tickets:problem:payload_too_large"


def test_unknown_route_is_api_gateways_403(aws):
    resp = apigw.request(aws, "GET", "/nothing/here")
    assert resp["statusCode"] == 403 and json.loads(resp["body"]) == {"message": "Missing Authentication Token"}


def test_idempotency_keys_are_per_target(aws, seeded):
    a = call(aws, "PATCH", "/tickets/1001", {"queue": "same"}, {"Idempotency-Key": "one-key"})
    b = call(aws, "PATCH", "/tickets/1002", {"queue": "same"}, {"Idempotency-Key": "one-key"})
    assert a[2]["id"] == 1001 and b[2]["id"] == 1002
    assert "Idempotent-Replayed" not in b[1]


def test_a_large_answer_is_kept_compressed_and_replayed_as_it_was(aws, seeded):
    import boto3
    from ticketing import idempotency
    from ticketing.settings import get_settings

    text = "The leak is worse than reported. " * 1900  # ~63 KB: over COMPRESS_ABOVE
    assert len(text) > idempotency.COMPRESS_ABOVE
    first = call(aws, "PATCH", "/tickets/1003", {"description": text}, {"Idempotency-Key": "big-1"})
    again = call(aws, "PATCH", "/tickets/1003", {"description": text}, {"Idempotency-Key": "big-1"})
    assert first[0] == again[0] == 200 and first[2] == again[2] and first[2]["description"] == text
    assert again[1].get("Idempotent-Replayed") == "true" and "Idempotent-Replayed" not in first[1]
    items = boto3.client("dynamodb").scan(TableName=get_settings().idempotency_table)["Items"]
    [record] = [i for i in items if "#w" not in i["id"]["S"]]
    # the answer is kept once, compressed, on the marker committed with the change; the record
    # points to it
    assert json.loads(record["data"]["S"]) == {"marker": "w0"}
    [marker] = [i for i in items if i["id"]["S"].endswith("#w0")]
    assert marker["answer"]["S"].startswith("gzip:") and len(marker["answer"]["S"]) < len(text) / 10


def test_an_answer_the_store_could_not_keep_is_still_answered(aws, seeded, monkeypatch, log_output):
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
    from botocore.exceptions import ClientError

    def throttled(self, data, result):
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "UpdateItem")

    monkeypatch.setattr(DynamoDBPersistenceLayer, "save_success", throttled)
    status, _, ticket = call(aws, "PATCH", "/tickets/1003", {"queue": "kept-or-not"}, {"Idempotency-Key": "k-9"})
    assert status == 200 and ticket["queue"] == "kept-or-not"  # the change is made: say so, not 503
    assert call(aws, "GET", "/tickets/1003")[2]["queue"] == "kept-or-not"
    assert "the answer was not kept for replay" in log_output.getvalue()
