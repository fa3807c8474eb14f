"""POST /api/Tickets/WorkflowPush -- push a ticket's state forward by a workflow action (servicedesk)."""

from ticketing.coldstart import loading

with loading():  # the init's imports, without garbage collections (ticketing.coldstart)
    from ticketing.dialects.servicedesk.routes import workflow_push_handler as lambda_handler

__all__ = ["lambda_handler"]
