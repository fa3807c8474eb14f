"""The ParticleSpace dialect: ``PUT /api/v1/ticket/{id}``, form-encoded as the document's
``qs.stringify`` example sends it (JSON accepted too), Bearer tokens.

``status`` is a flow (column) of the ``particlespace`` vocabulary of the catalog.
``notify=1`` tells the contacts (email or SMS) about the update, at ``time`` or now;
``automated=1`` also tells them, once, if the ticket is still in the same stay in
that flow when the flow's time limit has passed.  Neither is armed in the request:
the update's notification is decided in its command and committed with the ticket (the
change's outbox, ``notify_notice``), the reminder is derived from the stored ticket by the
tickets table's stream consumer (``REMINDER_AUTOMATION``), and that consumer
(``ticketing.automations``) sends or schedules both.  The choices made where the
document is silent are written down in ``docs/particlespace.md``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
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

from ticketing import auth, idempotency, scheduling, service
from ticketing.catalog import Term, Vocabulary, get_catalog
from ticketing.commands import OutboxItem
from ticketing.dialects.common import actor_for, field_errors, if_match, json_body
from ticketing.dialects.docs import IDEMPOTENCY_KEY, Operation
from ticketing.errors import BadRequest, DomainError, NotFound, UnsupportedMediaType, ValidationFailed, quoted
from ticketing.http import BaseDialect, Request, Response, entrypoint
from ticketing.model import Notify, Ticket
from ticketing.moments import UtcDateTimeNaiveAsUtc
from ticketing.notifications import MAX_RECIPIENTS, SMS_MAX_CHARS, SUBJECT_MAX_CHARS
from ticketing.repository import ChangeSet

NAME = "particlespace"
PURPOSE_NOTIFY = "particlespace-notify"
PURPOSE_REMINDER = "particlespace-reminder"
FORM = "application/x-www-form-urlencoded"
DEFAULT_PHONE_REGION = "US"  # national numbers such as 1112223333 are read as North American
MESSAGE_MAX_CHARS = 10_000
_ID_RE = re.compile(r"^(tic_[0-9a-z]{7}|[0-9]{1,10})$")
_EMAIL_RE = re.compile(
    r"^(?=[^@]{1,64}@)[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
_PHONE_RE = re.compile(r"^\+?(?=(?:[^0-9]*[0-9]){4})[0-9 ().-]{4,32}$")  # digits, spaces, ( ) . -
_TRUE, _FALSE = {"1", "true"}, {"0", "false"}


# -- request -----------------------------------------------------------------------------
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


def normalise_email(raw: str) -> str | None:
    """The address with its domain in lower case, or None if it is not a valid address."""
    if len(raw) > 254 or not _EMAIL_RE.match(raw):
        return None
    local, _, domain = raw.rpartition("@")
    return f"{local}@{domain.lower()}"


def normalise_phone(raw: str, region: str = DEFAULT_PHONE_REGION) -> str | None:
    """The number in E.164 (``+11112223333``), or None if it cannot be a phone number.

    National numbers are read in ``region``.  A number must be *possible* (the right
    length for its country's numbering plan); it is not checked against the area
    codes in service, since the document's own examples (1112223333) are not."""
    if not _PHONE_RE.match(raw):
        return None
    import phonenumbers  # only requests with SMS contacts pay for it

    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


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


def _body(request: Request) -> dict[str, Any]:
    media = request.media_type
    looks_json = request.body.lstrip()[:1] in (b"{", b"[")
    if media == "application/json" or media.endswith("+json") or (media == "" and looks_json):
        data = json_body(request)
        if not isinstance(data, dict):
            raise BadRequest("The request body must be a JSON object.")
        return data
    if media in (FORM, ""):
        return request.form()
    if media == MULTIPART:
        return multipart_fields(request)
    raise UnsupportedMediaType(f"Send the body as {FORM}, {MULTIPART} or application/json, not {media}.")


MULTIPART = "multipart/form-data"  # Postman's default body, curl -F
MAX_PARTS = 1000


def multipart_fields(request: Request) -> dict[str, str]:
    """The text fields of a ``multipart/form-data`` body (RFC 7578), read with the stdlib's
    MIME parser: the same fields as the form body.  A file part is refused (the operation
    takes none), and so is a part that is not UTF-8 text (or its declared charset)."""
    import email.parser
    import email.policy

    request.check_utf8()
    content_type = request.header("content-type") or ""
    try:
        head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("ascii")
    except UnicodeEncodeError as err:
        raise BadRequest("The Content-Type header of a multipart/form-data body must be ASCII.") from err
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.body)
    if not message.get_boundary():
        raise BadRequest("A multipart/form-data body needs the boundary parameter in its Content-Type.")
    parts = list(message.iter_parts()) if message.is_multipart() else []
    if message.defects or not parts or any(p.defects for p in parts):
        raise BadRequest("The request body is not valid multipart/form-data.")
    if len(parts) > MAX_PARTS:
        raise BadRequest(f"A multipart/form-data body may have at most {MAX_PARTS} parts.")
    fields: dict[str, str] = {}
    for part in parts:
        name = part.get_param("name", header="content-disposition")
        if part.get_content_disposition() != "form-data" or not isinstance(name, str) or not name:
            raise BadRequest("Each part of a multipart/form-data body must be form-data with a name.")
        if part.get_filename() is not None:
            raise BadRequest(f"The part {quoted(name)} is a file: this operation takes text fields only.")
        payload = part.get_payload(decode=True) or b""
        try:
            fields[name] = payload.decode(part.get_content_charset() or "utf-8")
        except (LookupError, UnicodeDecodeError) as err:
            raise BadRequest(f"The part {quoted(name)} is not valid text in its charset (UTF-8 by default).") from err
    return fields


def parse(request: Request, flows: Vocabulary) -> ParticleSpaceTicketUpdate:
    """The validated request; a ValidationFailed naming every bad field otherwise."""
    data = _body(request)
    region = str(flows.attrs.get("default_phone_region") or DEFAULT_PHONE_REGION)
    try:
        return ParticleSpaceTicketUpdate.model_validate(data, context={"flows": flows, "phone_region": region})
    except ValidationError as err:
        errors = field_errors(err)
        summary = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
        raise ValidationFailed(f"The request is invalid: {summary}.", errors=errors) from err


# -- flows, time limits and messages -----------------------------------------------------------
def time_limit_minutes(flows: Vocabulary, flow: Term | None) -> int:
    """The flow's time limit (its ``time_limit_minutes``, else the vocabulary's
    ``default_time_limit_minutes``); 0 means the flow has none."""
    default = flows.attrs.get("default_time_limit_minutes", 0)
    raw = (flow.attrs if flow else {}).get("time_limit_minutes", default)
    try:
        return max(int(raw), 0)
    except (TypeError, ValueError):
        return 0


def _duration(minutes: int) -> str:
    size, unit = next((s, u) for s, u in ((1440, "day"), (60, "hour"), (1, "minute")) if minutes % s == 0)
    n = minutes // size
    return f"{n} {unit}{'' if n == 1 else 's'}"


def _flow_label(ticket: Ticket, flow: Term | None) -> str:
    return f"{flow.name} ({flow.term})" if flow else ticket.status


def _notify_message(ticket: Ticket, notify: Notify, flow: Term | None) -> scheduling.Message:
    label = _flow_label(ticket, flow)
    subject = notify.subject or f"Ticket {ticket.key}: {ticket.title}"[:SUBJECT_MAX_CHARS]
    body = notify.message
    if not body:
        body = f'Ticket {ticket.key} "{ticket.title}" is in {label}.'
        if notify.channel == "email" and ticket.description:
            body += f"\n\n{ticket.description}"
    return scheduling.Message(
        channel=notify.channel, to=notify.contacts, subject=subject, body=body[: _max_body(notify.channel)]
    )


def _reminder_message(ticket: Ticket, notify: Notify, flow: Term | None, minutes: int) -> scheduling.Message:
    label, duration = _flow_label(ticket, flow), _duration(minutes)
    since = ticket.status_since.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    name = flow.name if flow else ticket.status
    return scheduling.Message(
        channel=notify.channel,
        to=notify.contacts,
        subject=f"Reminder: ticket {ticket.key} has been in {name} for over {duration}"[:SUBJECT_MAX_CHARS],
        body=(
            f'Ticket {ticket.key} "{ticket.title}" has been in {label} since {since} UTC, '
            f"longer than the flow's time limit of {duration}."
        )[: _max_body(notify.channel)],
    )


def _max_body(channel: str) -> int:
    return SMS_MAX_CHARS if channel == "sms" else MESSAGE_MAX_CHARS


def reminder_due(ticket: Ticket, flows: Vocabulary) -> datetime | None:
    """When the automated reminder for the ticket's current stay is due (None: no reminder)."""
    notify = ticket.notify
    if notify is None or not (notify.enabled and notify.automated and notify.contacts):
        return None
    minutes = time_limit_minutes(flows, flows.for_status(ticket.status, ticket.sub_status))
    return ticket.status_since + timedelta(minutes=minutes) if minutes else None


_STAY = ("status", "sub_status", "status_since")
# what the reminder depends on in the notify settings (not the update's own subject, message, time)
_REMINDER_NOTIFY = ("notify.enabled", "notify.automated", "notify.channel", "notify.contacts")


def notify_notice(ticket: Ticket, flows: Vocabulary, now: datetime, armed_by: str) -> scheduling.Notice | None:
    """The notification of an update with ``notify=1``, from the ticket as the update leaves it
    (pure: the command emits it into the change's outbox).  None: nobody to tell.

    Its id and delivery key are what the update stored (title, description, flow stay, notify
    settings), so the same update again is the same notice, which the notifier sends only once,
    and any other update is another one: two never replace each other.  Due now (``time``
    empty or past): nothing that happens to the ticket later makes it stale.  At a later
    ``time``: it expects the ticket's notify settings, which hold its id, so the next notifying
    update (or ``notify=0``) supersedes it."""
    notify = ticket.notify
    if notify is None or not (notify.enabled and notify.contacts and notify.channel):
        return None
    settings = notify.model_dump(mode="json", exclude={"notice"}, exclude_none=True)
    stay = {"status": ticket.status, "sub_status": ticket.sub_status, "status_since": ticket.status_since}
    fields = {"title": ticket.title, "description": ticket.description, **stay, "notify": settings}
    key = scheduling.delivery_key(ticket.id, PURPOSE_NOTIFY, fields)
    timed = notify.time is not None and notify.time > now
    expect = {"notify": {**settings, "notice": key}} if timed else {}
    return scheduling.Notice(
        id=key,
        ticket_id=ticket.id,
        purpose=PURPOSE_NOTIFY,
        delivery=key,
        due=notify.time or now,
        expect=expect,
        message=_notify_message(ticket, notify, flows.for_status(ticket.status, ticket.sub_status)),
        armed_by=armed_by,
    )


def _timed_notice(ticket: Ticket) -> str | None:
    """The id of the timed notification the ticket's notify settings asked for (None: none)."""
    notify = ticket.notify
    return notify.notice if notify is not None and notify.enabled and notify.time and notify.notice else None


def reminder_id(ticket: Ticket, flows: Vocabulary) -> str | None:
    """The id of the automated reminder the ticket calls for: its stay and whom to tell."""
    if reminder_due(ticket, flows) is None:
        return None
    notify = ticket.notify
    stay = [ticket.status, ticket.sub_status, ticket.status_since]
    return scheduling.delivery_key(ticket.id, PURPOSE_REMINDER, stay, notify.channel, notify.contacts)


def reminder_notice(ticket: Ticket, flows: Vocabulary, notice_id: str, armed_by: str) -> scheduling.Notice | None:
    """The automated reminder of the ticket's stay in its flow (None: it calls for none).

    Its delivery key is the stay, so each stay in a flow is reminded of at most once, whoever
    armed it and however often."""
    due = reminder_due(ticket, flows)
    if due is None or ticket.notify is None:
        return None
    flow = flows.for_status(ticket.status, ticket.sub_status)
    return scheduling.Notice(
        id=notice_id,
        ticket_id=ticket.id,
        purpose=PURPOSE_REMINDER,
        delivery=scheduling.delivery_key(ticket.id, PURPOSE_REMINDER, scheduling.expect_of(ticket, *_STAY)),
        due=due,
        expect=scheduling.expect_of(ticket, *_STAY, *_REMINDER_NOTIFY),
        message=_reminder_message(ticket, ticket.notify, flow, time_limit_minutes(flows, flow)),
        armed_by=armed_by,
        version=ticket.version,
    )


def _reminder_id(ticket: Ticket) -> str | None:
    return reminder_id(ticket, get_catalog().vocabulary(NAME))


def _reminder_called_for(ticket: Ticket, notice_id: str, now: datetime) -> scheduling.Notice | None:
    return reminder_notice(ticket, get_catalog().vocabulary(NAME), notice_id, "automations")


# The automated reminder follows the ticket's moves through every dialect, this one included
# (ticketing.automations): each stay is reminded of, and a move re-arms or cancels it.
REMINDER_AUTOMATION = scheduling.Automation(
    PURPOSE_REMINDER, ("status", "sub_status", "status_since", "notify"), _reminder_id, _reminder_called_for
)
# A timed notification is emitted by the update that asks for it (the outbox); the next
# notifying update, or notify=0, supersedes it: its schedule is cancelled.
NOTIFY_AUTOMATION = scheduling.Automation(PURPOSE_NOTIFY, ("notify",), _timed_notice)


# -- response ------------------------------------------------------------------------------------
def _iso(when: datetime | None) -> str | None:
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z") if when else None


def render(ticket: Ticket, flows: Vocabulary) -> dict[str, Any]:
    notify = ticket.notify or Notify()
    flow = flows.for_status(ticket.status, ticket.sub_status)
    return {
        "id": ticket.key,
        "title": ticket.title,
        "description": ticket.description,
        "status": str(flow.term) if flow else ticket.status.upper(),
        "notify": int(notify.enabled),
        "type": notify.channel or None,
        "contacts": ",".join(notify.contacts) or None,
        "time": _iso(notify.time),
        "notifySubject": notify.subject or None,
        "notifyMessage": notify.message or None,
        "automated": int(notify.automated),
        "reminderAt": _iso(reminder_due(ticket, flows)),
        "statusSince": _iso(ticket.status_since),
        "createdAt": _iso(ticket.created_at),
        "updatedAt": _iso(ticket.updated_at),
    }


class ParticleSpace(BaseDialect):
    name = NAME

    def render_error(self, error: DomainError, request: Request | None) -> Response:
        body: dict[str, Any] = {
            "success": False,
            "status": error.status,
            "error": HTTPStatus(error.status).phrase,
            "code": error.code,
            "message": error.message,
        }
        if error.errors:
            body["errors"] = [{"field": e.field, "message": e.message} for e in error.errors]
        if "current_version" in error.detail:
            body["currentVersion"] = error.detail["current_version"]
        if request is not None and request.request_id:
            body["requestId"] = request.request_id
        headers = {"WWW-Authenticate": 'Bearer realm="particlespace"'} if error.status == 401 else {}
        return Response(error.status, body, headers=headers)


DIALECT = ParticleSpace()


def update_ticket(request: Request, context: Any) -> Response:
    token = auth.parse_authorization(request.header("authorization"), ("Bearer",))
    client = auth.authenticate(token, NAME)

    def run() -> Response:
        flows = get_catalog().vocabulary(NAME)
        body = parse(request, flows)
        term = flows.lookup(body.status)
        identifier = request.path_params.get("id", "")
        if not _ID_RE.match(identifier):
            raise NotFound(f"Ticket {identifier} was not found.")

        def command(ticket: Ticket, cs: ChangeSet) -> None:
            asked = ticket.notify.notice if ticket.notify is not None else None
            ticket.title = body.title
            ticket.description = body.description
            current = flows.for_status(ticket.status, ticket.sub_status)
            if current is None or current.term != term.term:  # already in that flow: keep its stay
                service.set_status(ticket, term.status, term.sub_status, cs.now)
            notify = Notify(
                enabled=body.notify,
                channel=body.type or "",
                contacts=body.contacts or [],
                time=body.time,
                subject=body.notify_subject or "",
                message=body.notify_message or "",
                automated=body.automated,
            )
            ticket.notify = notify
            notice = notify_notice(ticket, flows, cs.now, client.client_id)
            if notice is not None:
                ticket.notify = notify.model_copy(update={"notice": notice.id})
                if notice.id != asked:  # the same update again asks for nothing new (and writes nothing)
                    cs.emit(OutboxItem(id=notice.id, kind="notice", doc=notice.model_dump(mode="json")))

        result = service.update_ticket(
            identifier,
            command,
            actor_for(client, NAME, request),
            if_match=if_match(request),
            access=client.access,
            respond=lambda result: Response(200, render(result.ticket, flows)),
        )
        return result.answer

    return idempotency.once(request, client.client_id, run, context, ticket_param="id")


# -- the route, for the OpenAPI document ------------------------------------------------------------
class ParticleSpaceTicket(BaseModel):
    """A ticket as this dialect answers it."""

    model_config = ConfigDict(defer_build=True)  # for the OpenAPI document only

    id: str = Field(description="The ticket's key, tic_...")
    title: str
    description: str
    status: str = Field(description="The flow (column) key.")
    notify: Literal[0, 1]
    type: Literal["email", "sms"] | None
    contacts: str | None = Field(description="Comma-separated, normalised (phones in E.164).")
    time: str | None = Field(description="When the notification is sent (UTC); null: as soon as stored.")
    notifySubject: str | None
    notifyMessage: str | None
    automated: Literal[0, 1]
    reminderAt: str | None = Field(description="When the automated reminder is due, if one is armed.")
    statusSince: str
    createdAt: str
    updatedAt: str


class ParticleSpaceError(BaseModel):
    """Every ParticleSpace error."""

    model_config = ConfigDict(defer_build=True)  # for the OpenAPI document only

    success: Literal[False]
    status: int
    error: str
    code: str
    message: str
    errors: list[dict[str, str]] | None = None
    currentVersion: int | None = None
    requestId: str | None = None


_ERRORS = {s: ParticleSpaceError for s in (400, 401, 403, 404, 409, 412, 413, 415, 422, 503)}
OPERATIONS = [
    Operation(
        "PUT",
        path,
        "Update a ticket, and notify its contacts now, later, or when it stays too long in a flow",
        NAME,
        "bearer",
        ParticleSpaceTicketUpdate,
        request_media_types=(FORM, MULTIPART, "application/json"),
        responses={200: ParticleSpaceTicket, **_ERRORS},
        parameters=(IDEMPOTENCY_KEY,),
        description="`{id}` is the ticket's `tic_...` key (its numeric id is accepted too)." + note,
    )
    for path, note in (
        ("/api/v1/ticket/{id}", ""),
        (
            "/api/v1/ticket/update/{id}",
            " The same operation as `PUT /api/v1/ticket/{id}`: the document's text says"
            ' "Place the ticket id in the URL: ticket/update/tic_....".',
        ),
    )
]

update_handler = entrypoint(DIALECT, update_ticket)
