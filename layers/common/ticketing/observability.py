"""Powertools logger, tracer and metrics, one of each per container."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="tickets")
tracer = Tracer(service="tickets")
metrics = Metrics(namespace="Tickets", service="tickets")
