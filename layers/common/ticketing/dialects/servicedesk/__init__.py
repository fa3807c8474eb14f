"""The ``servicedesk`` dialect: ``POST /api/Tickets/WorkflowPush`` pushes a ticket through its
workflow; ``GET /api/Tickets/GetTicket/{id}`` tells its state and the actions it allows.

Bodies in JSON (``application/json``, ``text/json``) or XML (``application/xml``, ``text/xml``)
with the DataContract namespaces of the vendor's document; the response follows ``Accept``,
else the request's format.  Errors are ASP.NET Web API's ``{"Message": ...}`` /
``<Error><Message>...</Message></Error>``.  The workflow itself (states, actions, their
parameters) is data: ``ticketing/workflow.json``.  One module per job:

* ``dialect``: content negotiation and the error bodies;
* ``datacontract``: XML as DataContractSerializer reads (hardened) and writes it;
* ``models``: WorkflowPushPost, the request's one validator and schema, for JSON and XML;
* ``body``: the body decoded by BOM and charset as Web API does, read into a WorkflowPushPost;
* ``push``: the action's parameters resolved and the command that applies it;
* ``results``: the answers (WorkflowPushResult, GetTicketResult, Error) as models;
* ``routes``: the two routes and their Lambda handlers; ``docs``: the OpenAPI operations.
"""

from ticketing.dialects.servicedesk.docs import OPERATIONS
from ticketing.dialects.servicedesk.routes import get_ticket_handler, workflow_push_handler

__all__ = ["OPERATIONS", "get_ticket_handler", "workflow_push_handler"]
