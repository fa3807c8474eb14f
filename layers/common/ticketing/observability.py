"""Powertools logger and metrics, one of each per container.

Tracing is Lambda's and API Gateway's active tracing (``Tracing: Active`` in the
template): every invocation is traced without an SDK.  The X-Ray SDK behind
Powertools' ``Tracer`` is not imported: it measured 150-190 ms of cold start here,
more than everything else this layer adds together.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

logger = Logger(service="tickets")
metrics = Metrics(namespace="Tickets", service="tickets")
