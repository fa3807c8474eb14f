"""Webhooks end to end on the local run (``make run`` in a subprocess), with a receiver on loopback
that verifies every delivery with the ``standardwebhooks`` library: every change in order, no
echo, retries while the receiver is down and then the dead-letter queue, replay.  The local run
is started with a tiny backoff (``WEBHOOK_RETRY_*``): the 24 receives before the dead-letter
queue take a second or two instead of a day."""

from __future__ import annotations

import json
import time

import pytest
from conftest import LocalRunClient
from test_webhooks import Receiver
from ticketing.webhooks import delivery

from devkit.local import run as serve

CANONICAL = {"Authorization": "Bearer tkt_demo_canonical"}
KAPTURE = {"Authorization": "Bearer tkt_demo_kapture"}
SPP = {"Authorization": "Bearer tkt_demo_spp"}


@pytest.fixture(scope="session")  # not "module": xdist's worksteal interleaves modules, each return a new spawn
def run():
    env = {"WEBHOOK_RETRY_BASE_SECONDS": "0.01", "WEBHOOK_RETRY_CAP_SECONDS": "0.01"}
    with serve.spawned(env=env) as url:
        yield LocalRunClient(url)


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def wait_for(predicate, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def subscribe(run, receiver, headers) -> dict:
    status, _, doc = run.json("POST", "/webhooks", {"url": receiver.url}, headers)
    assert status == 201, doc
    receiver.secret = doc["secret"]
    return doc


def patch(run, ticket: int, body: dict, headers=CANONICAL) -> int:
    status, _, doc = run.json("PATCH", f"/tickets/{ticket}", body, headers)
    assert status == 200, doc
    return doc["version"]


def test_a_partner_receives_every_change_in_order_and_the_originator_no_echo(run, receiver):
    partner = subscribe(run, receiver, KAPTURE)
    echo = Receiver()
    try:
        subscribe(run, echo, CANONICAL)
        made = [(t, patch(run, t, {"title": f"local {n}"})) for n in range(5) for t in (1001, 1002)]
        status, _, _ = run.json("PUT", "/api/tickets/8FC95B0F", {"status": 3}, SPP)  # SPP changes 1001
        assert status == 200
        run.settle()
        wait_for(lambda: len(receiver.got) >= len(made) + 1 and echo.got)
        run.settle()  # nothing more comes
        assert receiver.rejected == [] and echo.rejected == []
        got = [(d["body"]["data"]["ticket"]["id"], d["body"]["data"]["version"]) for d in receiver.got]
        assert len(got) == len(set(got)) == len(made) + 1
        for ticket in (1001, 1002):
            versions = [v for t, v in got if t == ticket]
            assert versions == sorted(versions)
        assert set(made) <= set(got)
        # the canonical client hears of the SPP change only: never of its own
        assert [d["body"]["data"]["actor"]["dialect"] for d in echo.got] == ["spp"]
        status, _, page = run.json("GET", f"/webhooks/{partner['id']}/deliveries", None, KAPTURE)
        assert status == 200 and {a["status"] for a in page["items"]} == {"delivered"}
        status, _, console = run.json("GET", "/_local/webhooks")
        assert status == 200 and {f"ticket-{t}-v{v}" for t, v in made} <= {e["event_id"] for e in console["events"]}
    finally:
        echo.close()
        run.json("DELETE", f"/webhooks/{partner['id']}", None, KAPTURE)


def test_while_the_receiver_is_down_retries_then_the_dead_letter_queue_then_replay(run, receiver):
    sub = subscribe(run, receiver, KAPTURE)
    try:
        receiver.status = 503
        first, second = patch(run, 1003, {"title": "down 1"}), patch(run, 1003, {"title": "down 2"})
        wait_for(lambda: len(run.json("GET", "/_local/webhooks")[2]["dead_letters"]) == 2)
        _, _, page = run.json("GET", f"/webhooks/{sub['id']}/deliveries?limit=100", None, KAPTURE)
        tries = [a for a in page["items"] if a["event_id"] == f"ticket-1003-v{first}"]
        assert len(tries) == delivery.MAX_RECEIVES and tries[0]["status"] == "dead"
        assert all(a["response_code"] == 503 for a in tries)
        receiver.status = 204
        status, _, replayed = run.json("POST", "/_local/webhooks/replay")
        assert status == 200 and replayed == {"replayed": 2}
        wait_for(lambda: len(receiver.got) == 2)
        assert [d["body"]["data"]["version"] for d in receiver.got] == [first, second]
        assert run.json("GET", "/_local/webhooks")[2]["dead_letters"] == []
    finally:
        run.json("DELETE", f"/webhooks/{sub['id']}", None, KAPTURE)


def test_the_console_page_has_the_events_section(http):
    run = http  # the session's local run: this needs none of the tiny backoff (a spawn saved)
    status, _, page = run.request("GET", "/_local/")
    assert status == 200 and b'id="webhooks-section"' in page and b"/_local/webhooks.js" in page
    status, _, script = run.request("GET", "/_local/webhooks.js")
    assert status == 200 and b"/_local/webhooks" in script
    status, _, doc = run.json("GET", "/_local/webhooks")
    assert json.dumps(doc) and set(doc) == {"events", "deliveries", "dead_letters"}
