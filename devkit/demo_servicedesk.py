"""Demo reference data of the ``servicedesk`` dialect: operators and services.

* Operators are hub users with an ``operator_key`` (``PUT /users/{id}``): the key is their
  ``UserProviderKey``, the sign-in name at the identity provider (a UPN here, compared
  case-insensitively), indexed as ``REF#operator``; the user is who an Assign action puts into
  the ticket's ``assignee_ids``.  An inactive operator is refused like an unknown one.
* Services (``REF#service``) are keyed by ``ServiceId``; ``ticket_types`` lists the
  ticket types a service takes (a Convert action to another type is refused).

The document's samples name ``INC-000047``: demo ticket ids come from the allocator and
start at 1001, so that REF is a 404 here; ``INC-001001`` is the incident to try them on.
"""

from __future__ import annotations

from ticketing import service

OPERATORS: dict[str, dict] = {
    "jane.smith@example.com": {"user_id": 501, "name": "Jane Smith", "active": True},
    "omar.haddad@example.com": {"user_id": 502, "name": "Omar Haddad", "active": True},
    "li.wei@example.com": {"user_id": 503, "name": "Li Wei (2nd line network)", "active": True},
    "former.operator@example.com": {"user_id": 599, "name": "Former Operator", "active": False},
}
# every operator is a hub user, with a name and an email (what Kapture and SPP show of an
# assignee, and where a callback reminder goes), stored as PUT /users/{id} stores it

SERVICES: dict[int, dict] = {
    10: {"name": "Workplace IT", "ticket_types": ["incident", "service_request"], "active": True},
    11: {"name": "Network and VPN", "ticket_types": ["incident"], "active": True},
    12: {"name": "Hardware requests", "ticket_types": ["service_request"], "active": True},
}


def seed() -> None:
    from ticketing.dialects.canonical_reference import UserDocument, store_user

    for key, op in OPERATORS.items():
        first, _, last = op["name"].partition(" ")
        user = {"name": op["name"], "name_f": first, "name_l": last, "email": key, "operator_key": key}
        store_user(op["user_id"], UserDocument.model_validate({**user, "operator_active": op["active"]}))
    for service_id, doc in SERVICES.items():
        service.put_reference("service", service_id, doc)
