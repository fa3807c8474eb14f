"""What the repository port promises the service, as assertions on any implementation of it: the
real repository on moto (tests/integration/test_repository_contract.py) and the in-memory one the
unit tier uses (tests/unit/test_repository_contract_fake.py) run the very same functions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from ticketing.commands import OutboxItem, answering
from ticketing.errors import BadRequest, Conflict, NotFound, PreconditionFailed
from ticketing.model import Actor, Ticket

ACTOR = Actor(client_id="c-1", name="Contract", dialect="canonical", request_id="r-1")
T0 = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def new_ticket(repo, **fields) -> Ticket:
    ticket_id = fields.pop("id", None) or repo.allocate_id()
    data = {"title": "Printer on fire", "status_since": T0, "created_at": T0, "updated_at": T0, **fields}
    return repo.create(Ticket(id=ticket_id, **data), ACTOR)


def retitle(title):
    def command(ticket, cs):
        ticket.title = title

    return command


def check_create_then_read(repo):
    made = new_ticket(repo, tags=["a"], metadata={"k": 1})
    got = repo.get(made.id)
    assert got is not None and got.id == made.id
    assert (got.title, got.tags, got.metadata, got.version) == ("Printer on fire", ["a"], {"k": 1}, 1)
    assert repo.get(made.id + 999_999) is None
    with pytest.raises(NotFound):
        repo.require(made.id + 999_999)
    with pytest.raises(Conflict):
        repo.create(Ticket(id=made.id, title="again", status_since=T0, created_at=T0, updated_at=T0), ACTOR)


def check_ids_are_allocated_above_the_floor(repo):
    repo.set_counter_floor(5000)
    first, second = repo.allocate_id(), repo.allocate_id()
    assert 5000 < first < second


def check_get_many(repo):
    a, b = new_ticket(repo), new_ticket(repo)
    found = repo.get_many([b.id, a.id, a.id, 987_654])
    assert set(found) == {a.id, b.id}
    assert found[a.id].title == "Printer on fire"
    assert repo.get_many([]) == {}


def check_update_runs_the_command_on_a_copy(repo):
    made = new_ticket(repo)
    seen = []

    def command(ticket, cs):
        seen.append(ticket.title)
        ticket.title = "Printer fixed"
        ticket.tags = ["done"]
        cs.add_message(ticket, "fixed it", staff_only=True)
        cs.event = "fix"

    result = repo.update(made.id, command, ACTOR)
    assert seen == ["Printer on fire"]
    assert result.committed and result.changed
    assert result.before.title == "Printer on fire" and result.before.version == 1
    assert result.ticket.title == "Printer fixed" and result.ticket.version == 2
    assert result.ticket.updated_at > made.updated_at
    assert sorted(c.field for c in result.changes) == ["last_message_at", "message_count", "tags", "title"]
    stored = repo.get(made.id)
    assert (stored.title, stored.tags, stored.version, stored.message_count) == ("Printer fixed", ["done"], 2, 1)
    messages = repo.messages(made.id)
    assert [(m.seq, m.body, m.staff_only, m.author) for m in messages] == [(1, "fixed it", True, "Contract")]


def check_an_update_that_changes_nothing_writes_nothing(repo):
    made = new_ticket(repo)
    result = repo.update(made.id, retitle("Printer on fire"), ACTOR)
    assert not result.committed and result.changes == []
    assert result.ticket.version == 1
    assert repo.get(made.id).version == 1
    entries, _ = repo.history(made.id)
    assert [e.event for e in entries] == ["create"]


def check_if_match(repo):
    made = new_ticket(repo)
    repo.update(made.id, retitle("two"), ACTOR, if_match=1)
    with pytest.raises(PreconditionFailed) as err:
        repo.update(made.id, retitle("three"), ACTOR, if_match=1)
    assert err.value.detail == {"current_version": 2}
    assert repo.get(made.id).title == "two"


def check_a_stale_current_is_not_written_over(repo):
    made = new_ticket(repo)
    stale = repo.get(made.id)
    repo.update(made.id, retitle("newer"), ACTOR)

    def tag(ticket, cs):
        ticket.tags = [*ticket.tags, "x"]

    repo.update(made.id, tag, ACTOR, current=stale)
    stored = repo.get(made.id)
    assert (stored.title, stored.tags, stored.version) == ("newer", ["x"], 3)


def check_history_is_newest_first_with_versions(repo):
    made = new_ticket(repo)
    for title in ("two", "three", "four"):
        repo.update(made.id, retitle(title), ACTOR)
    entries, cursor = repo.history(made.id, limit=10)
    assert cursor is None
    assert [(e.version, e.event) for e in entries] == [(4, "update"), (3, "update"), (2, "update"), (1, "create")]
    assert [c.after for c in entries[0].changes if c.field == "title"] == ["four"]
    assert (entries[0].actor, entries[0].dialect, entries[0].request_id) == ("c-1", "canonical", "r-1")
    page, cursor = repo.history(made.id, limit=3)
    assert [e.version for e in page] == [4, 3, 2] and cursor
    rest, end = repo.history(made.id, limit=3, cursor=cursor)
    assert [e.version for e in rest] == [1] and end is None
    with pytest.raises(BadRequest):
        repo.history(made.id, limit=3, cursor="not-a-cursor")


def check_each_change_names_its_audit_entry(repo):
    made = new_ticket(repo)
    first = repo.change_key(made.id)
    assert first.startswith("AUDIT#")
    entry = repo.audit_entry(made.id, first)
    assert (entry.event, entry.actor, entry.request_id, entry.version) == ("create", "c-1", "r-1", 1)
    other = Actor(client_id="c-2", name="Other", dialect="spp", request_id="r-2")
    repo.update(made.id, retitle("two"), other)
    second = repo.change_key(made.id)
    assert second.startswith("AUDIT#") and second != first
    entry = repo.audit_entry(made.id, second)
    assert (entry.event, entry.actor, entry.dialect, entry.request_id) == ("update", "c-2", "spp", "r-2")
    assert [(c.field, c.before, c.after) for c in entry.changes] == [("title", "Printer on fire", "two")]
    assert repo.audit_entry(made.id, first).event == "create"  # every entry stays under its key
    repo.update(made.id, retitle("two"), ACTOR)  # nothing changed: nothing written
    assert repo.change_key(made.id) == second
    assert repo.audit_entry(made.id, "AUDIT#2030-01-02T03:04:05.000000Z#none") is None
    assert repo.audit_entry(made.id + 999_999, second) is None and repo.change_key(made.id + 999_999) is None
    ticket = repo.get(made.id)  # storage, not ticket: the model never holds it
    assert second not in ticket.model_dump_json() and first not in ticket.model_dump_json()


def check_messages_keep_the_latest_oldest_first(repo):
    made = new_ticket(repo)

    def say(text):
        def command(ticket, cs):
            cs.add_message(ticket, text)

        return command

    for text in ("one", "two", "three"):
        repo.update(made.id, say(text), ACTOR)
    assert [m.body for m in repo.messages(made.id)] == ["one", "two", "three"]
    assert [m.body for m in repo.messages(made.id, limit=2)] == ["two", "three"]
    assert repo.get(made.id).message_count == 3


def check_outbox_only_is_a_write(repo):
    made = new_ticket(repo)

    def notify(ticket, cs):
        cs.emit(OutboxItem(id="n-1", kind="notice", doc={"to": "x"}))

    result = repo.update(made.id, notify, ACTOR)
    assert result.committed and result.ticket.version == 2 and result.changes == []


def check_the_answer_is_rendered_before_the_write(repo):
    made = new_ticket(repo)
    rendered = []

    def respond(result):
        rendered.append((result.ticket.title, repo.get(made.id).title))
        return {"title": result.ticket.title}

    with answering(respond):
        result = repo.update(made.id, retitle("answered"), ACTOR)
    assert rendered == [("answered", "Printer on fire")]
    assert result.answer == {"title": "answered"}


def check_reference_data(repo):
    repo.put_reference("user", 7, {"name": "Ada", "n": 1})
    repo.put_reference("user", "8", {"name": "Bob"})
    repo.put_reference("user", 7, {"name": "Ada L."})
    found = repo.get_references("user", [7, "8", 9, 7])
    assert found == {"7": {"name": "Ada L."}, "8": {"name": "Bob"}}
    assert repo.get_references("order", [7]) == {}


CHECKS = [value for name, value in sorted(globals().items()) if name.startswith("check_")]
