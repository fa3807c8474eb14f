"""The whole API on this machine: an embedded AWS (moto's server) and API Gateway's
REST proxy integration in front of the handlers that ``template.yaml`` declares.

    make run                    # PORT=3000 MOTO_PORT=5000 by default

* AWS: moto's server on ``MOTO_HOST:MOTO_PORT`` (127.0.0.1:5000) with every table,
  queue, schedule group and identity the template declares, the status catalog, one
  demo client per dialect and demo tickets.  Its requests are serialised, as one
  DynamoDB partition would order them, so conditional writes behave under load.
* API: ``http://127.0.0.1:$PORT``; each request goes to the function whose ``Api``
  event matches its method and path, as an API Gateway REST proxy event, in process.
  Unknown routes get API Gateway's 403 ``Missing Authentication Token``; a handler
  that raises gets its 502 ``Internal server error``.
* EventBridge Scheduler: one-time ``at(...)`` schedules that come due are fired
  into their target function, then deleted when ``ActionAfterCompletion`` is DELETE.
* DynamoDB Streams: the records of a table with a stream go to the functions whose
  ``DynamoDB`` event names it, filtered and batched as the event source says
  (``devkit.streams``).
* Lambda: ``Invoke`` of the template's functions (``devkit.lambdas``), from the handlers in
  this process and, through the embedded AWS's ``POST /2015-03-31/functions/<name>/invocations``,
  from other processes (``sam local invoke``).  ``InvocationType=Event`` answers 202 and runs
  the handler on a thread: failures are retried as the function's ``EventInvokeConfig`` says
  (0.2 s, then 0.4 s apart) and then go to its ``OnFailure`` queue.
* Dev endpoints: ``GET /_local/credentials``, ``GET /_local/outbox``,
  ``POST /_local/reset``, ``GET /_local/health`` (and the embedded AWS's URL),
  ``GET /_local/schedules`` (pending schedules), ``POST /_local/schedules/fire[?now=<ISO 8601>]``
  (fire what is due, by ``now`` if given: a reminder due in two days fires now),
  ``GET /_local/invocations`` (Lambda invocations: function, at, type, outcome, attempts).
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import socket
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from devkit import apigw, demo, lambdas, localstack
from devkit import template as tpl
from devkit.inprocess import item_level_transactions
from devkit.streams import BackgroundPump, StreamPump

log = logging.getLogger("local")


# -------------------------------------------------------------------- embedded AWS
class EmbeddedAWS:
    """moto's server in a thread of this process, one AWS request at a time."""

    def __init__(self, host: str = "127.0.0.1", port: int = 5000):
        self.host, self.port = host, port
        self._server = None
        self._thread: threading.Thread | None = None
        self._tokens = TransactionTokens()
        self.lambdas: lambdas.LocalLambdas | None = None  # answers Lambda's Invoke of the template's functions

    def start(self) -> None:
        from moto.core.model_instances import reset_model_data
        from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        app = DomainDispatcherApplication(create_backend_app)
        lock = threading.Lock()
        tokens = self._tokens

        def serialised(environ, start_response):
            invoked = self.lambdas.answer_wsgi(environ) if self.lambdas else None
            if invoked is not None:  # not under the lock: the function calls this AWS itself
                status, headers, data = invoked
                start_response(status, headers)
                return [data]
            with lock:
                try:
                    return tokens.handle(app, environ, start_response)
                finally:
                    # moto keeps every model object it ever made for its dashboard (moto-api), items
                    # included, so every write would keep its items alive for good: forget them (the
                    # backends hold the state)
                    reset_model_data()

        self._transactions = item_level_transactions()  # for as long as the server runs
        self._transactions.__enter__()
        self._server = make_server(self.host, self.port, serialised, threaded=True, request_handler=MotoRequestHandler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)
        self._thread.start()

    @property
    def endpoint(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    def reset(self) -> None:
        """Empty the services the template uses (moto's own reset walks every service: slower)."""
        import importlib

        for module, name in RESET_BACKENDS:
            getattr(importlib.import_module(module), name).reset()
        self._tokens.clear()

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._transactions.__exit__(None, None, None)


class TransactionTokens:
    """DynamoDB's ``ClientRequestToken`` on ``TransactWriteItems``, which moto ignores: a call
    repeated with the token of one that succeeded within 10 minutes changes nothing and answers
    as the first did (a different request under the same token: ``IdempotentParameterMismatch``).

    botocore gives every call a token and keeps it across its retries, so when a call times out
    on the client after the embedded AWS applied it (``read_timeout`` is 5 s; a busy local run
    can take longer), the retry is not applied a second time -- as DynamoDB guarantees.
    Called with the embedded AWS's lock held."""

    TARGET = "DynamoDB_20120810.TransactWriteItems"
    WINDOW_SECONDS = 600

    def __init__(self) -> None:
        self._done: dict[str, tuple[float, str, str, list[tuple[str, str]], bytes]] = {}

    def clear(self) -> None:
        self._done.clear()

    def handle(self, app: Any, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ.get("HTTP_X_AMZ_TARGET") != self.TARGET:
            return list(app(environ, start_response))
        import hashlib
        import io

        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        try:
            params = json.loads(body)
        except ValueError:
            params = {}
        token = params.pop("ClientRequestToken", None) if isinstance(params, dict) else None
        if not token:
            return list(app(environ, start_response))
        now = time.monotonic()
        for key in [k for k, done in self._done.items() if now - done[0] > self.WINDOW_SECONDS]:
            del self._done[key]
        digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()
        if token in self._done:
            _, seen, status, headers, data = self._done[token]
            if seen != digest:
                status, headers = "400 Bad Request", [("Content-Type", "application/x-amz-json-1.0")]
                data = json.dumps(
                    {
                        "__type": "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException",
                        "message": "The request uses the same client token as a previous, but non-identical request.",
                    }
                ).encode()
            else:
                log.info("TransactWriteItems retried with the token of one applied: answered as before")
            start_response(status, headers)
            return [data]
        answer: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answer.update(status=status, headers=list(headers))
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        data = b"".join(app(environ, capture))
        if answer.get("status", "").startswith("200"):
            self._done[token] = (now, digest, answer["status"], answer["headers"], data)
        return [data]


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


# -------------------------------------------------------------------- API Gateway
class LocalApi:
    def __init__(self, template: tpl.Template):
        self.template = template
        self.functions = template.functions()
        self.binary_types = template.binary_media_types()
        self.stage = template.stage_name()
        for fn in self.functions.values():  # import every handler now: errors surface at start
            apigw.load_handler(fn)

    def handle(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes, source_ip: str
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        parts = urlsplit(target)
        path = unquote(parts.path) or "/"
        request_id = str(uuid.uuid4())
        base = [("x-amzn-RequestId", request_id)]
        found = apigw.find_route(self.template, method, path)
        if found is None:
            return (
                403,
                [
                    *base,
                    ("Content-Type", "application/json"),
                    ("x-amzn-ErrorType", "MissingAuthenticationTokenException"),
                ],
                b'{"message":"Missing Authentication Token"}',
            )
        fn, route, params = found
        event = apigw.build_event(
            method=method,
            path=path,
            route=route,
            path_params={k: unquote(v) for k, v in params.items()},
            headers=headers,
            query=parts.query,
            body=body,
            binary_types=self.binary_types,
            stage=self.stage,
            source_ip=source_ip,
            request_id=request_id,
        )
        try:
            result = apigw.invoke(fn, event)
            status = int(result["statusCode"])
        except Exception:  # what API Gateway shows when the function fails
            log.error("%s %s: %s raised\n%s", method, path, fn.logical_id, traceback.format_exc())
            return (
                502,
                [*base, ("Content-Type", "application/json"), ("x-amzn-ErrorType", "InternalServerErrorException")],
                b'{"message": "Internal server error"}',
            )
        out = list(base)
        multi = result.get("multiValueHeaders") or {}
        for k, v in (result.get("headers") or {}).items():
            if k not in multi:
                out.append((k, str(v)))
        for k, vs in multi.items():
            out += [(k, str(v)) for v in vs]
        payload = result.get("body") or ""
        data = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode("utf-8")
        return status, out, data


# -------------------------------------------------------------------- scheduler
class SchedulerPump(BackgroundPump):
    """Fire one-time schedules that have come due into their target function."""

    name = "scheduler"

    def __init__(self, api: LocalApi, endpoint: str, interval: float = 0.5):
        super().__init__(interval)
        self.api, self.endpoint = api, endpoint
        self.fired: list[dict[str, Any]] = []
        # a target names the function, or a qualifier of it: $LATEST or its alias (live)
        self._by_arn = {}
        for fid, fn in api.functions.items():
            arn = api.template.arn(fid)
            for qualifier in ("", ":$LATEST", f":{fn.alias}" if fn.alias else ""):
                self._by_arn[arn + qualifier] = fn

    def pump(self, now: datetime | None = None) -> int:
        """Fire every due schedule once; returns how many fired."""
        import boto3

        with self._lock:
            client = boto3.client("scheduler", endpoint_url=self.endpoint, region_name=tpl.REGION)
            now = now or datetime.now(UTC)
            fired = 0
            for group in [g["Name"] for g in client.list_schedule_groups().get("ScheduleGroups", [])]:
                for summary in client.list_schedules(GroupName=group).get("Schedules", []):
                    schedule = _get_schedule(client, group, summary["Name"])
                    if schedule is None:
                        continue
                    due = _due_at(schedule)
                    if schedule.get("State") != "ENABLED" or due is None or due > now:
                        continue
                    self._fire(client, group, schedule)
                    fired += 1
            return fired

    def pending(self) -> list[dict[str, Any]]:
        """Every schedule waiting to fire: name, group, due time, target and input."""
        import boto3

        client = boto3.client("scheduler", endpoint_url=self.endpoint, region_name=tpl.REGION)
        out = []
        for group in [g["Name"] for g in client.list_schedule_groups().get("ScheduleGroups", [])]:
            for summary in client.list_schedules(GroupName=group).get("Schedules", []):
                schedule = _get_schedule(client, group, summary["Name"])
                if schedule is None:
                    continue
                target = schedule["Target"]
                out.append(
                    {
                        "name": schedule["Name"],
                        "group": group,
                        "expression": schedule.get("ScheduleExpression"),
                        "due": _due_at(schedule),
                        "state": schedule.get("State"),
                        "target": target["Arn"],
                        "input": json.loads(target.get("Input") or "null"),
                    }
                )
        return sorted(out, key=lambda s: (str(s["due"]), s["name"]))

    def _fire(self, client: Any, group: str, schedule: dict[str, Any]) -> None:
        target = schedule["Target"]
        fn = self._by_arn.get(target["Arn"])
        event = json.loads(target.get("Input") or "{}")
        record = {"schedule": schedule["Name"], "group": group, "target": target["Arn"], "at": time.time()}
        try:
            if fn is None:
                raise LookupError(f"no function of template.yaml has ARN {target['Arn']}")
            record["result"] = apigw.invoke(fn, event)
        except Exception as err:
            log.error("schedule %s failed: %s", schedule["Name"], err)
            record["error"] = repr(err)
            dlq = (target.get("DeadLetterConfig") or {}).get("Arn")
            if dlq:
                import boto3

                sqs = boto3.client("sqs", endpoint_url=self.endpoint, region_name=tpl.REGION)
                url = sqs.get_queue_url(QueueName=dlq.rsplit(":", 1)[1])["QueueUrl"]
                sqs.send_message(
                    QueueUrl=url,
                    MessageBody=json.dumps({"schedule": schedule["Name"], "input": event, "error": repr(err)}),
                )
        self.fired.append(record)
        current = _get_schedule(client, group, schedule["Name"])
        if current is None or current.get("LastModificationDate") != schedule.get("LastModificationDate"):
            return  # cancelled, or armed again while it fired: the new one stays
        if schedule.get("ActionAfterCompletion") == "DELETE" or "error" in record:
            with contextlib.suppress(client.exceptions.ResourceNotFoundException):
                client.delete_schedule(GroupName=group, Name=schedule["Name"])
        else:
            client.update_schedule(
                GroupName=group,
                Name=schedule["Name"],
                State="DISABLED",
                ScheduleExpression=schedule["ScheduleExpression"],
                FlexibleTimeWindow=schedule["FlexibleTimeWindow"],
                Target=target,
            )


def _get_schedule(client: Any, group: str, name: str) -> dict[str, Any] | None:
    """The schedule, or None if it went (fired, cancelled or replaced) since it was listed."""
    try:
        return client.get_schedule(GroupName=group, Name=name)
    except client.exceptions.ResourceNotFoundException:
        return None


def _due_at(schedule: dict[str, Any]) -> datetime | None:
    expr = schedule.get("ScheduleExpression", "")
    if not (expr.startswith("at(") and expr.endswith(")")):
        return None  # rate()/cron() schedules are not emulated
    from zoneinfo import ZoneInfo

    when = datetime.fromisoformat(expr[3:-1])
    tz = ZoneInfo(schedule.get("ScheduleExpressionTimezone") or "UTC")
    return when.replace(tzinfo=tz).astimezone(UTC)


# -------------------------------------------------------------------- the server
class _Server(ThreadingHTTPServer):
    # a burst of new connections waits in the listen queue instead of being reset (the default is 5)
    request_queue_size = 256


class LocalRun:
    def __init__(self, port: int = 3000, moto_host: str = "127.0.0.1", moto_port: int = 5000, host: str = "127.0.0.1"):
        self.template = tpl.default()
        self.aws = EmbeddedAWS(moto_host, moto_port)
        self.host, self.port = host, port
        self.httpd: ThreadingHTTPServer | None = None
        self.api: LocalApi | None = None
        self.scheduler: SchedulerPump | None = None
        self.streams: StreamPump | None = None
        self.lambdas: lambdas.LocalLambdas | None = None
        self._reset_lock = threading.Lock()

    def prepare(self) -> None:
        localstack.apply_environment(self.template, self.aws.endpoint)
        # one process serves every function and the embedded AWS: under a burst of writers of one
        # ticket a conflict costs ~10x what it does on DynamoDB, and there is no function timeout
        os.environ.setdefault("WRITE_BUDGET_SECONDS", "30")
        localstack.create_resources(self.template, self.aws.endpoint)
        demo.seed()

    def start(self) -> None:
        self.aws.start()
        self.prepare()
        self.api = LocalApi(self.template)
        self.lambdas = self.aws.lambdas = lambdas.install(self.template, self.aws.endpoint)
        self.scheduler = SchedulerPump(self.api, self.aws.endpoint)
        self.scheduler.start()
        self.streams = StreamPump(self.template, self.aws.endpoint)
        self.streams.start()
        run = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "ticket-hub-local"

            def log_message(self, fmt: str, *args: Any) -> None:
                log.info("%s %s", self.address_string(), fmt % args)

            def setup(self) -> None:
                super().setup()
                # headers and body leave in separate writes: without this, Nagle's algorithm and the
                # client's delayed ACK hold every response back by ~40 ms
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = urlsplit(self.path).path
                if path.startswith("/_local/") or (path == "/openapi.json" and self.command == "GET"):
                    try:
                        status, headers, data = run.dev_endpoint(self.command, path, urlsplit(self.path).query)
                    except Exception as err:  # answer, rather than drop the connection
                        log.exception("%s %s failed", self.command, path)
                        message = json.dumps({"message": f"{type(err).__name__}: {err}"}).encode()
                        status, headers, data = 500, [("Content-Type", "application/json")], message
                else:
                    status, headers, data = run.api.handle(
                        self.command, self.path, list(self.headers.items()), body, self.client_address[0]
                    )
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

        self.httpd = _Server((self.host, self.port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]

    def dev_endpoint(self, method: str, path: str, query: str = "") -> tuple[int, list[tuple[str, str]], bytes]:
        json_type = [("Content-Type", "application/json")]
        if path == "/_local/credentials" and method == "GET":
            return 200, json_type, json.dumps(demo.credentials(), indent=2).encode()
        if path == "/_local/outbox" and method == "GET":
            return 200, json_type, json.dumps(outbox(), indent=2, default=str).encode()
        if path == "/openapi.json":  # built from the code, so it is what the handlers do
            from devkit import openapi

            return 200, json_type, openapi.render().encode()
        if path == "/_local/health" and method == "GET":
            return 200, json_type, json.dumps({"status": "ok", "aws": self.aws.endpoint}).encode()
        if path == "/_local/reset" and method == "POST":
            with self._reset_lock:
                self.aws.reset()
                self.streams.forget()
                self.lambdas.forget()
                self.prepare()
            return 200, json_type, b'{"status":"reset"}'
        if path == "/_local/schedules" and method == "GET":
            return 200, json_type, json.dumps(self.scheduler.pending(), indent=2, default=str).encode()
        if path == "/_local/schedules/fire" and method == "POST":
            # ?now=<ISO 8601>: fire what is due by then, as if the clock were there (reminders days ahead)
            now = dict(parse_qsl(query)).get("now")
            try:
                at = datetime.fromisoformat(now) if now else None
            except ValueError:
                return 400, json_type, b'{"message":"now must be an ISO 8601 date-time"}'
            if at is not None and at.tzinfo is None:
                at = at.replace(tzinfo=UTC)
            return 200, json_type, json.dumps({"fired": self.scheduler.pump(at)}).encode()
        if path == "/_local/invocations" and method == "GET":
            return 200, json_type, json.dumps(self.lambdas.invocations, indent=2, default=str).encode()
        return 404, json_type, b'{"message":"no such dev endpoint"}'

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        if self.scheduler:
            self.scheduler.stop()
        if self.streams:
            self.streams.stop()
        if self.lambdas:
            lambdas.uninstall(self.lambdas, timeout=2.0)
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
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
def spawned(timeout: float = 60.0, log_level: str | None = None) -> Iterator[str]:
    """The local run (``python -m devkit.serve``) on free loopback ports in a subprocess, as the
    README's run command starts it; yields its URL once it says where it serves, and stops it
    after.  Its log keeps being read (and dropped), so it never blocks on a full pipe."""
    import subprocess

    env = {**os.environ, "PORT": "0", "MOTO_PORT": "0", "HOST": "127.0.0.1", "PYTHONUNBUFFERED": "1"}
    if log_level:
        env.setdefault("LOCAL_LOG_LEVEL", log_level)
    proc = subprocess.Popen(
        [sys.executable, "-m", "devkit.serve"],
        cwd=tpl.ROOT,
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
        threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def main() -> int:
    logging.basicConfig(level=os.environ.get("LOCAL_LOG_LEVEL", "INFO"), format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
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
