"""Grants (``ticketing.grants``) beyond the auth matrix's scope axis: a Kapture batch across
scopes, moving tickets between queues, creating in a queue, a move racing the write,
``devkit.clients``' grant commands, the demo credentials, and what the check costs (nothing).

The demo clients ``tkt_demo_<dialect>_facilities`` may change queue ``facilities`` (ticket 1001),
read ``maintenance`` (1002) and nothing else (1004 is in ``mobile``).
"""

from __future__ import annotations

import copy
import json

import pytest
from test_auth_matrix import (
    OPERATIONS,
    OWN_TOKEN,
    SCOPE_CALLS,
    SCOPE_ROUTES,
    SCOPED_TOKEN,
    Call,
    comparable,
    scope_call,
    scope_expected,
    send_call,
    tables_snapshot,
)
from ticketing import auth, service
from ticketing.grants import EVERYTHING
from ticketing.model import SYSTEM

from devkit import clients, demo, metering
from devkit import template as tpl
from devkit.local import apigateway as apigw

KAPTURE = "/update-ticket-from-other-source.html/v.2.0"
HIDDEN = demo.TICKETS[1004 - demo.COUNTER_FLOOR - 1]  # what 1004 holds, none of it to be shown


def canonical(template, method, url, body=None, token="tkt_demo_canonical_facilities"):
    resp = apigw.request(
        template,
        method,
        url,
        body=json.dumps(body) if body is not None else "",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    return resp["statusCode"], json.loads(resp["body"]) if resp["body"] else None


def kapture(template, updates, token="tkt_demo_kapture_facilities"):
    resp = apigw.request(
        template,
        "POST",
        KAPTURE,
        body=json.dumps(updates),
        headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"},
    )
    return resp["statusCode"], resp["body"]


def state(ticket_id: int) -> tuple:
    """The ticket as stored and its whole history."""
    ticket = service.repository().require(ticket_id)
    entries, _ = service.repository().history(ticket_id, limit=100, cursor=None, newest=ticket.version)
    return ticket.model_dump(mode="json"), [e.model_dump(mode="json") for e in entries]


# -- a Kapture batch across scopes ------------------------------------------------------------------
def test_a_kapture_batch_applies_only_what_is_in_scope_and_answers_each_element(aws, seeded):
    updates = [
        {"ticket_id": "1001", "sub_status": "P", "comment": "first, in scope"},
        {"ticket_id": "1002", "sub_status": "P", "comment": "read-only"},
        {"ticket_id": "1004", "sub_status": "CL", "comment": "out of scope"},
        {"ticket_id": "1001", "sub_status": "P", "queue": "mobile", "comment": "a move out of the grants"},
        {"ticket_id": "1001", "sub_status": "P", "queue": "maintenance", "comment": "a move to a read-only queue"},
        {"ticket_id": "999999", "sub_status": "P", "comment": "no such ticket"},
        {"ticket_id": "1001", "sub_status": "CL", "comment": "second, in scope"},
    ]
    before = {t: state(t) for t in (1001, 1002, 1004)}
    status, text = kapture(aws, updates)
    assert status == 207, text[:500]
    answers = json.loads(text)
    assert [a["status"] for a in answers] == ["success", "failed", "failed", "failed", "failed", "failed", "success"]
    assert answers[1]["message"] == "This client may read ticket 1002 but not change it."
    assert answers[2] == {"message": "No Data found for ticket_id 1004.", "status": "failed"}
    assert answers[5] == {"message": "No Data found for ticket_id 999999.", "status": "failed"}  # 1004's words
    assert "mobile" in answers[3]["message"] and "maintenance" in answers[4]["message"]
    for leaked in (HIDDEN["title"], HIDDEN["description"]):
        assert leaked not in text
    # only the in-scope elements were applied, in order; the refused moves left no trace
    after = service.repository().require(1001)
    assert after.version == 3 and after.queue == "facilities" and after.status == "closed"
    _, entries = state(1001)
    assert [e["version"] for e in entries] == [3, 2, 1]
    assert [m.body for m in service.repository().messages(1001)] == ["first, in scope", "second, in scope"]
    assert answers[6]["ticket"]["id"] == 1001 and answers[6]["ticket"]["queueKey"] == "facilities"
    assert {t: state(t) for t in (1002, 1004)} == {t: before[t] for t in (1002, 1004)}


def test_a_kapture_batch_of_refusals_only_changes_nothing(aws, seeded):
    before = tables_snapshot()
    status, text = kapture(aws, [{"ticket_id": "1002", "sub_status": "P"}, {"ticket_id": "1004", "sub_status": "P"}])
    assert status == 207
    assert [a["status"] for a in json.loads(text)] == ["failed", "failed"]
    assert tables_snapshot() == before


# -- moving tickets between queues ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("ticket", "patch", "status"),
    [
        (1001, {"queue": "mobile"}, 403),  # to a queue the client may not see
        (1001, {"queue": "maintenance"}, 403),  # to a queue it may only read
        (1001, {"queue": None}, 403),  # to no queue: reached only through *
        (1001, {"queue": "", "priority": 1}, 403),  # and nothing else of the patch either
        (1002, {"queue": "facilities"}, 403),  # out of a queue it may only read
        (1004, {"queue": "facilities"}, 404),  # out of a queue it may not see: not found
    ],
)
def test_a_move_outside_the_write_grants_is_refused_and_changes_nothing(aws, seeded, ticket, patch, status):
    before = tables_snapshot()
    got, problem = canonical(aws, "PATCH", f"/tickets/{ticket}", patch)
    assert got == status, problem
    assert problem["type"] == ("urn:tickets:problem:forbidden" if status == 403 else "urn:tickets:problem:not_found")
    assert tables_snapshot() == before
    if status == 404:
        assert HIDDEN["title"] not in json.dumps(problem)


def test_moves_within_the_write_grants_go_through(aws, seeded):
    token, _ = auth.create_client(
        "facilities and support", ["canonical"], grants={"facilities": "write", "support": "write"}
    )
    assert canonical(aws, "PATCH", "/tickets/1001", {"queue": "support"}, token)[0] == 200
    assert service.repository().require(1001).queue == "support"
    # the demo scoped client no longer sees it; the other moves it back
    assert canonical(aws, "GET", "/tickets/1001")[0] == 404
    status, moved = canonical(aws, "PATCH", "/tickets/1001", {"queue": "facilities", "priority": 4}, token)
    assert status == 200 and moved["queue"] == "facilities" and moved["version"] == 3
    assert canonical(aws, "GET", "/tickets/1001")[0] == 200


def test_kapture_moves_within_and_outside_the_write_grants(aws, seeded):
    token, _ = auth.create_client(
        "Kapture facilities and support", ["kapture"], grants={"facilities": "write", "support": "write"}
    )
    status, text = kapture(aws, {"ticket_id": "1001", "sub_status": "P", "queue": "support"}, token)
    assert status == 200 and json.loads(text)["ticket"]["queueKey"] == "support"
    status, text = kapture(aws, {"ticket_id": "1001", "sub_status": "PS", "queue": "escalations"}, token)
    assert status == 403 and json.loads(text)["status"] == "failed"
    ticket = service.repository().require(1001)
    assert ticket.queue == "support" and ticket.version == 2


def test_spp_names_no_queue_so_it_cannot_move_a_ticket(aws, seeded):
    """SPP's SaveTicketRequest has no queue: an unknown parameter is ignored (as SPP does)."""
    resp = send_call(
        aws,
        ("PUT", "/api/tickets/{ticket}"),
        Call("/api/tickets/8FC95B0F", {"status": 3, "queue": "mobile"}),
        SCOPED_TOKEN["spp"],
    )
    assert resp["statusCode"] == 200, resp["body"][:300]
    assert service.repository().require(1001).queue == "facilities"


@pytest.mark.parametrize(("queue", "status"), [("facilities", 201), ("maintenance", 403), ("mobile", 403), ("", 403)])
def test_creating_needs_write_on_the_new_tickets_queue(aws, seeded, queue, status):
    before = tables_snapshot()
    body = {"title": "Scoped create", **({"queue": queue} if queue else {})}
    got, answer = canonical(aws, "POST", "/tickets", body)
    assert got == status, answer
    if status == 201:
        assert answer["queue"] == "facilities"
        assert canonical(aws, "GET", f"/tickets/{answer['id']}")[0] == 200
    else:
        assert answer["type"] == "urn:tickets:problem:forbidden"
        assert tables_snapshot() == before  # no ticket, no id taken


# -- a refusal with an Idempotency-Key --------------------------------------------------------------
WRITE_TICKET_ROUTES = [r for r in SCOPE_ROUTES if r[0] != "GET" and r in SCOPE_CALLS]
TICKET_OF = {"read-only scope": 1002, "out of scope": 1004}
QUEUE_OF = {1002: "maintenance", 1004: "mobile"}


@pytest.mark.parametrize("scope", list(TICKET_OF))
@pytest.mark.parametrize("route", WRITE_TICKET_ROUTES, ids=[f"{m} {p}" for m, p in WRITE_TICKET_ROUTES])
def test_a_refusal_with_an_idempotency_key_is_not_kept(aws, seeded, route, scope):
    """Sent with an Idempotency-Key, the grants' refusal is the same answer and leaves nothing
    behind (no record of the key either): once the client is granted the queue, the same request
    with the same key is applied."""
    dialect = OPERATIONS[route].dialect
    call = SCOPE_CALLS[route](TICKET_OF[scope])
    token = SCOPED_TOKEN[dialect]
    plain = send_call(aws, route, call, token)
    before = tables_snapshot()
    keyed = apigw.request(aws, route[0], call.url, body=call.payload(), headers=keyed_headers(dialect, call, token))
    expected = scope_expected(route, "read-only scope" if scope == "read-only scope" else "out of scope")
    assert keyed["statusCode"] == plain["statusCode"] == expected
    assert comparable(keyed["statusCode"], keyed["headers"], keyed["body"]) == comparable(
        plain["statusCode"], plain["headers"], plain["body"]
    )
    assert tables_snapshot() == before
    if dialect == "myhrw":  # its demo partner tickets are on 1001 only: nothing to apply elsewhere
        return
    assert auth.set_grant(auth.lookup(token).client_id, QUEUE_OF[TICKET_OF[scope]], "write") == 1
    again = apigw.request(aws, route[0], call.url, body=call.payload(), headers=keyed_headers(dialect, call, token))
    assert again["statusCode"] == call.ok, again["body"][:300]


def keyed_headers(dialect: str, call: Call, token: str) -> dict[str, str]:
    scheme = "Basic" if dialect == "kapture" else "Bearer"
    return {"Content-Type": call.content_type, "Authorization": f"{scheme} {token}", "Idempotency-Key": "scope-key-1"}


# -- what the check costs ---------------------------------------------------------------------------
@pytest.fixture
def reseed(seeded):
    """Put the demo tables back as ``seeded`` left them (to send one request twice from the start)."""
    from conftest import _SEEDED
    from moto.dynamodb.models import dynamodb_backends

    def again():
        dynamodb_backends[tpl.ACCOUNT][tpl.REGION].tables = copy.deepcopy(_SEEDED["tables"])

    return again


@pytest.mark.parametrize("route", SCOPE_ROUTES, ids=[f"{m} {p}" for m, p in SCOPE_ROUTES])
def test_a_scoped_client_costs_no_extra_dynamodb_call(aws, reseed, route):
    """The same request on an in-scope ticket, by the dialect's all-access client and by its
    scoped one: the same DynamoDB calls (the grants come with the client's record; the ticket is
    read anyway)."""
    dialect = OPERATIONS[route].dialect
    call = scope_call(route, "in scope")
    counts = {}
    for who, token in (("all access", OWN_TOKEN[dialect]), ("scoped", SCOPED_TOKEN[dialect])):
        reseed()
        send_call(aws, ("GET", "/tickets/{id}"), SCOPE_CALLS[("GET", "/tickets/{id}")](1001), OWN_TOKEN["canonical"])
        with metering.aws_calls() as calls:
            resp = send_call(aws, route, call, token)
        assert resp["statusCode"] == call.ok, (who, resp["body"][:300])
        counts[who] = dict(calls)
    assert counts["scoped"] == counts["all access"]


# -- a move racing the write -----------------------------------------------------------------------
def test_a_move_racing_the_write_is_checked_again(aws, seeded, monkeypatch):
    """The client reads 1001 in its queue; before its write lands, another writer moves the ticket
    out of the client's grants. The write is conditioned on the queue it read, so it is tried
    again on the ticket as it now is -- out of scope: not found, nothing of the client's written."""
    real_get = service.get_ticket

    def read_then_lose_it(identifier, **kwargs):
        current = real_get(identifier, **kwargs)
        monkeypatch.setattr(service, "get_ticket", real_get)

        def move(ticket, cs):
            ticket.queue = "mobile"

        service.update_ticket(1001, move, SYSTEM, access=EVERYTHING)
        return current

    monkeypatch.setattr(service, "get_ticket", read_then_lose_it)
    status, problem = canonical(aws, "PATCH", "/tickets/1001", {"priority": 5})
    assert status == 404, problem
    ticket = service.repository().require(1001)
    assert ticket.queue == "mobile" and ticket.priority == 2 and ticket.version == 2


def test_a_move_racing_a_kapture_element_is_checked_again(aws, seeded, monkeypatch):
    """The same race in a batch: the element whose ticket left the grants is Kapture's own
    "No Data found", the others applied."""
    real_get = service.get_tickets

    def read_then_lose_one(ticket_ids, **kwargs):
        found = real_get(ticket_ids, **kwargs)

        def move(ticket, cs):
            ticket.queue = "mobile"

        service.update_ticket(1001, move, SYSTEM, access=EVERYTHING)
        return found

    monkeypatch.setattr(service, "get_tickets", read_then_lose_one)
    token, _ = auth.create_client("Kapture two queues", ["kapture"], grants={"facilities": "write", "support": "write"})
    service.update_ticket(1003, lambda t, cs: setattr(t, "queue", "support"), SYSTEM, access=EVERYTHING)
    status, text = kapture(
        aws, [{"ticket_id": "1001", "sub_status": "P"}, {"ticket_id": "1003", "sub_status": "P"}], token
    )
    assert status == 207, text[:300]
    lost, applied = json.loads(text)
    assert lost == {"message": "No Data found for ticket_id 1001.", "status": "failed"}
    assert applied["status"] == "success"
    assert service.repository().require(1001).version == 2  # the move only


# -- devkit.clients ---------------------------------------------------------------------------------
def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = clients.main(["--table", "ClientsTable", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_devkit_clients_create_grant_revoke_and_list(aws, seeded, capsys):
    code, out, err = cli(
        capsys, "create", "--name", "CLI scoped", "--dialect", "canonical", "--grant", "billing", "--grant",
        "facilities:read",
    )  # fmt: skip
    assert code == 0 and "cannot be shown again" in err
    made = json.loads(out)
    token, client_id = made["token"], made["client_id"]
    assert made["grants"] == {"billing": "write", "facilities": "read"}

    def get(ticket_id):
        return canonical(aws, "GET", f"/tickets/{ticket_id}", token=token)[0]

    def patch(ticket_id):
        return canonical(aws, "PATCH", f"/tickets/{ticket_id}", {"priority": 1}, token=token)[0]

    assert (get(1001), patch(1001), get(1004)) == (200, 403, 404)

    code, out, _ = cli(capsys, "grant", client_id, "mobile:write")
    assert code == 0 and out.strip() == f"granted mobile:write on 1 token(s) of {client_id}"
    assert (get(1004), patch(1004)) == (200, 200)  # at once: the grant clears the auth cache
    assert cli(capsys, "grant", client_id, "facilities")[0] == 0  # write when not said
    assert patch(1001) == 200

    code, out, _ = cli(capsys, "revoke", client_id, "facilities")
    assert code == 0 and out.strip() == f"revoked facilities on 1 token(s) of {client_id}"
    assert get(1001) == 404

    code, out, _ = cli(capsys, "list")
    listed = [json.loads(line) for line in out.splitlines()]
    mine = [c for c in listed if c["client_id"] == client_id]
    assert len(mine) == 1 and mine[0]["grants"] == {"billing": "write", "mobile": "write"}
    assert "token_hash" not in out and token not in out and auth.hash_token(token) not in out
    scoped = [c for c in listed if c["name"] == "Demo spp client scoped to facilities"]
    assert scoped and scoped[0]["grants"] == demo.SCOPED_GRANTS

    assert cli(capsys, "grant", "cli_nosuchclient00", "billing")[0] == 1


def test_devkit_clients_without_a_grant_keeps_every_queue(aws, seeded, capsys):
    """No --grant: every queue (as a client from before grants); a grant on it names one queue."""
    code, out, _ = cli(capsys, "create", "--name", "CLI all", "--dialect", "canonical")
    made = json.loads(out)
    assert code == 0 and made["grants"] is None
    status, _ = canonical(aws, "GET", "/tickets/1004", token=made["token"])
    assert status == 200
    assert cli(capsys, "grant", made["client_id"], "mobile:read")[0] == 0
    assert canonical(aws, "PATCH", "/tickets/1004", {"priority": 1}, token=made["token"])[0] == 403
    assert canonical(aws, "PATCH", "/tickets/1001", {"priority": 1}, token=made["token"])[0] == 200


def test_devkit_clients_revoke_says_when_the_queue_stays_reachable_through_any_queue(aws, seeded, capsys):
    """Revoking a queue of a client that reaches every queue through ``*`` would take nothing
    away: refused, saying so, and the client is left as it was."""
    code, out, _ = cli(capsys, "create", "--name", "CLI star", "--dialect", "canonical", "--grant", "*")
    made = json.loads(out)
    code, out, err = cli(capsys, "revoke", made["client_id"], "mobile")
    assert code == 1 and "*" in err
    assert canonical(aws, "PATCH", "/tickets/1004", {"priority": 1}, token=made["token"])[0] == 200


def test_devkit_clients_refuses_a_malformed_grant_without_a_traceback(aws, seeded, capsys):
    with pytest.raises(SystemExit) as exit_:
        clients.main(["--table", "ClientsTable", "create", "--name", "x", "--dialect", "spp", "--grant", "a:wirte"])
    assert exit_.value.code == 2 and "a:wirte" in capsys.readouterr().err
