"""The ParticleSpace dialect: ``PUT /api/v1/ticket/{id}`` (and ``/api/v1/ticket/update/{id}``),
form-encoded, Bearer tokens, with notifications.  Design and choices: ``docs/particlespace.md``.

One module per job: ``contacts`` (email and phone normalisation), ``body`` (form, multipart and
JSON bodies), ``request`` (the request model: validation and schema), ``notices`` (the update's
notification and the automated reminder), ``render`` (the answer and the error body),
``routes`` (the handler) and ``operations`` (the routes, for the OpenAPI document).
"""

from __future__ import annotations

import importlib
from typing import Any

NAME = "particlespace"
PURPOSE_NOTIFY = "particlespace-notify"
PURPOSE_REMINDER = "particlespace-reminder"
PURPOSE_MOVEMENT = "particlespace-movement"

# What the rest of the hub reads of this package, imported only when asked for (the stream
# consumer needs the automations, devkit.openapi the operations, the console the rendering).
_PUBLIC = {
    "REMINDER_AUTOMATION": "notices",
    "NOTIFY_AUTOMATION": "notices",
    "MOVEMENT_AUTOMATION": "notices",
    "OPERATIONS": "operations",
    "render": "render",
}


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
