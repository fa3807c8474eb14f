"""Change events (issue 20): every committed version of a ticket becomes exactly one event on the bus.

Through the handlers on moto: every fixture of every API function (each dialect's writes) runs on
one seeded store, the tickets table's stream is handed to TicketEventsFunction as Lambda's event
source would (``devkit.local.streams``), and the bus is read back through the local tap
(``devkit.bus``).  Then, for every ticket of the store, the events name each of its versions once.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime

import pytest
from ticketing import eventbus, events, ids
from ticketing.model import AuditEntry, Change
from ticketing.repository import unmarshal

from devkit import template as tpl
from devkit.local import apigateway as apigw
from devkit.local import bus, runtime
from devkit.local.streams import StreamPump

CANONICAL = {"Authorization": "Bearer tkt_demo_canonical"}
DIALECTS = {"canonical", "spp", "kapture", "servicedesk", "particlespace", "myhrw"}


class Events:
    """TicketEventsFunction behind the tickets table's stream, and what reached the bus."""

    def __init__(self, template):
        self.pump = StreamPump(template, endpoint=None)
        self.pump.sources = [s for s in self.pump.sources if s.fn.logical_id == "TicketEventsFunction"]
        self.tap = bus.Tap()

    def settle(self) -> list[dict]:
        for _ in range(50):
            if not self.pump.pump():
                return self.tap.read()
        raise AssertionError("the stream never settled")

    def failures(self) -> list:
        return [f for d in self.pump.delivered for f in (d.get("result") or {}).get("batchItemFailures", [])]


@pytest.fixture
def stream(aws, seeded, lambdas) -> Events:
    return Events(aws)


def stored_tickets() -> dict[int, dict]:
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends[tpl.ACCOUNT][tpl.REGION].tables[tpl.default().physical_name("TicketsTable")]
    out = {}
    for item in table.all_items():
        doc = unmarshal(item.to_json()["Attributes"])
        if doc.get("sk") == "TICKET":
            out[int(doc["id"])] = doc
    return out


def audit_entries() -> dict[tuple[int, int], dict]:
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends[tpl.ACCOUNT][tpl.REGION].tables[tpl.default().physical_name("TicketsTable")]
    out = {}
    for item in table.all_items():
        doc = unmarshal(item.to_json()["Attributes"])
        if str(doc.get("sk", "")).startswith("AUDIT#"):
            out[(int(doc["ticket_id"]), int(doc["version"]))] = doc
    return out


def api_fixtures():
    for fn in tpl.default().functions().values():
        if not fn.routes or fn.routes[0].method == "GET":
            continue
        folder = tpl.ROOT / "events" / fn.code_uri.name
        for path in sorted(folder.glob("*.json")):
            if path.name != "expected.json":
                yield fn, json.loads(path.read_text())


def test_every_write_of_every_dialect_gives_one_event_per_committed_version(aws, stream):
    accepted = Counter()
    for fn, event in api_fixtures():
        resp = runtime.invoke(fn, event)
        if 200 <= resp["statusCode"] < 300:
            accepted[fn.logical_id] += 1
    assert len(accepted) >= 10, accepted
    seen = stream.settle()
    assert stream.failures() == []
    details = [e["detail"] for e in seen]
    by_id = Counter(d["event_id"] for d in details)
    assert [k for k, n in by_id.items() if n > 1] == []  # exactly one (no duplicate on the happy path)
    tickets, entries = stored_tickets(), audit_entries()
    want = {events.event_id(t, v) for t, doc in tickets.items() for v in range(1, int(doc["version"]) + 1)}
    assert set(by_id) == want  # every version of every ticket, demo data included, and nothing else
    assert {d["actor"]["dialect"] for d in details} >= DIALECTS  # a change through each dialect
    for envelope in seen:
        d = envelope["detail"]
        t = d["ticket"]["id"]
        assert envelope["source"] == "ticket-hub" and envelope["detail-type"] == d["kind"]
        assert d["ticket"] == {
            "id": t,
            "number": ids.number_for(t),
            "key": ids.key_for(t),
            "ref": d["ticket"]["ref"],
            "refs": d["ticket"]["refs"],
        }
        assert ids.parse(d["ticket"]["ref"]).ticket_id == t and d["ticket"]["ref"] in d["ticket"]["refs"]
        entry = entries[(t, d["version"])]
        assert d["actor"] == {"client_id": entry["actor"], "name": entry["actor_name"], "dialect": entry["dialect"]}
        assert [(c["field"], c["before"], c["after"]) for c in d["changes"]] == [
            (c["field"], c["before"], c["after"]) for c in entry["changes"]
        ]
        assert datetime.fromisoformat(d["time"]) == datetime.fromisoformat(entry["at"])
        assert d["previous_version"] == (None if d["version"] == 1 else d["version"] - 1)
        events.ChangeEvent.model_validate(d)
    kinds = Counter(d["kind"] for d in details)
    assert {"Ticket Created", "Ticket Status Changed", "Ticket Converted", "Partner Ticket Changed"} <= set(kinds)


def test_the_event_of_a_status_change_through_the_canonical_api(aws, stream):
    stream.settle()
    resp = apigw.request(aws, "PATCH", "/tickets/1001", body=json.dumps({"status": "in_progress"}), headers=CANONICAL)
    assert resp["statusCode"] == 200
    version = json.loads(resp["body"])["version"]
    [event] = [e for e in stream.settle() if e["detail"]["event_id"] == f"ticket-1001-v{version}"]
    d = event["detail"]
    assert event["detail-type"] == "Ticket Status Changed" == d["kind"]
    assert d["status"] == "in_progress" and d["actor"]["dialect"] == "canonical"
    assert {"field": "status", "before": "open", "after": "in_progress", "truncated": False} in d["changes"]
    assert d["ticket"]["number"] == "8FC95B0F" and d["ticket"]["ref"] == "INC-001001"


def test_a_large_value_is_sent_as_its_size_and_hash(aws, stream):
    stream.settle()
    long = "x" * 5000
    resp = apigw.request(aws, "PATCH", "/tickets/1001", body=json.dumps({"description": long}), headers=CANONICAL)
    assert resp["statusCode"] == 200
    [d] = [e["detail"] for e in stream.settle() if e["detail"]["ticket"]["id"] == 1001 and e["detail"]["version"] == 2]
    [change] = [c for c in d["changes"] if c["field"] == "description"]
    assert change["truncated"] is True and change["after"]["bytes"] == 5002 and len(change["after"]["sha256"]) == 64


def _entry(**changes) -> AuditEntry:
    return AuditEntry(
        ticket_id=1,
        version=2,
        at=datetime.fromisoformat("2026-01-01T00:00:00+00:00"),
        actor="c",
        dialect="canonical",
        event=changes.pop("event", "update"),
        changes=[Change(field=f, before=None, after=v) for f, v in changes.items()],
    )


@pytest.mark.parametrize(
    ("entry", "kind"),
    [
        (_entry(event="create", title="x"), "Ticket Created"),
        (_entry(type="incident", status="open"), "Ticket Converted"),
        (_entry(status="open"), "Ticket Status Changed"),
        (_entry(sub_status="waiting"), "Ticket Status Changed"),
        (_entry(event="partner_ticket_created", **{"tasks.1.partner_tickets.9:x.id": "x"}), "Partner Ticket Changed"),
        (_entry(message_count=2, last_message_at="2026-01-01T00:00:00Z"), "Ticket Message Added"),
        (_entry(title="y"), "Ticket Changed"),
    ],
)
def test_the_kind_of_a_change(entry, kind):
    assert events.kind_of(entry) == kind
    assert kind in events.KINDS


def _records_of_last_change(aws):
    """Every record of the tickets table's stream, from its start."""
    import boto3

    ddb = boto3.client("dynamodb", region_name=tpl.REGION)
    arn = ddb.describe_table(TableName=aws.physical_name("TicketsTable"))["Table"]["LatestStreamArn"]
    streams = boto3.client("dynamodbstreams", region_name=tpl.REGION)
    records = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")
        iterator = it["ShardIterator"]
        while iterator:
            resp = streams.get_records(ShardIterator=iterator)
            records += resp["Records"]
            iterator = resp.get("NextShardIterator") if resp["Records"] else None
    return records


def test_the_audit_entry_of_another_batch_is_read_back(aws, seeded):
    resp = apigw.request(aws, "PATCH", "/tickets/1001", body=json.dumps({"priority": 4}), headers=CANONICAL)
    assert resp["statusCode"] == 200 and json.loads(resp["body"])["version"] == 2
    records = _records_of_last_change(aws)
    [ticket_record] = [
        r
        for r in records
        if r["dynamodb"]["Keys"]["sk"]["S"] == "TICKET"
        and r["dynamodb"]["NewImage"]["version"]["N"] == "2"
        and r["dynamodb"]["Keys"]["pk"]["S"] == "TICKET#1001"
    ]
    found = events.committed(ticket_record, {})  # its audit entry's INSERT is not in this batch
    assert found.event.event_id == "ticket-1001-v2" and found.event.kind == "Ticket Changed"
    assert [c.field for c in found.event.changes] == ["priority"]


class FlakyBus:
    """PutEvents that refuses some entries (FailedEntryCount), as the bus does when throttled:
    ``refuse[n]`` the event ids call n refuses."""

    def __init__(self, refuse: list[set[str]]):
        self.refuse, self.calls = refuse, []

    def put_events(self, Entries):
        ids_ = [json.loads(e["Detail"])["event_id"] for e in Entries]
        self.calls.append(ids_)
        refused = self.refuse.pop(0) if self.refuse else set()
        results = [{"ErrorCode": "ThrottlingException"} if i in refused else {"EventId": "x"} for i in ids_]
        return {"FailedEntryCount": sum(1 for i in ids_ if i in refused), "Entries": results}


def _entries(n: int) -> list[dict]:
    return [{"Detail": json.dumps({"event_id": f"ticket-1-v{i}"})} for i in range(1, n + 1)]


def test_refused_entries_are_put_again_and_only_they():
    client = FlakyBus([{"ticket-1-v2", "ticket-1-v4"}, {"ticket-1-v2"}])
    assert eventbus.put(_entries(4), client=client, sleep=lambda _: None) == []
    assert client.calls == [
        ["ticket-1-v1", "ticket-1-v2", "ticket-1-v3", "ticket-1-v4"],
        ["ticket-1-v2", "ticket-1-v4"],
        ["ticket-1-v2"],
    ]


def test_entries_still_refused_are_reported():
    client = FlakyBus([{"ticket-1-v3"}] * eventbus.ATTEMPTS)
    assert eventbus.put(_entries(3), client=client, sleep=lambda _: None) == [2]
    assert len(client.calls) == eventbus.ATTEMPTS


def test_a_change_the_bus_keeps_refusing_fails_its_record_and_the_ones_after_it(aws, seeded, monkeypatch):
    for body in ({"priority": 3}, {"priority": 4}, {"priority": 1}):
        assert (
            apigw.request(aws, "PATCH", "/tickets/1001", body=json.dumps(body), headers=CANONICAL)["statusCode"] == 200
        )
    records = _records_of_last_change(aws)
    ticket_records = [r for r in records if r["dynamodb"]["Keys"]["sk"]["S"] == "TICKET"]
    order = [
        events.event_id(int(r["dynamodb"]["NewImage"]["id"]["N"]), int(r["dynamodb"]["NewImage"]["version"]["N"]))
        for r in ticket_records
    ]
    bad = order.index("ticket-1001-v3")
    monkeypatch.setattr(eventbus.time, "sleep", lambda _: None)

    client = FlakyBus([{"ticket-1001-v3"}] * eventbus.ATTEMPTS)
    failed = eventbus.publish(records, client=client)
    assert failed == ticket_records[bad]["dynamodb"]["SequenceNumber"]
    published = {i for call in client.calls for i in call}
    assert set(order[:bad]) <= published  # what came before it is on the bus


def test_the_template_hands_the_stream_to_the_events_function_as_documented(aws):
    fn = tpl.default().functions()["TicketEventsFunction"]
    [spec] = fn.streams
    assert spec.table == "TicketsTable" and spec.on_failure_queue == "EventsDeadLetterQueue"
    props = tpl.default().resources["TicketEventsFunction"]["Properties"]["Events"]["TicketChanges"]["Properties"]
    assert props["BisectBatchOnFunctionError"] is True and props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["MaximumRecordAgeInSeconds"] == 86400
    from devkit.local.streams import matches

    def passes(event: str, sk: str) -> bool:
        return any(matches({"eventName": event, "dynamodb": {"Keys": {"sk": {"S": sk}}}}, p) for p in spec.filters)

    assert passes("MODIFY", "TICKET") and passes("INSERT", "TICKET") and passes("INSERT", "AUDIT#2026")
    assert not passes("MODIFY", "AUDIT#2026") and not passes("INSERT", "OUTBOX#a") and not passes("INSERT", "MSG#1")
    # a shard may have two readers: this function and the automations
    readers = [f for f in tpl.default().functions().values() if any(s.table == "TicketsTable" for s in f.streams)]
    assert len(readers) == 2
    bus_name = tpl.default().resources["TicketEventBus"]["Properties"]["Name"]
    assert tpl.default().resolve(bus_name) == "ticket-hub-v1"


# -- the schema ------------------------------------------------------------------------------------
def test_the_checked_in_schema_matches_the_models():
    from devkit import eventschema

    assert eventschema.OUTPUT.read_text() == eventschema.render(), "run python -m devkit.eventschema"


def test_what_reaches_the_bus_and_the_subscribers_is_valid_by_the_schema(aws, stream):
    import jsonschema

    from devkit import eventschema

    schema = json.loads(eventschema.OUTPUT.read_text())
    resp = apigw.request(aws, "PATCH", "/tickets/1001", body=json.dumps({"status": "in_progress"}), headers=CANONICAL)
    assert resp["statusCode"] == 200
    seen = stream.settle()
    assert seen
    for envelope in seen:
        jsonschema.validate(envelope, {**schema, "oneOf": [{"$ref": "#/$defs/BusEvent"}]})
    # a webhook body, as fanout makes it
    from ticketing.webhooks import fanout, store

    from devkit import demo_webhooks

    sub = store.get_subscription(demo_webhooks.SUBSCRIPTION_ID)
    change = events.committed(
        [r for r in _records_of_last_change(aws) if r["dynamodb"]["Keys"]["sk"]["S"] == "TICKET"][-1], {}
    )
    body = json.loads(fanout.payload(sub, change, {}))
    jsonschema.validate(body, {**schema, "oneOf": [{"$ref": "#/$defs/WebhookPayload"}]})
    events.WebhookPayload.model_validate(body)
    bad = {**body, "type": "Ticket Exploded"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, {**schema, "oneOf": [{"$ref": "#/$defs/WebhookPayload"}]})


# -- which audit entry a ticket record's event is made from --------------------------------------
def _ticket_records(records, ticket_id: int, after: int = 0) -> list[dict]:
    return [
        r
        for r in records
        if r["dynamodb"]["Keys"] == {"pk": {"S": f"TICKET#{ticket_id}"}, "sk": {"S": "TICKET"}}
        and int(r["dynamodb"]["NewImage"]["version"]["N"]) > after
    ]


def _audit_records(records, ticket_id: int, after: int = 0) -> list[dict]:
    return [
        r
        for r in records
        if r["eventName"] == "INSERT"
        and r["dynamodb"]["Keys"]["pk"]["S"] == f"TICKET#{ticket_id}"
        and r["dynamodb"]["Keys"]["sk"]["S"].startswith("AUDIT#")
        and int(r["dynamodb"]["NewImage"]["version"]["N"]) > after
    ]


def _race(ticket_id: int):
    """Two commuting changes (the title; the priority) planned from the same version of the
    ticket, committed in the opposite order of their audit keys: the title's change is planned
    first (the earlier key) and commits second, the priority's is planned and committed while
    the title's transaction waits to go."""
    from ticketing import service
    from ticketing.model import Actor

    repo = service.repository()
    current = repo.require(ticket_id)
    title = Actor(client_id="client-title", name="Title", dialect="canonical", request_id="req-title")
    priority = Actor(client_id="client-priority", name="Priority", dialect="spp", request_id="req-priority")

    def retitle(ticket, cs):
        ticket.title = "Raced title"

    def reprioritise(ticket, cs):
        ticket.priority = 9

    real, keys, order = repo._transact, {}, []

    def transact(transaction, token):
        audit = next(i["Put"]["Item"] for i in transaction if "Put" in i and i["Put"]["Item"]["sk"]["S"] > "AUDIT")
        who = audit["request_id"]["S"]
        keys[who] = audit["sk"]["S"]
        if who == "req-title" and "req-priority" not in keys:
            repo.update(ticket_id, reprioritise, priority, current=current)  # planned from the same version
        real(transaction, token)
        order.append(who)

    repo._transact = transact
    try:
        result = repo.update(ticket_id, retitle, title, current=current)
    finally:
        del repo._transact
    assert result.attempts == 1  # commuting: neither was refused for the other
    assert keys["req-title"] < keys["req-priority"] and order == ["req-priority", "req-title"]
    return current.version


def test_a_race_of_commuting_changes_gives_each_version_the_change_that_made_it(aws, seeded):
    base = _race(1001)
    records = _records_of_last_change(aws)
    ticket_records = _ticket_records(records, 1001, after=base)
    assert [int(r["dynamodb"]["NewImage"]["version"]["N"]) for r in ticket_records] == [base + 1, base + 2]
    want = {
        base + 1: ({"priority"}, "client-priority", "spp", "req-priority"),
        base + 2: ({"title"}, "client-title", "canonical", "req-title"),
    }
    # the whole stream as one batch (the entries matched in it), and each ticket record alone
    # (its entry read back), give the same events
    batched = {c.event.version: c.event for c in events.changes_in(records) if c.ticket.id == 1001}
    alone = {e.version: e for e in (events.committed(r, {}).event for r in ticket_records)}
    for seen in (batched, alone):
        for version, (fields, client, dialect, request) in want.items():
            event = seen[version]
            assert {c.field for c in event.changes} == fields
            assert (event.actor.client_id, event.actor.dialect, event.request_id) == (client, dialect, request)
            assert event.event_id == f"ticket-1001-v{version}" and event.previous_version == version - 1
    assert batched[base + 1].changes[0].after == 9 and batched[base + 2].changes[0].after == "Raced title"
    ticket = json.loads(apigw.request(aws, "GET", "/tickets/1001", headers=CANONICAL)["body"])
    assert (ticket["title"], ticket["priority"], ticket["version"]) == ("Raced title", 9, base + 2)


class DynamoCalls:
    """The DynamoDB operations the layer's client makes (botocore's before-call event)."""

    def __init__(self):
        from ticketing import service

        self.events = service.repository().client.meta.events
        self.made: list[str] = []

    def _note(self, model, **_):
        self.made.append(model.name)

    def __enter__(self):
        self.events.register("before-call.dynamodb", self._note)
        return self.made

    def __exit__(self, *exc):
        self.events.unregister("before-call.dynamodb", self._note)


def test_an_entry_of_another_batch_is_one_get_of_its_key_and_no_history_read(aws, seeded):
    resp = apigw.request(aws, "PATCH", "/tickets/1001", body=json.dumps({"priority": 4}), headers=CANONICAL)
    assert resp["statusCode"] == 200
    records = _records_of_last_change(aws)
    [record] = _ticket_records(records, 1001, after=1)
    [audit] = _audit_records(records, 1001, after=1)
    assert record["dynamodb"]["NewImage"]["audit_sk"] == audit["dynamodb"]["Keys"]["sk"]
    with DynamoCalls() as made:
        found = events.committed(record, {})
    assert made == ["GetItem"]
    assert found.event.event_id == "ticket-1001-v2" and [c.field for c in found.event.changes] == ["priority"]
    with DynamoCalls() as made:  # its INSERT in the same batch: nothing read
        [change] = [c for c in events.changes_in([audit, record])]
    assert made == [] and change.event == found.event


def test_a_ticket_item_written_before_the_key_was_kept_still_gets_its_event(aws, seeded):
    for body in ({"priority": 4}, {"status": "in_progress"}):
        resp = apigw.request(aws, "PATCH", "/tickets/1001", body=json.dumps(body), headers=CANONICAL)
        assert resp["statusCode"] == 200
    records = _records_of_last_change(aws)
    old = []
    for record in _ticket_records(records, 1001, after=1):
        image = dict(record["dynamodb"]["NewImage"])
        del image["audit_sk"]  # as an item written before carries it: not at all
        old.append({**record, "dynamodb": {**record["dynamodb"], "NewImage": image}})
    alone = [events.committed(r, {}).event for r in old]  # read back from the history
    batched = [c.event for c in events.changes_in([*_audit_records(records, 1001, after=1), *old])]
    for seen in (alone, batched):
        assert [(e.version, [c.field for c in e.changes]) for e in seen] == [
            (2, ["priority"]),
            (3, ["status", "status_since"]),
        ]
        assert seen[1].kind == "Ticket Status Changed" and seen[1].status == "in_progress"


def test_the_key_is_storage_not_ticket(aws, seeded):
    from ticketing import service
    from ticketing.repository import ticket_doc
    from ticketing.store import codec, items

    resp = apigw.request(aws, "PATCH", "/tickets/1001", body=json.dumps({"priority": 4}), headers=CANONICAL)
    assert resp["statusCode"] == 200 and "audit_sk" not in resp["body"]
    assert "audit_sk" not in apigw.request(aws, "GET", "/tickets/1001/history", headers=CANONICAL)["body"]
    ticket = service.read_ticket(1001)
    assert "audit_sk" in ticket._stored and "audit_sk" not in ticket_doc(ticket)
    assert {codec.AUDIT_KEY_ATTR} <= items.ALWAYS_WRITTEN & items.NEVER_GUARDED
    # the size check counts it: a ticket just within the limit without it is too large with it
    doc = ticket_doc(ticket)
    doc["description"] = ""
    doc["description"] = "x" * (codec.MAX_TICKET_BYTES - codec.doc_bytes(doc))
    assert codec.doc_bytes(doc) == codec.MAX_TICKET_BYTES
    with pytest.raises(codec.PayloadTooLarge):
        codec.check_size(1001, doc)
