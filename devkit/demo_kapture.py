"""Kapture demo data: the queues Kapture updates may name, and the Kapture API user who
created demo ticket 1004 and is its assignee.

* Queues (reference data kind ``queue``, keyed by queue key; ``name`` shows as the
  answer's ``queueName``): the three queues the demo tickets are in (``facilities``,
  ``maintenance``, ``mobile``) and three more (``support``, ``escalations``,
  ``callbacks``).  A ``queue`` that is not a key here is refused.
* User 209803, "Kapture Dev API's" (``sashank.goenka@kapturecrm.com``), as the document's
  example answers it: the demo Kapture client's user (``tkt_demo_kapture``), stored as
  the canonical ``PUT /users/209803`` stores it.  Callback reminders go to this address.
* Demo ticket 1004 ("Mobile app login fails", queue ``mobile``, pending) was created by
  and is assigned to user 209803: part of its initial state, written into the ticket
  item in place at version 1 (as ``demo_spp`` does), so its history still starts with
  its creation.

The document's example names ticket ``713516551148``: demo ticket ids come from the
allocator and start at 1001 (and ids stop at 4294967295), so that example answers the
"No Data found" failure here; the same update on ``"1004"`` succeeds.
"""

from __future__ import annotations

from typing import Any

from ticketing import service
from ticketing.dialects.canonical_reference import UserDocument, store_user
from ticketing.dialects.kapture import QUEUE_KIND

from devkit.demo import set_ticket_fields

USER_ID = 209803
USER = {"name": "Kapture Dev API's", "email": "sashank.goenka@kapturecrm.com"}

QUEUES: dict[str, dict[str, Any]] = {
    "facilities": {"name": "Facilities"},
    "maintenance": {"name": "Maintenance"},
    "mobile": {"name": "Mobile App"},
    "support": {"name": "Customer Support"},
    "escalations": {"name": "Escalations"},
    "callbacks": {"name": "Callbacks"},
}

# ticket id -> what Kapture shows of it, as part of its initial state
TICKETS: dict[int, dict[str, Any]] = {
    1004: {"creator_id": USER_ID, "assignee_ids": [USER_ID]},
}


def seed() -> None:
    store_user(USER_ID, UserDocument.model_validate(USER))
    repo = service.repository()
    for key, doc in QUEUES.items():
        repo.put_reference(QUEUE_KIND, key, doc)
    for ticket_id, fields in TICKETS.items():
        set_ticket_fields(ticket_id, fields)
