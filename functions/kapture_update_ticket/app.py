"""POST /update-ticket-from-other-source.html/v.2.0 -- update tickets in a batch (Kapture dialect)."""

from ticketing.coldstart import loading

with loading():  # the init's imports, without garbage collections (ticketing.coldstart)
    from ticketing.dialects.kapture import update_handler as lambda_handler

__all__ = ["lambda_handler"]
