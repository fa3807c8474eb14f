"""Demo webhook subscription: the canonical demo client hears of conversions (``Ticket Converted``)
made through the other dialects, at a loopback URL where nothing listens (each delivery fails and is
retried: ``GET /webhooks/wh_demo_canonical/deliveries`` shows the attempts).  Subscribe your own
receiver with ``POST /webhooks`` (README, Subscribing to changes)."""

from __future__ import annotations

from ticketing import auth
from ticketing.model import utcnow
from ticketing.settings import get_settings
from ticketing.webhooks import store

SUBSCRIPTION_ID = "wh_demo_canonical"
SECRET = "whsec_ZGVtby1zZWNyZXQtb2YtdGhlLWNhbm9uaWNhbC1jbGllbnQ="
TOKEN = "tkt_demo_canonical"


def seed() -> None:
    if not get_settings().webhooks_table:
        return
    client = auth.lookup(TOKEN)
    store.put_subscription(
        store.Subscription(
            id=SUBSCRIPTION_ID,
            client_id=client.client_id,
            token_hash=auth.hash_token(TOKEN),
            dialect="canonical",
            url="http://127.0.0.1:9/demo-receiver",
            kinds=["Ticket Converted"],
            payload_format="canonical",
            secret=SECRET,
            description="demo: conversions of tickets, to a loopback port where nothing listens",
            created_at=utcnow(),
        )
    )
