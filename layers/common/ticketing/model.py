"""The ticket: one record that every dialect reads and writes through its own view."""

from typing import Any

from pydantic import BaseModel, Field, PrivateAttr

from ticketing import ids
from ticketing.fields import new_list
from ticketing.moments import StoredDateTime
from ticketing.moments import utcnow as utcnow  # its home is ticketing.moments; named here too

# Every record below reads a stored item ignoring the attributes it does not know, and is assigned
# to without validation (commands change a copy's fields; ``moments.check_ticket`` checks it before
# a write): pydantic's defaults (``extra="ignore"``, ``validate_assignment=False``), so the records
# derive from BaseModel itself, not from a base of their own that pydantic would build too.


class PartnerTicket(BaseModel):
    """A partner system's own ticket linked to one task (MyHRW partner tickets)."""

    partner_id: int
    id: str
    display_id: str = ""
    type: str = ""
    short_description: str = ""
    description: str = ""
    category: str = ""
    status: str = ""
    priority: str = ""
    assignment_group: str = ""
    assigned_to: str = ""
    created_at: StoredDateTime
    updated_at: StoredDateTime

    @staticmethod
    def slot(partner_id: int, technical_id: str) -> str:
        return f"{partner_id}:{technical_id}"


class Task(BaseModel):
    id: int
    title: str = ""
    status: str = "open"
    partner_tickets: dict[str, PartnerTicket] = Field(default_factory=dict)
    created_at: StoredDateTime


class Notify(BaseModel):
    """Who to tell about the ticket, and how (ParticleSpace notify settings)."""

    enabled: bool = False
    channel: str = ""  # "email" | "sms"
    contacts: list[str] = Field(default_factory=new_list)
    time: StoredDateTime | None = None
    subject: str = ""
    message: str = ""
    automated: bool = False
    # the id of the notification the latest update with these settings asked for (its delivery
    # key): a timed notice expects it, so a later notifying update supersedes it; None: none asked
    # (absent from the stored document, so that notices armed before it existed still match)
    notice: str | None = None
    # the stay (``stay_key``: status, sub-status and since when) the update's own notification told
    # of: a movement made anywhere else since is told by the movement notice; None: none told
    told: str | None = None


def stay_key(ticket: "Ticket") -> str:
    """The ticket's current stay: where it is and since when (a move makes another)."""
    return f"{ticket.status}/{ticket.sub_status or ''}/{ticket.status_since.isoformat()}"


class Message(BaseModel):
    """One entry of a ticket's conversation (comments, notes)."""

    seq: int
    author_id: int | None = None
    author: str = ""
    body: str
    staff_only: bool = False
    created_at: StoredDateTime


class Ticket(BaseModel):
    id: int
    type: str = "ticket"
    type_history: list[str] = Field(default_factory=new_list)
    title: str = ""
    description: str = ""
    status: str = "new"
    sub_status: str | None = None
    status_since: StoredDateTime
    queue: str = ""
    priority: int = 0
    category: str = ""
    source: str = ""
    tags: list[str] = Field(default_factory=new_list)
    assignee_ids: list[int] = Field(default_factory=new_list)
    requester_id: int | None = None
    creator_id: int | None = None
    order_number: str | None = None
    service_id: int | None = None
    customer_id: int | None = None
    note: str = ""
    metadata: dict[str, Any] = Field(default_factory=dict)
    extra: dict[str, Any] = Field(default_factory=dict)
    disposition: str = ""
    tasks: dict[str, Task] = Field(default_factory=dict)
    notify: Notify | None = None
    follow_up_at: StoredDateTime | None = None
    last_follow_up_at: StoredDateTime | None = None
    # A Kapture callback switched the follow-up reminder on (an email to the assignee at
    # follow_up_at, ticketing.dialects.kapture): it then follows the follow-up, whichever dialect
    # moves it; follow_up_note is the callback's comment, which the reminder quotes.
    follow_up_reminder: bool = False
    # what the ticket's contacts have been told: per notification purpose, the id of the notice
    # last sent (the notifier sets it), so that a reminder sent no longer shows as pending
    notices_sent: dict[str, str] = Field(default_factory=dict)
    follow_up_note: str = ""
    message_count: int = 0
    last_message_at: StoredDateTime | None = None
    created_at: StoredDateTime
    updated_at: StoredDateTime
    closed_at: StoredDateTime | None = None
    version: int = 1
    # the item as read from the table (typed values), when it was: a write is conditioned on it
    _stored: dict[str, Any] | None = PrivateAttr(default=None)

    # -- derived identifiers (never stored: computed from the id) --------------
    @property
    def number(self) -> str:
        return ids.number_for(self.id)

    @property
    def key(self) -> str:
        return ids.key_for(self.id)

    def ref(self, prefix: str) -> str:
        return ids.ref_for(prefix, self.id)

    def task(self, task_id: int) -> Task | None:
        return self.tasks.get(str(task_id))

    def draft(self) -> "Ticket":
        """A copy to change: every record, list and dict in it its own, nothing shared with this
        one.  Dumped and validated again (in pydantic's core): ~8x faster than
        ``model_copy(deep=True)``, which also deep-copies the stored item, and that describes
        this ticket as read, not the draft (the draft has none: its item is made from it)."""
        return type(self).model_validate(self.model_dump())


class Actor(BaseModel):
    """Who makes a change: the authenticated API client, or the system itself."""

    client_id: str
    name: str = ""
    dialect: str = ""
    request_id: str = ""


SYSTEM = Actor(client_id="system", name="system", dialect="system")


class Change(BaseModel):
    field: str
    before: Any = None
    after: Any = None


class AuditEntry(BaseModel):
    ticket_id: int
    version: int
    at: StoredDateTime
    actor: str
    actor_name: str = ""
    dialect: str
    request_id: str = ""
    event: str = "update"
    changes: list[Change] = Field(default_factory=new_list)
    detail: dict[str, Any] = Field(default_factory=dict)
