"""The reference data tickets refer to: users and orders, the SPP-shaped documents that the
canonical API stores (``PUT /users``, ``PUT /orders``) and the SPP dialect shows.

Kept apart from both so that neither imports the other: the kinds they are stored under
(``service.put_reference``), the timestamp form they are stored in, and the documented
resources a user document is made of (SPP's ``User`` with its ``Address``, ``Role`` and
``UserManager``) plus the ``addons`` / ``ratings`` objects an order holds.
"""

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ticketing.fields import new_list
from ticketing.moments import UtcDateTimeNaiveAsUtc

USER_KIND, ORDER_KIND = "user", "order"  # reference data kinds (service.put_reference)
MAX_ID = 2**31 - 1  # user, order, invoice... ids: SPP's (MySQL's) signed 32-bit integers


def iso_timestamp(value: Any) -> str | None:
    """The documents' timestamp form, ``2021-09-01T00:00:00+00:00`` (UTC, whole seconds);
    ``None`` for no value.  A string is read as ISO 8601, naive values as UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds")


class DocumentedResource(BaseModel):
    """A resource as the SPP document lays it out (the order of its keys is the document's)."""

    # Built only when used: for the OpenAPI document, and to validate reference data
    # (devkit / PUT /users, PUT /orders), never on the SPP function's request path.
    model_config = ConfigDict(defer_build=True, extra="forbid")


class SppAddress(DocumentedResource):
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


class SppRole(DocumentedResource):
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


class SppUserManager(DocumentedResource):
    id: int = Field(gt=0, le=MAX_ID)
    name: str | None = None
    name_f: str | None = None
    name_l: str | None = None
    email: str | None = None
    role_id: int | None = None


class SppUser(DocumentedResource):
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
    managers: list[SppUserManager] = Field(default_factory=new_list)
    ga_cid: str | None = None
    team_owner_ids: list[int] = Field(default_factory=new_list)
    team_member_ids: list[int] = Field(default_factory=new_list)


class SppRating(DocumentedResource):
    user_id: int | None = None
    rating: int | None = None


class SppAddon(DocumentedResource):
    id: int | None = None
    addon_to: list[int] = Field(default_factory=new_list)
    name: str | None = None
