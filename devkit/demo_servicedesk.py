"""Demo reference data of the ``servicedesk`` dialect: operators and services.

* Operators (``REF#operator``) are keyed by their ``UserProviderKey`` in lower case (the
  key is the operator's sign-in name at the identity provider, a UPN here, compared
  case-insensitively); ``user_id`` is the hub user an Assign action puts into the
  ticket's ``assignee_ids``.  An inactive operator is refused like an unknown one.
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

SERVICES: dict[int, dict] = {
    10: {"name": "Workplace IT", "ticket_types": ["incident", "service_request"], "active": True},
    11: {"name": "Network and VPN", "ticket_types": ["incident"], "active": True},
    12: {"name": "Hardware requests", "ticket_types": ["service_request"], "active": True},
}


def seed() -> None:
    repo = service.repository()
    for key, doc in OPERATORS.items():
        repo.put_reference("operator", key.lower(), doc)
    for service_id, doc in SERVICES.items():
        repo.put_reference("service", service_id, doc)
