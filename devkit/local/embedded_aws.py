"""The local run's embedded AWS: moto's server in a thread of this process (for other processes:
``sam local invoke``, the AWS CLI) and, with ``in_process``, moto answering this process's own
boto3 clients, both through one ``Gate`` (``devkit.local.gate``)."""

from __future__ import annotations

import contextlib
import copy
import threading
from collections.abc import Iterator
from typing import Any

from devkit import template as tpl
from devkit.local import bus, lambdas
from devkit.local.gate import Gate, TransactionTokens, serialised_moto
from devkit.local.moto_patches import fast_moto, item_level_transactions


class EmbeddedAWS:
    """moto's server in a thread of this process, one AWS request at a time (``Gate``).

    With ``in_process`` (the local run), moto also answers this process's own boto3 clients
    in process (``mock_aws``: moto's server and its in-process mock share the same backends),
    through the same gate: one lock, ``TransactionTokens``, the change count.  The server stays
    up for other processes (``sam local invoke``, the AWS CLI)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 5000, in_process: bool = False):
        self.host, self.port = host, port
        self.in_process = in_process
        self.gate = Gate(tokens=True, forget_models=True)
        self._server = None
        self._thread: threading.Thread | None = None
        self._patches = contextlib.ExitStack()
        self.lambdas: lambdas.LocalLambdas | None = None  # answers Lambda's Invoke of the template's functions

    @property
    def _tokens(self) -> TransactionTokens:
        return self.gate.tokens

    def start(self) -> None:
        from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        if self.in_process:
            from moto import mock_aws

            self._patches.enter_context(mock_aws())
            self._patches.enter_context(serialised_moto(self.gate))
            self._patches.enter_context(unsigned_requests())
        self._patches.enter_context(item_level_transactions())  # for as long as the server runs
        self._patches.enter_context(fast_moto())
        self._patches.enter_context(bus.bounded_tap())
        app = DomainDispatcherApplication(create_backend_app)
        # Lambda's Invoke is answered before the lock: the function calls this AWS itself
        gated = self.gate.wsgi(app, before=lambda environ: self.lambdas.answer_wsgi(environ) if self.lambdas else None)
        self._server = make_server(self.host, self.port, gated, threaded=True, request_handler=MotoRequestHandler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)
        self._thread.start()

    @property
    def endpoint(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    @property
    def client_endpoint(self) -> str | None:
        """The endpoint this process's clients use: none (moto in process) or the server."""
        return None if self.in_process else self.endpoint

    def reset(self) -> None:
        """Empty the services the template uses (moto's own reset walks every service: slower)."""
        import importlib

        with self.gate.lock:
            for module, name in RESET_BACKENDS:
                getattr(importlib.import_module(module), name).reset()
            self._tokens.clear()

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server = None
        self._patches.close()


def _unsigned(**_: Any) -> Any:
    from botocore import UNSIGNED

    return UNSIGNED


@contextlib.contextmanager
def unsigned_requests() -> Iterator[None]:
    """Within this block, the clients this process makes send their requests unsigned.  moto in
    process checks no signature (the embedded AWS does not enforce IAM, and answers for its one
    account either way), and SigV4 signing was ~5% of the local run's CPU under load.  moto's
    server, for other processes, is not concerned: their clients sign as ever."""
    from botocore.handlers import BUILTIN_HANDLERS

    entry = ("choose-signer", _unsigned)
    BUILTIN_HANDLERS.append(entry)
    try:
        yield
    finally:
        BUILTIN_HANDLERS.remove(entry)


def copy_tables(tables: dict[str, Any]) -> dict[str, Any]:
    """A copy of moto's DynamoDB tables (``dynamodb_backends[account][region].tables``), to put
    back later: items, indexes and stream shards copied, each shard's stream records shared.  moto
    never changes a record once made (a shard only appends; ``GetRecords`` and the local run's
    stream pump copy what they hand on), and copying them was most of a copy's time: the demo
    data's 53 records of the tickets table, ~12 of ~27 ms."""
    memo: dict[int, Any] = {}
    for table in tables.values():
        for record in getattr(getattr(table, "stream_shard", None), "items", None) or ():
            memo[id(record)] = record
    return copy.deepcopy(tables, memo)


RESET_BACKENDS = [
    ("moto.dynamodb.models", "dynamodb_backends"),
    ("moto.dynamodbstreams.models", "dynamodbstreams_backends"),
    ("moto.scheduler.models", "scheduler_backends"),
    ("moto.ses.models", "ses_backends"),
    ("moto.sesv2.models", "sesv2_backends"),
    ("moto.sns.models", "sns_backends"),
    ("moto.sqs.models", "sqs_backends"),
    ("moto.iam.models", "iam_backends"),
]


def outbox() -> dict[str, list[dict[str, Any]]]:
    """Emails (SES) and text messages (SNS) sent so far, read from moto's backends."""
    from moto.ses.models import ses_backends
    from moto.sns.models import sns_backends

    emails = []
    for msg in ses_backends[tpl.ACCOUNT][tpl.REGION].sent_messages:
        destinations = getattr(msg, "destinations", {}) or {}
        emails.append(
            {
                "id": msg.id,
                "from": getattr(msg, "source", None),
                "to": destinations.get("ToAddresses", []) if isinstance(destinations, dict) else destinations,
                "cc": destinations.get("CcAddresses", []) if isinstance(destinations, dict) else [],
                "subject": getattr(msg, "subject", None),
                "body": getattr(msg, "body", None),
                "raw": getattr(msg, "raw_data", None),
            }
        )
    sms = [
        {"id": mid, "to": phone, "message": text}
        for mid, (phone, text) in sns_backends[tpl.ACCOUNT][tpl.REGION].sms_messages.items()
    ]
    return {"emails": emails, "sms": sms}
