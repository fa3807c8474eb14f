"""The answer: SPP's ``TicketResource``, every documented key present in the documented order.

Nested objects the service does not hold (an order's subscription, an invoice's items...)
come back with their documented keys and null/empty values.  Users and orders come from the
reference data, read through one ``References`` per request (two batched reads at most).
"""

from __future__ import annotations

import copy
import types
import typing
from datetime import datetime
from functools import cache
from typing import Annotated, Any

from pydantic import BaseModel

from ticketing.catalog import get_catalog
from ticketing.dialects.reference_data import ORDER_KIND, USER_KIND, iso_timestamp
from ticketing.dialects.spp.dialect import NAME
from ticketing.dialects.spp.resources import (
    SppAddon,
    SppAddress,
    SppEmployee,
    SppInvoice,
    SppMessage,
    SppOrder,
    SppRating,
    SppRole,
    SppService,
    SppTicketResource,
    SppUser,
    SppUserManager,
)
from ticketing.model import Message, Ticket
from ticketing.references import References


def _model_of(annotation: Any) -> Any:
    """What an annotation stands for, ``X | None`` and ``Annotated[X, ...]`` unwrapped."""
    if typing.get_origin(annotation) is Annotated:
        return _model_of(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _model_of(args[0]) if len(args) == 1 else annotation
    return annotation


@cache
def _empty_layout(model: type[BaseModel]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, info in model.model_fields.items():
        kind = _model_of(info.annotation)
        origin = typing.get_origin(kind) or kind
        if origin is list:
            out[key] = []
        elif origin is dict:
            out[key] = {}
        elif isinstance(kind, type) and issubclass(kind, BaseModel) and kind is not model:
            out[key] = _empty_layout(kind)
        else:
            out[key] = None
    return out


def empty_resource(model: type[BaseModel]) -> dict[str, Any]:
    """A documented object the service does not hold: every key, null/empty values."""
    return copy.deepcopy(_empty_layout(model))


def as_documented(model: type[BaseModel], values: dict[str, Any]) -> dict[str, Any]:
    """``values`` laid out as ``model`` documents them: every key, in order; what is
    missing or null takes the empty value (an object keeps its documented keys)."""
    empty = _empty_layout(model)
    return {k: (values[k] if values.get(k) is not None else copy.deepcopy(empty[k])) for k in empty}


def _timestamps(model: type[BaseModel], doc: dict[str, Any]) -> dict[str, Any]:
    return {k: (iso_timestamp(v) if k in _datetime_keys(model) else v) for k, v in doc.items()}


@cache
def _datetime_keys(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(k for k, info in model.model_fields.items() if _model_of(info.annotation) is datetime)


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def render_employee(user_id: int, doc: dict[str, Any] | None) -> dict[str, Any]:
    return as_documented(SppEmployee, {**(doc or {}), "id": user_id})


def render_user(user_id: int | None, doc: dict[str, Any] | None) -> dict[str, Any]:
    if user_id is None:
        return empty_resource(SppUser)
    doc = doc or {}
    role = doc.get("role") or {}
    values = {
        **_timestamps(SppUser, doc),
        "id": user_id,
        "address": as_documented(SppAddress, doc.get("address") or {}),
        "role": as_documented(
            SppRole, {**_timestamps(SppRole, role), "id": _first(role.get("id"), doc.get("role_id"))}
        ),
        "name": doc.get("name") or (" ".join(p for p in (doc.get("name_f"), doc.get("name_l")) if p) or None),
        "managers": [as_documented(SppUserManager, m) for m in doc.get("managers") or []],
    }
    return as_documented(SppUser, values)


def render_order(doc: dict[str, Any] | None, refs: References) -> dict[str, Any]:
    if doc is None:
        return empty_resource(SppOrder)
    user_id = doc.get("user_id")
    client = render_user(user_id, refs.get(USER_KIND, user_id))
    invoice_id = doc.get("invoice_id")
    values = {
        **_timestamps(SppOrder, doc),
        "client": client,
        "employees": [render_employee(u, refs.get(USER_KIND, u)) for u in doc.get("employees") or []],
        # what the order says of its service and invoice; the rest of them is not held here
        "order_service": as_documented(SppService, {"id": doc.get("service_id"), "name": doc.get("service")}),
        "invoice": as_documented(SppInvoice, {"id": invoice_id, "client": client} if invoice_id is not None else {}),
        "addons": [as_documented(SppAddon, a) for a in doc.get("addons") or []],
        "ratings": [as_documented(SppRating, r) for r in doc.get("ratings") or []],
    }
    return as_documented(SppOrder, values)


def render_message(message: Message) -> dict[str, Any]:
    return as_documented(
        SppMessage,
        {
            "id": message.seq,
            "user_id": message.author_id,
            "created_at": iso_timestamp(message.created_at),
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
        "created_at": iso_timestamp(ticket.created_at),
        "updated_at": iso_timestamp(ticket.updated_at),
        "last_message_at": iso_timestamp(ticket.last_message_at),
        "date_closed": iso_timestamp(ticket.closed_at),
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


def webhook_view(ticket: Ticket) -> dict[str, Any]:
    """The TicketResource a webhook of payload format ``spp`` carries (``ticketing.webhooks.views``)."""
    from ticketing import service

    return render(ticket, References(), service.messages(ticket))
