"""PATCH /tickets/{id} -- merge-patch a ticket's own fields (canonical API)."""

from ticketing.coldstart import loading

with loading():  # the init's imports, without garbage collections (ticketing.coldstart)
    from ticketing.dialects.canonical_patch import patch_handler as lambda_handler

__all__ = ["lambda_handler"]
