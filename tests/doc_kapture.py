"""Kapture's update-ticket document, for every test tier: its examples, verbatim.

From /work/shared/seeds/003_7ec91667298bb767.txt (``POST /update-ticket-from-other-source.html/v.2.0``):
the example answer's ticket (its keys, their order and their types), the answer's keys and message,
the failure bodies of its error table, and the example request body (``element`` writes an update
as that body does, every key present).  Besides: the helpers the tiers share around them."""

from __future__ import annotations

from datetime import UTC, datetime

URL = "/update-ticket-from-other-source.html/v.2.0"
CALLBACK = "kapture-callback"  # the reminder's purpose: its schedules are ticket-1004-kapture-callback-<notice id>
ASSIGNEE_EMAIL = "sashank.goenka@kapturecrm.com"  # the document's assignedToEmail, demo user 209803's

# The document's example answer, verbatim: its keys, their order and their types.
DOC_TICKET = {
    "id": 530348198, "type": "O", "email": "", "phone": "", "status": "P", "orderId": "", "queueKey": "",
    "ticketId": "713516551148", "folderId": 0, "detail": "", "isUnread": False, "isOutOfSLA": False, "priority": 0,
    "isCallBack": False, "creatorId": 209803, "enquiryId": 0, "contactId": 0, "substatus": "PS", "productId": 0,
    "erpOrderId": "", "referenceId": 0, "ticketEmail": "", "assignedToId": 209803, "pendingTaskId": 0,
    "agencyBriefId": 0, "twitterUserId": "", "facebookUserId": "", "associativefile": "", "statusName": "Pending",
    "customerFeedback": 0, "playStoreReviewId": "", "lastConversationId": 0, "lastConversationType": "O",
    "lastConversationTime": 1713516551152, "date": "2024-04-19 14:19:11", "totalConversationCount": 0,
    "taskTitle": "TEST 1", "typeName": "Mobile App", "taskEnddate": "2024-04-19 14:19:11",
    "lastFollowUp": "2024-04-22 14:31:33", "nextFollowUp": "2024-04-19 14:19:11", "substatusName": "Pending",
    "encryptedPhone": "", "encryptedEmail": "", "lastConversationTypeName": "Mobile App",
    "ticketURL": "/employee/all-tickets.html?detail=2/530348198/713516551148",
    "ticketCreatorURL": "/employee/all-tickets.html?detail=2/530348198/713516551148", "isEscalated": True,
    "folders": ["Inbox"], "queueName": "", "creatorName": "Kapture Dev API's", "folderColor": "red",
    "assignedToName": "Kapture Dev API's", "assignedToEmail": "sashank.goenka@kapturecrm.com", "mergeTicketId": "",
    "skuCode": "", "productName": "",
}  # fmt: skip
ANSWER_KEYS = ["ticket", "Additional_details", "message", "status"]
DOC_MESSAGE = "Status and Comment have been updated.\n"
# The document's failure bodies, verbatim.
INVALID_AUTH = {"message": "Invalid Auth Key", "status": "failed"}
NO_DATA = {"message": "No Data found/ticket_id is missing", "status": "failed"}
BAD_CALLBACK = {"message": "Invalid Format.callback_date should be yyyy-MM-dd hh:mm:ss.", "status": "failed"}


def element(**fields):
    """An update as the document's example body writes it: every key, empty unless given."""
    return {
        "comment": "",
        "ticket_id": "",
        "callback_time": "",
        "sub_status": "",
        "queue": "",
        "disposition": "",
        **fields,
    }


DOC_EXAMPLE = [element(ticket_id="713516551148", sub_status="PS")]


def failed(message):
    """A failure body of the document's shape."""
    return {"message": message, "status": "failed"}


def local(when: datetime) -> str:
    """``when`` as the document writes times (yyyy-MM-dd hh:mm:ss), in UTC."""
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
