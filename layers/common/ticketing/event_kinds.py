"""The kinds of change event (``ticketing.events``), the detail-types of the tickets' bus: their own
module, so that a function naming them (the webhook routes) does not build the events' models."""

from typing import Literal

Kind = Literal[
    "Ticket Created",
    "Ticket Converted",
    "Ticket Status Changed",
    "Partner Ticket Changed",
    "Ticket Message Added",
    "Ticket Changed",
]
KINDS: tuple[str, ...] = Kind.__args__  # type: ignore[attr-defined]
