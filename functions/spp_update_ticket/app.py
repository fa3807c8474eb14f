"""PUT /api/tickets/{ticket} -- update a ticket (SPP dialect)."""

from ticketing.coldstart import loading

with loading():  # the init's imports, without garbage collections (ticketing.coldstart)
    from ticketing.dialects.spp.routes import update_handler as lambda_handler

__all__ = ["lambda_handler"]
