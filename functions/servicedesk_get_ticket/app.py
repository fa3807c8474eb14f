"""GET /api/Tickets/GetTicket/{id} -- a ticket's state and available workflow actions (servicedesk)."""

from ticketing.coldstart import loading

with loading():  # the init's imports, without garbage collections (ticketing.coldstart)
    from ticketing.dialects.servicedesk.routes import get_ticket_handler as lambda_handler

__all__ = ["lambda_handler"]
