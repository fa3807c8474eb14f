"""Count the AWS calls the layer makes (benchmarks and tests)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from ticketing import aws


@contextmanager
def aws_calls(service: str = "dynamodb") -> Iterator[Counter]:
    counts: Counter = Counter()
    client = aws.client(service)

    def hook(model, **_):
        counts[model.name] += 1

    client.meta.events.register(f"before-call.{service}.*", hook, unique_id=f"metering-{id(counts)}")
    try:
        yield counts
    finally:
        client.meta.events.unregister(f"before-call.{service}.*", unique_id=f"metering-{id(counts)}")
