"""SPP's ``SaveTicketRequest``: the JSON or PHP-form body, validated with Laravel's messages.

The pydantic model is both the validator and the OpenAPI schema.  Laravel checks every
field's rules and reports them all at once (``{"message": first (and N more errors),
"errors": {field: [...]}}``), so one bad field never hides another's errors.
"""

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError

from ticketing.dialects.common import json_body, storable_errors
from ticketing.dialects.reference_data import MAX_ID
from ticketing.dialects.spp.dialect import invalid
from ticketing.errors import FieldError, UnsupportedMediaType
from ticketing.http import Request, parse_form

FIELDS = ("status", "employees", "tags", "order", "metadata", "subject")  # in the order of Laravel's rules
FORM_TYPE = "application/x-www-form-urlencoded"
_JSON_TYPES = {"", "application/json", "text/json"}
_DIGITS = re.compile(r"^\s*[0-9]{1,18}\s*$")
_FORM_KEY = re.compile(r"^([^\[\]]+)\[([^\[\]]*)\]$")
_INDEX = re.compile(r"^[0-9]{1,6}$")


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


# pydantic's error types, as Laravel's validation messages say them
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


def php_form(text: str) -> dict[str, Any]:
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


def _parameters(request: Request) -> dict[str, Any]:
    """The body's parameters, JSON or PHP form, with Laravel's empty strings as null."""
    media = request.media_type
    if media in _JSON_TYPES or media.endswith("+json"):
        data = json_body(request)
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise invalid([FieldError("body", "The request body must be a JSON object.")])
        # Laravel's ConvertEmptyStringsToNull runs on JSON input as on forms: "order": "" is
        # order= (unlinks), "subject": "" is subject= (must be a string)
        return {k: (None if v == "" else v) for k, v in data.items()}
    if media == FORM_TYPE:
        return php_form(request.text())
    raise UnsupportedMediaType(f"Send the body as application/json, not {media}.")


def read_body(request: Request) -> tuple[SaveTicketRequest, set[str], list[FieldError]]:
    """The parameters of the request that are well formed (as a ``SaveTicketRequest``), their
    names, and an error for each one that is not: Laravel checks every field's rules and
    reports them all at once, so one bad field must not hide what the others' checks say."""
    data = _parameters(request)
    given: dict[str, Any] = {}
    errors: list[FieldError] = []
    for name in FIELDS:
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
    return body, set(good), in_field_order(errors)


def in_field_order(errors: list[FieldError]) -> list[FieldError]:
    """Errors in the order of the fields' rules (Laravel's), each field's in the order found."""
    rank = {name: i for i, name in enumerate(FIELDS)}
    return sorted(errors, key=lambda e: rank.get(e.field.split(".")[0], len(rank)))
