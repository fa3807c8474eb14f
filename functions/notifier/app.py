"""The notifier: target of every notification schedule (EventBridge Scheduler)."""

from ticketing.coldstart import loading

with loading():  # the init's imports, without garbage collections (ticketing.coldstart)
    from ticketing.notifier import handler as lambda_handler

__all__ = ["lambda_handler"]
