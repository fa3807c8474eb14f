"""The local run: the API on this machine (``make run``, ``python -m devkit.local``).  What it
serves and how: ``devkit/local/__init__.py``."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from unittest import mock
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import botocore.loaders
import botocore.session

from devkit import demo
from devkit import template as tpl
from devkit.local import console, deliveries, front, lambdas, provision, runtime
from devkit.local.apigateway import LocalApi
from devkit.local.embedded_aws import EmbeddedAWS, copy_tables, outbox
from devkit.local.gate import status_line
from devkit.local.scheduler import SchedulerPump
from devkit.local.streams import StreamPump
from devkit.local.workers import Workers, count_from_environment

log = logging.getLogger("local")
_one_loader = functools.cache(botocore.loaders.create_loader)  # the reset's: AWS's service models, read-only


def is_loopback(address: str) -> bool:
    """Whether a peer address is this machine's loopback (127.0.0.0/8, ::1, or v4-mapped)."""
    import ipaddress

    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


def _headers_of(environ: dict[str, Any]) -> list[tuple[str, str]]:
    """The request's headers: as sent (the front door keeps them), else rebuilt from the environ."""
    headers = environ.get(front.HEADERS_KEY)
    if headers is not None:
        return headers
    out = [(k[5:].replace("_", "-").title(), v) for k, v in environ.items() if k.startswith("HTTP_")]
    for key, name in (("CONTENT_TYPE", "Content-Type"), ("CONTENT_LENGTH", "Content-Length")):
        if environ.get(key):
            out.append((name, environ[key]))
    return out


class LocalRun:
    def __init__(self, port: int = 3000, moto_host: str = "127.0.0.1", moto_port: int = 5000, host: str = "127.0.0.1"):
        self.template = tpl.default()
        self.aws = EmbeddedAWS(moto_host, moto_port, in_process=True)
        self.host, self.port = host, port
        self.front: Any = None
        self.api: LocalApi | None = None
        self.scheduler: SchedulerPump | None = None
        self.streams: StreamPump | None = None
        self.deliveries: deliveries.SqsPump | None = None  # the webhook deliveries' queues (issue 20)
        self.lambdas: lambdas.LocalLambdas | None = None
        self.console: console.Console | None = None
        self.workers: Workers | None = None  # the processes that run the invocations (LOCAL_WORKERS)
        self._reset_lock = threading.Lock()
        self._seeded_tables: dict[str, Any] | None = None  # moto's tables as the demo seed left them
        self.request_timeout = float(os.environ.get("LOCAL_REQUEST_TIMEOUT", "10"))

    def prepare(self) -> None:
        # the handlers' clients have no endpoint: moto answers them in this process
        provision.apply_environment(self.template, self.aws.client_endpoint)
        # one process serves every function and the embedded AWS: under a burst of writers of one
        # ticket a conflict costs ~10x what it does on DynamoDB, and there is no function timeout,
        # so the write path may retry true conflicts for longer here (30 s) than in a function (8 s);
        # within an invocation the function's remaining time still ends it, as on Lambda
        from ticketing.store import writer

        writer.WRITE_BUDGET_SECONDS = float(os.environ.get("WRITE_BUDGET_SECONDS", "30"))
        provision.create_resources(self.template, self.aws.client_endpoint)
        demo.seed()

    def start(self) -> None:
        self.aws.start()
        count = count_from_environment()
        if count:  # they import the handlers while this process provisions the embedded AWS
            self.workers = Workers(self.template, count)
            self.workers.start()
        self.prepare()
        if self.workers:
            self.workers.wait_ready()
            runtime.use_workers(self.workers)
        self.api = LocalApi(self.template)
        endpoint = self.aws.client_endpoint
        self.lambdas = self.aws.lambdas = lambdas.install(self.template, endpoint)
        self.scheduler = SchedulerPump(self.api, endpoint, gate=self.aws.gate)
        self.streams = StreamPump(self.template, endpoint, gate=self.aws.gate)
        self.deliveries = deliveries.SqsPump(self.template, endpoint, gate=self.aws.gate)
        # what the demo seed set off settled before the API is served (the pumps' clients made, the
        # seed's stream records handed on, ...), so none of it lands on the first requests
        if self.settle(timeout=30.0) is None:
            log.warning("what the demo data set off did not settle within 30 s: serving anyway")
        for pump in (self.scheduler, self.streams, self.deliveries):
            pump.start()
        self.console = console.Console(self)
        self.front = front.serve(self.wsgi, self.host, self.port, request_timeout=self.request_timeout)
        self.port = self.front.effective_port

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        """Every request of the API's port: a dev endpoint (loopback peers only) or the API."""
        method = environ["REQUEST_METHOD"]
        target = environ.get("REQUEST_URI") or quote(environ.get("PATH_INFO") or "/")
        parts = urlsplit(target)
        raw_path = parts.path or "/"
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        peer = environ.get("REMOTE_ADDR") or ""
        path = unquote(raw_path)
        if path == "/_local" or path.startswith("/_local/") or (path == "/openapi.json" and method == "GET"):
            if not is_loopback(peer):
                # HOST=0.0.0.0 serves the API to the network, never the dev endpoints (reset, outbox...)
                status, headers, data = 404, [("Content-Type", "application/json")], b'{"message":"Not Found"}'
            else:
                try:
                    status, headers, data = self.dev_endpoint(method, path, parts.query, body)
                except Exception as err:  # answer, rather than drop the connection
                    log.exception("%s %s failed", method, path)
                    message = json.dumps({"message": f"{type(err).__name__}: {err}"}).encode()
                    status, headers, data = 500, [("Content-Type", "application/json")], message
        else:
            query = f"?{parts.query}" if parts.query else ""
            status, headers, data = self.api.handle(method, raw_path + query, _headers_of(environ), body, peer)
        headers = [(k, v) for k, v in headers if k.lower() not in ("content-length", "transfer-encoding")]
        start_response(status_line(status), [*headers, ("Content-Length", str(len(data)))])
        return [data]

    def dev_endpoint(
        self, method: str, path: str, query: str = "", body: bytes = b""
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        json_type = [("Content-Type", "application/json")]
        args = dict(parse_qsl(query))
        if path == "/_local/credentials" and method == "GET":
            return 200, json_type, json.dumps(demo.credentials(), indent=2).encode()
        if path == "/_local/outbox" and method == "GET":
            with self.aws.gate.lock:  # moto's backends, read while no request changes them
                sent = outbox()
            return 200, json_type, json.dumps(sent, indent=2, default=str).encode()
        if path == "/openapi.json":  # built from the code, so it is what the handlers do
            from devkit import openapi

            return 200, json_type, openapi.render().encode()
        if path == "/_local/health" and method == "GET":
            workers = self.workers.pids if self.workers else []
            return 200, json_type, json.dumps({"status": "ok", "aws": self.aws.endpoint, "workers": workers}).encode()
        if path == "/_local/reset" and method == "POST":
            self.reset()
            return 200, json_type, b'{"status":"reset"}'
        if path == "/_local/settle" and method == "POST":
            try:
                timeout = min(float(args.get("timeout") or 10), 60.0)
            except ValueError:
                return 400, json_type, b'{"message":"timeout must be a number of seconds"}'
            rounds = self.settle(timeout)
            if rounds is None:
                return 504, json_type, json.dumps({"settled": False, "timeout": timeout}).encode()
            return 200, json_type, json.dumps({"settled": True, "rounds": rounds}).encode()
        if path == "/_local/schedules" and method == "GET":
            return 200, json_type, json.dumps(self.scheduler.pending(), indent=2, default=str).encode()
        if path == "/_local/schedules/fire" and method == "POST":
            if args.get("name"):  # one schedule, due or not (the console's "fire now")
                record = self.scheduler.fire_now(args.get("group") or "default", args["name"])
                if record is None:
                    return 404, json_type, b'{"message":"no such schedule"}'
                return 200, json_type, json.dumps({"fired": 1, "record": record}, default=str).encode()
            # ?now=<ISO 8601>: fire what is due by then, as if the clock were there (reminders days ahead)
            now = args.get("now")
            try:
                at = datetime.fromisoformat(now) if now else None
            except ValueError:
                return 400, json_type, b'{"message":"now must be an ISO 8601 date-time"}'
            if at is not None and at.tzinfo is None:
                at = at.replace(tzinfo=UTC)
            return 200, json_type, json.dumps({"fired": self.scheduler.pump(at)}).encode()
        if path == "/_local/invocations" and method == "GET":
            return 200, json_type, json.dumps(self.lambdas.invocations, indent=2, default=str).encode()
        answered = deliveries.answer(self, method, path, args) or self.console.answer(method, path, args)
        if answered is not None:
            return answered
        return 404, json_type, b'{"message":"no such dev endpoint"}'

    def settle(self, timeout: float = 10.0) -> int | None:
        """Until everything the changes so far set off is done: the streams handed on, the queues'
        visible messages delivered, due schedules fired, Lambda's asynchronous invocations (and
        their retries) finished -- each pump run now, in this thread, round after round, until a
        round changes nothing and nothing waits to be handled again.  Returns the rounds it took,
        or None if that did not happen within ``timeout`` seconds.  What waits for time to pass
        (a message invisible until its visibility timeout, a schedule due later) is not waited
        for.  For tests and clients' test suites: instead of sleeping "long enough"."""
        deadline = time.monotonic() + timeout
        rounds = 0
        while time.monotonic() < deadline:
            rounds += 1
            before = self.aws.gate.changes
            if not self.lambdas.wait(max(0.0, deadline - time.monotonic())):
                return None
            handled = self.streams.pump() + self.deliveries.pump() + self.scheduler.pump()
            if not handled and self.aws.gate.changes == before and not self.streams.waiting() and self.lambdas.wait(0):
                return rounds
        return None

    def reset(self) -> None:
        """Back to the demo data.  The pumps wait meanwhile, and forget the streams' shards and
        the schedules they knew (a shard iterator of the old tables would name nothing)."""
        with self._reset_lock, self.streams.paused(), self.scheduler.paused(), self.deliveries.paused():
            self.aws.reset()
            self.streams.forget()
            self.deliveries.forget()
            self.scheduler.forget()
            self.lambdas.forget()
            if self._seeded_tables is None:  # the first reset seeds, and keeps what the seed left
                self.prepare()
                self._seeded_tables = self._tables(copy_tables)
            else:
                self._restore_seeded()
            if self.workers:  # their caches too, as apply_environment forgets this process's
                self.workers.reset()

    def _tables(self, take: Any) -> dict[str, Any]:
        """``take`` of moto's DynamoDB tables (a dict of moto ``Table`` objects, stream shards and
        all) under the gate's lock; fails loudly if this moto keeps them elsewhere."""
        from moto.dynamodb.models import dynamodb_backends

        with self.aws.gate.lock:
            tables = getattr(dynamodb_backends[tpl.ACCOUNT][tpl.REGION], "tables", None)
            names = {self.template.physical_name(t) for t in self.template.tables()}
            if not isinstance(tables, dict) or not names <= set(tables):
                raise RuntimeError(
                    "moto no longer keeps DynamoDB tables in dynamodb_backends[account][region].tables: "
                    "devkit/local/run.py's reset copies them back; adapt it to this moto"
                )
            return take(tables)

    def _restore_seeded(self) -> None:
        """What ``prepare`` leaves, faster: the tables as the first reset's seed left them (a copy,
        far faster than making the tables and writing the demo data again; the demo data's times
        are that seed's), then the other resources made as ``prepare`` makes them."""
        from moto.dynamodb.models import dynamodb_backends
        from ticketing import auth, catalog

        provision.apply_environment(self.template, self.aws.client_endpoint)
        with self.aws.gate.lock:
            dynamodb_backends[tpl.ACCOUNT][tpl.REGION].tables = copy_tables(self._seeded_tables)
        self._tables(lambda tables: None)
        # the tables are there; the botocore sessions it makes share one loader of AWS's service
        # models (each would read their JSON again: ~0.2 s a reset)
        with mock.patch.object(botocore.session, "create_loader", _one_loader):
            provision.create_resources(self.template, self.aws.client_endpoint)
        auth.reset()  # the caches as the seed's writes leave them
        catalog.reset()

    def serve_forever(self) -> None:
        self.front.run()

    def stop(self) -> None:
        if self.scheduler:
            self.scheduler.stop()
        if self.streams:
            self.streams.stop()
        if self.deliveries:
            self.deliveries.stop()
        if self.lambdas:
            lambdas.uninstall(self.lambdas, timeout=2.0)
        if self.front:
            self.front.task_dispatcher.shutdown(timeout=2)
            self.front.close()
        if self.workers:
            runtime.use_workers(None)
            self.workers.stop()
            self.workers = None
        self.aws.stop()

    def banner(self, started: float) -> str:
        url = f"http://{self.host}:{self.port}"
        creds = demo.credentials()
        lines = [
            f"Ticket hub: the API is served on {url} (ready in {time.monotonic() - started:.1f} s)",
            f"Embedded AWS (moto): {self.aws.endpoint}   tables: " + ", ".join(self.template.tables()),
            "",
            "Demo credentials (Authorization header values; all of them: GET /_local/credentials):",
        ]
        for dialect, labels in creds.items():
            first = next(iter(labels.values()))
            lines.append(f"  {dialect:14} {first}")
        lines += [
            "",
            "Try:",
            f"  curl -s {url}/tickets/1001 -H 'Authorization: {creds['canonical']['canonical']}'",
            "",
            f"Dev endpoints: GET {url}/_local/credentials, GET {url}/_local/outbox, POST {url}/_local/reset",
            "Ctrl-C stops.",
        ]
        return "\n".join(lines)


@contextlib.contextmanager
def spawned(
    timeout: float = 60.0,
    log_level: str | None = None,
    env: dict[str, str] | None = None,
    log_lines: list[str] | None = None,
    cwd: Any = None,
) -> Iterator[str]:
    """The local run (``python -m devkit.local``) on free loopback ports in a subprocess, as the
    README's run command starts it; yields its URL once it says where it serves, and stops it
    after.  Its log keeps being read, so it never blocks on a full pipe: into ``log_lines`` if
    given, else dropped.  ``env``: more environment; ``cwd``: another checkout to run."""
    import subprocess

    env = {**os.environ, "PORT": "0", "MOTO_PORT": "0", "HOST": "127.0.0.1", "PYTHONUNBUFFERED": "1", **(env or {})}
    if log_level:
        env.setdefault("LOCAL_LOG_LEVEL", log_level)
    proc = subprocess.Popen(
        [sys.executable, "-m", _module(cwd)],
        cwd=cwd or tpl.ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url, seen, deadline = None, [], time.monotonic() + timeout
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line)
            if "the API is served on " in line:
                url = line.split("the API is served on ")[1].split()[0]
        if url is None:
            raise RuntimeError("the local run did not start:\n" + "".join(seen[-30:]))
        sink = log_lines.append if log_lines is not None else (lambda _line: None)
        threading.Thread(target=lambda: [sink(line) for line in proc.stdout], daemon=True).start()
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _module(cwd: Any) -> str:
    """The local run's module in the checkout ``cwd`` (an older one, for the bench, may predate
    ``devkit.local``)."""
    from pathlib import Path

    root = Path(cwd or tpl.ROOT)
    return "devkit.local" if (root / "devkit" / "local" / "__main__.py").exists() else "devkit.serve"


def main() -> int:
    import signal

    runtime.configure_logging()
    # Ctrl-C stops it (run.stop: the workers too), even where it was started with SIGINT ignored
    signal.signal(signal.SIGINT, signal.default_int_handler)
    started = time.monotonic()
    run = LocalRun(
        port=int(os.environ.get("PORT", "3000")),
        moto_host=os.environ.get("MOTO_HOST", "127.0.0.1"),
        moto_port=int(os.environ.get("MOTO_PORT", "5000")),
        host=os.environ.get("HOST", "127.0.0.1"),
    )
    try:
        run.start()
    except OSError as err:
        print(f"cannot start: {err} (set PORT / MOTO_PORT to free ports)", file=sys.stderr)
        return 1
    print(run.banner(started), flush=True)
    try:
        run.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        run.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
