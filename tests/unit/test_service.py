"""The domain's operations (``ticketing.service``) over the in-memory repository: grants, identifiers,
statuses and changes, without moto (the repository itself: tests/integration)."""

from __future__ import annotations

import time

import pytest
from fake_repository import FakeRepository
from ticketing import catalog, service
from ticketing.errors import Forbidden, NotFound, ValidationFailed
from ticketing.grants import EVERYTHING, READ, WRITE, Access
from ticketing.model import Actor
from ticketing.new_ticket import NewTicket

from devkit import template as tpl
from devkit.local import provision as localstack

ACTOR = Actor(client_id="c-unit", name="Unit", dialect="canonical")
BILLING_ONLY = Access({"billing": WRITE})
BILLING_READER = Access({"billing": READ})


@pytest.fixture
def store(monkeypatch):
    """The service on an in-memory repository and the default catalog (no AWS at all)."""
    for key, value in localstack.function_environment(tpl.default()).items():
        monkeypatch.setenv(key, value)  # the settings the functions are given (table names...)
    localstack.reset_caches()
    fake = FakeRepository()
    monkeypatch.setattr(service, "_repo", fake)
    monkeypatch.setattr(catalog, "_cache", (time.monotonic() + 1e9, catalog.default_catalog()))
    yield fake
    localstack.reset_caches()


def new(queue="billing", **fields):
    return service.create_ticket(NewTicket(title="Invoice wrong", queue=queue, **fields), ACTOR, access=EVERYTHING)


def retitle(title):
    def command(ticket, cs):
        ticket.title = title

    return command


def test_a_created_ticket_is_read_back_by_its_id_and_its_number(store):
    ticket = new(tags=["vip"])
    assert store.get(ticket.id).tags == ["vip"]
    assert service.get_ticket(ticket.id, access=EVERYTHING).title == "Invoice wrong"
    assert service.get_ticket(str(ticket.id), access=EVERYTHING).id == ticket.id
    with pytest.raises(NotFound):
        service.get_ticket("no such ticket", access=EVERYTHING)


def test_an_unknown_type_or_status_is_refused_naming_the_field(store):
    with pytest.raises(ValidationFailed) as err:
        service.create_ticket(NewTicket(title="x", type="nope"), ACTOR, access=EVERYTHING)
    assert err.value.errors[0].field == "type"
    with pytest.raises(ValidationFailed):
        service.create_ticket(NewTicket(title="x", status="nope"), ACTOR, access=EVERYTHING)
    assert store.tickets == {}


def test_a_ticket_outside_the_grants_is_not_found_and_one_only_read_is_forbidden_to_change(store):
    ticket = new(queue="support")
    with pytest.raises(NotFound):
        service.get_ticket(ticket.id, access=BILLING_ONLY)
    with pytest.raises(NotFound):
        service.update_ticket(ticket.id, retitle("x"), ACTOR, access=BILLING_ONLY)
    billing = new()
    with pytest.raises(Forbidden):
        service.update_ticket(billing.id, retitle("x"), ACTOR, access=BILLING_READER)
    assert store.get(billing.id).title == "Invoice wrong"
    assert service.get_tickets([ticket.id, billing.id], access=BILLING_READER).keys() == {billing.id}


def test_a_move_out_of_the_grants_is_refused_and_nothing_written(store):
    ticket = new()

    def move(t, cs):
        t.queue = "support"

    with pytest.raises(Forbidden):
        service.update_ticket(ticket.id, move, ACTOR, access=BILLING_ONLY)
    assert store.get(ticket.id).queue == "billing"
    assert service.update_ticket(ticket.id, move, ACTOR, access=EVERYTHING).ticket.queue == "support"


def test_update_renders_the_answer_once_and_history_lists_the_changes(store):
    ticket = new()
    answers = []
    result = service.update_ticket(
        ticket.id, retitle("Invoice fixed"), ACTOR, access=EVERYTHING, respond=lambda r: answers.append(r) or "ok"
    )
    assert result.answer == "ok" and len(answers) == 1
    unchanged = service.update_ticket(ticket.id, retitle("Invoice fixed"), ACTOR, access=EVERYTHING, respond=str)
    assert not unchanged.committed and unchanged.answer
    held, entries, cursor = service.history(ticket.id, access=EVERYTHING, limit=10, cursor=None)
    assert held.version == 2 and cursor is None
    assert [(e.version, e.event) for e in entries] == [(2, "update"), (1, "create")]
    assert [c.field for c in entries[0].changes] == ["title"]


def test_messages_are_read_only_for_a_ticket_that_has_some(store):
    ticket = new()
    store.calls.clear()
    assert service.messages(ticket) == []

    def comment(t, cs):
        cs.add_message(t, "hello")

    changed = service.update_ticket(ticket.id, comment, ACTOR, access=EVERYTHING).ticket
    assert [m.body for m in service.messages(changed)] == ["hello"]


def test_reference_data_goes_through_the_service(store):
    service.put_reference("user", 7, {"name": "Ada"})
    assert service.get_references("user", [7, 8]) == {"7": {"name": "Ada"}}


def test_a_draft_is_the_ticket_with_nothing_shared():
    from datetime import UTC, datetime

    from ticketing.model import Notify, PartnerTicket, Task, Ticket
    from ticketing.store.codec import ticket_doc

    at = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    partner = PartnerTicket(partner_id=17, id="TKT1", created_at=at, updated_at=at)
    ticket = Ticket(
        id=1001,
        status_since=at,
        created_at=at,
        updated_at=at,
        tags=["a"],
        metadata={"nest": {"list": [1, {"b": None}]}},
        tasks={"1": Task(id=1, created_at=at, partner_tickets={"17:TKT1": partner})},
        notify=Notify(enabled=True, contacts=["x@example.com"], time=at),
    )
    ticket._stored = {"pk": {"S": "TICKET#1001"}}
    draft = ticket.draft()
    assert ticket_doc(draft) == ticket_doc(ticket) and draft.model_dump() == ticket.model_dump()
    assert draft._stored is None  # the stored item describes the ticket as read, not its draft
    draft.tags.append("b")
    draft.metadata["nest"]["list"][1]["b"] = 2
    draft.tasks["1"].partner_tickets["17:TKT1"].status = "closed"
    draft.notify.contacts.append("y@example.com")
    assert ticket.tags == ["a"] and ticket.metadata == {"nest": {"list": [1, {"b": None}]}}
    assert ticket.tasks["1"].partner_tickets["17:TKT1"].status == "" and ticket.notify.contacts == ["x@example.com"]
