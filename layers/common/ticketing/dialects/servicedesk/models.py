"""WorkflowPushPost, the request of ``POST /api/Tickets/WorkflowPush``: one pydantic model
validates it, from JSON and from XML alike, and is its schema in the OpenAPI document.

Its validators raise the messages Web API callers read in the 400's ``Message``.  When several
members are wrong, the one reported is the first of ``PRIORITY``; a TicketREF that is not a
reference is reported only when every other member is right.  Which ticket the post names
(TicketId or TicketREF, both the same ticket) is ``WorkflowPushPost.identifier``."""

import re
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

from ticketing import ids
from ticketing.dialects.servicedesk.datacontract import NS_POSTS
from ticketing.errors import ValidationFailed, quoted
from ticketing.workflow import Action, Role, Workflow, get_workflow

MAX_REF = 32
MAX_KEY = 256
MAX_NOTE = 32768
MAX_INT32 = 2**31 - 1
REF_PATTERN = r"^[A-Za-z]{2,5}-[0-9]{1,10}$"  # the syntax of ids' REF: ASCII digits only

# the document's name of each workflow parameter role
PARAMETER_NAMES: dict[Role, str] = {
    "operator": "UserProviderKey",
    "service": "ServiceId",
    "customer": "CustomerId",
    "note": "Note",
}
FIELDS = ("Action", "CustomerId", "Note", "ServiceId", "TicketId", "TicketREF", "UserProviderKey")
# the member whose error is reported when several are wrong: the first of these
PRIORITY = ("TicketREF", "UserProviderKey", "Action", "TicketId", "ServiceId", "CustomerId", "Note")
_REF_SYNTAX = "ticket_ref"

_INTEGER_TEXT = re.compile(r"\s*([+-]?)([0-9]+)\s*")  # ASCII digits only
_ACTION_NUMBER = re.compile(r"[+-]?[0-9]{1,9}")
_REF = re.compile(REF_PATTERN)


def _error(message: str, kind: str = "servicedesk") -> PydanticCustomError:
    return PydanticCustomError(kind, "{message}", {"message": message})


def _integer(name: str, value: Any, maximum: int) -> int | None:
    if value is None:
        return None
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and (m := _INTEGER_TEXT.fullmatch(value)):
        sign, digits = m.group(1), m.group(2).lstrip("0") or "0"
        # more digits than any id has: too large (without converting thousands of digits)
        number = int(sign + digits) if len(digits) <= 19 else (-1 if sign == "-" else maximum + 1)
    if number is None:
        raise _error(f"The value {quoted(value)} of {name} is not an integer.")
    if number <= 0:
        raise _error(f"{name} must be a positive integer, not {number}.")
    if number > maximum:
        raise _error(f"{name} is too large: at most {maximum}.")
    return number


def _string(name: str, value: Any, max_length: int, *, strip: bool = True) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _error(f"{name} must be a string.")
    text = value.strip() if strip else value
    if len(text) > max_length:
        raise _error(f"{name} may be at most {max_length} characters long.")
    return text


def _context(info: ValidationInfo) -> dict[str, Any]:
    return info.context or {}


def action_schema(workflow: Workflow) -> dict[str, Any]:
    codes = [a.code for a in workflow.actions]
    names = [a.name for a in workflow.actions]
    return {"anyOf": [{"type": "integer", "enum": codes}, {"type": "string", "enum": names}]}


Positive32 = Annotated[int, Field(ge=1, le=MAX_INT32)]
TicketAction = Annotated[Action, WithJsonSchema(action_schema(get_workflow()))]


class WorkflowPushPost(BaseModel):
    """The document's WorkflowPushPost; members the action does not take are ignored."""

    model_config = ConfigDict(
        frozen=True,
        extra="ignore",
        title="WorkflowPushPost",
        json_schema_extra={"xml": {"name": "WorkflowPushPost", "namespace": NS_POSTS}},
    )

    ticket_id: Annotated[int, Field(ge=1, le=ids.MAX_ID)] | None = Field(
        default=None, alias="TicketId", description="(TicketId or TicketREF) The ticket's id."
    )
    ticket_ref: Annotated[str, StringConstraints(max_length=MAX_REF, pattern=REF_PATTERN)] | None = Field(
        default=None,
        alias="TicketREF",
        description="(TicketId or TicketREF) The ticket's reference, e.g. INC-000047; earlier REFs too.",
    )
    action: TicketAction = Field(
        alias="Action", description="TicketActionEnum: its number (JSON) or name (JSON and XML)."
    )
    user_provider_key: Annotated[str, StringConstraints(max_length=MAX_KEY)] | None = Field(
        default=None,
        alias="UserProviderKey",
        description="A known operator: required by the Assign and FunctionEscalate actions, "
        "optional for the WaitForThirdParty actions.",
    )
    service_id: Positive32 | None = Field(
        default=None, alias="ServiceId", description="A known service: required by the Convert actions."
    )
    customer_id: Positive32 | None = Field(
        default=None, alias="CustomerId", description="The customer awaited (WaitForThirdParty actions)."
    )
    note: Annotated[str, StringConstraints(max_length=MAX_NOTE)] | None = Field(
        default=None, alias="Note", description="Note (WaitForThirdParty actions)."
    )

    @field_validator("ticket_id", mode="before")
    @classmethod
    def _ticket_id(cls, value: Any) -> int | None:
        return _integer("TicketId", value, ids.MAX_ID)

    @field_validator("service_id", "customer_id", mode="before")
    @classmethod
    def _positive(cls, value: Any, info: ValidationInfo) -> int | None:
        return _integer(cls.model_fields[info.field_name].alias, value, MAX_INT32)

    @field_validator("ticket_ref", mode="before")
    @classmethod
    def _ticket_ref(cls, value: Any) -> str | None:
        ref = _string("TicketREF", value, MAX_REF) or None
        if ref is not None and not _REF.match(ref):
            raise _error(f"TicketREF {quoted(ref)} is not a ticket reference such as INC-000047.", _REF_SYNTAX)
        return ref

    @field_validator("user_provider_key", mode="before")
    @classmethod
    def _user_provider_key(cls, value: Any) -> str | None:
        return _string("UserProviderKey", value, MAX_KEY) or None

    @field_validator("note", mode="before")
    @classmethod
    def _note(cls, value: Any) -> str | None:
        return _string("Note", value, MAX_NOTE, strip=False)

    @field_validator("action", mode="before")
    @classmethod
    def _action(cls, value: Any, info: ValidationInfo) -> Action:
        context = _context(info)
        workflow: Workflow = context.get("workflow") or get_workflow()
        by_number = context.get("by_number", True)  # JSON: by number or name; XML: by name
        if value is None or (isinstance(value, str) and not value.strip()):
            raise _error("Action is required: a TicketActionEnum name or number.")
        action = None
        if isinstance(value, str):
            text = value.strip()
            if by_number and _ACTION_NUMBER.fullmatch(text):
                action = workflow.action_by_code(int(text))
            else:
                action = workflow.action(text)
        elif by_number and isinstance(value, int) and not isinstance(value, bool):
            action = workflow.action_by_code(value)
        if action is None:
            raise _error(f"The value {quoted(value)} of Action is not a TicketActionEnum.")
        return action

    def given(self, role: Role) -> bool:
        value = {
            "operator": self.user_provider_key,
            "service": self.service_id,
            "customer": self.customer_id,
            "note": self.note,
        }[role]
        return value is not None

    def identifier(self) -> str:
        """What names the ticket: TicketREF and/or TicketId (both given: the same ticket)."""
        if self.ticket_ref is not None:
            parsed = ids.parse(self.ticket_ref)
            if parsed is None or parsed.ref_prefix is None:
                raise ValidationFailed(
                    f"TicketREF {quoted(self.ticket_ref)} is not a ticket reference such as INC-000047."
                )
            if self.ticket_id is not None and self.ticket_id != parsed.ticket_id:
                raise ValidationFailed(
                    f"TicketId {self.ticket_id} and TicketREF {self.ticket_ref} do not name the same ticket."
                )
            return self.ticket_ref
        if self.ticket_id is not None:
            return str(self.ticket_id)
        raise ValidationFailed("TicketId or TicketREF is required.")


def _rank(error: Any) -> tuple[bool, int]:
    loc = str(error["loc"][0]) if error["loc"] else ""
    return error["type"] == _REF_SYNTAX, PRIORITY.index(loc) if loc in PRIORITY else len(PRIORITY)


def validate_post(members: dict[str, Any], workflow: Workflow, *, by_number: bool) -> WorkflowPushPost:
    """The WorkflowPushPost of a body's members (each of ``FIELDS``, ``None`` when absent);
    ``by_number``: the Action may be given by its number (JSON), not only by its name (XML)."""
    try:
        return WorkflowPushPost.model_validate(members, context={"workflow": workflow, "by_number": by_number})
    except ValidationError as err:
        first = min(err.errors(include_url=False), key=_rank)
        raise ValidationFailed(first["msg"]) from err
