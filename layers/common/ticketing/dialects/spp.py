"""The SPP dialect: ``PUT /api/tickets/{ticket}`` ("Update a ticket", ``../shared/seeds/001_*``).

Bearer tokens; the client needs the ``ticket_management`` permission.  The body is a
partial ``SaveTicketRequest`` (JSON, or the PHP-style form encoding SPP's Laravel
backend also takes): only the parameters present change, ``employees`` / ``tags``
replace their lists, ``metadata`` merges key by key (``null`` removes a key), and
``status`` is an SPP status id of the catalog vocabulary ``spp``.  The answer is the
documented ``TicketResource``, every documented key present in the documented order;
nested objects the service does not hold come back with their documented keys and
null/empty values.  Every response, errors included, carries ``X-Api-Identifier`` (a
fresh UUID) and ``X-Api-Version``.  Errors are ``{"message": ..., "errors": {field:
[...]}}`` (Laravel's shape).  The choices the document leaves open: ``docs/spp.md``.
"""

from __future__ import annotations

import copy
import re
import types
import typing
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError

from ticketing import auth, idempotency, service
from ticketing.catalog import Term, Vocabulary, get_catalog
from ticketing.commands import ChangeSet, Command, UpdateResult
from ticketing.dialects.common import actor_for, etag, if_match, json_body, merge_patch, storable_errors
from ticketing.dialects.docs import Operation
from ticketing.errors import (
    DomainError,
    FieldError,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    quoted,
)
from ticketing.grants import Access
from ticketing.http import BaseDialect, Request, Response, entrypoint, parse_form
from ticketing.model import Message, Ticket
from ticketing.moments import UtcDateTimeNaiveAsUtc
from ticketing.repository import MAX_TICKET_BYTES, ticket_bytes

NAME = "spp"
PERMISSION = "ticket_management"
IDENTIFIER_HEADER = "X-Api-Identifier"
VERSION_HEADER = "X-Api-Version"
# The versions the document names (request example 2024-03-05, response example 20231214),
# each accepted in both spellings; the response echoes the caller's spelling.
VERSIONS = ("2024-03-05", "2023-12-14")
SUPPORTED_VERSIONS = (*VERSIONS, *(v.replace("-", "") for v in VERSIONS))
DEFAULT_VERSION = VERSIONS[0]
USER_KIND, ORDER_KIND = "user", "order"  # reference data kinds (Repository.put_reference)
MAX_ID = 2**31 - 1

_TICKET_PATH = re.compile(r"^(?:[0-9]{1,10}|[0-9A-Fa-f]{8})$")  # numeric id or 8-hex number only
_DIGITS = re.compile(r"^\s*[0-9]{1,18}\s*$")
_FORM_KEY = re.compile(r"^([^\[\]]+)\[([^\[\]]*)\]$")
_INDEX = re.compile(r"^[0-9]{1,6}$")
_FIELDS = ("status", "employees", "tags", "order", "metadata", "subject")
_JSON_TYPES = {"", "application/json", "text/json"}
_FORM_TYPE = "application/x-www-form-urlencoded"


# -- the dialect: errors and the headers of every response ---------------------------
def response_version(request: Request | None) -> str:
    """The version a response names: the caller's, when it is one we serve."""
    asked = (request.header(VERSION_HEADER) or "").strip() if request is not None else ""
    return asked if asked in SUPPORTED_VERSIONS else DEFAULT_VERSION


class Spp(BaseDialect):
    name = NAME

    def render_error(self, error: DomainError, request: Request | None) -> Response:
        errors: dict[str, list[str]] = {}
        for e in error.errors:
            errors.setdefault(e.field, []).append(e.message)
        headers = {"WWW-Authenticate": 'Bearer realm="spp"'} if error.status == 401 else {}
        return Response(error.status, {"message": error.message, "errors": errors}, headers=headers)

    def finish(self, request: Request | None, response: Response) -> Response:
        response.headers = {
            **response.headers,
            IDENTIFIER_HEADER: str(uuid.uuid4()),
            VERSION_HEADER: response_version(request),
        }
        return response


DIALECT = Spp()


# -- the request ---------------------------------------------------------------------------
def _int_like(value: Any) -> Any:
    """Laravel's ``integer`` rule: an integer, or a string of digits (form bodies)."""
    if isinstance(value, str) and _DIGITS.match(value):
        return int(value)
    return value


def _order_number(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # the document's example is 123456
    return value


def _object(value: Any) -> Any:
    if value == []:  # PHP's json_encode() writes an empty associative array as []
        return {}
    return value


def _list(value: Any) -> Any:
    """``tags[0]=a&tags[1]=b`` (PHP's indexed form keys) is the list [a, b]."""
    if isinstance(value, dict) and value and all(isinstance(k, str) and _INDEX.match(k) for k in value):
        return [value[k] for k in sorted(value, key=int)]
    return value


IntLike = Annotated[int, BeforeValidator(_int_like), Field(strict=True)]
UserId = Annotated[int, BeforeValidator(_int_like), Field(strict=True, gt=0, le=MAX_ID)]
TagName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
OrderNumber = Annotated[
    str, BeforeValidator(_order_number), StringConstraints(strip_whitespace=True, min_length=1, max_length=64)
]
Subject = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class SaveTicketRequest(BaseModel):
    """SPP's ``SaveTicketRequest``: every parameter optional; only those present change.

    ``employees[]``, ``tags[]`` and ``metadata[]`` (the document's spellings) are accepted
    for ``employees``, ``tags`` and ``metadata``.  Unknown parameters are ignored, as SPP
    ignores them.  ``employees``/``tags`` null clear the list; ``order`` null unlinks the
    order; ``metadata`` null changes nothing; ``status``/``subject`` may not be null.
    """

    model_config = ConfigDict(extra="ignore")

    status: IntLike | None = Field(default=None, description="SPP status id (e.g. 1 Open, 3 Pending, 6 Closed)")
    employees: Annotated[list[UserId] | None, BeforeValidator(_list)] = Field(
        default=None, max_length=50, description="User ids of the employees; replaces the list"
    )
    tags: Annotated[list[TagName] | None, BeforeValidator(_list)] = Field(
        default=None, max_length=50, description="Replaces the list"
    )
    order: OrderNumber | None = Field(default=None, description="Order number, e.g. 123456; null unlinks")
    metadata: Annotated[dict[str, Any] | None, BeforeValidator(_object)] = Field(
        default=None, max_length=100, description="Merged key by key; a null value removes the key"
    )
    subject: Subject | None = Field(default=None, description="Ticket subject")


_PHRASES = {
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "string_type": "must be a string",
    "list_type": "must be an array",
    "dict_type": "must be an object",
    "string_too_short": "must not be empty",
}


def _phrase(err: dict[str, Any]) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind in _PHRASES:
        return _PHRASES[kind]
    if kind == "string_too_long":
        return f"must not be greater than {ctx.get('max_length')} characters"
    if kind == "too_long":
        return f"must not have more than {ctx.get('max_length')} items"
    if kind == "greater_than":
        return f"must be greater than {ctx.get('gt')}"
    if kind == "less_than_equal":
        return f"must not be greater than {ctx.get('le')}"
    return err["msg"][:1].lower() + err["msg"][1:]


def invalid(errors: list[FieldError]) -> ValidationFailed:
    """Laravel's summary: the first message, and how many more there are."""
    more = len(errors) - 1
    suffix = f" (and {more} more error{'s' if more > 1 else ''})" if more else ""
    return ValidationFailed(errors[0].message + suffix, errors=errors)


def _php_form(text: str) -> dict[str, Any]:
    """A form body as PHP reads it: ``a[]=1&a[]=2`` a list, ``m[k]=v`` a map, and
    empty values null (Laravel's ``ConvertEmptyStringsToNull``)."""
    pairs = parse_form(text)
    out: dict[str, Any] = {}
    for key, raw in pairs:
        value = None if raw == "" else raw
        m = _FORM_KEY.match(key)
        if m is None:
            out[key] = value
            continue
        name, sub = m.groups()
        slot = out.setdefault(name, [] if sub == "" else {})
        if sub == "" and isinstance(slot, list):
            slot.append(value)
        elif sub != "" and isinstance(slot, dict):
            slot[sub] = value
        else:
            raise invalid([FieldError(name, f"The {name} field mixes {name}[] and {name}[key] parameters.")])
    return out


def parse_body(request: Request) -> tuple[SaveTicketRequest, set[str]]:
    """The request's ``SaveTicketRequest`` and the names of the parameters it gave (a 400
    naming every malformed parameter)."""
    body, given, errors = read_body(request)
    if errors:
        raise invalid(errors)
    return body, given


def read_body(request: Request) -> tuple[SaveTicketRequest, set[str], list[FieldError]]:
    """The parameters of the request that are well formed (as a ``SaveTicketRequest``), their
    names, and an error for each one that is not: Laravel checks every field's rules and
    reports them all at once, so one bad field must not hide what the others' checks say."""
    media = request.media_type
    if media in _JSON_TYPES or media.endswith("+json"):
        data = json_body(request)
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise invalid([FieldError("body", "The request body must be a JSON object.")])
        # Laravel's ConvertEmptyStringsToNull runs on JSON input as on forms: "order": "" is
        # order= (unlinks), "subject": "" is subject= (must be a string)
        data = {k: (None if v == "" else v) for k, v in data.items()}
    elif media == _FORM_TYPE:
        data = _php_form(request.text())
    else:
        raise UnsupportedMediaType(f"Send the body as application/json, not {media}.")
    given: dict[str, Any] = {}
    errors: list[FieldError] = []
    for name in _FIELDS:
        spellings = [s for s in (name, f"{name}[]") if s in data]
        if len(spellings) == 2:
            errors.append(FieldError(name, f"Send {name} or {name}[], not both."))
        elif spellings:
            given[name] = data[spellings[0]]
    for name, phrase in (("status", "must be an integer"), ("subject", "must be a string")):
        if name in given and given[name] is None:
            errors.append(FieldError(name, f"The {name} field {phrase}."))
    try:
        body = SaveTicketRequest.model_validate(given)
    except ValidationError as err:
        for e in err.errors(include_url=False):
            field = ".".join(str(p) for p in e["loc"]) or "body"
            errors.append(FieldError(field, f"The {field} field {_phrase(e)}."))
        body = None
    if body is not None:
        errors += [FieldError(e.field, f"The {e.field} field {e.message}.") for e in storable_errors(body)]
    bad = {e.field.split(".")[0] for e in errors}
    good = {k: v for k, v in given.items() if k not in bad}
    if bad:
        body = SaveTicketRequest.model_validate(good)  # each field validates on its own
    return body, set(good), _in_field_order(errors)


def _in_field_order(errors: list[FieldError]) -> list[FieldError]:
    """Errors in the order of the fields' rules (Laravel's), each field's in the order found."""
    rank = {name: i for i, name in enumerate(_FIELDS)}
    return sorted(errors, key=lambda e: rank.get(e.field.split(".")[0], len(rank)))


# -- reference data: users and orders ----------------------------------------------------
class References:
    """The users and orders one request reads, each key fetched at most once."""

    def __init__(self) -> None:
        self._docs: dict[tuple[str, str], dict[str, Any] | None] = {}

    def load(self, kind: str, keys: Iterable[Any]) -> None:
        wanted = list(dict.fromkeys(str(k) for k in keys if k is not None and (kind, str(k)) not in self._docs))
        if not wanted:
            return
        found = service.repository().get_references(kind, wanted)
        for key in wanted:
            self._docs[(kind, key)] = found.get(key)

    def get(self, kind: str, key: Any) -> dict[str, Any] | None:
        return None if key is None else self._docs.get((kind, str(key)))

    def missing(self, kind: str, keys: Iterable[Any]) -> list[Any]:
        keys = list(keys)
        self.load(kind, keys)
        return [k for k in keys if self.get(kind, k) is None]


# -- the change --------------------------------------------------------------------------
def _term(vocab: Vocabulary, status_id: int) -> Term | None:
    return vocab.lookup(status_id) or vocab.lookup(str(status_id))


def plan(body: SaveTicketRequest, given: set[str], refs: References) -> tuple[Term | None, list[FieldError]]:
    """Check what the body names (status id, employees, order) against the catalog and
    the reference data; every problem is reported at once."""
    errors: list[FieldError] = []
    term = None
    if "status" in given:
        term = _term(get_catalog().vocabulary(NAME), body.status)
        if term is None:
            errors.append(FieldError("status", f"The selected status {body.status} is invalid."))
    if body.employees:
        unknown = refs.missing(USER_KIND, list(dict.fromkeys(body.employees)))
        if unknown:
            ids = ", ".join(str(u) for u in unknown)
            errors.append(FieldError("employees", f"The selected employees do not exist: {ids}."))
    if body.order is not None and refs.missing(ORDER_KIND, [body.order]):
        errors.append(FieldError("order", f"The selected order {body.order} does not exist."))
    return term, errors


def command_for(body: SaveTicketRequest, given: set[str], term: Term | None) -> Command:
    """The change, as a pure function of the ticket it is given (it may run again on a
    fresher ticket when another writer got there first)."""
    vocab = get_catalog().vocabulary(NAME)

    def command(ticket: Ticket, cs: ChangeSet) -> None:
        if "subject" in given:
            ticket.title = body.subject
        if "tags" in given:
            ticket.tags = list(dict.fromkeys(body.tags or []))
        if "employees" in given:
            ticket.assignee_ids = list(dict.fromkeys(body.employees or []))
        if "order" in given:
            ticket.order_number = body.order
        if "metadata" in given and body.metadata:
            ticket.metadata = merge_patch(ticket.metadata, body.metadata)
            size = ticket_bytes(ticket)
            if size > MAX_TICKET_BYTES:
                message = f"The ticket would hold {size} bytes with this metadata, {MAX_TICKET_BYTES} at most."
                raise PayloadTooLarge(message, errors=[FieldError("metadata", message)])
        if term is not None:
            shown = vocab.for_status(ticket.status, ticket.sub_status)
            if shown is None or shown.term != term.term:  # the status it already shows keeps its sub-status
                service.set_status(ticket, term.status, term.sub_status, cs.now)

    return command


# -- the TicketResource ----------------------------------------------------------------------
def ts(value: Any) -> str | None:
    """The document's timestamp form: ``2021-09-01T00:00:00+00:00``."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds")


def _model_of(annotation: Any) -> Any:
    """What an annotation stands for, ``X | None`` and ``Annotated[X, ...]`` unwrapped."""
    if typing.get_origin(annotation) is Annotated:
        return _model_of(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _model_of(args[0]) if len(args) == 1 else annotation
    return annotation


@cache
def _blank(model: type[BaseModel]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, info in model.model_fields.items():
        kind = _model_of(info.annotation)
        origin = typing.get_origin(kind) or kind
        if origin is list:
            out[key] = []
        elif origin is dict:
            out[key] = {}
        elif isinstance(kind, type) and issubclass(kind, BaseModel) and kind is not model:
            out[key] = _blank(kind)
        else:
            out[key] = None
    return out


def blank(model: type[BaseModel]) -> dict[str, Any]:
    """A documented object the service does not hold: every key, null/empty values."""
    return copy.deepcopy(_blank(model))


def shape(model: type[BaseModel], values: dict[str, Any]) -> dict[str, Any]:
    """``values`` laid out as ``model`` documents them: every key, in order; what is
    missing or null takes the blank value (an object keeps its documented keys)."""
    empty = _blank(model)
    return {k: (values[k] if values.get(k) is not None else copy.deepcopy(empty[k])) for k in empty}


def _timestamps(model: type[BaseModel], doc: dict[str, Any]) -> dict[str, Any]:
    return {k: (ts(v) if k in _datetime_keys(model) else v) for k, v in doc.items()}


@cache
def _datetime_keys(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(k for k, info in model.model_fields.items() if _model_of(info.annotation) is datetime)


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def render_employee(user_id: int, doc: dict[str, Any] | None) -> dict[str, Any]:
    return shape(SppEmployee, {**(doc or {}), "id": user_id})


def render_user(user_id: int | None, doc: dict[str, Any] | None) -> dict[str, Any]:
    if user_id is None:
        return blank(SppUser)
    doc = doc or {}
    role = doc.get("role") or {}
    values = {
        **_timestamps(SppUser, doc),
        "id": user_id,
        "address": shape(SppAddress, doc.get("address") or {}),
        "role": shape(SppRole, {**_timestamps(SppRole, role), "id": _first(role.get("id"), doc.get("role_id"))}),
        "name": doc.get("name") or (" ".join(p for p in (doc.get("name_f"), doc.get("name_l")) if p) or None),
        "managers": [shape(SppUserManager, m) for m in doc.get("managers") or []],
    }
    return shape(SppUser, values)


def render_order(doc: dict[str, Any] | None, refs: References) -> dict[str, Any]:
    if doc is None:
        return blank(SppOrder)
    user_id = doc.get("user_id")
    client = render_user(user_id, refs.get(USER_KIND, user_id))
    invoice_id = doc.get("invoice_id")
    values = {
        **_timestamps(SppOrder, doc),
        "client": client,
        "employees": [render_employee(u, refs.get(USER_KIND, u)) for u in doc.get("employees") or []],
        # what the order says of its service and invoice; the rest of them is not held here
        "order_service": shape(SppService, {"id": doc.get("service_id"), "name": doc.get("service")}),
        "invoice": shape(SppInvoice, {"id": invoice_id, "client": client} if invoice_id is not None else {}),
        "addons": [shape(SppAddon, a) for a in doc.get("addons") or []],
        "ratings": [shape(SppRating, r) for r in doc.get("ratings") or []],
    }
    return shape(SppOrder, values)


def render_message(message: Message) -> dict[str, Any]:
    return shape(
        SppMessage,
        {
            "id": message.seq,
            "user_id": message.author_id,
            "created_at": ts(message.created_at),
            "message": message.body,
            "staff_only": message.staff_only,
            "files": [],
        },
    )


def status_name(ticket: Ticket) -> str:
    catalog = get_catalog()
    term = catalog.vocabulary(NAME).for_status(ticket.status, ticket.sub_status)
    if term is not None:
        return term.name
    status = catalog.status(ticket.status)
    return status.name if status else ticket.status


def load_references(ticket: Ticket, refs: References) -> None:
    """Everything the resource shows of the reference data: two batched reads at most."""
    refs.load(ORDER_KIND, [ticket.order_number])
    order = refs.get(ORDER_KIND, ticket.order_number) or {}
    order_users = [order.get("user_id"), *(order.get("employees") or [])]
    refs.load(USER_KIND, [*ticket.assignee_ids, ticket.requester_id, *order_users])


def render(ticket: Ticket, refs: References, messages: list[Message]) -> dict[str, Any]:
    """The documented TicketResource.  ``ticket`` holds the same resource once more,
    nested, with its own ``ticket`` null (the document types it TicketResource)."""
    load_references(ticket, refs)
    order = refs.get(ORDER_KIND, ticket.order_number)
    values = {
        "id": ticket.id,
        "created_at": ts(ticket.created_at),
        "updated_at": ts(ticket.updated_at),
        "last_message_at": ts(ticket.last_message_at),
        "date_closed": ts(ticket.closed_at),
        "subject": ticket.title,
        "user_id": ticket.requester_id,
        "form_data": {},
        "tags": list(ticket.tags),
        "note": ticket.note,
        "employees": [render_employee(u, refs.get(USER_KIND, u)) for u in ticket.assignee_ids],
        "status": status_name(ticket),
        "source": ticket.source,
        "order_id": order.get("id") if order else None,
        "messages": [render_message(m) for m in messages],
        "order": render_order(order, refs),
        "client": render_user(ticket.requester_id, refs.get(USER_KIND, ticket.requester_id)),
        "metadata": dict(ticket.metadata),
    }
    nested = {k: values.get(k) for k in SppTicketResource.model_fields}
    return {**nested, "ticket": nested}


def messages_of(ticket: Ticket) -> list[Message]:
    return service.repository().messages(ticket.id) if ticket.message_count else []


# -- the route ---------------------------------------------------------------------------
def check_version(request: Request) -> None:
    asked = request.header(VERSION_HEADER)
    if asked is not None and asked.strip() not in SUPPORTED_VERSIONS:
        supported = " and ".join(f"{v} ({v.replace('-', '')})" for v in VERSIONS)
        message = f"Unsupported API version {quoted(asked.strip())}; supported: {supported}."
        raise invalid([FieldError(VERSION_HEADER, message)])


def find_ticket(identifier: str, access: Access) -> Ticket:
    """``{ticket}``: the ticket's 8-hex-digit number or its numeric id."""
    if not _TICKET_PATH.match(identifier):
        raise NotFound(f"Ticket {identifier} was not found.")
    return service.get_ticket(identifier, access=access)


def update_ticket(request: Request, context: Any) -> Response:
    check_version(request)
    token = auth.parse_authorization(request.header("authorization"), ("Bearer",))
    client = auth.authenticate(token, NAME)
    if not client.has_permission(PERMISSION):
        raise Forbidden("This action is unauthorized: the token lacks the ticket_management permission.")

    def run() -> Response:
        ticket = find_ticket(request.path_params.get("ticket", ""), client.access)
        body, given, errors = read_body(request)
        refs = References()
        term, more = plan(body, given, refs)  # the well-formed parameters are checked as well
        if errors or more:
            raise invalid(_in_field_order(errors + more))
        earlier = messages_of(ticket)  # read before the write: the answer is rendered before it too

        def respond(result: UpdateResult) -> Response:
            updated = result.ticket
            added = result.changeset.messages if result.changeset and result.committed else []
            messages = sorted({m.seq: m for m in [*earlier, *added]}.values(), key=lambda m: m.seq)
            return Response(200, render(updated, refs, messages), headers={"ETag": etag(updated.version)})

        return service.update_ticket(
            ticket.id,
            command_for(body, given, term),
            actor_for(client, NAME, request),
            if_match=if_match(request),
            access=client.access,
            respond=respond,
            current=ticket,
        ).answer

    return idempotency.once(request, client.client_id, run, context, ticket_param="ticket")


update_handler = entrypoint(DIALECT, update_ticket)


# -- the documented resources (response schemas, and the order of their keys) ----------------
class _Doc(BaseModel):
    # Built only when used: for the OpenAPI document, and to validate reference data
    # (devkit / PUT /users, PUT /orders), never on this function's request path.
    model_config = ConfigDict(defer_build=True, extra="forbid")


class SppAddress(_Doc):
    line_1: str | None = None
    line_2: str | None = None
    city: str | None = None
    country: str | None = None
    state: str | None = None
    postcode: str | None = None
    name_f: str | None = None
    name_l: str | None = None
    tax_id: str | None = None
    company_name: str | None = None
    company_vat: str | None = None


class SppRole(_Doc):
    id: int | None = None
    name: str | None = None
    dashboard_access: int | None = None
    affiliates: int | None = None
    clients: int | None = None
    coupons: int | None = None
    created_at: UtcDateTimeNaiveAsUtc | None = None
    forms: int | None = None
    invoice_access: int | None = None
    invoice_management: int | None = None
    messaging: int | None = None
    order_access: int | None = None
    order_management: int | None = None
    rank_tracking: int | None = None
    services: int | None = None
    team: bool | None = None
    settings: bool | int | None = None  # "boolean", example `1`
    ticket_access: int | None = None
    ticket_management: int | None = None
    settings_company: bool | None = None
    settings_payments: bool | None = None
    settings_team: bool | None = None
    settings_modules: bool | None = None
    settings_integrations: bool | None = None
    settings_orders: bool | None = None
    settings_tickets: bool | None = None
    settings_accounts: bool | None = None
    settings_messages: bool | None = None
    settings_tags: bool | None = None
    settings_sidebar: bool | None = None
    settings_dashboard: bool | None = None
    settings_templates: bool | None = None
    settings_emails: bool | None = None
    settings_language: bool | None = None
    settings_logs: bool | None = None
    updated_at: UtcDateTimeNaiveAsUtc | None = None


class SppUserManager(_Doc):
    id: int = Field(gt=0, le=MAX_ID)
    name: str | None = None
    name_f: str | None = None
    name_l: str | None = None
    email: str | None = None
    role_id: int | None = None


class SppUser(_Doc):
    id: int | None = None
    aff_id: int | None = None
    aff_link: str | None = None
    created_at: UtcDateTimeNaiveAsUtc | None = None
    name_f: str | None = None
    name_l: str | None = None
    email: str | None = None
    company: str | None = None
    tax_id: str | None = None
    phone: str | None = None
    address: SppAddress | None = None
    note: str | None = None
    balance: float | None = None
    optin: str | None = None
    stripe_id: str | None = None
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    status: int | None = None
    role_id: int | None = None
    role: SppRole | None = None
    name: str | None = None
    spent: str | None = None
    employee_id: int | None = None
    managers: list[SppUserManager] = Field(default_factory=list)
    ga_cid: str | None = None
    team_owner_ids: list[int] = Field(default_factory=list)
    team_member_ids: list[int] = Field(default_factory=list)


class SppEmployee(_Doc):
    id: int | None = None
    name_f: str | None = None
    name_l: str | None = None
    group_id: int | None = None
    role_id: int | None = None


class SppMessage(_Doc):
    id: int | None = None
    user_id: int | None = None
    created_at: datetime | None = None
    message: str | None = None
    staff_only: bool | None = None
    files: list[str] = Field(default_factory=list)


class SppSubscription(_Doc):
    id: int | None = None
    number: str | None = None
    invoice_id: str | None = None
    status: str | None = None
    processor_id: str | None = None
    current_period_end: datetime | None = None
    payments: list[dict[str, Any]] = Field(default_factory=list)
    orders: list[str] = Field(default_factory=list)
    payment_count: int | None = None
    client: SppUser | None = None


class SppInvoiceItem(_Doc):
    id: int | None = None
    invoice_id: int | None = None
    amount: str | None = None
    created_at: datetime | None = None
    description: str | None = None
    discount: str | None = None
    discount2: str | None = None
    name: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    order_id: int | None = None
    quantity: int | None = None
    service_id: int | None = None
    total: str | None = None
    updated_at: datetime | None = None


class SppInvoice(_Doc):
    id: int | None = None
    number: str | None = None
    number_prefix: str | None = None
    client: SppUser | None = None
    items: list[SppInvoiceItem] = Field(default_factory=list)
    billing_address: SppAddress | None = None
    status: str | None = None
    status_id: int | None = None
    created_at: datetime | None = None
    date_due: datetime | None = None
    date_paid: datetime | None = None
    credit: float | None = None
    tax: float | None = None
    tax_name: str | None = None
    tax_percent: float | None = None
    currency: str | None = None
    reason: str | None = None
    note: str | None = None
    ip_address: str | None = None
    loc_confirm: bool | None = None
    recurring: dict[str, Any] = Field(default_factory=dict)
    coupon_id: int | None = None
    transaction_id: str | None = None
    paysys: str | None = None
    subtotal: float | None = None
    total: float | None = None
    employee_id: int | None = None
    view_link: str | None = None
    download_link: str | None = None
    thanks_link: str | None = None


class SppService(_Doc):
    id: int | None = None
    name: str | None = None
    description: str | None = None
    image: str | None = None
    recurring: bool | None = None
    price: float | None = None
    pretty_price: str | None = None
    currency: str | None = None
    f_price: float | None = None
    f_period_l: int | None = None
    f_period_t: str | None = None
    r_price: float | None = None
    r_period_l: int | None = None
    r_period_t: str | None = None
    recurring_action: str | None = None
    multi_order: bool | None = None
    request_orders: bool | None = None
    option_categories: list[int] = Field(default_factory=list)
    option_variants: list[int] = Field(default_factory=list)
    deadline: int | None = None
    public: bool | None = None
    sort_order: int | None = None
    braintree_plan_id: str | None = None
    group_quantities: bool | None = None
    addon_to: list[int] = Field(default_factory=list)
    folder_id: int | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    hoth_product_key: str | None = None
    hoth_package_name: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    provider_id: int | None = None
    provider_service_id: int | None = None
    deleted_at: datetime | None = None
    media: list[dict[str, Any]] = Field(default_factory=list)


class SppRating(_Doc):
    user_id: int | None = None
    rating: int | None = None


class SppAddon(_Doc):
    id: int | None = None
    addon_to: list[int] = Field(default_factory=list)
    name: str | None = None


class SppOrder(_Doc):
    """SPP's ``IndexOrder`` resource."""

    id: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_message_at: datetime | None = None
    date_started: datetime | None = None
    date_completed: datetime | None = None
    date_due: datetime | None = None
    client: SppUser | None = None
    tags: list[str] = Field(default_factory=list)
    status: str | None = None
    price: float | None = None
    quantity: int | None = None
    invoice_id: int | None = None
    service: str | None = None
    service_id: int | None = None
    user_id: int | None = None
    employees: list[SppEmployee] = Field(default_factory=list)
    note: str | None = None
    form_data: dict[str, Any] = Field(default_factory=dict)
    paysys: str | None = None
    currency: str | None = None
    subscription: SppSubscription | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    invoice: SppInvoice | None = None
    order_service: SppService | None = None
    addons: list[SppAddon] = Field(default_factory=list)
    ratings: list[SppRating] = Field(default_factory=list)
    messages: list[SppMessage] = Field(default_factory=list)


class SppTicketResource(_Doc):
    """SPP's ``TicketResource``; ``ticket`` is the same resource, nested once."""

    id: int
    created_at: datetime
    updated_at: datetime
    last_message_at: datetime | None
    date_closed: datetime | None
    subject: str
    user_id: int | None
    form_data: dict[str, Any]
    tags: list[str]
    note: str
    employees: list[SppEmployee]
    status: str
    source: str
    order_id: int | None
    messages: list[SppMessage]
    order: SppOrder
    ticket: SppTicketResource | None
    client: SppUser
    metadata: dict[str, Any]


class SppError(BaseModel):
    """Every SPP error: a message, and the messages of each bad field (``{}`` if none)."""

    model_config = ConfigDict(defer_build=True)

    message: str
    errors: dict[str, list[str]]


_ERRORS = {
    400: SppError,
    401: SppError,
    403: SppError,
    404: SppError,
    409: SppError,
    412: SppError,
    413: SppError,
    415: SppError,
    422: SppError,
    503: SppError,
}
OPERATIONS = [
    Operation(
        "PUT",
        "/api/tickets/{ticket}",
        "Update a ticket (SPP)",
        NAME,
        "bearer",
        SaveTicketRequest,
        request_media_types=("application/json", _FORM_TYPE),
        responses={200: SppTicketResource, **_ERRORS},
        parameters=(
            {
                "name": VERSION_HEADER,
                "in": "header",
                "required": False,
                "schema": {"type": "string", "enum": list(SUPPORTED_VERSIONS)},
                "description": f"API version; default {DEFAULT_VERSION}. Any other value is a 400.",
            },
            {
                "name": "If-Match",
                "in": "header",
                "required": False,
                "schema": {"type": "string"},
                "description": 'The ticket version (the ETag, e.g. "3") the change applies to; 412 if stale.',
            },
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
                "description": "Replays the first successful result of this key, for this client, for 24 hours.",
            },
        ),
        description=(
            "{ticket} is the ticket's 8-hex-digit number (E4A269FC) or its numeric id. Only the parameters "
            "present change; employees[]/tags[]/metadata[] are accepted for employees/tags/metadata. "
            "Requires the ticket_management permission."
        ),
    ),
]
