"""Provisioning of the embedded AWS: create what ``template.yaml`` declares on moto (in process or
moto's server), point the layer at it, and give functions their environment."""

from __future__ import annotations

import contextlib
import functools
import os
from typing import Any

import boto3

from devkit import template as tpl

FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": tpl.REGION,
    "AWS_REGION": tpl.REGION,
}
LOCAL_ENV = {
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_METRICS_DISABLED": "1",
    "AUTH_CACHE_SECONDS": "0",
    "WEBHOOKS_LOOPBACK_ONLY": "1",  # webhooks go to loopback URLs only (ticketing.webhooks.urls)
}


def function_environment(template: tpl.Template) -> dict[str, str]:
    """The union of every function's environment; a clash between two is an error."""
    env: dict[str, str] = {}
    for fn in template.functions().values():
        for key, value in fn.environment.items():
            if key in env and env[key] != value:
                raise RuntimeError(f"{fn.logical_id} sets {key}={value!r}, another function {env[key]!r}")
            env[key] = value
    return env


def apply_environment(
    template: tpl.Template, endpoint_url: str | None = None, extra: dict[str, str] | None = None
) -> dict[str, str]:
    env = {**FAKE_ENV, **function_environment(template), **LOCAL_ENV, **(extra or {})}
    env.pop("AWS_ENDPOINT_URL", None)  # the functions' (empty when deployed): this one's is endpoint_url
    if endpoint_url:
        env["AWS_ENDPOINT_URL"] = endpoint_url
    else:
        os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.update(env)
    reset_caches()
    return env


def reset_caches() -> None:
    """Forget every per-container cache of the layer (clients, settings, catalog...)."""
    import importlib

    for module, attr in [
        ("ticketing.settings", "reset"),
        ("ticketing.aws", "reset"),
        ("ticketing.auth", "reset"),
        ("ticketing.catalog", "reset"),
        ("ticketing.service", "reset"),
        ("ticketing.idempotency", "_persistence"),
    ]:
        mod = importlib.import_module(module)
        fn = getattr(mod, attr)
        if hasattr(fn, "cache_clear"):
            fn.cache_clear()
        else:
            fn()


def session(endpoint_url: str | None = None) -> Any:
    return boto3.session.Session(
        region_name=tpl.REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        aws_session_token="testing",
    )


@functools.cache
def client(service: str, endpoint_url: str | None = None) -> Any:
    """A client of the embedded AWS (in process, or moto's server at ``endpoint_url``) for
    provisioning, made once a process: ``create_resources`` runs at every ``POST /_local/reset``,
    and making its session and clients each time was ~60% of a reset."""
    return session().client(service, endpoint_url=endpoint_url)


def create_resources(template: tpl.Template, endpoint_url: str | None = None) -> None:
    """Create the template's tables (and other resources it declares) on the embedded AWS."""
    ddb = client("dynamodb", endpoint_url)
    existing = set(ddb.list_tables().get("TableNames", []))
    for logical_id, props in template.tables().items():
        name = template.physical_name(logical_id)
        if name in existing:
            continue
        kwargs: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if props.get("GlobalSecondaryIndexes"):
            kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        if props.get("StreamSpecification"):
            kwargs["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        # SSESpecification (the stack's KMS key) is left out on purpose, as is the queue's
        # KmsMasterKeyId below: the embedded AWS keeps data in memory and does not enforce IAM
        # or key policies, so the key would change nothing here.
        ddb.create_table(**kwargs)
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            ddb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
            )
    from devkit.local import bus  # the change events' bus, FIFO queues and redrive (issue 20)

    for logical_id in bus.ordered_queues(template):
        client("sqs", endpoint_url).create_queue(**bus.queue_spec(template, logical_id))
    bus.create_resources(template, client("events", endpoint_url), client("sqs", endpoint_url))
    for logical_id in template.of_type("AWS::Scheduler::ScheduleGroup"):
        scheduler = client("scheduler", endpoint_url)
        with contextlib.suppress(scheduler.exceptions.ConflictException):
            scheduler.create_schedule_group(Name=template.physical_name(logical_id))
    # the sender is verified here whatever CreateSenderIdentity says (deployed, it may be verified by hand)
    for res in template.of_type("AWS::SES::EmailIdentity").values():
        identity = template.resolve(res["Properties"]["EmailIdentity"])
        client("ses", endpoint_url).verify_email_identity(EmailAddress=identity)
    for logical_id in template.of_type("AWS::SES::ConfigurationSet"):
        sesv2 = client("sesv2", endpoint_url)
        with contextlib.suppress(sesv2.exceptions.AlreadyExistsException):
            sesv2.create_configuration_set(ConfigurationSetName=template.physical_name(logical_id))
