"""ServiceDesk's WorkflowPush document, for every test tier: its samples, verbatim.

From /work/shared/seeds/004_5c97b68eec5a7018.txt (``POST api/Tickets/WorkflowPush``): the JSON and
XML request samples with the document's namespaces, and the workflow actions the document names.
Besides: the XML the tiers share around them (the members as DataContractSerializer writes them,
and two hostile bodies the parser must refuse)."""

from __future__ import annotations

from ticketing.dialects.servicedesk import models

PUSH = "/api/Tickets/WorkflowPush"
GET = "/api/Tickets/GetTicket/"
NS_I = "http://www.w3.org/2001/XMLSchema-instance"
NS_POSTS = "http://schemas.datacontract.org/2004/07/RequestorApiDataStructures.Posts"
NS_RESULTS = "http://schemas.datacontract.org/2004/07/RequestorApiDataStructures.Results"
XMLNS = f'xmlns:i="{NS_I}" xmlns="{NS_POSTS}"'
DOC_JSON = (
    '{ "TicketId": null, "TicketREF": "INC-000047", "Action": 207, "UserProviderKey": null, '
    '"ServiceId": null, "CustomerId": null, "Note": null }'
)
DOC_XML = (
    f'<WorkflowPushPost {XMLNS}> <Action>IncidentSuspend</Action> <CustomerId i:nil="true" /> '
    '<Note i:nil="true" /> <ServiceId i:nil="true" /> <TicketId i:nil="true" /> <TicketREF>INC-000047</TicketREF> '
    '<UserProviderKey i:nil="true" /> </WorkflowPushPost>'
)
BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    + f"]><WorkflowPushPost {XMLNS}><Action>IncidentSuspend</Action><TicketREF>&lol9;</TicketREF></WorkflowPushPost>"
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE WorkflowPushPost [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    f"<WorkflowPushPost {XMLNS}><Action>IncidentSuspend</Action><Note>&xxe;</Note>"
    "<TicketREF>INC-001001</TicketREF></WorkflowPushPost>"
)


def xml_post(action, **fields) -> str:
    """A WorkflowPushPost as DataContractSerializer writes it (members in alphabetical order)."""
    values = {"Action": action, **fields}
    parts = []
    for name in models.FIELDS:
        value = values.get(name)
        parts.append(f'<{name} i:nil="true" />' if value is None else f"<{name}>{value}</{name}>")
    return f"<WorkflowPushPost {XMLNS}>{''.join(parts)}</WorkflowPushPost>"


DOCUMENT_ACTIONS = [
    "IncidentAssign",
    "IncidentAssignOther",
    "IncidentFunctionEscalate",
    "IncidentSuspend",
    "IncidentWaitForThirdParty",
    "ServiceRequestAssign",
    "ServiceRequestAssignOther",
    "ServiceRequestWaitForThirdParty",
    "ProblemAssign",
    "ChangeAssign",
    "TicketConvertToIncident",
    "TicketConvertToServiceRequest",
]
