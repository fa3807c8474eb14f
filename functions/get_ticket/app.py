"""GET /tickets/{id} -- read a ticket by any of its identifiers (canonical API)."""

from ticketing.dialects.canonical_reads import get_handler as lambda_handler

__all__ = ["lambda_handler"]
