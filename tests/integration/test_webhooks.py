"""Webhook subscriptions (issue 20), through the handlers on moto, with a receiver on loopback.

The tickets table's stream is handed to TicketEventsFunction (``devkit.local.streams``), the FIFO delivery
queue to WebhookDeliveryFunction (``devkit.deliveries``), both as Lambda's event sources would; the
receiver is an HTTP server on 127.0.0.1 that verifies every delivery with the ``standardwebhooks``
library.  The backoff is made tiny (the schedule's shape is the template's), so the 24 receives
before the dead-letter queue take a moment.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import standardwebhooks
from ticketing import settings
from ticketing.webhooks import delivery, signing, urls

from devkit import metering
from devkit import template as tpl
from devkit.local import apigateway as apigw
from devkit.local import deliveries, runtime
from devkit.local.streams import StreamPump

CANONICAL = {"Authorization": "Bearer tkt_demo_canonical"}
KAPTURE = {"Authorization": "Bearer tkt_demo_kapture"}
SCOPED = {"Authorization": "Bearer tkt_demo_kapture_facilities"}  # facilities: write, maintenance: read


class Receiver:
    """A subscriber's endpoint: verifies each delivery's signature; ``status`` is what it answers."""

    def __init__(self):
        self.got: list[dict] = []
        self.rejected: list[str] = []
        self.status = 204
        self.secret: str | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.status >= 300:
                    self.send_response(receiver.status)
                    self.end_headers()
                    return
                try:
                    doc = standardwebhooks.Webhook(receiver.secret).verify(body, dict(self.headers))
                except standardwebhooks.WebhookVerificationError as err:
                    receiver.rejected.append(str(err))
                    self.send_response(400)
                    self.end_headers()
                    return
                receiver.got.append({"id": self.headers["webhook-id"], "body": doc, "path": self.path})
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Hub:
    """The two event sources of the webhooks, pumped until nothing moves."""

    def __init__(self, template):
        self.template = template
        self.stream = StreamPump(template, endpoint=None)
        self.stream.sources = [s for s in self.stream.sources if s.fn.logical_id == "TicketEventsFunction"]
        self.queue = deliveries.SqsPump(template, endpoint=None)
        self.stream.pump()  # the demo data's changes

    def settle(self):
        for _ in range(100):
            if not (self.stream.pump() + self.queue.pump()):
                return
        raise AssertionError("never settled")


@pytest.fixture
def hub(aws, seeded, lambdas, monkeypatch):
    monkeypatch.setenv("WEBHOOK_RETRY_BASE_SECONDS", "0.001")
    monkeypatch.setenv("WEBHOOK_RETRY_CAP_SECONDS", "0.001")
    settings.reset()
    yield Hub(aws)
    settings.reset()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def subscribe(template, receiver: Receiver, headers: dict, **body) -> dict:
    resp = apigw.request(template, "POST", "/webhooks", body=json.dumps({"url": receiver.url, **body}), headers=headers)
    assert resp["statusCode"] == 201, resp["body"]
    doc = json.loads(resp["body"])
    assert doc["secret"].startswith("whsec_")
    receiver.secret = doc["secret"]
    return doc


def patch(template, ticket: int, body: dict, headers: dict = CANONICAL) -> dict:
    resp = apigw.request(template, "PATCH", f"/tickets/{ticket}", body=json.dumps(body), headers=headers)
    assert resp["statusCode"] == 200, resp["body"]
    return json.loads(resp["body"])


def test_every_change_is_delivered_signed_once_and_in_order_per_ticket(aws, hub, receiver):
    sub = subscribe(aws, receiver, KAPTURE)
    made = []
    for n in range(6):
        for ticket in (1001, 1002):
            made.append((ticket, patch(aws, ticket, {"title": f"change {n} of {ticket}"})["version"]))
    hub.settle()
    assert receiver.rejected == []
    got = [(d["body"]["data"]["ticket"]["id"], d["body"]["data"]["version"]) for d in receiver.got]
    assert sorted(got) == sorted(made)  # every change, once
    for ticket in (1001, 1002):
        versions = [v for t, v in got if t == ticket]
        assert versions == sorted(versions)  # in order
    first = receiver.got[0]
    assert first["id"] == first["body"]["data"]["event_id"] == "ticket-{}-v{}".format(*got[0])
    assert first["body"]["type"] == "Ticket Changed" and first["body"]["data"]["actor"]["dialect"] == "canonical"
    view = first["body"]["data"]["view"]
    assert view["format"] == "canonical" and view["ticket"]["id"] == got[0][0]
    assert view["ticket"]["version"] == got[0][1]  # the ticket as that change left it
    resp = apigw.request(aws, "GET", f"/webhooks/{sub['id']}/deliveries", headers=KAPTURE)
    attempts = json.loads(resp["body"])["items"]
    assert len(attempts) == len(made) and {a["status"] for a in attempts} == {"delivered"}
    assert all(a["response_code"] == 204 and a["latency_ms"] is not None for a in attempts)


def test_a_client_never_hears_of_its_own_changes(aws, hub, receiver):
    subscribe(aws, receiver, CANONICAL)
    patch(aws, 1001, {"title": "made by the subscriber"})
    hub.settle()
    assert receiver.got == []
    spp = tpl.default().functions()["SppUpdateTicketFunction"]
    event = json.loads((tpl.ROOT / "events/spp_update_ticket/status.json").read_text())
    assert runtime.invoke(spp, event)["statusCode"] == 200  # another client's change
    hub.settle()
    assert [d["body"]["data"]["actor"]["dialect"] for d in receiver.got] == ["spp"]


def test_only_tickets_within_the_subscribers_grants(aws, hub, receiver):
    subscribe(aws, receiver, SCOPED, kinds=["Ticket Changed"])
    patch(aws, 1001, {"title": "facilities: written"})
    patch(aws, 1002, {"title": "maintenance: read"})
    patch(aws, 1003, {"title": "mobile: none"})
    patch(aws, 1001, {"status": "in_progress"})  # another kind
    hub.settle()
    assert sorted(d["body"]["data"]["ticket"]["id"] for d in receiver.got) == [1001, 1002]


def test_while_the_receiver_is_down_deliveries_retry_then_land_in_the_dead_letter_queue_and_replay(aws, hub, receiver):
    sub = subscribe(aws, receiver, KAPTURE)
    receiver.status = 503
    v2 = patch(aws, 1001, {"title": "first"})["version"]
    v3 = patch(aws, 1001, {"title": "second"})["version"]
    hub.settle()
    assert receiver.got == [] and deliveries.dead_letters(aws) == 2
    attempts = json.loads(
        apigw.request(aws, "GET", f"/webhooks/{sub['id']}/deliveries?limit=100", headers=KAPTURE)["body"]
    )
    statuses = [a for a in attempts["items"] if a["event_id"] == f"ticket-1001-v{v2}"]
    assert len(statuses) == delivery.MAX_RECEIVES
    assert {a["status"] for a in statuses} == {"failed", "dead"} and all(a["response_code"] == 503 for a in statuses)
    assert [a["attempt"] for a in statuses if a["status"] == "dead"] == [delivery.MAX_RECEIVES]
    assert all(a["next_retry_at"] for a in statuses if a["status"] == "failed")
    receiver.status = 204
    assert deliveries.replay(aws) == 2
    hub.settle()
    assert [d["body"]["data"]["version"] for d in receiver.got] == [v2, v3]
    assert deliveries.dead_letters(aws) == 0


def test_a_deleted_subscription_gets_nothing_more(aws, hub, receiver):
    sub = subscribe(aws, receiver, KAPTURE)
    assert apigw.request(aws, "DELETE", f"/webhooks/{sub['id']}", headers=KAPTURE)["statusCode"] == 204
    patch(aws, 1001, {"title": "after"})
    hub.settle()
    assert receiver.got == []
    listed = json.loads(apigw.request(aws, "GET", "/webhooks", headers=KAPTURE)["body"])["items"]
    assert sub["id"] not in [s["id"] for s in listed]
    assert apigw.request(aws, "DELETE", f"/webhooks/{sub['id']}", headers=KAPTURE)["statusCode"] == 404


def test_a_subscription_is_read_with_its_caller_and_only_its_owner_sees_it(aws, hub, receiver):
    sub = subscribe(aws, receiver, KAPTURE)
    path = f"/webhooks/{sub['id']}"
    with metering.aws_calls() as calls:  # the client, the subscription read ahead beside it
        assert apigw.request(aws, "GET", f"{path}/deliveries", headers=KAPTURE)["statusCode"] == 200
    assert calls == {"BatchGetItem": 1, "Query": 1}
    with metering.aws_calls() as calls:  # read ahead for another client too: not its own, not found
        assert apigw.request(aws, "DELETE", path, headers=CANONICAL)["statusCode"] == 404
    assert calls == {"BatchGetItem": 1}
    with metering.aws_calls() as calls:
        assert apigw.request(aws, "DELETE", path, headers=KAPTURE)["statusCode"] == 204
    assert calls == {"BatchGetItem": 1, "UpdateItem": 1}


def test_the_secret_is_shown_once(aws, hub, receiver):
    sub = subscribe(aws, receiver, KAPTURE)
    listed = json.loads(apigw.request(aws, "GET", "/webhooks", headers=KAPTURE)["body"])["items"]
    [mine] = [s for s in listed if s["id"] == sub["id"]]
    assert "secret" not in mine and mine["url"] == receiver.url
    other = json.loads(apigw.request(aws, "GET", "/webhooks", headers=SCOPED)["body"])["items"]
    assert sub["id"] not in [s["id"] for s in other]


def test_errors_are_canonical_problem_documents(aws, seeded):
    resp = apigw.request(aws, "POST", "/webhooks", body=json.dumps({"url": "https://example.com/x"}), headers=KAPTURE)
    assert resp["statusCode"] == 400 and resp["headers"]["Content-Type"] == "application/problem+json"
    body = json.loads(resp["body"])
    assert body["errors"][0]["field"] == "url" and "loopback" in body["errors"][0]["message"]
    resp = apigw.request(aws, "GET", "/webhooks", headers={})
    assert resp["statusCode"] == 401 and resp["headers"]["WWW-Authenticate"] == 'Bearer realm="tickets"'


def test_the_signature_is_the_standard_webhooks_one():
    secret = signing.new_secret()
    body = b'{"type":"Ticket Changed"}'
    headers = signing.headers(secret, "ticket-1-v2", 1_700_000_000, body)
    wh = standardwebhooks.Webhook(secret)
    assert (
        wh.sign("ticket-1-v2", __import__("datetime").datetime.fromtimestamp(1_700_000_000), body.decode())
        == (headers["webhook-signature"])
    )


@pytest.mark.parametrize(
    ("url", "loopback_only", "allowed"),
    [
        ("http://127.0.0.1:8000/x", True, True),
        ("http://localhost/x", True, True),
        ("http://[::1]:9/x", True, True),
        ("https://example.com/x", True, False),
        ("http://10.0.0.1/x", True, False),
        ("https://user:pw@127.0.0.1/x", True, False),
        ("ftp://127.0.0.1/x", True, False),
        ("http://example.com/x", False, False),  # deployed: https only
        ("https://127.0.0.1/x", False, False),  # deployed: never loopback
        ("https://169.254.169.254/latest/meta-data", False, False),  # nor the metadata service
        ("https://10.1.2.3/x", False, False),
    ],
)
def test_which_urls_a_subscription_may_name(monkeypatch, url, loopback_only, allowed):
    monkeypatch.setenv("TICKETS_TABLE", "TicketsTable")
    monkeypatch.setenv("CLIENTS_TABLE", "ClientsTable")
    monkeypatch.setenv("WEBHOOKS_LOOPBACK_ONLY", "1" if loopback_only else "0")
    settings.reset()
    try:
        assert (urls.problem(url) is None) is allowed, urls.problem(url)
    finally:
        settings.reset()


def test_the_retries_last_24_hours_then_the_dead_letter_queue_as_the_template_says(monkeypatch):
    monkeypatch.setenv("TICKETS_TABLE", "TicketsTable")
    monkeypatch.setenv("CLIENTS_TABLE", "ClientsTable")
    settings.reset()
    queue = tpl.default().resources["WebhookDeliveryQueue"]["Properties"]
    assert queue["FifoQueue"] is True and queue["RedrivePolicy"]["maxReceiveCount"] == delivery.MAX_RECEIVES
    base, cap = settings.Settings.model_fields["webhook_retry_base_seconds"].default, 7200.0
    window = delivery.retry_window_seconds(base=base, cap=cap)
    assert 24 * 3600 <= window <= 30 * 3600, window / 3600
    assert delivery.backoff(1, base=base, cap=cap) == base and delivery.backoff(30, base=base, cap=cap) == cap
    assert cap <= 43200  # SQS's longest visibility timeout
    assert queue["MessageRetentionPeriod"] > window / delivery.JITTER[0] + cap  # kept for every retry
    fn = tpl.default().resources["WebhookDeliveryFunction"]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * fn["Timeout"]  # as Lambda asks of an SQS event source
    assert fn["Events"]["Deliveries"]["Properties"]["BatchSize"] == 1


@pytest.mark.parametrize(
    ("token", "payload_format", "keys"),
    [
        ("tkt_demo_spp", "spp", {"subject", "employees", "messages", "order", "client"}),  # TicketResource
        ("tkt_demo_kapture", "kapture", {"ticketId", "queueKey", "assignedToName", "isCallBack"}),  # ticket object
        ("tkt_demo_servicedesk", "servicedesk", {"TicketREF", "TicketId", "TicketType", "State"}),  # GetTicket
    ],
)
def test_a_partner_may_take_its_own_dialects_view_of_the_ticket(aws, hub, receiver, token, payload_format, keys):
    subscribe(aws, receiver, {"Authorization": f"Bearer {token}"}, payload_format=payload_format)
    patch(aws, 1001, {"title": f"seen through {payload_format}"})
    hub.settle()
    [delivery] = receiver.got
    view = delivery["body"]["data"]["view"]
    assert view["format"] == payload_format and keys <= set(view["ticket"])
    if payload_format == "servicedesk":  # GetTicket shows the state and its actions, not the title
        assert view["ticket"]["TicketId"] == 1001 and view["ticket"]["TicketREF"] == "INC-001001"
    else:
        assert f"seen through {payload_format}" in json.dumps(view["ticket"])
