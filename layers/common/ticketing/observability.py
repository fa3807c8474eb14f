"""Powertools logger and metrics, one of each per container.

Tracing is Lambda's and API Gateway's active tracing (``Tracing: Active`` in the
template): every invocation is traced without an SDK.  The X-Ray SDK behind
Powertools' ``Tracer`` is not imported: it measured 150-190 ms of cold start here,
more than everything else this layer adds together.

Metrics: one EMF document per invocation (namespace ``Tickets``), written by
``emit_metrics`` around a handler.  Code anywhere in the invocation calls
``count(name)``; the handler's wrapper sets its dimensions with ``dimension(name,
value)`` (``dialect`` for the API, ``purpose`` for the notifier).  Each metric is
emitted twice: per dimension value (``service`` + ``dialect``) and as a total
(``service`` alone), so an alarm can watch the total without a search expression.

Why not Powertools' ``log_metrics`` alone: its metric and dimension sets are class
attributes shared by every ``Metrics`` in the process, and they are cleared only by a
flush that printed something.  With metrics disabled (the local run and the tests,
where every handler shares one interpreter) or after an invocation that added no
metric, the next invocation inherited the previous one's dimensions ("Dimension
'dialect' has already been added") and values, and 100 accumulated values were
printed as EMF even though metrics were disabled.  Here every invocation starts from
an empty set and ends with one flush and a clear, whatever happened.  ``count`` is
thread-safe (Kapture's batch writes run in threads) and sums in place, so a batch of
100 updates is one value, not a list that Powertools would flush early at 100.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics

SERVICE = "tickets"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace="Tickets", service=SERVICE)

_lock = threading.Lock()
_counts: dict[str, float] = {}
_dimensions: dict[str, str] = {}


def count(name: str, value: float = 1) -> None:
    """Add ``value`` to the Count metric ``name`` of the current invocation."""
    with _lock:
        _counts[name] = _counts.get(name, 0) + value


def dimension(name: str, value: str) -> None:
    """Set a dimension of every metric of the current invocation (one value per invocation)."""
    with _lock:
        _dimensions[name] = value


def _reset() -> None:
    with _lock:
        _counts.clear()
        _dimensions.clear()
    metrics.provider.clear_metrics()


def flush() -> None:
    """Write the invocation's metrics as one EMF document (unless metrics are disabled),
    then forget them."""
    with _lock:
        counts, dims = dict(_counts), dict(_dimensions)
        _counts.clear()
        _dimensions.clear()
    try:
        for name, value in counts.items():
            metrics.add_metric(name=name, unit="Count", value=value)
        if metrics.metric_set:  # metrics added directly through ``metrics`` count too
            for name, value in dims.items():
                metrics.add_dimension(name=name, value=value)
            if dims:
                metrics.add_dimensions(service=SERVICE)  # the same metrics as totals
            metrics.flush_metrics()
    except Exception:  # a metric problem must not turn an answer (or a change made) into a failure
        logger.exception("metrics not written")
    finally:
        metrics.provider.clear_metrics()


def emit_metrics(handler: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """Decorate a Lambda handler: fresh metrics at its start, one flush at its end."""

    @functools.wraps(handler)
    def wrapper(event: Any, context: Any) -> Any:
        _reset()
        try:
            return handler(event, context)
        finally:
            flush()

    return wrapper
