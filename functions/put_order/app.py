"""PUT /orders/{number} -- create or replace an order the tickets refer to (canonical API)."""

from ticketing.coldstart import loading

with loading():  # the init's imports, without garbage collections (ticketing.coldstart)
    from ticketing.dialects.canonical_reference import put_order_handler as lambda_handler

__all__ = ["lambda_handler"]
