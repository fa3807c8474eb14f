"""The JSON Schema of the change events, generated from their pydantic models (``ticketing.events``):
the bus event (``TicketChangeBusEvent``, whose ``detail`` is ``TicketChangeEvent``) and the webhook
delivery's body (``TicketChangeWebhook``).  Checked in as ``events.schema.json``:

    python -m devkit.eventschema            # write it
    python -m devkit.eventschema --check    # fail if it no longer matches the code
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pydantic.json_schema import models_json_schema

from devkit import template as tpl

OUTPUT = tpl.ROOT / "events.schema.json"


def build() -> dict[str, Any]:
    from ticketing import events

    models = [events.BusEvent, events.ChangeEvent, events.WebhookPayload]
    _, schema = models_json_schema(
        # the bus event as a consumer validates what it receives; the others as the hub sends them
        [(m, "validation" if m is events.BusEvent else "serialization") for m in models],
        ref_template="#/$defs/{model}",
        by_alias=True,
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://ticket-hub.example/events.schema.json",
        "title": "Ticket hub change events",
        "description": (
            "One event per committed version of a ticket: on the EventBridge bus (TicketChangeBusEvent, "
            "source ticket-hub, detail-type = detail.kind) and as the body of webhook deliveries "
            "(TicketChangeWebhook). De-duplicate by event_id (ticket-<id>-v<version>). See docs/events.md."
        ),
        "oneOf": [{"$ref": f"#/$defs/{m.__name__}"} for m in models],
        "$defs": dict(sorted(schema["$defs"].items())),
    }


def render() -> str:
    return json.dumps(build(), indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--check", action="store_true")
    args = p.parse_args(argv)
    text = render()
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            print("events.schema.json is out of date: run python -m devkit.eventschema", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT.relative_to(tpl.ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
