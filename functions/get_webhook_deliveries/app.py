from ticketing.dialects.canonical_webhooks import deliveries_handler as lambda_handler

__all__ = ["lambda_handler"]
