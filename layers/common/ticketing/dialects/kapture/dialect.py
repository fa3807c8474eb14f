"""What every part of the Kapture dialect shares: its name and route, the document's failure
body (for every error), its ``Authorization: Basic`` key, and its time zone."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, tzinfo
from functools import lru_cache

from ticketing import auth
from ticketing.catalog import Vocabulary
from ticketing.errors import DomainError, PayloadTooLarge
from ticketing.http import BaseDialect, Request, Response
from ticketing.observability import logger
from ticketing.settings import get_settings

NAME = "kapture"
PATH = "/update-ticket-from-other-source.html/v.2.0"
QUEUE_KIND, USER_KIND = "queue", "user"  # reference data kinds (service.get_references)
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"  # the document's yyyy-MM-dd HH:mm:ss

# The document's failure messages, verbatim ("callback_date" although the field is callback_time).
INVALID_AUTH = "Invalid Auth Key"
MISSING_TICKET_ID = "No Data found/ticket_id is missing"
INVALID_CALLBACK = "Invalid Format.callback_date should be yyyy-MM-dd hh:mm:ss."


# -- the dialect: its failure body for every error ---------------------------------------------
def failure(message: str) -> dict[str, str]:
    return {"message": message, "status": "failed"}


def status_of(error: DomainError) -> int:
    """The HTTP status a failure answers with: the document lists 400, 401, 403, 404 and 500,
    so a body over the size limit is a 400 like every other malformed request."""
    return 400 if isinstance(error, PayloadTooLarge) else error.status


class Kapture(BaseDialect):
    name = NAME

    def render_error(self, error: DomainError, request: Request | None) -> Response:
        # the document has one failure for a key "either not passed in header, or incorrect, or
        # expired/disabled": a valid key of a client of another dialect is not a Kapture key either
        if error.status == 401 or (error.status == 403 and error.detail.get("reason") == "dialect"):
            return Response(401, failure(INVALID_AUTH), headers={"WWW-Authenticate": 'Basic realm="kapture"'})
        if isinstance(error, PayloadTooLarge):
            message = f"Invalid Format.The request body should be at most {get_settings().max_body_bytes} bytes."
        else:
            message = error.message
        return Response(status_of(error), failure(message))


DIALECT = Kapture()


# -- auth ----------------------------------------------------------------------------------------
def token_of(header: str | None) -> str | None:
    """The token of ``Authorization: Basic <token>``: the token as issued, or base64 of it
    (also of ``<token>:`` or ``:<token>``, as HTTP Basic clients encode a user name or password)."""
    credential = auth.parse_authorization(header, ("Basic",))
    if credential is None or credential.startswith(auth.TOKEN_PREFIX):
        return credential
    try:
        decoded = base64.b64decode(credential + "=" * (-len(credential) % 4), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return credential  # not base64: looked up as it is (and refused if unknown)
    user, colon, password = decoded.partition(":")
    candidate = (user or password if not (user and password) else "") if colon else decoded
    return candidate if candidate.startswith(auth.TOKEN_PREFIX) else credential


def client_for(authorization: str | None) -> auth.Client:
    """The client an ``Authorization: Basic`` header names (``auth.client_for`` with the
    Basic key's own reading, ``token_of``): 401, or 403 for another dialect's client."""
    return auth.authenticate(token_of(authorization), NAME, with_catalog=True)  # the batch reads the catalog


# -- the time zone of callback_time and of the answer's dates --------------------------------------
@lru_cache(maxsize=8)
def _zone(name: str) -> tzinfo:
    if name.upper() == "UTC":
        return UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        logger.error("unknown time zone in the kapture vocabulary; using UTC", extra={"timezone": name})
        return UTC


def zone_of(vocab: Vocabulary) -> tzinfo:
    """The time zone of ``callback_time`` and of the answer's dates: the vocabulary's
    ``timezone`` attribute (an IANA name, e.g. ``Asia/Kolkata``), UTC by default."""
    return _zone(str(vocab.attrs.get("timezone") or "UTC"))


def zone_label(zone: tzinfo) -> str:
    return getattr(zone, "key", None) or "UTC"


def format_time(when: datetime | None, zone: tzinfo) -> str:
    return when.astimezone(zone).strftime(DATE_FORMAT) if when else ""


def shown(text: str) -> str:
    """A caller's value quoted in a failure message: its start, always valid text."""
    return text[:64].encode("utf-8", "replace").decode("utf-8")
