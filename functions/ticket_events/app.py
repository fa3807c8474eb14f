"""Change events: every committed change of a ticket, once, on the EventBridge bus (DynamoDB
Streams of the tickets table)."""

from ticketing.coldstart import loading

with loading():  # the init's imports, without garbage collections (ticketing.coldstart)
    from ticketing.eventbus import handler as lambda_handler

__all__ = ["lambda_handler"]
