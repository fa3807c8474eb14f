from __future__ import annotations

import copy
import os
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

from devkit import demo, localstack
from devkit import template as tpl


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
      each test gets its own copy of them.  This is the one place the tests touch moto's
      internals (``dynamodb_backends[...].tables``, a dict of moto ``Table`` objects): copying
      the tables is ~100 times faster than writing their items again.  ``_check_moto`` fails
      loudly if moto no longer keeps them there.
    * Any other service a test changed (botocore's ``before-call`` of every write is noted) is
      reset through moto's public ``AccountSpecificBackend.reset`` and its resources created again.
    * A test that starts its own ``mock_aws()`` resets every backend: the mark set on the
      DynamoDB backend is gone with it, and everything is built again.
    """

    READS = ("Get", "List", "Describe", "Query", "Scan", "BatchGet", "TransactGet")
    NOT_MOTO = {"dynamodb", "lambda"}  # DynamoDB: restored by its tables; Lambda: devkit.lambdas answers
    TOGETHER = {"ses": {"ses", "sesv2"}, "sesv2": {"ses", "sesv2"}}  # SES v2 keeps its sends in SES's backend
    MARK = "_tests_built_resources"

    def __init__(self) -> None:
        self.template = tpl.default()
        self.built: dict | None = None
        self.dirty: set[str] = set()
        self.seeded: dict = _SEEDED

    def note(self, model, **_):
        """botocore ``before-call``: the services a write went to."""
        if not model.name.startswith(self.READS):
            self.dirty.add(model.service_model.service_name)

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

    def prepare(self) -> None:
        """The resources as built: built now if this process has none (or a test reset moto)."""
        backend = self.backend()
        if self.built is None or not getattr(backend, self.MARK, False):
            localstack.create_resources(self.template)
            self._check_moto(backend)
            self.built = copy.deepcopy(backend.tables)
            setattr(backend, self.MARK, True)
        else:
            backend.tables = copy.deepcopy(self.built)
            stale = set()
            for service in self.dirty - self.NOT_MOTO:
                stale |= self.TOGETHER.get(service, {service})
            if stale:
                from moto.backends import get_backend

                for service in sorted(stale):
                    for account in get_backend(service).values():
                        account.reset()
                localstack.create_resources(self.template)
        self.dirty.clear()

    def seed(self) -> dict:
        backend = self.backend()
        if not self.seeded:
            self.seeded["info"] = demo.seed()
            self.seeded["tables"] = copy.deepcopy(backend.tables)
        else:
            backend.tables = copy.deepcopy(self.seeded["tables"])
        return self.seeded["info"]


_SEEDED: dict = {}  # the demo data: "info" (what demo.seed answered), "tables" (the tables it left)
_WORLD: list[_EmbeddedAws] = []


def _world() -> _EmbeddedAws:
    if not _WORLD:
        import boto3
        from botocore import handlers

        world = _EmbeddedAws()
        handlers.BUILTIN_HANDLERS.append(("before-call", world.note))
        if boto3.DEFAULT_SESSION is not None:
            boto3.DEFAULT_SESSION.events.register("before-call", world.note)
        _WORLD.append(world)
    return _WORLD[0]


@pytest.fixture
def aws():
    """moto in process (one request at a time, with the local run's faster answers), with every resource
    template.yaml declares, and Lambda's ``Invoke`` of its functions (``devkit.lambdas``:
    retries 10 ms apart; leaving waits for asynchronous invocations still running).

    The resources are built once per test process and reset before each test (``_EmbeddedAws``);
    moto's patches and the environment are this test's alone."""
    from moto.core.model_instances import reset_model_data

    from devkit import lambdas
    from devkit.inprocess import fast_moto, item_level_transactions, serialised_moto

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
                localstack.apply_environment(world.template)
                world.prepare()
                yield world.template
                localstack.reset_caches()
        finally:
            moto.stop(remove_data=False)
            reset_model_data()  # moto's record of every object it made, for its dashboard


@pytest.fixture
def lambdas(aws):
    """What answers ``lambda.Invoke`` in the ``aws`` fixture: its ``invocations``, ``wait()``."""
    from devkit import lambdas as local_lambdas

    return local_lambdas.active()


@pytest.fixture
def seeded(aws):
    """The embedded AWS with the demo catalog, clients and tickets.

    The demo data is written through the layer once per test process; later tests get
    a copy of the tables it produced (the same items, far faster than writing them again).
    """
    return _world().seed()


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

    from devkit import serve

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
