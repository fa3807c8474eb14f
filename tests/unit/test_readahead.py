"""Items read ahead (``ticketing.store.readahead``): wanted, read beside a request's first read,
taken once by the read that wanted them, and gone with the invocation.  The reads themselves, on
moto: ``tests/integration/test_canonical.py`` (the first request, a cached caller)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from ticketing import settings
from ticketing.errors import BadRequest
from ticketing.http import BaseDialect, Response, entrypoint
from ticketing.store import readahead

KEY = {"pk": {"S": "TICKET#7"}, "sk": {"S": "TICKET"}}
OTHER = {"pk": {"S": "TICKET#8"}, "sk": {"S": "TICKET"}}
ITEM = {**KEY, "version": {"N": "3"}, "title": {"S": "seven"}}
EVENT = Path(__file__).parents[2] / "events" / "get_ticket" / "by_id.json"


def test_outside_an_invocation_nothing_is_wanted():
    readahead.want("t", KEY)
    assert readahead.wanted("t") == []
    readahead.fill("t", [KEY], [ITEM])
    assert readahead.take("t", KEY) == (False, None)


def test_an_item_read_ahead_is_taken_once_and_a_missing_one_is_known_missing():
    with readahead.scope():
        readahead.want("t", KEY)
        readahead.want("t", dict(reversed(KEY.items())))  # the same key, its attributes in another order
        readahead.want("t", OTHER)
        readahead.want("other-table", KEY)
        assert readahead.wanted("t") == [KEY, OTHER]
        assert readahead.take("t", KEY) == (False, None)  # wanted, not read yet: the read goes to the store
        readahead.fill("t", [KEY, OTHER], [ITEM])  # found: only the first
        assert readahead.wanted("t") == []
        assert readahead.wanted("other-table") == [KEY]
        assert readahead.take("t", KEY) == (True, ITEM)
        assert readahead.take("t", KEY) == (False, None)  # taken: a second read is the store's
        assert readahead.take("t", OTHER) == (True, None)  # read, and not there
        readahead.fill("t", [KEY], [{**ITEM, "version": {"N": "4"}}])  # no longer wanted: kept nowhere
        assert readahead.take("t", KEY) == (False, None)


def test_a_read_does_not_overwrite_an_item_already_read_ahead():
    with readahead.scope():
        readahead.want("t", KEY)
        readahead.fill("t", [KEY], [ITEM])
        readahead.want("t", KEY)  # wanted again before it was taken: the item read stays
        readahead.fill("t", [KEY], [])
        assert readahead.take("t", KEY) == (True, ITEM)


def test_scopes_nest_and_each_drops_its_own():
    with readahead.scope():
        readahead.want("t", KEY)
        with readahead.scope():
            assert readahead.wanted("t") == []
            readahead.want("t", OTHER)
        assert readahead.wanted("t") == [KEY]


@pytest.fixture
def tables(monkeypatch):
    monkeypatch.setenv("TICKETS_TABLE", "t")
    monkeypatch.setenv("CLIENTS_TABLE", "c")
    settings.reset()
    yield
    settings.reset()


def test_an_item_a_refused_request_read_ahead_is_never_served_to_the_next_invocation(tables):
    """As Lambda runs them: one invocation after another in the same thread and context.  The
    first reads its ticket ahead, then is refused before the read that wanted it; the second
    wants the same ticket and finds nothing read (its own read would go to the store)."""
    taken = []

    def refused(request, context):
        readahead.want("t", KEY)
        readahead.fill("t", readahead.wanted("t"), [ITEM])  # as the caller's read does
        raise BadRequest("refused before the ticket's read")

    def served(request, context):
        readahead.want("t", KEY)
        taken.append(readahead.take("t", KEY))
        return Response(200, {})

    context = SimpleNamespace(
        function_name="f",
        memory_limit_in_mb=128,
        aws_request_id="r",
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
        get_remaining_time_in_millis=lambda: 10_000,
    )
    event = json.loads(EVENT.read_text())
    assert entrypoint(BaseDialect(), refused)(event, context)["statusCode"] == 400
    assert entrypoint(BaseDialect(), served)(event, context)["statusCode"] == 200
    assert taken == [(False, None)]


def test_a_request_naming_more_than_one_item_reads_none_ahead():
    keys = [{"pk": {"S": f"TICKET#{n}"}, "sk": {"S": "TICKET"}} for n in range(3)]
    with readahead.scope():
        readahead.want("t", keys[0])
        assert readahead.pending() == {"t": keys[:1]}  # one item: read beside the caller
        readahead.want("u", keys[1])
        assert readahead.pending() == {}  # more: each read after the checks, as without read-ahead
        assert readahead.pending(2) == {"t": keys[:1], "u": keys[1:2]}
        readahead.fill("t", keys[:1], [{**keys[0], "n": {"N": "1"}}])
        assert readahead.pending() == {"u": keys[1:2]}


def test_forget_drops_what_was_read_ahead():
    with readahead.scope():
        readahead.want("t", KEY)
        readahead.fill("t", [KEY], [ITEM])
        readahead.forget()
        assert readahead.take("t", KEY) == (False, None)  # read again, as it is now
    readahead.forget()  # outside a scope: nothing to drop
