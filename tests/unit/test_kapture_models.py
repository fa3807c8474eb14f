"""Kapture's models against its document (the rest: ``tests/integration/test_kapture.py``).

Kapture ``POST /update-ticket-from-other-source.html/v.2.0``: a batch of ticket updates.

Through the handlers on moto in process (the tickets table's stream handed to
TicketAutomationsFunction, which arms the callback reminders, and schedules fired by the local
run's scheduler pump, in process), and over HTTP on the local run.  moto in process handles one request
at a time here (``devkit.inprocess``), as the local run's embedded AWS does: the batch
writes from several threads, and moto's in-process backends are not thread-safe."""

from __future__ import annotations

from ticketing.dialects import kapture

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


def test_models_follow_the_document():
    assert list(kapture.KaptureTicket.model_fields) == list(DOC_TICKET)
    assert list(kapture.KaptureSuccess.model_fields) == ANSWER_KEYS
    assert list(kapture.KaptureFailure.model_fields) == ["message", "status"]
