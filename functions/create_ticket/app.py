"""POST /tickets -- create a ticket (canonical API)."""

from ticketing.coldstart import loading

with loading():  # the init's imports, without garbage collections (ticketing.coldstart)
    from ticketing.dialects.canonical_create import create_handler as lambda_handler

__all__ = ["lambda_handler"]
