"""MyHRW's update-partner-ticket document, for every test tier: its examples, verbatim.

From /work/shared/seeds/000_03657f64884280a2.txt
(``PUT /tickets/{ticketUid}/tasks/{taskid}/partnertickets/{PartnerTechnicalId}``): the example
request body, its response's keys in the document's order, and the error body's keys.  The
example response is the document's as this service gives it: ticketUid is the demo ticket's, and
priority is what was stored (the document's "2 - Urgent" is a typo, by the rulings in
/work/shared/seeds/README.md)."""

from __future__ import annotations

EXAMPLE = {
    "shortdescription": "Test task short descr",
    "description": "test task description",
    "id": "TKT0196",
    "displayid": "INC1068302",
    "type": "incident",
    "priority": "1 - Urgent",
    "status": "Open",
    "category": "Area: AMPS Oracle, Category: Talent Management, Subcategory: Performance Management",
    "assignmentgroup": "GTSP",
    "assignedto": "Olivier Legrand",
}
EXAMPLE_RESPONSE = {
    "id": "TKT0196",
    "displayId": "INC1068302",
    "ticketUid": 1001,
    "partnerId": 17,
    "ticketTaskId": 1,
    "type": "incident",
    "shortDescription": "Test task short descr",
    "description": "test task description",
    "category": "Area: AMPS Oracle, Category: Talent Management, Subcategory: Performance Management",
    "status": "Open",
    "assignmentGroup": "GTSP",
    "assignedTo": "Olivier Legrand",
    "priority": "1 - Urgent",
}
DOCUMENT_KEYS = [
    "id",
    "displayId",
    "ticketUid",
    "partnerId",
    "ticketTaskId",
    "type",
    "shortDescription",
    "description",
    "category",
    "status",
    "assignmentGroup",
    "assignedTo",
    "priority",
]
ERROR_KEYS = ["status", "message", "errors", "requestId"]
PT = "/tickets/1001/tasks/1/partnertickets/{}"  # the example's partner ticket on demo ticket 1001's task 1
