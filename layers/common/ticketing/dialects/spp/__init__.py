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

One module per job:

| module | what |
|---|---|
| ``dialect`` | ``DIALECT``: the error body, the headers of every response, API versions |
| ``request`` | ``SaveTicketRequest`` (validator and schema in one), JSON and PHP-form bodies |
| ``change`` | the body checked against catalog and reference data; the change as a command |
| ``resources`` | the documented resources (``TicketResource`` and what it nests) |
| ``rendering`` | the ``TicketResource`` of a ticket |
| ``routes`` | the route handler and its ``OPERATIONS`` |

Users and orders are reference data, shared with the canonical ``PUT /users`` /
``PUT /orders``: ``ticketing.dialects.reference_data``.
"""

from __future__ import annotations

from ticketing.dialects.spp.change import command_for, plan, status_term
from ticketing.dialects.spp.dialect import (
    DEFAULT_VERSION,
    DIALECT,
    IDENTIFIER_HEADER,
    NAME,
    PERMISSION,
    SUPPORTED_VERSIONS,
    VERSION_HEADER,
    VERSIONS,
    Spp,
)
from ticketing.dialects.spp.rendering import as_documented, empty_resource, render
from ticketing.dialects.spp.request import FIELDS, SaveTicketRequest, parse_body, php_form, read_body
from ticketing.dialects.spp.resources import (
    SppAddon,
    SppAddress,
    SppEmployee,
    SppError,
    SppInvoice,
    SppInvoiceItem,
    SppMessage,
    SppOrder,
    SppRating,
    SppRole,
    SppService,
    SppSubscription,
    SppTicketResource,
    SppUser,
    SppUserManager,
)
from ticketing.dialects.spp.routes import OPERATIONS, find_ticket, update_handler, update_ticket

__all__ = [
    "DEFAULT_VERSION",
    "DIALECT",
    "FIELDS",
    "IDENTIFIER_HEADER",
    "NAME",
    "OPERATIONS",
    "PERMISSION",
    "SUPPORTED_VERSIONS",
    "VERSIONS",
    "VERSION_HEADER",
    "SaveTicketRequest",
    "Spp",
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
    "as_documented",
    "command_for",
    "empty_resource",
    "find_ticket",
    "parse_body",
    "php_form",
    "plan",
    "read_body",
    "render",
    "status_term",
    "update_handler",
    "update_ticket",
]
