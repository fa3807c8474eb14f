"""Notifications a partner can trust (issue 16), on moto: at-least-once delivery through SES/SNS
throttling, the outcome and the claim written together, content rendered when sent, headers
free of line breaks, and the relay limits refusing with nothing written."""

from __future__ import annotations

from datetime import timedelta

import pytest
from ticketing import notifications, notifier, scheduling, service
from ticketing.commands import ChangeSet, OutboxItem
from ticketing.errors import LimitExceeded, Unavailable
from ticketing.grants import EVERYTHING
from ticketing.model import Actor, Ticket, utcnow

from devkit.local import faults
from devkit.local.embedded_aws import outbox

ACTOR = Actor(client_id="partner-a", dialect="canonical")


def notice(**overrides) -> scheduling.Notice:
    doc = {
        "id": "n-1",
        "ticket_id": 1002,
        "purpose": "test-notify",
        "delivery": "d-1",
        "due": utcnow(),
        "message": {"channel": "email", "to": ["ops@example.com"], "subject": "Hi", "body": "Ticket waits."},
        **overrides,
    }
    return scheduling.Notice.model_validate(doc)


def history(ticket_id: int = 1002):
    return service.repository().history(ticket_id)[0]


def emails() -> list[dict]:
    return outbox()["emails"]


# -- at least once -----------------------------------------------------------------------------------
def test_a_throttled_send_is_deferred_told_and_retried_until_delivered(aws, seeded, quick_botocore_backoff):
    two = {"channel": "email", "to": ["a@example.com", "b@example.com"], "subject": "S", "body": "B"}
    event = notice(message=two).model_dump(mode="json")
    # botocore retries TooManyRequests itself; past its retries the notifier must not drop the send
    throttled = faults.inject("sesv2", "SendEmail", "TooManyRequestsException", status=429, times=100)
    with throttled, pytest.raises(notifier.SendDeferred, match="TooManyRequestsException"):
        notifier.process(event, request_id="r-1")
    assert emails() == []
    entry = history()[0]
    assert entry.event == "notification.deferred" and entry.detail["attempt"] == 1
    assert {r["recipient"] for r in entry.detail["recipients"]} == {"a***@example.com", "b***@example.com"}
    assert service.get_delivery(1002, "d-1")["state"] == "deferred"

    # Lambda runs it again: it takes the deferred claim over and delivers
    result = notifier.process(event, request_id="r-2")
    assert result["outcome"] == "sent" and result["sent"] == 2
    assert sorted(m["to"][0] for m in emails()) == ["a@example.com", "b@example.com"]
    entries = history()
    assert [e.event for e in entries[:2]] == ["notification.sent", "notification.deferred"]
    assert entries[0].detail["attempts"] == 2
    assert service.get_delivery(1002, "d-1")["state"] == "sent"
    assert notifier.process(event, request_id="r-3")["outcome"] == "duplicate"  # never a third time


def test_a_retry_sends_only_the_recipients_not_yet_reached(aws, seeded):
    two = {"channel": "email", "to": ["a@example.com", "b@example.com"], "subject": "S", "body": "B"}
    event = notice(message=two).model_dump(mode="json")
    calls = {"n": 0}
    real = notifications.send_one

    def second_throttled(channel, to, subject, body):
        calls["n"] += 1
        if to == "b@example.com" and calls["n"] <= 2:
            return notifications.SendResult(notifications.mask(to), False, error="Throttling", retryable=True)
        return real(channel, to, subject, body)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(notifications, "send_one", second_throttled)
        with pytest.raises(notifier.SendDeferred):
            notifier.process(event, request_id="r-1")
        assert [m["to"] for m in emails()] == [["a@example.com"]]
        assert notifier.process(event, request_id="r-2")["outcome"] == "sent"
    assert [m["to"] for m in emails()] == [["a@example.com"], ["b@example.com"]]  # a@ heard once


def test_a_run_that_died_holding_the_claim_is_taken_over_after_its_lease(aws, seeded):
    event = notice().model_dump(mode="json")
    state, *_ = notifier._claim(notice(), "r-dead")  # claimed, then the run died
    assert state == "claimed" and emails() == []
    assert notifier.process(event, request_id="r-2")["outcome"] == "duplicate"  # its lease still runs
    expired = (utcnow() - timedelta(seconds=1)).isoformat()
    service.update_delivery(1002, "d-1", {"lease_until": expired})
    assert notifier.process(event, request_id="r-3")["outcome"] == "sent"
    assert len(emails()) == 1 and history()[0].event == "notification.sent"


def test_the_outcome_and_the_claims_end_are_written_together(aws, seeded, monkeypatch):
    event = notice().model_dump(mode="json")
    real_update = service.repository().update
    failing = {"left": 1}

    def store_down_once(*args, **kwargs):
        if failing["left"]:
            failing["left"] -= 1
            raise Unavailable("The ticket store is busy; nothing was changed. Retry shortly.")
        return real_update(*args, **kwargs)

    monkeypatch.setattr(service.repository(), "update", store_down_once)
    with pytest.raises(Unavailable):
        notifier.process(event, request_id="r-1")  # sent, but neither the outcome nor the claim's end written
    claim = service.get_delivery(1002, "d-1")
    assert claim["state"] == "claimed" and len(claim["done"]) == 1
    assert not [e for e in history() if e.event.startswith("notification.")]
    service.update_delivery(1002, "d-1", {"lease_until": (utcnow() - timedelta(seconds=1)).isoformat()})
    result = notifier.process(event, request_id="r-2")  # the retry records; nobody hears twice
    assert result["outcome"] == "sent" and len(emails()) == 1
    assert history()[0].event == "notification.sent" and service.get_delivery(1002, "d-1")["state"] == "sent"


# -- what is sent ------------------------------------------------------------------------------------
def test_a_templated_notice_renders_the_ticket_as_it_is_when_sent(aws, seeded):
    message = {
        "channel": "email",
        "to": ["ops@example.com"],
        "subject": "Ticket ${key}: ${title}",
        "body": 'Ticket ${key} "${title}" is in ${status_name}.',
        "templated": True,
    }
    later = notice(message=message, due=utcnow() + timedelta(hours=1))

    def rename_and_close(ticket: Ticket, cs: ChangeSet) -> None:
        ticket.title = "Renamed elsewhere"
        service.set_status(ticket, "closed", None, cs.now)

    service.update_ticket(1002, rename_and_close, ACTOR, access=EVERYTHING)  # after the notice was made
    assert notifier.process(later.model_dump(mode="json"))["outcome"] == "sent"
    sent = emails()[0]
    ticket = service.read_ticket(1002)
    assert sent["subject"] == f"Ticket {ticket.key}: Renamed elsewhere"
    assert sent["body"] == f'Ticket {ticket.key} "Renamed elsewhere" is in Closed.'


def test_a_callers_words_are_sent_as_written_never_as_a_template(aws, seeded):
    assert scheduling.literal("pay $5 ${title}") == "pay $$5 $${title}"
    ticket = Ticket(id=7, title="T", status="open", status_since=utcnow(), created_at=utcnow(), updated_at=utcnow())
    message = scheduling.Message(channel="email", to=["a@b.co"], subject="x", body=scheduling.literal("${title} $5"))
    assert scheduling.render(message.model_copy(update={"templated": True}), ticket).body == "${title} $5"


@pytest.mark.parametrize(
    "subject",
    ["Hi\r\nBcc: victim@example.com", "Hi\nX-Spam: 1", "Hi\u2028there", "Hi\x00\x07\x1b[31m", "Hi\u200b\u202e"],
)
def test_no_line_break_or_control_character_reaches_a_header(subject):
    text = notifications.header_text(subject)
    assert "\r" not in text and "\n" not in text and "\u2028" not in text
    assert all(ch.isprintable() for ch in text) and text.startswith("Hi")


def test_the_email_sent_has_a_clean_subject(aws, seeded):
    dirty = {"channel": "email", "to": ["ops@example.com"], "subject": "Hi\r\nBcc: x@example.com", "body": "B"}
    assert notifier.process(notice(message=dirty).model_dump(mode="json"))["outcome"] == "sent"
    assert emails()[0]["subject"] == "Hi Bcc: x@example.com"


def test_a_sent_notice_is_remembered_on_the_ticket(aws, seeded):
    notifier.process(notice(purpose="test-reminder", id="rem-1").model_dump(mode="json"))
    assert service.read_ticket(1002).notices_sent == {"test-reminder": "rem-1"}


# -- relay limits ------------------------------------------------------------------------------------
def _notifying(recipients: list[str], notice_id: str):
    def command(ticket: Ticket, cs: ChangeSet) -> None:
        ticket.title = f"asked {notice_id}"
        doc = notice(id=notice_id, delivery=notice_id, message={"channel": "email", "to": recipients, "body": "B"})
        cs.emit(OutboxItem(id=notice_id, kind="notice", doc=doc.model_dump(mode="json")))

    return command


def test_recipients_per_notice_are_limited_with_nothing_written(aws, seeded, monkeypatch):
    from ticketing import settings

    monkeypatch.setenv("NOTIFY_MAX_RECIPIENTS", "3")
    settings.reset()
    before = service.read_ticket(1002)
    with pytest.raises(LimitExceeded, match="limit of 3 recipients per notice") as refused:
        four = [f"u{i}@example.com" for i in range(4)]
        service.update_ticket(1002, _notifying(four, "n-4"), ACTOR, access=EVERYTHING)
    assert refused.value.status == 400 and refused.value.errors[0].field == "contacts"
    assert service.read_ticket(1002).version == before.version
    service.update_ticket(1002, _notifying(["u@example.com"] * 3, "n-3"), ACTOR, access=EVERYTHING)  # at the limit
    settings.reset()


def test_messages_per_client_per_hour_are_limited_atomically(aws, seeded, monkeypatch):
    from ticketing import settings

    monkeypatch.setenv("NOTIFY_CLIENT_PER_HOUR", "5")
    settings.reset()
    recipients = ["a@example.com", "b@example.com"]
    service.update_ticket(1002, _notifying(recipients, "h-1"), ACTOR, access=EVERYTHING)
    service.update_ticket(1002, _notifying(recipients, "h-2"), ACTOR, access=EVERYTHING)
    version = service.read_ticket(1002).version
    with pytest.raises(LimitExceeded, match="5 messages per client per hour"):
        service.update_ticket(1002, _notifying(recipients, "h-3"), ACTOR, access=EVERYTHING)
    ticket = service.read_ticket(1002)
    assert ticket.version == version and ticket.title == "asked h-2"  # nothing of the third written
    other = ACTOR.model_copy(update={"client_id": "partner-b"})
    service.update_ticket(1002, _notifying(recipients, "h-4"), other, access=EVERYTHING)  # per client
    settings.reset()


def test_notices_the_hub_sends_by_itself_are_limited_per_ticket(aws, seeded, monkeypatch):
    from ticketing import settings

    monkeypatch.setenv("NOTIFY_TICKET_PER_HOUR", "2")
    settings.reset()
    outcomes = [
        notifier.process(notice(id=f"m-{i}", delivery=f"m-{i}", armed_by="automations").model_dump(mode="json"))
        for i in range(3)
    ]
    assert [o["outcome"] for o in outcomes] == ["sent", "sent", "limited"]
    assert len(emails()) == 2
    entry = history()[0]
    assert entry.event == "notification.limited" and "notices per ticket per hour" in entry.detail["limit"]
    assert service.get_delivery(1002, "m-2")["state"] == "limited"
    settings.reset()


# -- past Lambda's retries: the dead-letter queue, and the replay -------------------------------------
def test_throttled_past_every_retry_ends_in_the_dlq_with_history_then_replay_delivers(
    aws, seeded, lambdas, quick_botocore_backoff
):
    import boto3
    from ticketing.settings import get_settings

    from devkit import notices

    event = notice().model_dump_json().encode()
    arn = get_settings().notifier_arn
    with faults.inject("sesv2", "SendEmail", "TooManyRequestsException", status=429, times=10_000):
        boto3.client("lambda").invoke(FunctionName=arn, InvocationType="Event", Payload=event)
        assert lambdas.wait()
    assert emails() == []
    deferred = [e for e in history() if e.event == "notification.deferred"]
    assert [e.detail["attempt"] for e in deferred] == [3, 2, 1]  # the first run and Lambda's 2 retries
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=get_settings().scheduler_dlq_arn.rsplit(":", 1)[1])["QueueUrl"]
    assert notices.replay(url, arn) == {"replayed": 1, "unreadable": 0}
    assert lambdas.wait()
    assert [m["to"] for m in emails()] == [["ops@example.com"]]
    assert history()[0].event == "notification.sent" and history()[0].detail["attempts"] == 4
    assert notices.replay(url, arn) == {"replayed": 0, "unreadable": 0}  # the queue is empty
