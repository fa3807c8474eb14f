"""Reference data through the canonical API: the users and orders tickets refer to.

``PUT /users/{id}`` and ``PUT /orders/{number}`` create or replace one document
(201 when it is new, 200 when it replaced one).  The documents are SPP-shaped (the
SPP dialect renders them as its ``User``, ``employees`` and ``IndexOrder`` objects);
they are stored as reference data (``service.put_reference``, kinds ``user`` and
``order``; the resources they are made of are in ``ticketing.dialects.reference_data``).
Canonical conventions: Bearer tokens of a canonical client, unknown fields refused,
errors as ``application/problem+json``, ``Idempotency-Key`` honoured.
"""

import json
import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from ticketing import auth, idempotency, service
from ticketing.dialects import canonical_base
from ticketing.dialects.common import json_body, validate
from ticketing.dialects.docs import IDEMPOTENCY_KEY, Operation
from ticketing.dialects.operators import OPERATOR_KIND, operator_key
from ticketing.dialects.reference_data import (
    MAX_ID,
    ORDER_KIND,
    USER_KIND,
    SppAddon,
    SppRating,
    SppUser,
    iso_timestamp,
)
from ticketing.errors import BadRequest, FieldError, Forbidden, UnsupportedMediaType, ValidationFailed, quoted
from ticketing.fields import new_list
from ticketing.http import Request, Response, entrypoint
from ticketing.moments import UtcDateTimeNaiveAsUtc, utcnow

NAME = canonical_base.NAME
MAX_DOCUMENT_BYTES = 64 * 1024
_USER_ID = re.compile(r"^[0-9]{1,10}$")
_DIGITS = re.compile(r"^[0-9]+$")
_ORDER_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

Id = Annotated[int, Field(gt=0, le=MAX_ID)]
Text = Annotated[str, StringConstraints(max_length=500)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("not an email address")
    return value


Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254), AfterValidator(_email)]


class UserDocument(SppUser):
    """A user (client or employee) as SPP's ``User`` resource shows it, plus ``group_id``
    (shown in a ticket's ``employees``).  ``id``, if given, must be the path's id;
    ``name`` defaults to ``name_f name_l``; ``role_id`` defaults to ``role.id``."""

    # PUT /users validates with it: built at import, not by the first request (issue 15)
    model_config = ConfigDict(extra="forbid", defer_build=False)

    id: Id | None = None
    email: Email | None = None
    group_id: Id | None = None
    # the user is an operator of the servicedesk dialect, signing in as this UserProviderKey (its
    # WorkflowPush Assign / FunctionEscalate name them by it); one key names one user
    operator_key: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=256)] | None = None
    operator_active: bool = True  # false: the key is refused like an unknown one (a former operator)


class OrderDocument(BaseModel):
    """An order, keyed by its number, as SPP's ``IndexOrder`` shows it.  ``user_id`` (the
    client) and ``employees`` (user ids) must name known users.  ``client``,
    ``subscription``, ``invoice``, ``order_service`` and ``messages`` are not held."""

    model_config = ConfigDict(extra="forbid")  # PUT /orders validates with it: built at import

    id: Id = Field(description="SPP's order id (the ticket's order_id)")
    created_at: UtcDateTimeNaiveAsUtc | None = None
    updated_at: UtcDateTimeNaiveAsUtc | None = None
    last_message_at: UtcDateTimeNaiveAsUtc | None = None
    date_started: UtcDateTimeNaiveAsUtc | None = None
    date_completed: UtcDateTimeNaiveAsUtc | None = None
    date_due: UtcDateTimeNaiveAsUtc | None = None
    tags: list[Tag] = Field(default_factory=new_list, max_length=50)
    status: Text | None = None
    price: float | None = None
    quantity: int | None = Field(default=None, ge=0)
    invoice_id: Id | None = None
    service: Text | None = None
    service_id: Id | None = None
    user_id: Id | None = None
    employees: list[Id] = Field(default_factory=new_list, max_length=50)
    note: Annotated[str, StringConstraints(max_length=10000)] | None = None
    form_data: dict[str, Any] = Field(default_factory=dict, max_length=100)
    paysys: Text | None = None
    currency: Annotated[str, StringConstraints(max_length=8)] | None = None
    options: dict[str, Any] = Field(default_factory=dict, max_length=100)
    addons: list[SppAddon] = Field(default_factory=new_list, max_length=50)
    ratings: list[SppRating] = Field(default_factory=new_list, max_length=50)


class StoredUser(UserDocument):
    model_config = ConfigDict(defer_build=True)  # for the OpenAPI document only


class StoredOrder(OrderDocument):
    model_config = ConfigDict(defer_build=True)  # for the OpenAPI document only

    number: str


# -- storing -----------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    """A validated document as stored: JSON values, timestamps in SPP's form."""
    if isinstance(value, datetime):
        return iso_timestamp(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _document(spec: BaseModel, exclude: set[str]) -> dict[str, Any]:
    doc = _plain(spec.model_dump(mode="python", exclude_none=True, exclude=exclude))
    if len(json.dumps(doc)) > MAX_DOCUMENT_BYTES:
        raise ValidationFailed(
            f"The document is larger than {MAX_DOCUMENT_BYTES} bytes.", errors=[FieldError("body", "too large")]
        )
    return doc


def store_user(user_id: int, spec: UserDocument) -> tuple[dict[str, Any], bool]:
    """Create or replace user ``user_id``; returns the stored document and whether it is new."""
    errors = []
    if spec.id is not None and spec.id != user_id:
        errors.append(FieldError("id", f"must be the path's id {user_id}"))
    role_id = spec.role.id if spec.role is not None else None
    if role_id is not None and spec.role_id is not None and role_id != spec.role_id:
        errors.append(FieldError("role_id", f"differs from role.id {role_id}"))
    if errors:
        raise ValidationFailed(f"User {user_id} is inconsistent: {errors[0].field} {errors[0].message}.", errors=errors)
    existing = service.get_references(USER_KIND, [user_id]).get(str(user_id))
    key = operator_key(spec.operator_key) if spec.operator_key else None
    if key is not None:
        held = service.get_references(OPERATOR_KIND, [key]).get(key)
        if held and held.get("user_id") != user_id and held.get("active", True):
            message = f"operator_key {quoted(spec.operator_key)} is the operator key of user {held.get('user_id')}."
            raise ValidationFailed(message, errors=[FieldError("operator_key", message)])
    doc = _document(spec, {"id"})
    if role_id is not None:
        doc.setdefault("role_id", role_id)
    doc.setdefault("created_at", (existing or {}).get("created_at") or iso_timestamp(utcnow()))
    service.put_reference(USER_KIND, user_id, doc)
    _index_operator(user_id, doc, key, (existing or {}).get("operator_key"), spec.operator_active)
    return doc, existing is None


def _index_operator(user_id: int, doc: dict[str, Any], key: str | None, before: str | None, active: bool) -> None:
    """The operator index (``REF#operator``, by key) that servicedesk resolves a UserProviderKey
    with: the user's key, and a key the user no longer has switched off."""
    if before and (key is None or operator_key(before) != key):
        service.put_reference(OPERATOR_KIND, operator_key(before), {"user_id": user_id, "active": False})
    if key is not None:
        name = doc.get("name") or " ".join(p for p in (doc.get("name_f"), doc.get("name_l")) if p)
        service.put_reference(OPERATOR_KIND, key, {"user_id": user_id, "name": name, "active": active})


def store_order(number: str, spec: OrderDocument) -> tuple[dict[str, Any], bool]:
    """Create or replace order ``number``; its client and employees must be known users."""
    wanted = [u for u in [spec.user_id, *spec.employees] if u is not None]
    known = service.get_references(USER_KIND, wanted) if wanted else {}
    errors = []
    if spec.user_id is not None and str(spec.user_id) not in known:
        errors.append(FieldError("user_id", f"unknown user {spec.user_id}"))
    unknown = [u for u in dict.fromkeys(spec.employees) if str(u) not in known]
    if unknown:
        errors.append(FieldError("employees", "unknown users " + ", ".join(str(u) for u in unknown)))
    if errors:
        raise ValidationFailed(f"Order {number} names unknown users.", errors=errors)
    existing = service.get_references(ORDER_KIND, [number]).get(number)
    doc = _document(spec, set())
    doc["employees"] = list(dict.fromkeys(spec.employees))
    now = iso_timestamp(utcnow())
    doc.setdefault("created_at", (existing or {}).get("created_at") or now)
    doc.setdefault("updated_at", now)
    service.put_reference(ORDER_KIND, number, doc)
    return doc, existing is None


# -- routes ------------------------------------------------------------------------------
def _json_object(request: Request) -> dict[str, Any]:
    if request.media_type not in {"application/json", ""}:
        raise UnsupportedMediaType(f"Send the body as application/json, not {request.media_type}.")
    body = json_body(request)
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    return body


def _path_user_id(request: Request) -> int:
    raw = request.path_params.get("id", "")
    if _DIGITS.match(raw) and (len(raw.lstrip("0")) > len(str(MAX_ID)) or int(raw) > MAX_ID):
        raise ValidationFailed(
            f"{quoted(raw)} is not a user id: it is too large.", errors=[FieldError("id", "too large")]
        )
    if not _USER_ID.match(raw) or not 0 < int(raw) <= MAX_ID:
        raise ValidationFailed(f"{quoted(raw)} is not a user id.", errors=[FieldError("id", "a positive integer")])
    return int(raw)


def _path_order_number(request: Request) -> str:
    raw = request.path_params.get("number", "")
    if not _ORDER_NUMBER.match(raw):
        raise ValidationFailed(
            f"{quoted(raw)} is not an order number.",
            errors=[FieldError("number", "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")],
        )
    return raw


REFERENCE_WRITE = "reference:write"


def _reference_writer(request: Request) -> Any:
    """A client that may change reference data: users (whose email reminders go to), orders."""
    client = auth.client_for(request.header("authorization"), NAME)
    if not client.has_permission(REFERENCE_WRITE):
        raise Forbidden(f"This client may not change reference data: it needs the {REFERENCE_WRITE} permission.")
    return client


def put_user(request: Request, context: Any) -> Response:
    client = _reference_writer(request)

    def run() -> Response:
        user_id = _path_user_id(request)
        doc, created = store_user(user_id, validate(UserDocument, _json_object(request)))
        headers = {"Location": f"/users/{user_id}"} if created else {}
        return Response(201 if created else 200, {"id": user_id, **doc}, headers=headers)

    return idempotency.once(request, client.client_id, run, context)


def put_order(request: Request, context: Any) -> Response:
    client = _reference_writer(request)

    def run() -> Response:
        number = _path_order_number(request)
        doc, created = store_order(number, validate(OrderDocument, _json_object(request)))
        headers = {"Location": f"/orders/{number}"} if created else {}
        return Response(201 if created else 200, {"number": number, **doc}, headers=headers)

    return idempotency.once(request, client.client_id, run, context)


put_user_handler = entrypoint(canonical_base.DIALECT, put_user)
put_order_handler = entrypoint(canonical_base.DIALECT, put_order)

_ERRORS = {s: canonical_base.ProblemDocument for s in (400, 401, 403, 409, 413, 415, 422, 503)}
OPERATIONS = [
    Operation(
        "PUT",
        "/users/{id}",
        "Create or replace a user the tickets refer to (requester, employees)",
        NAME,
        "bearer",
        UserDocument,
        responses={200: StoredUser, 201: StoredUser, **_ERRORS},
        error_media_types=(canonical_base.PROBLEM,),
        parameters=(IDEMPOTENCY_KEY,),
    ),
    Operation(
        "PUT",
        "/orders/{number}",
        "Create or replace an order the tickets refer to",
        NAME,
        "bearer",
        OrderDocument,
        responses={200: StoredOrder, 201: StoredOrder, **_ERRORS},
        error_media_types=(canonical_base.PROBLEM,),
        parameters=(IDEMPOTENCY_KEY,),
    ),
]
