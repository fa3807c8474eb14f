"""The Kapture dialect: ``POST /update-ticket-from-other-source.html/v.2.0`` ("Update Ticket
API", ``../shared/seeds/003_*``), a batch of ticket updates.

The body is a JSON array of updates (one object is accepted too), at most 100.  Each
update applies atomically and on its own; a bad update fails alone with the document's failure
body ``{"message": ..., "status": "failed"}``.  One update in: its object is the answer (200,
or the failure's own status); several: an array of them in request order, 200 when all
succeeded and 207 otherwise.

``sub_status`` is a term of the catalog vocabulary ``kapture`` (``P``, ``PS``, ``CL``...);
``queue`` a key of the reference data kind ``queue``; ``callback_time`` sets the ticket's
next follow-up and switches its reminder on: an email to its assignee at that time.
Keys the document does not name are kept in ``Ticket.extra`` and echoed under
``Additional_details``.  Auth: ``Authorization: Basic <token>`` (the token as issued; base64
of it accepted).  The choices the document leaves open are written down in ``docs/kapture.md``.

One module per job:

- ``dialect``: the name, the failure body of every error, the Basic key, the time zone;
- ``updates``: the request, validated by ``KaptureTicketUpdate`` (its schema is the OpenAPI one);
- ``batch``: each update as a command, applied in parallel with batched reads;
- ``answers``: the document's ``ticket`` object and each update's answer;
- ``callback``: the callback reminder (``CALLBACK_AUTOMATION``);
- ``route``: the handler and its documented operation (``OPERATIONS``).
"""

from __future__ import annotations

from typing import Any

from .answers import KaptureFailure, KaptureSuccess, KaptureTicket, millis, render, render_ticket
from .batch import OUT_OF_TIME, Batch, Outcome, command_for
from .callback import CALLBACK_AUTOMATION, PURPOSE, callback_id, reminder
from .dialect import DATE_FORMAT, DIALECT, NAME, PATH, QUEUE_KIND, USER_KIND, format_time, token_of, zone_of
from .route import update_handler, update_tickets
from .updates import (
    INVALID_BODY,
    INVALID_EXTRA,
    MAX_COMMENT,
    MAX_UPDATES,
    MAX_YEAR,
    MIN_YEAR,
    KaptureTicketUpdate,
    parse_body,
    parse_callback,
    parse_update,
)

__all__ = [
    "CALLBACK_AUTOMATION",
    "DATE_FORMAT",
    "DIALECT",
    "INVALID_BODY",
    "INVALID_EXTRA",
    "MAX_COMMENT",
    "MAX_UPDATES",
    "MAX_YEAR",
    "MIN_YEAR",
    "NAME",
    "OUT_OF_TIME",
    "PATH",
    "PURPOSE",
    "QUEUE_KIND",
    "USER_KIND",
    "Batch",
    "KaptureFailure",
    "KaptureSuccess",
    "KaptureTicket",
    "KaptureTicketUpdate",
    "Outcome",
    "callback_id",
    "command_for",
    "format_time",
    "millis",
    "parse_body",
    "parse_callback",
    "parse_update",
    "reminder",
    "render",
    "render_ticket",
    "token_of",
    "update_handler",
    "update_tickets",
    "zone_of",
]


def __getattr__(name: str) -> Any:
    if name == "OPERATIONS":  # built when the OpenAPI document asks (route.operations)
        from .route import operations

        return operations()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
