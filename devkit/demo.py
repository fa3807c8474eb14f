"""Demo data for the local run, the fixtures in ``events/`` and the tests.

Tokens here are fixed so that the fixtures can carry them; they are created only
on the embedded AWS (never by a deployment).  ``python -m devkit.clients`` makes
real clients with random tokens.
"""

from __future__ import annotations

import json
from typing import Any

from ticketing import auth, catalog, service
from ticketing.grants import EVERYTHING
from ticketing.model import SYSTEM
from ticketing.new_ticket import NewTicket

COUNTER_FLOOR = 1000

# name, token, dialects, groups, permissions, partner id, user id, enabled
CLIENTS: list[dict[str, Any]] = [
    {
        "name": "Demo canonical client",
        "token": "tkt_demo_canonical",
        "dialects": ["canonical"],
        "permissions": ["reference:write"],
    },
    {
        "name": "Demo MyHRW partner 17",
        "token": "tkt_demo_myhrw",
        "dialects": ["myhrw"],
        "groups": ["PartnerInteraction"],
        "partner_id": 17,
    },
    {
        "name": "Demo MyHRW partner 18",
        "token": "tkt_demo_myhrw_partner18",
        "dialects": ["myhrw"],
        "groups": ["PartnerInteraction"],
        "partner_id": 18,
    },
    {
        "name": "Demo MyHRW reader (no partner group)",
        "token": "tkt_demo_myhrw_nogroup",
        "dialects": ["myhrw"],
        "groups": ["Reporting"],
        "partner_id": 19,
    },
    {
        "name": "Demo SPP client",
        "token": "tkt_demo_spp",
        "dialects": ["spp"],
        "permissions": ["ticket_access", "ticket_management"],
        "user_id": 1,
    },
    {
        "name": "Demo SPP read-only client",
        "token": "tkt_demo_spp_readonly",
        "dialects": ["spp"],
        "permissions": ["ticket_access"],
        "user_id": 2,
    },
    {"name": "Demo ParticleSpace client", "token": "tkt_demo_particlespace", "dialects": ["particlespace"]},
    {"name": "Kapture Dev API's", "token": "tkt_demo_kapture", "dialects": ["kapture"], "user_id": 209803},
    {"name": "Demo servicedesk client", "token": "tkt_demo_servicedesk", "dialects": ["servicedesk"]},
    {
        "name": "Demo disabled client",
        "token": "tkt_demo_disabled",
        "enabled": False,
        "dialects": ["canonical", "myhrw", "spp", "particlespace", "kapture", "servicedesk"],
        "groups": ["PartnerInteraction"],
        "permissions": ["ticket_access", "ticket_management"],
        "partner_id": 20,
    },
]

# Next to the all-access demo clients above: per dialect, one client scoped to the queue
# ``facilities`` (demo ticket 1001), which it may change, and able to read ``maintenance`` (demo
# ticket 1002) but not change it; every other ticket is not found for it (ticketing.grants).
SCOPED_GRANTS = {"facilities": "write", "maintenance": "read"}
_SCOPED_BASE = {
    "canonical": {},
    "myhrw": {"groups": ["PartnerInteraction"], "partner_id": 17},
    "spp": {"permissions": ["ticket_access", "ticket_management"], "user_id": 1},
    "particlespace": {},
    "kapture": {"user_id": 209803},
    "servicedesk": {},
}
CLIENTS += [
    {
        "name": f"Demo {dialect} client scoped to facilities",
        "token": f"tkt_demo_{dialect}_facilities",
        "dialects": [dialect],
        "grants": dict(SCOPED_GRANTS),
        **extra,
    }
    for dialect, extra in _SCOPED_BASE.items()
]

TICKETS: list[dict[str, Any]] = [
    {
        "type": "incident",
        "title": "Printer on the 3rd floor jams",
        "status": "open",
        "description": "Paper jam on every second print job.",
        "queue": "facilities",
        "priority": 2,
        "tags": ["printer"],
        "tasks": [{"title": "Investigate the jam"}, {"title": "Order spare rollers"}],
    },
    {
        "type": "ticket",
        "title": "Leaking faucet",
        "status": "open",
        "description": "Leak under the kitchen sink in 1A requires new part.",
        "queue": "maintenance",
    },
    {
        "type": "service_request",
        "title": "New laptop for Alice",
        "status": "new",
        "description": "Standard developer laptop.",
        "tasks": [{"title": "Order the laptop"}],
    },
    {
        "type": "ticket",
        "title": "Mobile app login fails",
        "status": "pending",
        "description": "Users on Android cannot log in since 2.3.1.",
        "queue": "mobile",
        "tags": ["app"],
    },
    {
        "type": "incident",
        "title": "VPN drops every hour",
        "status": "in_progress",
        "description": "Several remote users report hourly disconnects.",
        "priority": 3,
    },
    {"type": "problem", "title": "Recurring VPN disconnects", "status": "open"},
    {"type": "change", "title": "Upgrade the VPN concentrator firmware", "status": "new"},
]


def seed(dynamodb: Any = None) -> dict[str, Any]:
    """Seed the catalog, the demo clients and the demo tickets into empty tables."""
    repo = service.repository()
    repo.store_catalog_document(json.dumps(catalog.default_catalog().model_dump(mode="json")))
    catalog.reset()
    for spec in CLIENTS:
        spec = dict(spec)
        token = spec.pop("token")
        enabled = spec.pop("enabled", True)
        _, client = auth.create_client(token=token, **spec)
        if not enabled:
            auth.save_client(client.model_copy(update={"enabled": False}), auth.hash_token(token))
    repo.set_counter_floor(COUNTER_FLOOR)
    tickets = [service.create_ticket(NewTicket.model_validate(t), SYSTEM, access=EVERYTHING) for t in TICKETS]
    for module in dialect_seeders():
        module.seed()
    return {"tickets": [t.id for t in tickets], "clients": [c["token"] for c in CLIENTS]}


def dialect_seeders() -> list:
    """Each ``devkit/demo_<dialect>.py`` module: its ``seed()`` adds that dialect's demo
    data (reference data, partner tickets...) after the common demo tickets exist."""
    import importlib
    import pkgutil

    import devkit

    names = sorted(m.name for m in pkgutil.iter_modules(devkit.__path__) if m.name.startswith("demo_"))
    return [importlib.import_module(f"devkit.{name}") for name in names]


def credentials() -> dict[str, dict[str, str]]:
    """Each demo client's full Authorization header value, by dialect."""
    schemes = {"kapture": "Basic"}
    out: dict[str, dict[str, str]] = {}
    for spec in CLIENTS:
        for dialect in spec["dialects"]:
            label = spec["token"].removeprefix("tkt_demo_")
            out.setdefault(dialect, {})[label] = f"{schemes.get(dialect, 'Bearer')} {spec['token']}"
    return out


def set_ticket_fields(ticket_id: int, fields: dict[str, Any]) -> None:
    """Give a demo ticket extra fields in place, keeping it at its version with no audit
    entry (the fixtures and tests expect demo tickets at version 1).  Demo data only."""
    from ticketing.repository import marshal

    repo = service.repository()
    ticket = repo.require(ticket_id)
    names = {f"#a{i}": name for i, name in enumerate(fields)}
    values = {f":a{i}": marshal({"v": value})["v"] for i, value in enumerate(fields.values())}
    repo.client.update_item(
        TableName=repo.table,
        Key={"pk": {"S": f"TICKET#{ticket_id}"}, "sk": {"S": "TICKET"}},
        UpdateExpression="SET " + ", ".join(f"#a{i} = :a{i}" for i in range(len(fields))),
        ConditionExpression="#v = :v",
        ExpressionAttributeNames={**names, "#v": "version"},
        ExpressionAttributeValues={**values, ":v": {"N": str(ticket.version)}},
    )
