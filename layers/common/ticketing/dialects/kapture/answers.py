"""The answer: the document's ``ticket`` object (every key, in the document's order), and each
update's success or failure body."""

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from ticketing.catalog import Vocabulary, get_catalog
from ticketing.model import Ticket
from ticketing.references import References

from .dialect import QUEUE_KIND, USER_KIND, failure, format_time

if TYPE_CHECKING:
    from .batch import Outcome

TICKET_TYPE = "O"  # every ticket reaches Kapture's view "from other source"
FOLDER = {"id": 0, "name": "Inbox", "color": "red"}  # the hub has one folder
DETAIL_CHARS = 1_000  # ``detail`` shows the description's start (the full text: GET /tickets/{id})
STATUS_LINE = "Status and Comment have been updated.\n"  # the document's message, always its first line
UPDATED_LINES = {
    "queue": "Queue has been updated.\n",
    "callback_time": "Callback time has been updated.\n",
    "disposition": "Disposition has been updated.\n",
}


class View(Protocol):
    """What an answer is rendered with: one request's vocabulary, time zone, reference data and time."""

    vocab: Vocabulary
    zone: tzinfo
    refs: References
    now: datetime


def user_keys(ticket: Ticket) -> list[int]:
    """The users an answer about ``ticket`` shows: assignee, creator, requester."""
    return [u for u in (*ticket.assignee_ids[:1], ticket.creator_id, ticket.requester_id) if u is not None]


def user_name(doc: dict[str, Any] | None) -> str:
    doc = doc or {}
    return doc.get("name") or " ".join(p for p in (doc.get("name_f"), doc.get("name_l")) if p)


def callback_armed(ticket: Ticket, assignee: dict[str, Any], now: datetime) -> bool:
    """Whether a callback reminder is really armed: a Kapture callback asked for it, its time is
    ahead, the ticket is open and assigned to a user with an email, and it has not been sent."""
    from .callback import PURPOSE, callback_id

    notice = callback_id(ticket)
    if notice is None or ticket.follow_up_at is None or ticket.follow_up_at <= now:
        return False
    return bool(assignee.get("email")) and ticket.notices_sent.get(PURPOSE) != notice


def millis(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def render_ticket(ticket: Ticket, view: View) -> dict[str, Any]:
    """The document's ``ticket`` object: every key, in the document's order."""
    vocab, zone, refs = view.vocab, view.zone, view.refs
    term = vocab.for_status(ticket.status, ticket.sub_status)
    letter = str(term.attrs.get("status", "")) if term else ""
    statuses = vocab.attrs.get("statuses") or {}
    assignee_id = ticket.assignee_ids[0] if ticket.assignee_ids else None
    assignee = refs.get(USER_KIND, assignee_id) or {}
    requester = refs.get(USER_KIND, ticket.requester_id) or {}
    ticket_type = get_catalog().ticket_type(ticket.type)
    type_name = ticket_type.name if ticket_type else ticket.type
    pending_task = next((t.id for t in sorted(ticket.tasks.values(), key=lambda t: t.id) if t.status == "open"), 0)
    url = f"/employee/all-tickets.html?detail=2/{ticket.id}/{ticket.id}"
    values = {
        "id": ticket.id,
        "type": TICKET_TYPE,
        "email": requester.get("email") or "",
        "phone": requester.get("phone") or "",
        "status": letter,
        "orderId": ticket.order_number or "",
        "queueKey": ticket.queue,
        "ticketId": str(ticket.id),
        "folderId": FOLDER["id"],
        "detail": ticket.description[:DETAIL_CHARS],
        "isUnread": False,
        "isOutOfSLA": False,
        "priority": ticket.priority,
        "isCallBack": callback_armed(ticket, assignee, view.now),
        "creatorId": ticket.creator_id or 0,
        "enquiryId": 0,
        "contactId": ticket.requester_id or 0,
        "substatus": str(term.term) if term else "",
        "productId": 0,
        "erpOrderId": "",
        "referenceId": 0,
        "ticketEmail": "",
        "assignedToId": assignee_id or 0,
        "pendingTaskId": pending_task,
        "agencyBriefId": 0,
        "twitterUserId": "",
        "facebookUserId": "",
        "associativefile": "",
        "statusName": str(statuses.get(letter, "")),
        "customerFeedback": 0,
        "playStoreReviewId": "",
        "lastConversationId": ticket.message_count,
        "lastConversationType": TICKET_TYPE,
        "lastConversationTime": millis(ticket.last_message_at or ticket.created_at),
        "date": format_time(ticket.created_at, zone),
        "totalConversationCount": ticket.message_count,
        "taskTitle": ticket.title,
        "typeName": type_name,
        "taskEnddate": "",
        "lastFollowUp": format_time(ticket.last_follow_up_at, zone),
        "nextFollowUp": format_time(ticket.follow_up_at, zone),
        "substatusName": term.name if term else "",
        "encryptedPhone": "",
        "encryptedEmail": "",
        "lastConversationTypeName": type_name,
        "ticketURL": url,
        "ticketCreatorURL": url,
        "isEscalated": ticket.sub_status == "escalated",
        "folders": [FOLDER["name"]],
        "queueName": (refs.get(QUEUE_KIND, ticket.queue) or {}).get("name") or "",
        "creatorName": user_name(refs.get(USER_KIND, ticket.creator_id)),
        "folderColor": FOLDER["color"],
        "assignedToName": user_name(assignee),
        "assignedToEmail": assignee.get("email") or "",
        "mergeTicketId": "",
        "skuCode": "",
        "productName": "",
    }
    return {key: values[key] for key in KaptureTicket.model_fields}


def render(outcome: "Outcome", view: View) -> dict[str, Any]:
    """One update's answer: the document's success object, or its failure body."""
    if outcome.ticket is None or outcome.update is None:
        return failure(outcome.error)
    update = outcome.update
    return {
        "ticket": render_ticket(outcome.ticket, view),
        "Additional_details": update.extras,
        "message": STATUS_LINE + "".join(UPDATED_LINES[k] for k in update.given),
        "status": "success",
    }


# -- the documented shapes of the answers (their keys and their order) -----------------------------
class _Doc(BaseModel):
    model_config = ConfigDict(defer_build=True)  # the OpenAPI document and the key order only


class KaptureTicket(_Doc):
    """The document's ``ticket`` object."""

    id: int
    type: str
    email: str
    phone: str
    status: str = Field(description="O (Open), P (Pending) or C (Closed).")
    orderId: str
    queueKey: str
    ticketId: str
    folderId: int
    detail: str
    isUnread: bool
    isOutOfSLA: bool
    priority: int
    isCallBack: bool
    creatorId: int
    enquiryId: int
    contactId: int
    substatus: str
    productId: int
    erpOrderId: str
    referenceId: int
    ticketEmail: str
    assignedToId: int
    pendingTaskId: int
    agencyBriefId: int
    twitterUserId: str
    facebookUserId: str
    associativefile: str
    statusName: str
    customerFeedback: int
    playStoreReviewId: str
    lastConversationId: int
    lastConversationType: str
    lastConversationTime: int = Field(description="Epoch milliseconds.")
    date: str = Field(description="Created, yyyy-MM-dd HH:mm:ss.")
    totalConversationCount: int
    taskTitle: str
    typeName: str
    taskEnddate: str
    lastFollowUp: str
    nextFollowUp: str
    substatusName: str
    encryptedPhone: str
    encryptedEmail: str
    lastConversationTypeName: str
    ticketURL: str
    ticketCreatorURL: str
    isEscalated: bool
    folders: list[str]
    queueName: str
    creatorName: str
    folderColor: str
    assignedToName: str
    assignedToEmail: str
    mergeTicketId: str
    skuCode: str
    productName: str


class KaptureSuccess(_Doc):
    ticket: KaptureTicket
    Additional_details: dict[str, Any]
    message: str
    status: Literal["success"]


class KaptureFailure(_Doc):
    message: str
    status: Literal["failed"]


@dataclass(frozen=True)
class _WebhookView:
    """A ``View`` for a webhook delivery: its vocabulary, time zone, reference data and time."""

    vocab: Vocabulary
    zone: tzinfo
    refs: References
    now: datetime


def webhook_view(ticket: Ticket) -> dict[str, Any]:
    """The ticket object a webhook of payload format ``kapture`` carries (as an answer shows it)."""
    from ticketing.model import utcnow

    from .dialect import NAME, zone_of

    vocab = get_catalog().vocabulary(NAME)
    refs = References()
    refs.load(USER_KIND, user_keys(ticket))
    refs.load(QUEUE_KIND, [ticket.queue])
    return render_ticket(ticket, _WebhookView(vocab, zone_of(vocab), refs, utcnow()))
