"""The request: the document's parameters as one pydantic model, which validates them (with
the vendor's messages, every bad field at once) and is the OpenAPI document's schema."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

from ticketing.catalog import Vocabulary, get_catalog
from ticketing.dialects.common import field_errors
from ticketing.dialects.particlespace import NAME
from ticketing.dialects.particlespace.body import fields
from ticketing.dialects.particlespace.contacts import DEFAULT_PHONE_REGION, normalise_email, normalise_phone
from ticketing.dialects.particlespace.notices import MESSAGE_MAX_CHARS
from ticketing.errors import ValidationFailed
from ticketing.http import Request
from ticketing.moments import UtcDateTimeNaiveAsUtc
from ticketing.notifications import MAX_RECIPIENTS, SMS_MAX_CHARS, SUBJECT_MAX_CHARS

_TRUE, _FALSE = {"1", "true"}, {"0", "false"}


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise PydanticCustomError("flag", "must be 1 (true) or 0 (false)")


Flag = Annotated[
    bool,
    BeforeValidator(_flag),
    WithJsonSchema({"type": "integer", "enum": [0, 1], "description": "1 (true) or 0 (false); true/false too"}),
]


def _notifying(info: ValidationInfo) -> bool:
    return bool(info.data.get("notify"))


def _context(info: ValidationInfo) -> dict[str, Any]:
    return info.context or {}


class ParticleSpaceTicketUpdate(BaseModel):
    """The document's parameters.  With ``notify=0`` the notify parameters are ignored."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    description: Annotated[str, StringConstraints(max_length=65536)]
    status: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] = Field(
        description="A flow (column) key, e.g. ON_HOLD (case-insensitive)."
    )
    notify: Flag
    automated: Flag
    type: Literal["email", "sms"] | None = Field(
        default=None, validate_default=True, description="Required when notify=1 (case-insensitive)."
    )
    contacts: Annotated[
        list[str] | None,
        WithJsonSchema({"type": "string", "description": "Comma-separated emails (type=email) or phone numbers."}),
    ] = Field(default=None, validate_default=True)
    time: Annotated[
        UtcDateTimeNaiveAsUtc | None,
        WithJsonSchema(
            {"type": "string", "description": "ISO 8601 or YYYY-MM-DD HH:MM:SS (UTC if no offset); empty: now."}
        ),
    ] = None
    notify_subject: str | None = Field(
        default=None, alias="notifySubject", description="One line, at most 255 characters; a default if absent."
    )
    notify_message: str | None = Field(
        default=None,
        alias="notifyMessage",
        description="At most 10000 characters (1600 for sms); a default if absent.",
    )

    @field_validator("status")
    @classmethod
    def _flow(cls, value: str, info: ValidationInfo) -> str:
        flows: Vocabulary = _context(info).get("flows") or get_catalog().vocabulary(NAME)
        term = flows.lookup(value) or flows.lookup(value.upper())
        if term is None:
            raise PydanticCustomError(
                "flow", "is not a flow; one of: {flows}", {"flows": ", ".join(str(t.term) for t in flows.terms)}
            )
        return str(term.term)

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, value: Any, info: ValidationInfo) -> Any:
        if not _notifying(info):
            return None
        if value is None or (isinstance(value, str) and not value.strip()):
            raise PydanticCustomError("missing", "is required when notify=1")
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("contacts", mode="before")
    @classmethod
    def _contacts(cls, value: Any, info: ValidationInfo) -> Any:
        if not _notifying(info):
            return None
        if isinstance(value, str):
            parts = value.split(",")
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            parts = list(value)
        elif value is None:
            parts = []
        else:
            raise PydanticCustomError("contacts", "must be a comma-separated string")
        parts = [p.strip() for p in parts if p.strip()]
        if not parts:
            raise PydanticCustomError("missing", "is required when notify=1")
        if len(parts) > MAX_RECIPIENTS:
            raise PydanticCustomError("contacts", "at most {max} contacts", {"max": MAX_RECIPIENTS})
        channel = info.data.get("type")
        if channel is None:  # no valid type: its own error says what is wrong
            return parts
        region = _context(info).get("phone_region") or DEFAULT_PHONE_REGION
        out: list[str] = []
        bad: list[int] = []
        for position, raw in enumerate(parts, start=1):
            normal = normalise_email(raw) if channel == "email" else normalise_phone(raw, region)
            if normal is None:
                bad.append(position)
            elif normal.lower() not in {o.lower() for o in out}:
                out.append(normal)
        if bad:  # by position: the contacts themselves must not reach the logs
            kind = "email address" if channel == "email" else "phone number"
            which = ", ".join(map(str, bad))
            raise PydanticCustomError(
                "contact",
                "entry {which} of {count} is not a valid {kind}"
                if len(bad) == 1
                else "entries {which} of {count} are not valid {kind}s",
                {"which": which, "count": len(parts), "kind": kind},
            )
        return out

    @field_validator("time", mode="before")
    @classmethod
    def _time(cls, value: Any, info: ValidationInfo) -> Any:
        if not _notifying(info) or value is None:
            return None
        if isinstance(value, str):
            text = value.strip()
            if not text:
                return None
            try:
                return datetime.fromisoformat(text)  # its type makes it UTC (none: UTC), within range
            except ValueError:
                pass
        raise PydanticCustomError("time", "must be ISO 8601 or YYYY-MM-DD HH:MM:SS")

    @field_validator("notify_subject", mode="before")
    @classmethod
    def _subject(cls, value: Any, info: ValidationInfo) -> Any:
        if not _notifying(info) or value is None:
            return None
        if not isinstance(value, str):
            raise PydanticCustomError("string", "must be a string")
        text = value.strip()
        if "\r" in text or "\n" in text:
            raise PydanticCustomError("subject", "must be a single line")
        if len(text) > SUBJECT_MAX_CHARS:
            raise PydanticCustomError("subject", "must be at most {max} characters", {"max": SUBJECT_MAX_CHARS})
        return text or None

    @field_validator("notify_message", mode="before")
    @classmethod
    def _message(cls, value: Any, info: ValidationInfo) -> Any:
        if not _notifying(info) or value is None:
            return None
        if not isinstance(value, str):
            raise PydanticCustomError("string", "must be a string")
        text = value.strip()
        sms = info.data.get("type") == "sms"
        limit = SMS_MAX_CHARS if sms else MESSAGE_MAX_CHARS
        if len(text) > limit:
            raise PydanticCustomError(
                "message", "must be at most {max} characters{what}", {"max": limit, "what": " for sms" if sms else ""}
            )
        return text or None


def parse(request: Request, flows: Vocabulary) -> ParticleSpaceTicketUpdate:
    """The validated request; a ValidationFailed naming every bad field otherwise."""
    data = fields(request)
    region = str(flows.attrs.get("default_phone_region") or DEFAULT_PHONE_REGION)
    try:
        return ParticleSpaceTicketUpdate.model_validate(data, context={"flows": flows, "phone_region": region})
    except ValidationError as err:
        errors = field_errors(err)
        summary = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
        raise ValidationFailed(f"The request is invalid: {summary}.", errors=errors) from err
