"""Faults at every step after the commit: no 5xx for a change that was made, and no retry with
the same Idempotency-Key applying anything a second time (handlers on moto, in process)."""

from __future__ import annotations

import json
import math
import time

import pytest
from botocore.exceptions import ReadTimeoutError
from ticketing import invocation, service
from ticketing.errors import Unavailable
from ticketing.repository import Repository
from ticketing.store import writer

from devkit.local import apigateway as apigw
from devkit.local import faults, runtime

AUTH = {"Authorization": "Bearer tkt_demo_canonical", "Content-Type": "application/json"}
TASK = {"title": "Call the vendor"}


def add_task(aws, key="k-1", spelling="1001"):
    resp = apigw.request(
        aws, "POST", f"/tickets/{spelling}/tasks", body=json.dumps(TASK), headers={**AUTH, "Idempotency-Key": key}
    )
    return resp["statusCode"], resp["headers"], resp["body"]


def tasks_of(ticket_id=1001):
    return [t.title for t in service.repository().get(ticket_id).tasks.values()]


def history_versions(ticket_id=1001):
    return [e.version for e in service.repository().history(ticket_id, limit=100)[0]]


class Died(BaseException):
    """The function's environment going away: nothing of the request's code runs after it."""


def test_a_timeout_after_the_store_committed_is_answered_as_the_change_it_was(aws, seeded, monkeypatch):
    original = Repository._transact
    calls = []

    def committed_then_timed_out(self, items, token):
        calls.append(token)
        original(self, items, token)
        if len(calls) == 1:
            raise ReadTimeoutError(endpoint_url="https://dynamodb.invalid")

    monkeypatch.setattr(Repository, "_transact", committed_then_timed_out)
    status, _, body = add_task(aws)
    assert status == 201, body
    assert calls[0] == calls[1]  # retried with the same ClientRequestToken: applied at most once
    assert tasks_of().count(TASK["title"]) == 1
    assert history_versions()[:2] == [2, 1] and len(history_versions()) == 2


def test_a_store_out_of_reach_after_an_ambiguous_error_never_says_nothing_was_changed(aws, seeded, monkeypatch):
    def timed_out(self, items, token):
        raise ReadTimeoutError(endpoint_url="https://dynamodb.invalid")

    def unreachable(self, ticket_id, key):
        raise Unavailable("unreachable")

    monkeypatch.setattr(Repository, "_transact", timed_out)
    monkeypatch.setattr(Repository, "audit_entry_exists", unreachable)
    monkeypatch.setattr("ticketing.store.writer.WRITE_BUDGET_SECONDS", 0.5)
    resp = apigw.request(aws, "PATCH", "/tickets/1001", body=json.dumps({"queue": "x"}), headers=AUTH)
    problem = json.loads(resp["body"])
    assert resp["statusCode"] == 503
    assert "nothing was changed" not in problem["detail"] and "may or may not" in problem["detail"]


def test_an_ambiguous_error_then_no_audit_entry_is_nothing_changed(aws, seeded, monkeypatch):
    def timed_out(self, items, token):
        raise ReadTimeoutError(endpoint_url="https://dynamodb.invalid")

    monkeypatch.setattr(Repository, "_transact", timed_out)
    monkeypatch.setattr("ticketing.store.writer.WRITE_BUDGET_SECONDS", 0.5)
    resp = apigw.request(aws, "PATCH", "/tickets/1001", body=json.dumps({"queue": "x"}), headers=AUTH)
    assert resp["statusCode"] == 503 and "nothing was changed" in json.loads(resp["body"])["detail"]
    assert service.repository().get(1001).version == 1


def test_a_failing_idempotency_store_after_the_commit_answers_the_change_and_a_retry_applies_nothing(
    aws, seeded, quick_botocore_backoff
):
    # Powertools completes the record with UpdateItem: fail it (the change's own write is a transaction)
    with faults.inject("dynamodb", "UpdateItem", "ProvisionedThroughputExceededException") as fault:
        status, _, first = add_task(aws)
    assert fault.injected >= 1
    assert status == 201, first
    # the record stayed "in progress", but the change's marker committed with it: the retry is told
    # the change, from the ticket as it is, and nothing is applied again
    status, _, again = add_task(aws)
    assert status == 201, again
    assert tasks_of().count(TASK["title"]) == 1
    assert json.loads(again)["id"] == json.loads(first)["id"]


def test_a_function_that_dies_right_after_the_commit_is_retried_without_applying_twice(aws, seeded, monkeypatch):
    original = Repository._transact

    def commit_then_die(self, items, token):
        original(self, items, token)
        raise Died

    monkeypatch.setattr(Repository, "_transact", commit_then_die)
    with pytest.raises(Died):
        add_task(aws)
    monkeypatch.setattr(Repository, "_transact", original)
    status, _, body = add_task(aws)  # its record is still "in progress": the marker says it committed
    assert status == 201, body
    assert tasks_of().count(TASK["title"]) == 1
    assert history_versions()[:2] == [2, 1] and len(history_versions()) == 2


def test_a_retry_while_the_first_is_in_progress_and_committed_is_its_answer_even_when_nothing_is_left_to_do(
    aws, seeded, monkeypatch
):
    """The first request committed and its record is still "in progress" (it died, or has yet to
    complete it): a retry with its key, whose change the ticket already holds (nothing left to
    write), is answered as the first was and marked a replay -- not a fresh 200 with no change."""
    original = Repository._transact

    def commit_then_die(self, items, token):
        original(self, items, token)
        raise Died

    def patch():
        body = json.dumps({"metadata": {"k": "v"}})
        return apigw.request(aws, "PATCH", "/tickets/1001", body=body, headers={**AUTH, "Idempotency-Key": "k-2"})

    monkeypatch.setattr(Repository, "_transact", commit_then_die)
    with pytest.raises(Died):
        patch()
    monkeypatch.setattr(Repository, "_transact", original)
    again = patch()
    assert again["statusCode"] == 200, again["body"]
    assert again["headers"].get("Idempotent-Replayed") == "true"
    answer = json.loads(again["body"])
    assert answer["metadata"]["k"] == "v" and answer["version"] == 2  # the first's answer: the version it made
    assert history_versions()[:2] == [2, 1] and len(history_versions()) == 2


def test_an_error_after_the_commit_then_a_retry_applies_nothing_twice(aws, seeded, monkeypatch):
    original = Repository._transact

    def commit_then_fail(self, items, token):
        original(self, items, token)
        raise RuntimeError("the function failed after the commit")

    monkeypatch.setattr(Repository, "_transact", commit_then_fail)
    status, _, _ = add_task(aws)
    assert status == 500  # the function's own failure (Powertools frees the key for a retry)
    monkeypatch.setattr(Repository, "_transact", original)
    status, _, body = add_task(aws)
    assert status == 201, body
    assert tasks_of().count(TASK["title"]) == 1


def test_one_key_three_spellings_of_the_ticket_one_task(aws, seeded):
    answers = [add_task(aws, "same", spelling) for spelling in ("1001", "INC-001001", "8FC95B0F")]
    assert [a[0] for a in answers] == [201, 201, 201]
    assert [a[1].get("Idempotent-Replayed") for a in answers] == [None, "true", "true"]
    assert answers[1][2] == answers[0][2] == answers[2][2]  # the same bytes
    assert tasks_of().count(TASK["title"]) == 1


# -- the write budget ends before the function's own timeout ---------------------------------------
class Clock:
    """A Lambda context with ``seconds`` left, whatever the time."""

    def __init__(self, seconds):
        self.seconds = seconds

    def get_remaining_time_in_millis(self):
        return int(self.seconds * 1000)


def test_the_write_budget_is_the_budget_or_the_invocations_remaining_time_less_a_margin(monkeypatch):
    margin = writer.BUDGET_MARGIN_SECONDS
    assert margin == 3.5  # a throttled call's botocore backoff (3 s) and the answer
    assert writer.write_window(100.0) == (108.0, math.inf)  # no invocation: the budget alone
    with invocation.serving(Clock(60)):
        assert writer.write_window(100.0) == (108.0, 160.0)  # the budget ends well before the timeout
    with invocation.serving(Clock(10)):
        assert writer.write_window(100.0) == (110.0 - margin, 110.0)  # an API function's 10 s: 6.5 s
        with invocation.serving(object()):  # a context without Lambda's clock: the budget alone
            assert writer.write_window(100.0) == (108.0, math.inf)
        monkeypatch.setattr(writer, "WRITE_BUDGET_SECONDS", 30.0)  # the local run's
        assert writer.write_window(100.0) == (110.0 - margin, 110.0)  # a longer budget is still cut
    assert writer.write_window(100.0) == (130.0, math.inf)  # the budget's, out of the invocation


def patch_with_seconds_left(template, seconds, body):
    """``PATCH /tickets/1001`` to its handler, as API Gateway would, with ``seconds`` left to run."""
    fn, route, params = apigw.find_route(template, "PATCH", "/tickets/1001")
    event = apigw.build_event(
        method="PATCH", path="/tickets/1001", route=route, path_params=params, headers=list(AUTH.items()), body=body
    )
    context = runtime.LambdaContext(fn.logical_id, fn.memory, seconds, "req-budget", "arn:aws:lambda:::function:p")
    started = time.monotonic()
    resp = runtime.load_handler(fn)(event, context)
    return resp["statusCode"], json.loads(resp["body"]), time.monotonic() - started


def test_a_write_that_keeps_failing_gives_up_in_time_for_the_function_to_answer(aws, seeded, monkeypatch):
    tries, checks = [], []

    def timed_out(self, items, token):
        tries.append(token)
        raise ReadTimeoutError(endpoint_url="https://dynamodb.invalid")

    def not_there(self, ticket_id, key):
        checks.append(key)
        return False

    monkeypatch.setattr(Repository, "_transact", timed_out)
    monkeypatch.setattr(Repository, "audit_entry_exists", not_there)
    # 4.5 s left: the budget is about 1 s (not WRITE_BUDGET_SECONDS' 8), then the audit entry is
    # looked for, with time left for it
    status, problem, took = patch_with_seconds_left(aws, 4.5, b'{"queue": "x"}')
    assert status == 503 and "nothing was changed" in problem["detail"]
    assert took < 4.5 - writer.CHECK_SECONDS
    assert len(tries) > 1 and len(set(tries)) == 1  # retried, with the same ClientRequestToken
    assert len(checks) == 1
    assert service.repository().get(1001).version == 1


def test_a_hanging_store_is_answered_before_the_function_times_out_not_killed_mid_call(aws, seeded, monkeypatch):
    checks = []

    def hung(self, items, token):
        time.sleep(1.8)  # a transaction that hung until botocore gave up
        raise ReadTimeoutError(endpoint_url="https://dynamodb.invalid")

    def looked(self, ticket_id, key):
        checks.append(key)
        time.sleep(5)  # the store still hanging: past the function's timeout
        return False

    monkeypatch.setattr(Repository, "_transact", hung)
    monkeypatch.setattr(Repository, "audit_entry_exists", looked)
    status, problem, took = patch_with_seconds_left(aws, 4, b'{"queue": "x"}')
    # under 2.5 s left after the hung try: no second try and no look (either would outlive the
    # function); the answer says what is known
    assert status == 503 and "may or may not" in problem["detail"]
    assert checks == [] and took < 4


def test_a_retry_racing_its_first_attempts_commit_answers_from_the_ticket_as_it_is_now(aws, seeded, monkeypatch):
    """The retry reads its ticket ahead with its client; then the first attempt (still "in
    progress") commits; the retry finds its key taken and the change committed, and runs again
    against the marker.  A Kapture batch's marker keeps no answer, so the answer is rendered from
    the ticket: as it is now, not as read ahead before that commit."""
    from ticketing import auth

    kapture = {"Authorization": "Basic tkt_demo_kapture", "Idempotency-Key": "race-1"}
    body = json.dumps([{"ticket_id": "1004", "sub_status": "OH", "comment": "once"}])

    def send():
        return apigw.request(aws, "POST", "/update-ticket-from-other-source.html/v.2.0", body=body, headers=kapture)

    original, held = Repository._transact, []

    def hold_then_die(self, items, token):
        held.append((self, items, token))
        raise Died  # the first attempt's environment goes before its write is sent

    monkeypatch.setattr(Repository, "_transact", hold_then_die)
    with pytest.raises(Died):
        send()
    monkeypatch.setattr(Repository, "_transact", original)
    read_with = auth._read_with

    def then_the_first_commits(*args, **kwargs):
        found = read_with(*args, **kwargs)  # the ticket read ahead, before the first attempt's commit
        original(*held.pop())
        return found

    monkeypatch.setattr(auth, "_read_with", then_the_first_commits)
    again = send()
    assert again["statusCode"] == 200, again["body"]
    answer = json.loads(again["body"])
    assert answer["ticket"]["substatus"] == "OH"  # the ticket as the first attempt's commit left it
    assert [m.body for m in service.messages(service.repository().get(1004))].count("once") == 1
