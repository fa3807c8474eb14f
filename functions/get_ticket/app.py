"""GET /tickets/{id} -- read a ticket by any of its identifiers (canonical API)."""

from ticketing.coldstart import loading

with loading():  # the init's imports, without garbage collections (ticketing.coldstart)
    from ticketing.dialects.canonical_reads import get_handler as lambda_handler

__all__ = ["lambda_handler"]
