from ticketing.dialects.canonical_webhooks import list_handler as lambda_handler

__all__ = ["lambda_handler"]
