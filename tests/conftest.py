from __future__ import annotations

import os

import pytest

# Never let a test reach a real AWS account.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)

from moto import mock_aws

from devkit import demo
from devkit import template as tpl
from devkit.local import provision as localstack


@pytest.fixture
def aws():
    """moto in process (one request at a time, with the local run's faster answers), with every resource
    template.yaml declares, and Lambda's ``Invoke`` of its functions (``devkit.local.lambdas``:
    retries 10 ms apart; leaving waits for asynchronous invocations still running)."""
    from devkit.local import lambdas
    from devkit.local.gate import serialised_moto
    from devkit.local.moto_patches import fast_moto, item_level_transactions

    template = tpl.default()
    with (
        mock_aws(),
        serialised_moto(),
        item_level_transactions(),
        fast_moto(),
        lambdas.installed(template, retry_delay=0.01),
    ):
        localstack.apply_environment(template)
        localstack.create_resources(template)
        yield template
        localstack.reset_caches()


@pytest.fixture
def lambdas(aws):
    """What answers ``lambda.Invoke`` in the ``aws`` fixture: its ``invocations``, ``wait()``."""
    from devkit.local import lambdas as local_lambdas

    return local_lambdas.active()


_SEEDED: dict = {}


@pytest.fixture
def seeded(aws):
    """The embedded AWS with the demo catalog, clients and tickets.

    The demo data is written through the layer once per test process; later tests get
    a copy of the tables it produced (the same items, far faster than writing them again).
    """
    import copy

    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends[tpl.ACCOUNT][tpl.REGION]
    if not _SEEDED:
        _SEEDED["info"] = demo.seed()
        _SEEDED["tables"] = copy.deepcopy(backend.tables)
    else:
        backend.tables = copy.deepcopy(_SEEDED["tables"])
    return _SEEDED["info"]


class LocalRunClient:
    """HTTP client of a local run started for the tests (``make run`` in a subprocess)."""

    def __init__(self, url: str):
        self.url = url

    def request(self, method, path, body=None, headers=None):
        import json as _json
        import urllib.error
        import urllib.request

        data = body if isinstance(body, bytes) else (_json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers or {})
        if data is not None and not req.has_header("Content-type"):
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()

    def json(self, method, path, body=None, headers=None):
        import json as _json

        status, hdrs, data = self.request(method, path, body, headers)
        return status, hdrs, (_json.loads(data) if data else None)


@pytest.fixture(scope="session")
def local_run():
    """The local run on free ports, as the README's run command starts it."""
    import urllib.request

    from devkit.local import run as serve

    with serve.spawned() as url:
        urllib.request.urlopen(url + "/_local/health", timeout=10).read()
        yield LocalRunClient(url)


@pytest.fixture
def log_output():
    """Everything the layer's structured logger writes during the test."""
    import io

    from ticketing.observability import logger

    buffer = io.StringIO()
    old = logger.registered_handler.setStream(buffer)
    yield buffer
    logger.registered_handler.setStream(old)
