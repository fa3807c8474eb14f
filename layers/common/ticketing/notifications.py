"""Sending notifications: email through SES v2, text messages through SNS.

One message per recipient, so recipients never see each other's address and each
outcome is known on its own.  Contacts are personal data: they reach logs and audit
details only through ``mask``; a failure is recorded by its error code, never by
the provider's message (which may quote the address).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from ticketing import aws
from ticketing.settings import get_settings

Channel = Literal["email", "sms"]
CHANNELS: tuple[str, ...] = ("email", "sms")
SMS_MAX_CHARS = 1600  # SNS refuses longer SMS publishes
SUBJECT_MAX_CHARS = 255
MAX_RECIPIENTS = 50
# what SES and SNS answer when they throttle or are briefly out of reach (after botocore's own
# retries): the send is tried again later (the notifier raises, Lambda retries), never dropped
RETRYABLE_CODES = frozenset(
    {
        "TooManyRequestsException",
        "LimitExceededException",
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalServerError",
        "InternalError",
        "KMSThrottlingException",
    }
)
_BREAKS = re.compile(r"[\r\n\u2028\u2029]+")


def header_text(value: str, limit: int = SUBJECT_MAX_CHARS) -> str:
    """``value`` fit for a mail header (the Subject): line breaks become spaces and every other
    control or format character (C0/C1 controls, zero-width and bidi marks) is dropped, so a
    caller's text can never add a header or a line; at most ``limit`` characters."""
    text = _BREAKS.sub(" ", value)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf"))
    return " ".join(text.split())[:limit]


@dataclass(frozen=True, slots=True)
class SendResult:
    """One recipient's send: whether it went, its message id or its error."""

    recipient: str  # masked
    ok: bool
    message_id: str = ""
    error: str = ""
    retryable: bool = False  # throttled or briefly unavailable: try this recipient again later

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in ("", False) or k == "ok"}


def mask(contact: str) -> str:
    """``j***@example.com`` / ``+1******33``: enough to tell contacts apart in a log."""
    contact = contact.strip()
    if "@" in contact:
        local, _, domain = contact.rpartition("@")
        return f"{local[:1]}***@{domain}"
    if len(contact) <= 4:
        return "*" * len(contact)
    return contact[:2] + "*" * (len(contact) - 4) + contact[-2:]


def send_email(to: str, subject: str, body: str, *, sender: str | None = None) -> str:
    """Send one plain-text email through SES v2; returns SES's message id.

    With ``SES_CONFIGURATION_SET`` set (the template sets it), the message is sent with that
    configuration set: SES then suppresses addresses that bounced or complained and publishes
    each bounce and complaint to the set's event destination."""
    settings = get_settings()
    params: dict[str, Any] = {
        "FromEmailAddress": sender or settings.sender_email,
        "Destination": {"ToAddresses": [to]},
        "Content": {
            "Simple": {
                "Subject": {"Data": header_text(subject), "Charset": "UTF-8"},
                "Body": {"Text": {"Data": body, "Charset": "UTF-8"}},
            }
        },
    }
    if settings.ses_configuration_set:
        params["ConfigurationSetName"] = settings.ses_configuration_set
    resp = aws.client("sesv2").send_email(**params)
    return resp["MessageId"]


def send_sms(to: str, body: str) -> str:
    """Send one transactional text message to an E.164 number through SNS; returns its message id.

    The id says SNS accepted the message, not that the phone received it: carriers report
    delivery later, to SNS's delivery-status logs (README, Deploy: SMS)."""
    resp = aws.client("sns").publish(
        PhoneNumber=to,
        Message=body,
        MessageAttributes={"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}},
    )
    return resp["MessageId"]


def send_one(channel: Channel, to: str, subject: str, body: str) -> SendResult:
    """Send the message to one recipient; a failure is returned, not raised.

    The clients already retry throttling and transient faults (botocore's standard mode); what
    still fails is either ``retryable`` (throttled, out of reach: the notifier tries it again
    later) or final (refused: a bad address, a suppressed one...)."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    try:
        message_id = send_email(to, subject, body) if channel == "email" else send_sms(to, body)
        return SendResult(mask(to), True, message_id=message_id)
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code", "ClientError")
        return SendResult(mask(to), False, error=code, retryable=code in RETRYABLE_CODES)
    except BotoCoreError as err:  # timed out, cut off: it may not have reached the provider
        return SendResult(mask(to), False, error=type(err).__name__, retryable=True)


def send(channel: Channel, recipients: Iterable[str], subject: str, body: str) -> list[SendResult]:
    """Send the message to each recipient (``send_one`` each)."""
    return [send_one(channel, to, subject, body) for to in recipients]
