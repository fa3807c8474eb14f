"""The ticket view a webhook payload carries, by payload format.

A format is a name and a renderer (``Ticket -> JSON document``).  The registry holds each as
``"module:function"`` text and imports the module on first use only, so the stream consumer pays
for no dialect it does not render, and the domain imports no dialect (a dialect adds its view by
adding a line here, or by calling ``register`` from its own module).  Registered today:
``canonical`` (the canonical API's ticket view, ``GET /tickets/{id}``), ``spp`` (its
TicketResource), ``kapture`` (its ticket object) and ``servicedesk`` (its GetTicket result).
MyHRW's partner tickets are a view per partner of the ticket's tasks, not of the ticket: it has
none yet.  A subscription asks for
``canonical`` or for its client's own dialect's format; a dialect with no registered view cannot be
asked for (the subscription is refused with the formats there are).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from ticketing.model import Ticket

Renderer = Callable[[Ticket], dict[str, Any]]

_REGISTERED: dict[str, str | Renderer] = {
    "canonical": "ticketing.dialects.canonical_views:render_ticket",
    "spp": "ticketing.dialects.spp.rendering:webhook_view",  # the TicketResource
    "kapture": "ticketing.dialects.kapture.answers:webhook_view",  # the ticket object
    "servicedesk": "ticketing.dialects.servicedesk.results:webhook_view",  # the GetTicket result
}


def register(name: str, renderer: str | Renderer) -> None:
    _REGISTERED[name] = renderer


def formats() -> list[str]:
    return sorted(_REGISTERED)


def renderer(name: str) -> Renderer:
    found = _REGISTERED[name]
    if isinstance(found, str):
        module, _, attr = found.partition(":")
        found = _REGISTERED[name] = getattr(importlib.import_module(module), attr)
    return found


def render(name: str, ticket: Ticket) -> dict[str, Any]:
    return renderer(name)(ticket)
