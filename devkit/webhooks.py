"""Webhook operations from the command line.

    python -m devkit.webhooks replay [--endpoint http://127.0.0.1:5000]   dead letters -> deliveries again
    python -m devkit.webhooks dead-letters [--endpoint ...]               how many wait

Against the local run's embedded AWS (its banner prints the endpoint; or ``POST /_local/webhooks/replay``).
Deployed, SQS moves them itself: ``aws sqs start-message-move-task --source-arn <WebhookDeadLetterQueue
ARN> --destination-arn <WebhookDeliveryQueue ARN>`` (docs/events.md).
"""

from __future__ import annotations

import argparse

from devkit import template as tpl
from devkit.local import deliveries


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["replay", "dead-letters"])
    p.add_argument("--endpoint", default="http://127.0.0.1:5000", help="the embedded AWS of the local run")
    p.add_argument("--limit", type=int, default=None)
    args = p.parse_args(argv)
    template = tpl.default()
    if args.command == "replay":
        print(f"replayed {deliveries.replay(template, args.endpoint, args.limit)} deliveries")
    else:
        print(deliveries.dead_letters(template, args.endpoint))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
