"""MyHRW demo data: partner tickets on task 1 of demo ticket 1001.

* partner 17 (``tkt_demo_myhrw``): ``TKT0196``, the document's example values, so the
  document's example ``PUT /tickets/1001/tasks/1/partnertickets/TKT0196`` works as
  it is; and ``TKT0197``, a second one (re-keying TKT0196 to it is a 409);
* partner 18 (``tkt_demo_myhrw_partner18``): ``P18-0001``, which partner 17 cannot
  reach (404), nor partner 18 reach partner 17's.

They are part of the demo ticket's initial state: written into the ticket item in
place, at version 1, so the canonical demo examples (``If-Match: "1"`` on 1001) keep
working and the ticket's history starts with its creation as before.
"""

from __future__ import annotations

from typing import Any

from ticketing import service
from ticketing.model import PartnerTicket, utcnow
from ticketing.repository import marshal, ticket_doc

TICKET_ID = 1001
TASK_ID = 1

PARTNER_TICKETS: list[dict[str, Any]] = [
    {  # the document's example request
        "partner_id": 17,
        "id": "TKT0196",
        "display_id": "INC1068302",
        "type": "incident",
        "short_description": "Test task short descr",
        "description": "test task description",
        "category": "Area: AMPS Oracle, Category: Talent Management, Subcategory: Performance Management",
        "status": "Open",
        "priority": "1 - Urgent",
        "assignment_group": "GTSP",
        "assigned_to": "Olivier Legrand",
    },
    {
        "partner_id": 17,
        "id": "TKT0197",
        "display_id": "INC1068303",
        "type": "change request",
        "short_description": "Reorder spare rollers",
        "description": "Spare rollers for the 3rd floor printer",
        "category": "Area: Facilities, Category: Hardware",
        "status": "In Progress",
        "priority": "3 - Moderate",
        "assignment_group": "GTSP",
        "assigned_to": "Olivier Legrand",
    },
    {
        "partner_id": 18,
        "id": "P18-0001",
        "display_id": "CASE-0001",
        "type": "defect",
        "short_description": "Jam reported by the partner 18 helpdesk",
        "description": "",
        "category": "Printers",
        "status": "New",
        "priority": "2 - High",
        "assignment_group": "Helpdesk 18",
        "assigned_to": "",
    },
]


def seed() -> None:
    repo = service.repository()
    ticket = repo.require(TICKET_ID)
    task = ticket.task(TASK_ID)
    if task is None:
        raise LookupError(f"demo ticket {TICKET_ID} has no task {TASK_ID}")
    now = utcnow()
    for spec in PARTNER_TICKETS:
        pt = PartnerTicket(**spec, created_at=now, updated_at=now)
        task.partner_tickets[PartnerTicket.slot(pt.partner_id, pt.id)] = pt
    repo.client.update_item(
        TableName=repo.table,
        Key={"pk": {"S": f"TICKET#{TICKET_ID}"}, "sk": {"S": "TICKET"}},
        UpdateExpression="SET #tasks = :tasks",
        ConditionExpression="#v = :v",
        ExpressionAttributeNames={"#tasks": "tasks", "#v": "version"},
        ExpressionAttributeValues={
            ":tasks": marshal({"tasks": ticket_doc(ticket)["tasks"]})["tasks"],
            ":v": {"N": str(ticket.version)},
        },
    )
