"""boto3 clients, created once per container on first use (never at import)."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(
    # 3 attempts in all: standard-mode backoff (up to 1 s, then 2 s) stays well inside the
    # functions' 10 s timeout, so a request answers 503 rather than timing out at the gateway
    retries={"mode": "standard", "total_max_attempts": 3},
    connect_timeout=2,
    read_timeout=5,
    tcp_keepalive=True,
)


@cache
def client(service: str) -> Any:
    from ticketing.settings import get_settings

    endpoint = get_settings().local_aws_endpoint or None
    return boto3.session.Session().client(service, config=_CONFIG, endpoint_url=endpoint)


def dynamodb() -> Any:
    return client("dynamodb")


def reset() -> None:
    client.cache_clear()
