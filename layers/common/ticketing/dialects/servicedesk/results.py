"""What the routes answer: WorkflowPushResult, GetTicketResult (the ticket's type, state and the
actions it allows) and Error, in JSON and in DataContract XML.

Each answer's model is its schema in the OpenAPI document and gives the XML writer its members;
the answers are plain values (the models are never built in a function: ``defer_build``), and
tests/integration/test_servicedesk.py validates each kind of answer against its model."""

from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from ticketing import service
from ticketing.dialects.servicedesk import datacontract
from ticketing.dialects.servicedesk.datacontract import NS_ARRAYS, NS_RESULTS
from ticketing.dialects.servicedesk.models import PARAMETER_NAMES, action_schema
from ticketing.model import Ticket
from ticketing.workflow import Workflow, get_workflow

_WORKFLOW = get_workflow()
_ARRAY_ITEM = {"type": "string", "xml": {"name": "string", "namespace": NS_ARRAYS, "prefix": "a"}}
StringList = Annotated[list[str], WithJsonSchema({"type": "array", "items": _ARRAY_ITEM})]


def _contract(name: str, namespace: str | None = NS_RESULTS) -> ConfigDict:
    xml = {"name": name, "namespace": namespace} if namespace else {"name": name}
    return ConfigDict(title=name, json_schema_extra={"xml": xml}, defer_build=True)


class WorkflowPushResult(BaseModel):
    model_config = _contract("WorkflowPushResult")

    TicketREF: str = Field(description="The ticket's reference (new after a conversion).")
    TicketId: int = Field(description="The ticket's stable id.")


class TicketActionInfo(BaseModel):
    model_config = _contract("TicketActionInfo")
    xml_as: ClassVar[dict[str, str]] = {"Action": "Name"}  # an enum: its number in JSON, its name in XML

    Action: Annotated[int, WithJsonSchema(action_schema(_WORKFLOW))] = Field(
        description="The action: its number in JSON, its name in XML."
    )
    Name: str = Field(json_schema_extra={"enum": [a.name for a in _WORKFLOW.actions]})
    NeedsParameter: bool = Field(description="Whether the action needs a parameter.")
    RequiredParameters: StringList
    OptionalParameters: StringList


class GetTicketResult(BaseModel):
    model_config = _contract("GetTicketResult")

    TicketREF: str
    TicketId: int
    TicketType: str = Field(json_schema_extra={"enum": [t.name for t in _WORKFLOW.types.values()]})
    State: str
    SummaryState: str = Field(json_schema_extra={"enum": sorted(set(_WORKFLOW.summary_states.values()))})
    AllAvailableTicketActions: list[TicketActionInfo]


class Error(BaseModel):
    """Web API's HttpError: every refusal."""

    model_config = _contract("Error", namespace=None)

    Message: str


def answer(contract: type[BaseModel], values: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The answer in JSON and in DataContract XML."""
    return values, datacontract.to_xml(contract, values)


def error_body(message: str, xml: bool) -> Any:
    values = {"Message": message}
    return datacontract.to_xml(Error, values, namespace=None) if xml else values


def push_result(ticket: Ticket) -> tuple[dict[str, Any], str]:
    return answer(WorkflowPushResult, {"TicketREF": service.current_ref(ticket), "TicketId": ticket.id})


def ticket_result(ticket: Ticket, workflow: Workflow | None = None) -> tuple[dict[str, Any], str]:
    workflow = workflow or get_workflow()
    actions = [
        {
            "Action": action.code,
            "Name": action.name,
            "NeedsParameter": bool(action.required),
            "RequiredParameters": [PARAMETER_NAMES[r] for r in action.required],
            "OptionalParameters": [PARAMETER_NAMES[r] for r in action.optional],
        }
        for action in workflow.available(ticket)
    ]
    values = {
        "TicketREF": service.current_ref(ticket),
        "TicketId": ticket.id,
        "TicketType": workflow.flow(ticket.type).name,
        "State": workflow.state_of(ticket).key,
        "SummaryState": workflow.summary_of(ticket),
        "AllAvailableTicketActions": actions,
    }
    return answer(GetTicketResult, values)


def webhook_view(ticket: Ticket) -> dict[str, Any]:
    """The GetTicket result a webhook of payload format ``servicedesk`` carries (JSON members)."""
    return ticket_result(ticket)[0]
