from __future__ import annotations

import os
import weakref
from contextlib import contextmanager
from unittest import mock

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
from devkit.local.embedded_aws import copy_tables


def _one_loader() -> None:
    """Every botocore session of the test process shares one loader of AWS's service models (a
    session makes its own by default and reads each model's JSON again: ~50 ms a client, and
    the layer makes fresh clients for every test).  The models are read-only data."""
    import functools

    import botocore.loaders
    import botocore.session

    botocore.session.create_loader = functools.cache(botocore.loaders.create_loader)


_one_loader()


class _EmbeddedAws:
    """moto with every resource template.yaml declares, built once per test process (per xdist
    worker) and put back as built before each test that asks for it.

    * DynamoDB: the tables as built (or as the demo seed left them, ``seeded``) are kept, and
      a test gets its own copy of them, unless no write went to DynamoDB since they were copied
      (botocore's ``before-call`` of every client notes the services written to: ``_note``).
      This is the one place the tests touch moto's internals (``dynamodb_backends[...].tables``,
      a dict of moto ``Table`` objects): copying the tables is far faster than writing their
      items again.  ``_check_moto`` fails loudly if moto no longer keeps them there.
    * Any other service a test wrote to is reset through moto's public
      ``AccountSpecificBackend.reset`` and its resources created again.
    * A test that starts its own ``mock_aws()`` resets every backend: the mark set on the
      DynamoDB backend is gone with it, and everything is built again.
    """

    NOT_MOTO = {"lambda"}  # answered by devkit.local.lambdas, not moto
    # what localstack.create_resources makes besides the tables (not all of it idempotently): reset
    # together whenever one is, then made again (SES v2 also keeps its sends in SES's backend)
    MADE = {"sqs", "scheduler", "ses", "sesv2"}
    MARK = "_tests_built_resources"

    def __init__(self) -> None:
        self.template = tpl.default()
        self.built: dict | None = None  # the tables as built, empty
        self.seeded: dict = _SEEDED
        self.state: str | None = None  # what the tables hold now, if no write went to them since

    def backend(self):
        from moto.dynamodb.models import dynamodb_backends

        return dynamodb_backends[tpl.ACCOUNT][tpl.REGION]

    def _check_moto(self, backend) -> None:
        tables = getattr(backend, "tables", None)
        names = {self.template.physical_name(t) for t in self.template.tables()}
        if not isinstance(tables, dict) or not names <= set(tables):
            raise RuntimeError(
                "moto no longer keeps DynamoDB tables in dynamodb_backends[account][region].tables "
                f"(moto {__import__('moto').__version__}): tests/conftest.py's _EmbeddedAws copies them "
                "to reset the tables between tests; adapt it to this moto"
            )

    def prepare(self, seeded: bool) -> dict | None:
        """The resources as built (with the demo data if ``seeded``): built now if this process has
        none (or a test reset moto); tables copied back unless nothing wrote to them since."""
        backend = self.backend()
        if self.built is None or not getattr(backend, self.MARK, False):
            localstack.create_resources(self.template)
            self._check_moto(backend)
            self.built = copy_tables(backend.tables)
            setattr(backend, self.MARK, True)
            self.state = "built"
            _DIRTY.clear()
        stale = _DIRTY - self.NOT_MOTO - {"dynamodb"}
        if stale:
            stale |= self.MADE
            from moto.backends import get_backend

            for service in sorted(stale):
                for account in get_backend(service).values():
                    account.reset()
            localstack.create_resources(self.template)  # the tables are there: only the others are made
        want = "seeded" if seeded and self.seeded else "built"
        if "dynamodb" in _DIRTY or self.state != want:
            backend.tables = copy_tables(self.seeded["tables"] if want == "seeded" else self.built)
            self.state = want
        _DIRTY.clear()
        if seeded and not self.seeded:  # the first seeded test of this process writes the demo data
            self.seeded["info"] = demo.seed()
            self.seeded["tables"] = copy_tables(backend.tables)
            self.state = "seeded"
            _DIRTY.discard("dynamodb")  # the tables are the snapshot; what else the seed wrote is reset next time
        return self.seeded.get("info") if seeded else None


_SEEDED: dict = {}  # the demo data: "info" (what demo.seed answered), "tables" (the tables it left)
_WORLD: list[_EmbeddedAws] = []
_DIRTY: set[str] = set()  # the services written to since the last reset
_READS = ("Get", "List", "Describe", "Query", "Scan", "BatchGet", "TransactGet")


def _note(model, **_):
    """botocore's ``before-call`` of every client: the services a write went to."""
    if not model.name.startswith(_READS):
        _DIRTY.add(model.service_model.service_name)


def _note_writes() -> None:
    """Put ``_note`` among botocore's built-in handlers: every session made from now on has it."""
    import boto3
    from botocore import handlers

    handlers.BUILTIN_HANDLERS.append(("before-call", _note))
    if boto3.DEFAULT_SESSION is not None:
        boto3.DEFAULT_SESSION.events.register("before-call", _note)


_note_writes()


# What the layer's clients (ticketing.aws) are made from.  While it stays the same, a test gets the
# clients the test before it made (making one is a botocore session and a client: ~10 ms, ~12% of
# the integration tier), each with a full retry quota again, as a new client has.  No test
# changes these.
_CLIENT_ENV = (
    "AWS_ENDPOINT_URL",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_MAX_ATTEMPTS",
    "AWS_RETRY_MODE",
)
_CLIENTS_MADE_WITH: list[tuple | None] = [None]
_RETRY_QUOTAS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # client -> its quota checker


def _note_retry_quotas() -> None:
    """Note each client's retry quota as botocore's standard retry mode makes it (one per client)."""
    from botocore.retries import standard

    real = standard.register_retry_handler

    def register(client, *args, **kwargs):
        handler = real(client, *args, **kwargs)
        _RETRY_QUOTAS[client] = handler._retry_quota
        return handler

    standard.register_retry_handler = register


_note_retry_quotas()


@contextmanager
def _clients_kept():
    """Within this block ``ticketing.aws.reset()`` forgets the layer's clients (and the idempotency
    layer around the DynamoDB one) only if the environment they were made from (``_CLIENT_ENV``)
    changed; kept, their retry quotas are full."""
    import ticketing.aws as layer
    import ticketing.idempotency as idempotency
    from botocore.retries.quota import RetryQuota

    forget_clients, forget_persistence = layer.reset, idempotency._persistence.cache_clear

    def reset() -> None:
        now = tuple(os.environ.get(name) for name in _CLIENT_ENV)
        if now != _CLIENTS_MADE_WITH[0]:
            forget_clients()
            forget_persistence()  # Powertools' layer around the DynamoDB client goes with it
            _CLIENTS_MADE_WITH[0] = now
        for checker in list(_RETRY_QUOTAS.values()):
            checker._quota = RetryQuota()

    # Powertools' idempotency layer is kept with the client it wraps: made again around a kept
    # client, each new one would add its handler to that client's events, test after test
    with (
        mock.patch.object(layer, "reset", reset),
        mock.patch.object(idempotency._persistence, "cache_clear", lambda: None),
    ):
        yield


def _world() -> _EmbeddedAws:
    if not _WORLD:
        _WORLD.append(_EmbeddedAws())
    return _WORLD[0]


@pytest.fixture
def aws(request):
    """moto in process (one request at a time, with the local run's faster answers), with every resource
    template.yaml declares, and Lambda's ``Invoke`` of its functions (``devkit.local.lambdas``:
    retries 10 ms apart; leaving waits for asynchronous invocations still running).

    The resources are built once per test process and reset before each test (``_EmbeddedAws``);
    moto's patches and the environment are this test's alone."""
    from moto.core.custom_responses_mock import reset_responses_mock
    from moto.core.model_instances import reset_model_data
    from moto.core.models import responses_mock

    from devkit.local import lambdas
    from devkit.local.gate import serialised_moto
    from devkit.local.moto_patches import fast_moto, item_level_transactions

    world = _world()
    moto = mock_aws()
    with mock.patch.dict(os.environ):
        moto.start(reset=False)
        try:
            with (
                serialised_moto(),
                item_level_transactions(),
                fast_moto(),
                lambdas.installed(world.template, retry_delay=0.01),
            ):
                with _clients_kept():
                    localstack.apply_environment(world.template)
                world.seeded_info = world.prepare(seeded="seeded" in request.fixturenames)
                yield world.template
                with _clients_kept():
                    localstack.reset_caches()
        finally:
            moto.stop(remove_data=False)
            reset_model_data()  # moto's record of every object it made, for its dashboard
            # and the `requests` callbacks its start registered (~1,300 a start, kept until moto's
            # own reset, which stop(remove_data=False) skips: +0.5 MB a test, and a heap that grew
            # slower to collect test after test); moto's reset does this beside resetting its data
            reset_responses_mock(responses_mock)


@pytest.fixture
def lambdas(aws):
    """What answers ``lambda.Invoke`` in the ``aws`` fixture: its ``invocations``, ``wait()``."""
    from devkit.local import lambdas as local_lambdas

    return local_lambdas.active()


@pytest.fixture
def seeded(aws):
    """The embedded AWS with the demo catalog, clients and tickets.

    The demo data is written through the layer once per test process; later tests get
    a copy of the tables it produced (the same items, far faster than writing them again).
    """
    return _world().seeded_info


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

    def settle(self, timeout: float = 20.0) -> None:
        """Until what the changes so far set off is done (``POST /_local/settle``): streams handed
        on, queues delivered, due schedules fired, asynchronous invocations finished."""
        status, _, body = self.json("POST", f"/_local/settle?timeout={timeout}")
        assert status == 200 and body["settled"], body


@pytest.fixture(scope="session")
def local_run():
    """The local run on free ports, as the README's run command starts it."""
    import urllib.request

    from devkit.local import run as serve

    with serve.spawned() as url:
        urllib.request.urlopen(url + "/_local/health", timeout=10).read()
        yield LocalRunClient(url)


@pytest.fixture
def http(local_run):
    """The session's local run, reset to the demo data (``POST /_local/reset``)."""
    assert local_run.request("POST", "/_local/reset")[0] == 200
    return local_run


@pytest.fixture
def quick_botocore_backoff(monkeypatch):
    """botocore's standard retry mode with its backoff between attempts a hundredth as long (at most
    10 + 20 ms a call instead of 1 + 2 s): the same attempts, for tests that wait out its retries."""
    from botocore.retries.standard import ExponentialBackoff

    real = ExponentialBackoff.delay_amount
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: real(self, context) / 100)


@pytest.fixture
def log_output():
    """Everything the layer's structured logger writes during the test."""
    import io

    from ticketing.observability import logger

    buffer = io.StringIO()
    old = logger.registered_handler.setStream(buffer)
    yield buffer
    logger.registered_handler.setStream(old)


_NOT_IN_UNIT = {"aws", "seeded", "lambdas", "local_run"}


def pytest_collection_modifyitems(config, items):
    """tests/unit runs without moto and without the local run (that is what makes it fast): a unit
    test that asks for either is a mistake of tier, reported as an error rather than run."""
    for item in items:
        wrong = sorted(_NOT_IN_UNIT & set(getattr(item, "fixturenames", ())))
        if item.path.parent.name == "unit" and wrong:
            raise pytest.UsageError(
                f"{item.nodeid} is in tests/unit but uses {', '.join(wrong)}: move it to a tier that has them"
            )
