"""GET /tickets/{id}/history -- the ticket's audit trail, newest first (canonical API)."""

from ticketing.coldstart import loading

with loading():  # the init's imports, without garbage collections (ticketing.coldstart)
    from ticketing.dialects.canonical_reads import history_handler as lambda_handler

__all__ = ["lambda_handler"]
