"""PUT /users/{id} -- create or replace a user the tickets refer to (canonical API)."""

from ticketing.dialects.canonical_reference import put_user_handler as lambda_handler

__all__ = ["lambda_handler"]
