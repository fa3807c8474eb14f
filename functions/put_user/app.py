"""PUT /users/{id} -- create or replace a user the tickets refer to (canonical API)."""

from ticketing.coldstart import loading

with loading():  # the init's imports, without garbage collections (ticketing.coldstart)
    from ticketing.dialects.canonical_reference import put_user_handler as lambda_handler

__all__ = ["lambda_handler"]
