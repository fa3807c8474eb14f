"""SPP's documented resources: the ``TicketResource`` and the objects it nests, in the
document's order of keys (the response schemas of the OpenAPI document, and the layout
``render`` follows).  The user resources (``User``, ``Address``, ``Role``, ``UserManager``)
and an order's ``addons`` / ``ratings`` are reference data, shared with the canonical
``PUT /users`` / ``PUT /orders``: they live in ``ticketing.dialects.reference_data``."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ticketing.dialects.reference_data import (
    DocumentedResource,
    SppAddon,
    SppAddress,
    SppRating,
    SppRole,
    SppUser,
    SppUserManager,
)
from ticketing.fields import new_list

__all__ = [
    "SppAddon",
    "SppAddress",
    "SppEmployee",
    "SppError",
    "SppInvoice",
    "SppInvoiceItem",
    "SppMessage",
    "SppOrder",
    "SppRating",
    "SppRole",
    "SppService",
    "SppSubscription",
    "SppTicketResource",
    "SppUser",
    "SppUserManager",
]


class SppEmployee(DocumentedResource):
    id: int | None = None
    name_f: str | None = None
    name_l: str | None = None
    group_id: int | None = None
    role_id: int | None = None


class SppMessage(DocumentedResource):
    id: int | None = None
    user_id: int | None = None
    created_at: datetime | None = None
    message: str | None = None
    staff_only: bool | None = None
    files: list[str] = Field(default_factory=new_list)


class SppSubscription(DocumentedResource):
    id: int | None = None
    number: str | None = None
    invoice_id: str | None = None
    status: str | None = None
    processor_id: str | None = None
    current_period_end: datetime | None = None
    payments: list[dict[str, Any]] = Field(default_factory=new_list)
    orders: list[str] = Field(default_factory=new_list)
    payment_count: int | None = None
    client: SppUser | None = None


class SppInvoiceItem(DocumentedResource):
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


class SppInvoice(DocumentedResource):
    id: int | None = None
    number: str | None = None
    number_prefix: str | None = None
    client: SppUser | None = None
    items: list[SppInvoiceItem] = Field(default_factory=new_list)
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


class SppService(DocumentedResource):
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
    option_categories: list[int] = Field(default_factory=new_list)
    option_variants: list[int] = Field(default_factory=new_list)
    deadline: int | None = None
    public: bool | None = None
    sort_order: int | None = None
    braintree_plan_id: str | None = None
    group_quantities: bool | None = None
    addon_to: list[int] = Field(default_factory=new_list)
    folder_id: int | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    hoth_product_key: str | None = None
    hoth_package_name: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    provider_id: int | None = None
    provider_service_id: int | None = None
    deleted_at: datetime | None = None
    media: list[dict[str, Any]] = Field(default_factory=new_list)


class SppOrder(DocumentedResource):
    """SPP's ``IndexOrder`` resource."""

    id: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_message_at: datetime | None = None
    date_started: datetime | None = None
    date_completed: datetime | None = None
    date_due: datetime | None = None
    client: SppUser | None = None
    tags: list[str] = Field(default_factory=new_list)
    status: str | None = None
    price: float | None = None
    quantity: int | None = None
    invoice_id: int | None = None
    service: str | None = None
    service_id: int | None = None
    user_id: int | None = None
    employees: list[SppEmployee] = Field(default_factory=new_list)
    note: str | None = None
    form_data: dict[str, Any] = Field(default_factory=dict)
    paysys: str | None = None
    currency: str | None = None
    subscription: SppSubscription | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    invoice: SppInvoice | None = None
    order_service: SppService | None = None
    addons: list[SppAddon] = Field(default_factory=new_list)
    ratings: list[SppRating] = Field(default_factory=new_list)
    messages: list[SppMessage] = Field(default_factory=new_list)


class SppTicketResource(DocumentedResource):
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
    ticket: "SppTicketResource | None"
    client: SppUser
    metadata: dict[str, Any]


class SppError(BaseModel):
    """Every SPP error: a message, and the messages of each bad field (``{}`` if none)."""

    model_config = ConfigDict(defer_build=True)

    message: str
    errors: dict[str, list[str]]
