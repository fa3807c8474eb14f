"""Webhook deliveries: the FIFO queue to the subscribers' URLs, signed (Standard Webhooks)."""

from ticketing.coldstart import loading

with loading():  # the init's imports, without garbage collections (ticketing.coldstart)
    from ticketing.webhooks.delivery import handler as lambda_handler

__all__ = ["lambda_handler"]
