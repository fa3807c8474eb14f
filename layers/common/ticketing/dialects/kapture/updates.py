"""The request: a JSON array of updates (one object accepted too), each validated by
``KaptureTicketUpdate``, whose validators answer the document's failure messages and whose
schema is the OpenAPI document's (``devkit.openapi``).

An element's failure is the first, in the order a caller fixes them: ``ticket_id``,
``sub_status``, ``callback_time``, then ``queue``, ``comment``, ``disposition``, then the
additional details.  A ``ticket_id`` that can name no ticket is the document's "No Data found"
(404) without a read.
"""

import json
import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ticketing import ids, moments
from ticketing.catalog import Term, Vocabulary, get_catalog
from ticketing.dialects.common import MAX_NESTING, unstorable, utf8
from ticketing.errors import BadRequest, DomainError, NotFound
from ticketing.http import Request

from .dialect import DATE_FORMAT, INVALID_CALLBACK, MISSING_TICKET_ID, NAME, shown, zone_of

MAX_UPDATES = 100
MAX_COMMENT = 65_536
MAX_DISPOSITION = 500
MAX_QUEUE_KEY = 200
MAX_EXTRA_KEYS = 50  # per update
MAX_EXTRA_BYTES = 2_048  # per update, as JSON: a 100-update answer echoes them all
MAX_EXTRA_DEPTH = MAX_NESTING  # nesting of one value (DynamoDB allows 32 levels in an item)
MIN_YEAR, MAX_YEAR = 1970, 9998  # callback_time years (local); in UTC, ticketing.moments' range applies too
DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$")  # ASCII digits only
_DIGITS_RE = re.compile(r"^[0-9]{1,20}$")

# Ours, in the document's style, where the document has none.
INVALID_BODY = "Invalid Format.The request body should be a JSON array of updates."
INVALID_ELEMENT = "Invalid Format.Each update should be a JSON object."
INVALID_TICKET_ID = 'Invalid Format.ticket_id should be the ticket\'s id as a string, e.g. "1004".'
MISSING_SUB_STATUS = "Invalid Format.sub_status is missing."
INVALID_QUEUE = "Invalid Format.queue should be the key of a queue."
INVALID_COMMENT = f"Invalid Format.comment should be text of at most {MAX_COMMENT} characters."
INVALID_DISPOSITION = f"Invalid Format.disposition should be text of at most {MAX_DISPOSITION} characters."
INVALID_EXTRA = (
    f"Invalid Format.Additional details should be at most {MAX_EXTRA_KEYS} keys "
    f"and {MAX_EXTRA_BYTES} bytes of JSON per update, with named keys, text, finite numbers "
    f"and at most {MAX_EXTRA_DEPTH} levels of nesting."
)
TOO_MANY = f"Invalid Format.At most {MAX_UPDATES} updates can be sent in one request."

# The error types of the validators' own refusals: their message is the element's failure.
REFUSED, NOT_FOUND = "kapture_refused", "kapture_not_found"


# -- the body as a whole -----------------------------------------------------------------------------
def parse_body(request: Request) -> tuple[list[Any], bool]:
    """The updates sent, and whether they came as one object rather than an array.

    The body is read as JSON whatever its ``Content-Type`` says (the document's examples
    send ``application/json``; other clients are not refused for a missing header)."""
    try:
        data = request.json()
    except (BadRequest, RecursionError) as err:  # RecursionError: JSON nested too deep for the parser
        raise BadRequest(INVALID_BODY) from err
    if data is None or data == [] or data == {}:
        raise BadRequest(MISSING_TICKET_ID)  # no data at all
    if isinstance(data, dict):
        return [data], True
    if not isinstance(data, list):
        raise BadRequest(INVALID_BODY)
    if len(data) > MAX_UPDATES:
        raise BadRequest(TOO_MANY)
    return data, False


# -- one update's fields -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Refusal:
    """A field's failure when pydantic's own checks refuse its value (its type or length), or
    ``missing`` when it is absent; the validators' own refusals carry their message."""

    message: str
    missing: str = ""


def _refused(message: str, kind: str = REFUSED) -> PydanticCustomError:
    return PydanticCustomError(kind, message)  # no context: the message is taken as it is


def _blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _context(info: ValidationInfo, key: str) -> Any:
    return (info.context or {}).get(key)


def parse_ticket_id(raw: Any) -> int:
    """``ticket_id``: the ticket's numeric id, as the document's string ("1004") or a JSON integer."""
    if _blank(raw):
        raise _refused(MISSING_TICKET_ID)
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        raise _refused(INVALID_TICKET_ID)
    text = str(raw).strip()
    if not _DIGITS_RE.match(text) or not 0 < int(text) <= ids.MAX_ID:
        raise _refused(f"No Data found for ticket_id {shown(text)}.", NOT_FOUND)  # names no ticket: no read
    return int(text)


def _sub_status(raw: Any, info: ValidationInfo) -> Term:
    """``sub_status``: a term of the ``kapture`` vocabulary (``PS``; case-insensitive)."""
    if _blank(raw):
        raise _refused(MISSING_SUB_STATUS)
    vocab: Vocabulary = _context(info, "vocab") or get_catalog().vocabulary(NAME)
    text = raw.strip() if isinstance(raw, str) else None
    term = (vocab.lookup(text) or vocab.lookup(text.upper())) if text else None
    if term is None:
        what = shown(text) if text else shown(json.dumps(raw))
        keys = ", ".join(str(t.term) for t in vocab.terms)
        raise _refused(f"Invalid sub_status {what}: it is not a key of the sub status list ({keys}).")
    return term


def parse_callback(raw: Any, zone: tzinfo) -> datetime | None:
    """``callback_time``: ``yyyy-MM-dd HH:mm:ss`` in the configured time zone, as UTC; empty: none."""
    if _blank(raw):
        return None
    if not isinstance(raw, str) or not DATE_RE.match(raw.strip()):
        raise BadRequest(INVALID_CALLBACK)
    try:
        local = datetime.strptime(raw.strip(), DATE_FORMAT)
    except ValueError as err:  # 2024-13-45 25:61:00 has the form but is no time
        raise BadRequest(INVALID_CALLBACK) from err
    if not MIN_YEAR <= local.year <= MAX_YEAR:  # the years this form takes (docs/kapture.md)
        raise BadRequest(INVALID_CALLBACK)
    try:
        return moments.to_utc(local, naive_as=zone)  # and, in UTC, within the range every dialect renders
    except moments.Unkeepable as err:
        raise BadRequest(INVALID_CALLBACK) from err


def _callback(raw: Any, info: ValidationInfo) -> datetime | None:
    zone = _context(info, "zone") or zone_of(get_catalog().vocabulary(NAME))
    try:
        return parse_callback(raw, zone)
    except BadRequest as err:
        raise _refused(err.message) from None


def _text(value: str | None) -> str:
    """An optional text field: absent, null or blank is empty."""
    return (value or "").strip()


QueueKey = Annotated[str | None, Field(max_length=MAX_QUEUE_KEY), AfterValidator(_text), Refusal(INVALID_QUEUE)]
Comment = Annotated[str | None, Field(max_length=MAX_COMMENT), AfterValidator(_text), Refusal(INVALID_COMMENT)]
Disposition = Annotated[
    str | None, Field(max_length=MAX_DISPOSITION), AfterValidator(_text), Refusal(INVALID_DISPOSITION)
]


TicketId = Annotated[
    int,
    BeforeValidator(parse_ticket_id),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^\s*[0-9]{1,20}\s*$"},
                {"type": "integer", "minimum": 1, "maximum": ids.MAX_ID},
            ]
        }
    ),
    Refusal(INVALID_TICKET_ID, missing=MISSING_TICKET_ID),
]
SubStatus = Annotated[
    Term,
    BeforeValidator(_sub_status),
    WithJsonSchema({"type": "string", "minLength": 1}),
    Refusal(MISSING_SUB_STATUS, missing=MISSING_SUB_STATUS),
]
CallbackTime = Annotated[
    datetime | None,
    BeforeValidator(_callback),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^\s*([0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2})?\s*$"},
                {"type": "null"},
            ]
        }
    ),
    Refusal(INVALID_CALLBACK),
]


class KaptureTicketUpdate(BaseModel):
    """One update.  Keys the document does not name are kept on the ticket and echoed
    under ``Additional_details``."""

    model_config = ConfigDict(extra="allow")

    ticket_id: TicketId = Field(description='The ticket\'s numeric id, e.g. "1004" (a JSON integer is accepted too).')
    sub_status: SubStatus = Field(
        title="Sub Status", description="A sub status key, e.g. P (Pending), PS, CL (Closed)."
    )
    queue: QueueKey = Field(default="", description="A queue key; empty: the queue stays.")
    comment: Comment = Field(default="", description="Added to the conversation; empty: none.")
    callback_time: CallbackTime = Field(
        default="",
        validate_default=True,
        description="yyyy-MM-dd HH:mm:ss: the next follow-up; the assignee is reminded by email then. Empty: none.",
    )
    disposition: Disposition = Field(default="", description="Empty: the disposition stays.")

    @model_validator(mode="wrap")
    @classmethod
    def _an_object_with_storable_extras(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        """An object; its fields validated, then its additional details (their faults come last)."""
        if not isinstance(data, dict):
            raise _refused(INVALID_ELEMENT)
        readable = {k: v for k, v in data.items() if isinstance(k, str) and utf8(k)}  # JSON's "\ud800" keys
        update = handler(readable)
        extras = update.extras
        if len(readable) < len(data) or len(extras) > MAX_EXTRA_KEYS or unstorable(extras) is not None:
            raise _refused(INVALID_EXTRA)
        if len(json.dumps(extras, ensure_ascii=False, separators=(",", ":")).encode()) > MAX_EXTRA_BYTES:
            raise _refused(INVALID_EXTRA)
        return update

    @property
    def term(self) -> Term:
        return self.sub_status

    @property
    def callback(self) -> datetime | None:
        """The callback time, in UTC."""
        return self.callback_time

    @property
    def extras(self) -> dict[str, Any]:
        """The keys the document does not name, in the order sent."""
        return dict(self.model_extra or {})

    @property
    def given(self) -> list[str]:
        """The optional fields this update sets (they name the lines of its message)."""
        values = {"queue": self.queue, "callback_time": self.callback_time, "disposition": self.disposition}
        return [k for k, v in values.items() if v]


# The order a caller fixes an element's faults in: the first answers.
CHECK_ORDER = ("ticket_id", "sub_status", "callback_time", "queue", "comment", "disposition")


def refusal_of(err: ValidationError) -> DomainError:
    """The element's failure: its first fault (``CHECK_ORDER``), in the document's words."""
    rank = {name: i for i, name in enumerate(CHECK_ORDER)}
    errors = err.errors(include_url=False)
    first = min(errors, key=lambda e: rank.get(str(e["loc"][0]) if e["loc"] else "", len(rank)))
    if first["type"] == NOT_FOUND:
        return NotFound(first["msg"])
    if first["type"] == REFUSED:
        return BadRequest(first["msg"])
    field = KaptureTicketUpdate.model_fields.get(str(first["loc"][0])) if first["loc"] else None
    refusal = next((m for m in field.metadata if isinstance(m, Refusal)), None) if field else None
    if refusal is None:  # not a field's fault (none is known): the element as a whole
        return BadRequest(INVALID_ELEMENT)
    return BadRequest(refusal.missing if first["type"] == "missing" and refusal.missing else refusal.message)


def parse_update(data: Any, vocab: Vocabulary, zone: tzinfo) -> KaptureTicketUpdate:
    """One element, validated; its failure (``refusal_of``) raised otherwise."""
    try:
        return KaptureTicketUpdate.model_validate(data, context={"vocab": vocab, "zone": zone})
    except ValidationError as err:
        raise refusal_of(err) from None
