"""The local run's API Gateway emulation, on a small template of test functions."""

from __future__ import annotations

import base64
import json

import pytest

from devkit import template as tpl
from devkit.local import runtime
from devkit.local.apigateway import LocalApi
from devkit.local.scheduler import SchedulerPump


@pytest.fixture(scope="module")
def api():
    return LocalApi(tpl.load(tpl.ROOT / "tests" / "data" / "template.yaml"))


def _echo(api, method, target, headers=(), body=b""):
    status, out_headers, data = api.handle(method, target, list(headers), body, "10.1.2.3")
    return status, out_headers, json.loads(data)


def test_event_is_built_as_the_rest_proxy_integration_builds_it(api):
    status, headers, body = _echo(
        api,
        "POST",
        "/things/a%20b?x=1&x=2&y=",
        [("Content-Type", "application/json"), ("X-Multi", "1"), ("x-multi", "2")],
        b'{"k": "v"}',
    )
    event = body["echo"]
    assert status == 200
    assert event["resource"] == "/things/{id}" and event["path"] == "/things/a b"
    assert event["pathParameters"] == {"id": "a b"}
    assert event["queryStringParameters"] == {"x": "2", "y": ""}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"], "y": [""]}
    assert event["multiValueHeaders"]["X-Multi"] == ["1"] and event["multiValueHeaders"]["x-multi"] == ["2"]
    assert event["body"] == '{"k": "v"}' and event["isBase64Encoded"] is False
    ctx = event["requestContext"]
    assert ctx["stage"] == "test" and ctx["resourcePath"] == "/things/{id}" and ctx["httpMethod"] == "POST"
    assert ctx["identity"]["sourceIp"] == "10.1.2.3" and ctx["requestId"]
    assert ("Set-Cookie", "a=1") in headers and ("Set-Cookie", "b=2") in headers and ("X-Single", "one") in headers


def test_literal_routes_win_over_variables(api):
    _, _, body = _echo(api, "POST", "/things/special")
    assert body["echo"]["resource"] == "/things/special" and body["echo"]["pathParameters"] is None


def test_greedy_path_parameter(api):
    _, _, body = _echo(api, "GET", "/files/a/b/c.txt")
    assert body["echo"]["pathParameters"] == {"path": "a/b/c.txt"}


def test_binary_media_types_arrive_base64(api):
    raw = bytes(range(256))
    _, _, body = _echo(api, "POST", "/things/1", [("Content-Type", "application/octet-stream")], raw)
    assert body["echo"]["isBase64Encoded"] is True
    assert base64.b64decode(body["echo"]["body"]) == raw


def test_unknown_route_and_wrong_method_are_missing_authentication_token(api):
    for method, path in [("GET", "/nothing"), ("DELETE", "/things/1")]:
        status, _, data = api.handle(method, path, [], b"", "127.0.0.1")
        assert status == 403 and json.loads(data) == {"message": "Missing Authentication Token"}


def test_a_crashing_handler_is_a_502(api, caplog):
    status, _, data = api.handle("GET", "/crash", [], b"", "127.0.0.1")
    assert status == 502 and json.loads(data) == {"message": "Internal server error"}
    assert "RuntimeError: boom" in caplog.text


def test_due_schedules_fire_into_their_target_once(api, aws):
    import boto3

    client = boto3.client("scheduler")
    target_arn = api.template.arn("EchoFunction")
    common = {"FlexibleTimeWindow": {"Mode": "OFF"}, "ActionAfterCompletion": "DELETE"}
    client.create_schedule(
        Name="due",
        ScheduleExpression="at(2020-01-01T00:00:00)",
        Target={"Arn": target_arn, "RoleArn": "arn:aws:iam::123456789012:role/r", "Input": '{"ticket": 1001}'},
        **common,
    )
    client.create_schedule(
        Name="later",
        ScheduleExpression="at(2999-01-01T00:00:00)",
        Target={"Arn": target_arn, "RoleArn": "arn:aws:iam::123456789012:role/r", "Input": "{}"},
        **common,
    )
    pump = SchedulerPump(api, endpoint=None)

    echo = runtime._modules["EchoFunction"]
    before = len(echo.EVENTS)
    assert pump.pump() == 1
    assert echo.EVENTS[before:] == [{"ticket": 1001}]
    assert [s["Name"] for s in client.list_schedules()["Schedules"]] == ["later"]
    assert pump.pump() == 0
