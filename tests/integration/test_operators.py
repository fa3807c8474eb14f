"""Operators are hub users (issue 16): ``PUT /users/{id}`` with an ``operator_key``, and
``python -m devkit.operators``, on moto through the handlers."""

from __future__ import annotations

import json

from ticketing import service

from devkit import operators
from devkit.local import apigateway as apigw

CANONICAL = {"Authorization": "Bearer tkt_demo_canonical", "Content-Type": "application/json"}
SERVICEDESK = {"Authorization": "Bearer tkt_demo_servicedesk", "Content-Type": "application/json"}


def assign(template, key: str, ticket_id: int = 1001) -> dict:
    push = {"TicketId": ticket_id, "Action": "IncidentAssignOther", "UserProviderKey": key}
    return apigw.request(template, "POST", "/api/Tickets/WorkflowPush", body=json.dumps(push), headers=SERVICEDESK)


def test_an_operator_added_over_http_is_a_user_every_dialect_shows(aws, seeded):
    user = {"name": "Ana Lima", "email": "ana.lima@example.com", "operator_key": "Ana.Lima@Example.com"}
    resp = apigw.request(aws, "PUT", "/users/504", body=json.dumps(user), headers=CANONICAL)
    assert resp["statusCode"] == 201, resp["body"]
    resp = assign(aws, "ana.lima@example.com")
    assert resp["statusCode"] == 200, resp["body"]
    assert service.read_ticket(1001).assignee_ids == [504]
    got = apigw.request(aws, "GET", "/tickets/1001", headers=CANONICAL)
    assert json.loads(got["body"])["assignee_ids"] == [504]


def test_one_operator_key_names_one_user(aws, seeded):
    user = {"name": "Someone Else", "email": "else@example.com", "operator_key": "jane.smith@example.com"}
    resp = apigw.request(aws, "PUT", "/users/777", body=json.dumps(user), headers=CANONICAL)
    assert resp["statusCode"] == 400
    assert "is the operator key of user 501" in resp["body"]
    assert service.get_references("user", [777]) == {}  # nothing written


def test_the_operators_command_puts_lists_and_retires(aws, seeded, capsys):
    assert (
        operators.main(["put", "505", "--key", "bo.chen@example.com", "--name", "Bo Chen", "--email", "bo@example.com"])
        == 0
    )
    assert json.loads(capsys.readouterr().out) == {
        "user_id": 505,
        "created": True,
        "operator_key": "bo.chen@example.com",
    }
    assert operators.main(["list"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {"operator_key": "bo.chen@example.com", "user_id": 505, "name": "Bo Chen", "active": True} in rows
    assert {r["operator_key"] for r in rows} >= {"jane.smith@example.com", "former.operator@example.com"}
    assert assign(aws, "bo.chen@example.com")["statusCode"] == 200
    assert operators.main(["retire", "505"]) == 0
    capsys.readouterr()
    refused = assign(aws, "bo.chen@example.com", ticket_id=1005)
    assert refused["statusCode"] == 400 and "is not a known operator" in refused["body"]
    assert service.get_references("user", [505])["505"]["email"] == "bo@example.com"  # still a user
