"""Webhook deliveries: the FIFO queue to the subscribers' URLs, signed (Standard Webhooks)."""

from ticketing.webhooks.delivery import handler as lambda_handler

__all__ = ["lambda_handler"]
