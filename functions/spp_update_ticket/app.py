"""PUT /api/tickets/{ticket} -- update a ticket (SPP dialect)."""

from ticketing.dialects.spp.routes import update_handler as lambda_handler

__all__ = ["lambda_handler"]
