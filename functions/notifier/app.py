"""The notifier: target of every notification schedule (EventBridge Scheduler)."""

from ticketing.notifier import handler as lambda_handler

__all__ = ["lambda_handler"]
