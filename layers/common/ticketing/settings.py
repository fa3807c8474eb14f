"""Configuration: one validated model per container, read lazily from the environment."""

import os
from functools import lru_cache

from pydantic import BaseModel, Field


class Settings(BaseModel):
    tickets_table: str = Field(min_length=1)
    clients_table: str = Field(min_length=1)
    idempotency_table: str = ""
    schedule_group: str = "default"
    notifier_arn: str = ""
    scheduler_role_arn: str = ""
    scheduler_dlq_arn: str = ""
    sender_email: str = "tickets@example.com"
    ses_configuration_set: str = ""  # SES configuration set of every email (bounces, complaints); empty: none
    auth_cache_seconds: float = Field(default=30.0, ge=0)
    catalog_cache_seconds: float = Field(default=300.0, ge=0)
    idempotency_ttl_seconds: int = Field(default=86400, ge=86400)
    max_body_bytes: int = Field(default=1_048_576, gt=0)
    # relay limits of notifications (template parameters; docs/particlespace.md, "Limits")
    notify_max_recipients: int = Field(default=10, ge=1, le=50)  # per notice
    notify_ticket_per_hour: int = Field(default=12, ge=1)  # notices about one ticket, per hour
    notify_client_per_hour: int = Field(default=100, ge=1)  # messages a client's requests send, per hour
    notify_client_per_day: int = Field(default=500, ge=1)  # and per day (UTC)
    event_bus_name: str = ""  # the change events' EventBridge bus (ticketing.eventbus)
    webhooks_table: str = ""  # webhook subscriptions and delivery attempts (ticketing.webhooks)
    webhook_queue_url: str = ""  # the FIFO queue of webhook deliveries (ticketing.webhooks.fanout)
    webhooks_loopback_only: bool = False  # the local run: deliver to loopback URLs only (ticketing.webhooks.urls)
    # the deliveries' backoff (ticketing.webhooks.delivery); the local run's tests make it fast
    webhook_retry_base_seconds: float = Field(default=30.0, gt=0)
    webhook_retry_cap_seconds: float = Field(default=7200.0, gt=0)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        values = {name: env[name.upper()] for name in cls.model_fields if name.upper() in env}
        return cls.model_validate(values)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()


def reset() -> None:
    """Forget cached settings (tests and the local run change the environment)."""
    get_settings.cache_clear()
