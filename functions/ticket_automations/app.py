"""Timed automations: keeps ticket notifications in step with every change of a ticket
(DynamoDB Streams of the tickets table)."""

from ticketing.coldstart import loading

with loading():  # the init's imports, without garbage collections (ticketing.coldstart)
    from ticketing.automations import handler as lambda_handler

__all__ = ["lambda_handler"]
