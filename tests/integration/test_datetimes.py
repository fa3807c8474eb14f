"""Every datetime a dialect accepts is timezone-aware UTC within one range, checked before any write.

The range (``ticketing.moments``): 1900-01-01T00:00:00Z to 9998-12-31T23:59:59Z, which every
dialect can render in any time zone.  A value a dialect cannot keep (no offset where the dialect
needs one, unparseable, out of range) is that dialect's own 400, with nothing written or
scheduled.  Through the handlers on moto, and over HTTP on the local run."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import urlencode

import boto3
import pytest
from datetime_rules import NAIVE, PS_FIELDS, RANGE, problem, ps_problem
from doc_kapture import BAD_CALLBACK, element
from doc_kapture import URL as KAPTURE_URL
from doc_particlespace import AUTH as PARTICLESPACE
from doc_particlespace import FORM
from doc_particlespace import KEY as PS_KEY  # demo ticket 1002
from ticketing import catalog, service
from ticketing.errors import ValidationFailed
from ticketing.grants import EVERYTHING
from ticketing.model import SYSTEM
from ticketing.repository import Repository
from ticketing.settings import get_settings

from devkit.local import apigateway as apigw

CANONICAL = {"Authorization": "Bearer tkt_demo_canonical"}
KAPTURE = {"Authorization": "Basic tkt_demo_kapture"}

PS_FORMAT = "must be ISO 8601 or YYYY-MM-DD HH:MM:SS"  # ParticleSpace's own

# value -> the message a dialect that needs an offset gives (None: the parser's own wording)
STRICT_EDGES = {
    "2030-01-01T00:00:00": NAIVE,
    "2030-01-01": NAIVE,
    "0001-01-01T00:00:00+05:00": RANGE,
    "0001-01-01T00:00:00Z": RANGE,
    "1899-12-31T23:59:59Z": RANGE,
    "9999-12-31T23:59:59-05:00": RANGE,
    "9999-01-01T00:00:00Z": RANGE,
    "9998-12-31T23:59:59-00:01": RANGE,
    "garbage": None,
}
# value -> the message where naive means UTC (ParticleSpace time, reference data)
NAIVE_UTC_EDGES = {
    "0001-01-01T00:00:00+05:00": RANGE,
    "0001-01-01 00:00:00": RANGE,
    "1899-12-31 23:59:59": RANGE,
    "9999-12-31T23:59:59-05:00": RANGE,
    "9999-12-31 23:59:59": RANGE,
    "9998-12-31T23:59:59-00:01": RANGE,
}


def call(template, method, url, body=None, headers=None):
    data = json.dumps(body) if isinstance(body, (dict, list)) else (body or "")
    resp = apigw.request(template, method, url, body=data, headers={**CANONICAL, **(headers or {})})
    return resp["statusCode"], resp["headers"], (json.loads(resp["body"]) if resp["body"] else None)


def ps_put(template, fields):
    resp = apigw.request(
        template, "PUT", f"/api/v1/ticket/{PS_KEY}", body=urlencode(fields), headers={**PARTICLESPACE, **FORM}
    )
    return resp["statusCode"], resp["headers"], json.loads(resp["body"])


def kapture_post(template, body):
    resp = apigw.request(template, "POST", KAPTURE_URL, body=json.dumps(body), headers=KAPTURE)
    return resp["statusCode"], json.loads(resp["body"])


def snapshot(template, ticket_id):
    """Everything a refused request must leave as it was: the ticket and its history."""
    status, _, ticket = call(template, "GET", f"/tickets/{ticket_id}")
    assert status == 200
    entries = service.repository().history(ticket_id, limit=100)[0]
    return ticket, [e.model_dump(mode="json") for e in entries]


def ticket_count() -> int:
    table = boto3.resource("dynamodb").Table(get_settings().tickets_table)
    items = table.scan(ProjectionExpression="pk, sk")["Items"]
    return sum(1 for i in items if i["sk"] == "TICKET")


def schedules() -> list[str]:
    client = boto3.client("scheduler")
    return [s["Name"] for s in client.list_schedules(GroupName=get_settings().schedule_group)["Schedules"]]


def set_kapture_zone(name: str) -> None:
    doc = catalog.default_catalog().model_dump(mode="json")
    doc["vocabularies"]["kapture"]["attrs"]["timezone"] = name
    service.repository().store_catalog_document(json.dumps(doc))
    catalog.reset()


def store_raw(ticket_id: int, **attrs: str) -> None:
    """Write attributes straight into the stored ticket, as data from before this check."""
    table = boto3.resource("dynamodb").Table(get_settings().tickets_table)
    names = {f"#a{i}": k for i, k in enumerate(attrs)}
    values = {f":a{i}": v for i, v in enumerate(attrs.values())}
    table.update_item(
        Key={"pk": f"TICKET#{ticket_id}", "sk": "TICKET"},
        UpdateExpression="SET " + ", ".join(f"#a{i} = :a{i}" for i in range(len(attrs))),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
    )


# -- the canonical API: an offset is required ------------------------------------------------------------
@pytest.mark.parametrize(("value", "message"), STRICT_EDGES.items(), ids=list(STRICT_EDGES))
def test_canonical_patch_refuses_a_follow_up_it_cannot_keep(aws, seeded, value, message):
    before = snapshot(aws, 1004)
    status, headers, body = call(aws, "PATCH", "/tickets/1004", {"follow_up_at": value, "title": "changed"})
    assert status == 400 and headers["Content-Type"] == "application/problem+json"
    assert body == problem("/tickets/1004", body, "follow_up_at", message)
    assert isinstance(body["request_id"], str) and body["request_id"]
    assert snapshot(aws, 1004) == before


@pytest.mark.parametrize(("value", "message"), STRICT_EDGES.items(), ids=list(STRICT_EDGES))
def test_canonical_create_refuses_a_follow_up_it_cannot_keep(aws, seeded, value, message):
    count = ticket_count()
    status, headers, body = call(aws, "POST", "/tickets", {"title": "Dated", "follow_up_at": value})
    assert status == 400 and headers["Content-Type"] == "application/problem+json"
    assert body == problem("/tickets", body, "follow_up_at", message)
    assert ticket_count() == count


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("2030-01-01T09:00:00+02:00", "2030-01-01T07:00:00Z"),
        ("2030-01-01T09:00:00Z", "2030-01-01T09:00:00Z"),
        ("1900-01-01T00:00:00Z", "1900-01-01T00:00:00Z"),
        ("1900-01-01T05:30:00+05:30", "1900-01-01T00:00:00Z"),
        ("9998-12-31T23:59:59Z", "9998-12-31T23:59:59Z"),
        ("9998-12-31T18:59:59-05:00", "9998-12-31T23:59:59Z"),
    ],
)
def test_canonical_follow_up_is_stored_in_utc(aws, seeded, value, stored):
    status, _, body = call(aws, "PATCH", "/tickets/1004", {"follow_up_at": value})
    assert status == 200 and body["follow_up_at"] == stored
    status, _, created = call(aws, "POST", "/tickets", {"title": "Dated", "follow_up_at": value})
    assert status == 201 and created["follow_up_at"] == stored


def test_regression_naive_follow_up_refused_then_kapture_updates_the_ticket(aws, seeded):
    status, _, body = call(aws, "PATCH", "/tickets/1004", {"follow_up_at": "2030-01-01T00:00:00"})
    assert status == 400 and body["errors"] == [{"field": "follow_up_at", "message": NAIVE}]
    status, body = kapture_post(aws, [element(ticket_id="1004", sub_status="PS", comment="after")])
    assert status == 200 and body["status"] == "success"
    assert call(aws, "GET", "/tickets/1004")[2]["version"] == 2


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("2030-01-01T00:00:00", "2030-01-01 00:00:00"),  # naive, as stored before the check: read as UTC
        ("9999-12-31T23:59:59-05:00", "9998-12-31 23:59:59"),  # out of range: read as the range's end
        ("0001-01-01T00:00:00+05:00", "1900-01-01 00:00:00"),  # and its start
    ],
)
def test_a_stored_ticket_from_before_heals_instead_of_crashing(aws, seeded, raw, shown):
    store_raw(1004, follow_up_at=raw)
    status, body = kapture_post(aws, [element(ticket_id="1004", sub_status="PS")])
    assert status == 200 and body["ticket"]["nextFollowUp"] == shown
    status, body = kapture_post(aws, [element(ticket_id="1004", sub_status="P", comment="again")])
    assert status == 200 and body["status"] == "success"
    status, _, got = call(aws, "GET", "/tickets/1004")
    assert status == 200 and got["follow_up_at"].endswith("Z")
    assert call(aws, "PATCH", "/tickets/1004", {"title": "still writable"})[0] == 200


# -- canonical reference data: naive is UTC ------------------------------------------------------------------
@pytest.mark.parametrize(("value", "message"), NAIVE_UTC_EDGES.items(), ids=list(NAIVE_UTC_EDGES))
@pytest.mark.parametrize("field", ["date_due", "created_at", "date_started"])
def test_reference_order_refuses_a_date_it_cannot_keep(aws, seeded, field, value, message):
    status, headers, body = call(aws, "PUT", "/orders/DT-1", {"id": 77, field: value})
    assert status == 400 and headers["Content-Type"] == "application/problem+json"
    assert body == problem("/orders/DT-1", body, field, message)
    assert service.repository().get_references("order", ["DT-1"]) == {}


@pytest.mark.parametrize(("value", "message"), NAIVE_UTC_EDGES.items(), ids=list(NAIVE_UTC_EDGES))
@pytest.mark.parametrize("where", ["created_at", "role.created_at", "role.updated_at"])
def test_reference_user_refuses_a_date_it_cannot_keep(aws, seeded, where, value, message):
    before = service.repository().get_references("user", [4])
    body_in = {"name_f": "Dee"}
    if where.startswith("role."):
        body_in["role"] = {"id": 1, where.split(".")[1]: value}
    else:
        body_in[where] = value
    status, headers, body = call(aws, "PUT", "/users/4", body_in)
    assert status == 400 and headers["Content-Type"] == "application/problem+json"
    assert body == problem("/users/4", body, where, message)
    assert service.repository().get_references("user", [4]) == before


def test_reference_dates_are_stored_in_utc(aws, seeded):
    status, _, order = call(
        aws,
        "PUT",
        "/orders/DT-2",
        {"id": 78, "date_due": "2030-01-01 09:00:00", "date_started": "9998-12-31T18:59:59-05:00"},
    )
    assert status == 201
    assert (order["date_due"], order["date_started"]) == ("2030-01-01T09:00:00+00:00", "9998-12-31T23:59:59+00:00")
    status, _, user = call(aws, "PUT", "/users/6", {"name_f": "Dee", "created_at": "1900-01-01T05:30:00+05:30"})
    assert status == 201 and user["created_at"] == "1900-01-01T00:00:00+00:00"


# -- ParticleSpace: time, UTC when no offset ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"), [*NAIVE_UTC_EDGES.items(), ("garbage", PS_FORMAT)], ids=[*NAIVE_UTC_EDGES, "garbage"]
)
def test_particlespace_refuses_a_time_it_cannot_keep(aws, seeded, value, message):
    before = snapshot(aws, 1002)
    status, headers, body = ps_put(aws, {**PS_FIELDS, "time": value})
    assert status == 400 and headers["Content-Type"] == "application/json"
    assert body == ps_problem(body, message)
    assert snapshot(aws, 1002) == before
    assert schedules() == []


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("2030-01-01 09:00:00", "2030-01-01T09:00:00Z"),
        ("2030-01-01T09:00:00+02:00", "2030-01-01T07:00:00Z"),
        ("9998-12-31T23:59:59Z", "9998-12-31T23:59:59Z"),
        ("9998-12-31 18:59:59-05:00", "9998-12-31T23:59:59Z"),
    ],
)
def test_particlespace_time_is_stored_in_utc(aws, seeded, value, shown):
    status, _, body = ps_put(aws, {**PS_FIELDS, "time": value})
    assert status == 200 and body["time"] == shown
    assert call(aws, "GET", "/tickets/1002")[2]["notify"]["time"] == shown


# -- Kapture: callback_time in the configured zone, range checked after conversion -----------------------------
@pytest.mark.parametrize(
    ("zone", "value"),
    [
        ("UTC", "0001-01-01 00:00:00"),
        ("UTC", "9999-12-31 23:59:59"),
        ("UTC", "2030-01-01T00:00:00Z"),
        ("UTC", "garbage"),
        ("Etc/GMT+12", "9998-12-31 23:59:59"),  # 9999-01-01T11:59:59Z
        ("Pacific/Pago_Pago", "9998-12-31 13:00:00"),  # 9999-01-01T00:00:00Z
    ],
)
def test_kapture_refuses_a_callback_it_cannot_keep(aws, seeded, zone, value):
    set_kapture_zone(zone)
    before = snapshot(aws, 1004)
    status, body = kapture_post(aws, [element(ticket_id="1004", sub_status="PS", callback_time=value)])
    assert status == 400 and body == BAD_CALLBACK
    assert snapshot(aws, 1004) == before
    assert schedules() == []


@pytest.mark.parametrize(
    ("zone", "value", "stored"),
    [
        ("Etc/GMT+12", "9998-12-31 11:59:59", "9998-12-31T23:59:59Z"),
        ("Etc/GMT-14", "9998-12-31 23:59:59", "9998-12-31T09:59:59Z"),
        ("Asia/Kolkata", "1970-01-01 00:00:00", "1969-12-31T18:30:00Z"),
    ],
)
def test_kapture_callbacks_at_the_edges_are_kept_in_utc(aws, seeded, zone, value, stored):
    set_kapture_zone(zone)
    status, body = kapture_post(aws, [element(ticket_id="1004", sub_status="PS", callback_time=value)])
    assert status == 200 and body["ticket"]["nextFollowUp"] == value
    assert call(aws, "GET", "/tickets/1004")[2]["follow_up_at"] == stored


# -- what is in range, every dialect renders ---------------------------------------------------------------
@pytest.mark.parametrize("zone", ["Etc/GMT-14", "Etc/GMT+12", "Asia/Kolkata", "America/New_York"])
@pytest.mark.parametrize("value", ["1900-01-01T00:00:00Z", "9998-12-31T23:59:59Z"])
def test_every_dialect_answers_a_ticket_at_the_edges_of_the_range(aws, seeded, zone, value):
    set_kapture_zone(zone)
    assert call(aws, "PATCH", "/tickets/1004", {"follow_up_at": value})[0] == 200
    status, body = kapture_post(aws, [element(ticket_id="1004", sub_status="PS")])
    assert status == 200 and body["ticket"]["nextFollowUp"]
    status, _, body = ps_put(aws, {**PS_FIELDS, "time": value})
    assert status == 200 and body["time"] == value
    resp = apigw.request(aws, "PUT", "/api/tickets/1004", body="{}", headers={"Authorization": "Bearer tkt_demo_spp"})
    assert resp["statusCode"] == 200


PLUS5, MINUS5 = timezone(timedelta(hours=5)), timezone(timedelta(hours=-5))


# -- the last line of defence: the repository refuses what no dialect should have let in ----------------------
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("follow_up_at", datetime(2030, 1, 1)),
        ("follow_up_at", datetime(1, 1, 1, tzinfo=UTC)),
        ("last_follow_up_at", datetime(9999, 12, 31, tzinfo=UTC)),
        ("closed_at", datetime(1899, 12, 31, 23, 59, 59, tzinfo=UTC)),
    ],
)
def test_the_repository_refuses_a_datetime_out_of_range_or_naive(aws, seeded, field, value):
    before = snapshot(aws, 1004)

    def command(ticket, cs):
        setattr(ticket, field, value)

    with pytest.raises(ValidationFailed) as err:
        service.update_ticket(1004, command, SYSTEM, access=EVERYTHING)
    assert [e.field for e in err.value.errors] == [field]
    assert snapshot(aws, 1004) == before

    repo = Repository()
    ticket = repo.require(1004).model_copy(update={"id": 5555, "version": 1})
    setattr(ticket, field, value)
    with pytest.raises(ValidationFailed):
        repo.create(ticket, SYSTEM)
    assert repo.get(5555) is None


def test_the_repository_names_a_nested_datetime(aws, seeded):
    def command(ticket, cs):
        task = next(iter(ticket.tasks.values()), None)
        assert task is not None
        task.created_at = datetime(2030, 1, 1)

    with pytest.raises(ValidationFailed) as err:
        service.update_ticket(1001, command, SYSTEM, access=EVERYTHING)
    [error] = err.value.errors
    assert error.field.startswith("tasks.") and error.field.endswith(".created_at") and error.message == NAIVE


def test_each_dialect_renders_the_last_line_of_defence_as_its_own_400(aws, seeded, monkeypatch):
    from ticketing.dialects import canonical_patch
    from ticketing.dialects.kapture import updates as kapture_updates

    class Unchecked(canonical_patch.TicketPatch):  # a patch model that lets a naive time through
        follow_up_at: datetime | None = None

    monkeypatch.setattr(canonical_patch, "TicketPatch", Unchecked)
    before = snapshot(aws, 1004)
    status, headers, body = call(aws, "PATCH", "/tickets/1004", {"follow_up_at": "2030-01-01T00:00:00"})
    assert status == 400 and headers["Content-Type"] == "application/problem+json"
    assert body["type"] == "urn:tickets:problem:validation_failed"
    assert body["errors"] == [{"field": "follow_up_at", "message": NAIVE}]
    assert snapshot(aws, 1004) == before

    monkeypatch.setattr(kapture_updates, "parse_callback", lambda raw, zone: datetime(9999, 6, 1, tzinfo=UTC))
    status, body = kapture_post(aws, [element(ticket_id="1004", sub_status="PS", callback_time="x")])
    assert status == 400 and body == {"message": f"follow_up_at {RANGE}.", "status": "failed"}
    assert snapshot(aws, 1004) == before
