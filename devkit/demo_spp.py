"""SPP demo data: the users and orders SPP tickets refer to, and who/what two demo
tickets are about.

* Users 1-3 are employees (team members with a group and a role): 1 is the demo SPP
  client's user (``tkt_demo_spp``), 2 the read-only one's.  Users 4 and 5 are clients
  (the requesters), with company, address, role and account manager.
* Orders ``123456`` (the document's example order number; order id 1, client 4) and
  ``123457`` (order id 2, client 5).
* Demo ticket 1001 (number ``8FC95B0F``) is client 4's about order ``123456``; 1004 is
  client 5's about order ``123457``.  That is part of the tickets' initial state: written
  into the ticket items in place, at version 1, so the canonical examples
  (``If-Match: "1"``) keep working and each history still starts with the creation.

They are stored as the canonical ``PUT /users/{id}`` and ``PUT /orders/{number}``
store them (same validation, same documents).
"""

from __future__ import annotations

from typing import Any

from ticketing.dialects.canonical_reference import OrderDocument, UserDocument, store_order, store_user

from devkit.demo import set_ticket_fields

_FULL = {  # every permission level of SPP's Role at its highest
    **dict.fromkeys(
        [
            "dashboard_access",
            "affiliates",
            "clients",
            "coupons",
            "forms",
            "invoice_access",
            "invoice_management",
            "messaging",
            "order_access",
            "order_management",
            "rank_tracking",
            "services",
            "ticket_access",
            "ticket_management",
        ],
        3,
    ),
    "team": True,
    "settings": True,
}
ROLES: dict[int, dict[str, Any]] = {
    1: {"id": 1, "name": "Administrator", **_FULL, "created_at": "2021-08-31T14:48:00+00:00"},
    2: {
        "id": 2,
        "name": "Support agent",
        **{k: (1 if isinstance(v, int) and not isinstance(v, bool) else False) for k, v in _FULL.items()},
        "messaging": 3,
        "ticket_access": 3,
        "ticket_management": 3,
        "order_access": 2,
        "created_at": "2021-08-31T14:48:00+00:00",
    },
    0: {"id": 0, "name": "Client", "created_at": "2021-08-31T14:48:00+00:00"},
}

USERS: dict[int, dict[str, Any]] = {
    1: {
        "name_f": "Olivia",
        "name_l": "Martin",
        "email": "olivia.martin@example.org",
        "group_id": 1,
        "role_id": 1,
        "role": ROLES[1],
        "status": 1,
        "created_at": "2021-09-01T00:00:00+00:00",
    },
    2: {
        "name_f": "Noah",
        "name_l": "Schmidt",
        "email": "noah.schmidt@example.org",
        "group_id": 1,
        "role_id": 2,
        "role": ROLES[2],
        "status": 1,
        "created_at": "2021-09-01T00:00:00+00:00",
    },
    3: {
        "name_f": "Emma",
        "name_l": "Rossi",
        "email": "emma.rossi@example.org",
        "group_id": 2,
        "role_id": 2,
        "role": ROLES[2],
        "status": 1,
        "created_at": "2022-02-14T09:30:00+00:00",
    },
    4: {
        "name_f": "John",
        "name_l": "Doe",
        "email": "user@example.org",
        "company": "Example Inc.",
        "tax_id": "123456789",
        "phone": "123456789",
        "address": {
            "line_1": "123 Main St",
            "line_2": "Suite 100",
            "city": "New York",
            "country": "US",
            "state": "NY",
            "postcode": "10001",
            "name_f": "John",
            "name_l": "Doe",
            "company_name": "Example Inc.",
        },
        "balance": 10.0,
        "optin": "Yes",
        "custom_fields": {"industry": "Retail"},
        "status": 1,
        "role_id": 0,
        "role": ROLES[0],
        "spent": "100.00",
        "employee_id": 2,
        "managers": [
            {
                "id": 2,
                "name": "Noah Schmidt",
                "name_f": "Noah",
                "name_l": "Schmidt",
                "email": "noah.schmidt@example.org",
                "role_id": 2,
            },
        ],
        "created_at": "2023-01-10T12:00:00+00:00",
    },
    5: {
        "name_f": "Mia",
        "name_l": "Novak",
        "email": "mia.novak@example.com",
        "company": "Globex",
        "address": {"line_1": "8 Harbour Road", "city": "Split", "country": "HR", "postcode": "21000"},
        "status": 1,
        "role_id": 0,
        "role": ROLES[0],
        "spent": "49.00",
        "created_at": "2023-06-05T08:15:00+00:00",
    },
}

ORDERS: dict[str, dict[str, Any]] = {
    "123456": {
        "id": 1,
        "created_at": "2024-03-01T10:00:00+00:00",
        "date_started": "2024-03-02T09:00:00+00:00",
        "date_due": "2024-03-16T17:00:00+00:00",
        "user_id": 4,
        "tags": ["priority"],
        "status": "Working",
        "price": 100,
        "quantity": 1,
        "invoice_id": 1,
        "service": "Website audit",
        "service_id": 1,
        "employees": [2],
        "note": "Audit of the shop pages",
        "paysys": "Stripe",
        "currency": "USD",
    },
    "123457": {
        "id": 2,
        "created_at": "2024-04-11T15:20:00+00:00",
        "user_id": 5,
        "status": "Unpaid",
        "price": 49,
        "quantity": 1,
        "service": "Logo design",
        "service_id": 2,
        "employees": [3],
        "paysys": "Stripe",
        "currency": "EUR",
    },
}

# ticket id -> its requester and order, as part of its initial state
TICKETS: dict[int, dict[str, Any]] = {
    1001: {"requester_id": 4, "order_number": "123456"},
    1004: {"requester_id": 5, "order_number": "123457"},
}


def seed() -> None:
    for user_id, doc in USERS.items():
        store_user(user_id, UserDocument.model_validate(doc))
    for number, doc in ORDERS.items():
        store_order(number, OrderDocument.model_validate(doc))
    for ticket_id, fields in TICKETS.items():
        set_ticket_fields(ticket_id, fields)
