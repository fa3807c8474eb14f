"""The whole API on this machine: an embedded AWS (moto) and API Gateway's REST proxy
integration in front of the handlers that ``template.yaml`` declares.

    make run                    # PORT=3000 MOTO_PORT=5000 by default

* Front door: waitress (``devkit.front``), a maintained HTTP/1.1 server: chunked request
  bodies, keep-alive, a listen backlog of 1024, 400 for a malformed ``Content-Length``, 408 for
  a request not whole within ``LOCAL_REQUEST_TIMEOUT`` seconds (10).  The path is decoded once.
* AWS: moto, with every table, queue, schedule group and identity the template declares, the
  status catalog, one demo client per dialect and demo tickets.  The handlers' clients are
  answered in this process (``mock_aws``); moto's server on ``MOTO_HOST:MOTO_PORT``
  (127.0.0.1:5000) shares the same backends, for other processes (``sam local invoke``, the AWS
  CLI).  Both go through one ``Gate``: requests one at a time, as one DynamoDB partition would
  order them, ``ClientRequestToken``, the change count the pumps and the console wait on.
* API: ``http://127.0.0.1:$PORT``; each request goes to the function whose ``Api``
  event matches its method and path, as an API Gateway REST proxy event, in process.
  Unknown routes get API Gateway's 403 ``Missing Authentication Token``; a handler
  that raises gets its 502 ``Internal server error``.
* EventBridge Scheduler: one-time ``at(...)`` schedules that come due are fired
  into their target function, then deleted when ``ActionAfterCompletion`` is DELETE.
* DynamoDB Streams: the records of a table with a stream go to the functions whose
  ``DynamoDB`` event names it, filtered and batched as the event source says
  (``devkit.streams``).  Both pumps ask the embedded AWS nothing while nothing changed.
* Lambda: ``Invoke`` of the template's functions (``devkit.lambdas``), from the handlers in
  this process and, through the embedded AWS's ``POST /2015-03-31/functions/<name>/invocations``,
  from other processes (``sam local invoke``).  ``InvocationType=Event`` answers 202 and runs
  the handler on a thread: failures are retried as the function's ``EventInvokeConfig`` says
  (0.2 s, then 0.4 s apart) and then go to its ``OnFailure`` queue.
* Dev endpoints (answered to loopback peers only, even with ``HOST=0.0.0.0``): the console
  ``GET /_local/`` (``devkit.console``), ``GET /_local/credentials``, ``GET /_local/outbox``,
  ``POST /_local/reset``, ``GET /_local/health`` (and the embedded AWS's URL),
  ``GET /_local/schedules`` (pending schedules), ``POST /_local/schedules/fire[?now=<ISO 8601>]``
  (fire what is due, by ``now`` if given: a reminder due in two days fires now; ``?group=&name=``:
  that one schedule, due or not), ``GET /_local/invocations`` (Lambda invocations: function, at,
  type, outcome, attempts).
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from devkit import apigw, console, deliveries, demo, front, lambdas, localstack
from devkit import template as tpl
from devkit.inprocess import Gate, TransactionTokens, fast_moto, item_level_transactions, serialised_moto, status_line
from devkit.streams import BackgroundPump, StreamPump

log = logging.getLogger("local")


# -------------------------------------------------------------------- embedded AWS
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
        self._patches.enter_context(item_level_transactions())  # for as long as the server runs
        self._patches.enter_context(fast_moto())
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
        # ``target`` as sent, undecoded: the route is matched segment by segment on it, and the path
        # and its parameters are decoded once each, as API Gateway does (``A%2541`` is ``A%41``)
        parts = urlsplit(target)
        raw_path = parts.path or "/"
        path = unquote(raw_path)
        request_id = str(uuid.uuid4())
        base = [("x-amzn-RequestId", request_id)]
        found = apigw.find_route(self.template, method, raw_path)
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
            path_params={k: unquote(v) for k, v in params.items()},  # decoded once
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
    """Fire one-time schedules that have come due into their target function.

    With the embedded AWS's ``gate``, the schedules are listed again only once something may have
    changed since they last were, and a schedule is read again (``GetSchedule``) only when its
    ``LastModificationDate`` moved: an idle local run asks its AWS nothing, and a busy one two or
    three cheap calls a pump."""

    name = "scheduler"

    def __init__(self, api: LocalApi, endpoint: str | None, interval: float = 0.5, gate: Gate | None = None):
        super().__init__(interval)
        self.api, self.endpoint, self.gate = api, endpoint, gate
        self.fired: list[dict[str, Any]] = []
        # a target names the function, or a qualifier of it: $LATEST or its alias (live)
        self._by_arn = {}
        for fid, fn in api.functions.items():
            arn = api.template.arn(fid)
            for qualifier in ("", ":$LATEST", f":{fn.alias}" if fn.alias else ""):
                self._by_arn[arn + qualifier] = fn
        self._read: dict[tuple[str, str], tuple[Any, dict[str, Any]]] = {}  # (group, name) -> (modified, schedule)
        self._listed: tuple[int, list[tuple[str, dict[str, Any]]]] | None = None  # (gate's changes, schedules)
        self._scheduler: Any = None

    def _client(self) -> Any:
        """One client for the pump's life (making one takes ~40 ms of CPU)."""
        if self._scheduler is None:
            import boto3

            self._scheduler = boto3.client("scheduler", endpoint_url=self.endpoint, region_name=tpl.REGION)
        return self._scheduler

    def forget(self) -> None:
        with self._lock:
            self._read.clear()
            self._listed = None

    def _schedules(self, client: Any) -> list[tuple[str, dict[str, Any]]]:
        """Every schedule, with its group, as ``GetSchedule`` gave it when it was last modified."""
        changes = self.gate.changes if self.gate else None
        if self._listed is not None and changes is not None and self._listed[0] == changes:
            return self._listed[1]
        out, seen = [], set()
        for group in [g["Name"] for g in client.list_schedule_groups().get("ScheduleGroups", [])]:
            for page in client.get_paginator("list_schedules").paginate(GroupName=group):
                for summary in page.get("Schedules", []):
                    key = (group, summary["Name"])
                    seen.add(key)
                    modified = summary.get("LastModificationDate")
                    cached = self._read.get(key)
                    if cached is None or modified is None or cached[0] != modified:
                        schedule = _get_schedule(client, group, summary["Name"])
                        if schedule is None:
                            continue
                        cached = self._read[key] = (modified, schedule)
                    out.append((group, cached[1]))
        for key in [k for k in self._read if k not in seen]:
            del self._read[key]
        if changes is not None:
            self._listed = (changes, out)
        return out

    def pump(self, now: datetime | None = None) -> int:
        """Fire every due schedule once; returns how many fired."""
        with self._lock:
            client = self._client()
            now = now or datetime.now(UTC)
            fired = 0
            for group, schedule in self._schedules(client):
                due = _due_at(schedule)
                if schedule.get("State") != "ENABLED" or due is None or due > now:
                    continue
                current = _get_schedule(client, group, schedule["Name"])  # as it is now, not as listed
                if current is None or current.get("State") != "ENABLED":
                    continue
                due = _due_at(current)
                if due is None or due > now:
                    continue
                self._fire(client, group, current)
                fired += 1
            if fired:
                self._listed = None
            return fired

    def fire_now(self, group: str, name: str) -> dict[str, Any] | None:
        """Fire one schedule now, due or not (the console's "fire now"); its record, or None if
        there is no such schedule."""
        with self._lock:
            client = self._client()
            schedule = _get_schedule(client, group, name)
            if schedule is None:
                return None
            self._fire(client, group, schedule)
            self._listed = None
            return self.fired[-1]

    def pending(self) -> list[dict[str, Any]]:
        """Every schedule waiting to fire: name, group, due time, target and input."""
        with self._lock:
            schedules = self._schedules(self._client())
        out = []
        for group, schedule in schedules:
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
        self.deliveries: Any = None  # devkit.deliveries.SqsPump (issue 20: webhooks)
        self.lambdas: lambdas.LocalLambdas | None = None
        self.console: console.Console | None = None
        self._reset_lock = threading.Lock()
        self.request_timeout = float(os.environ.get("LOCAL_REQUEST_TIMEOUT", "10"))

    def prepare(self) -> None:
        # the handlers' clients have no endpoint: moto answers them in this process
        localstack.apply_environment(self.template, self.aws.client_endpoint)
        # one process serves every function and the embedded AWS: under a burst of writers of one
        # ticket a conflict costs ~10x what it does on DynamoDB, and there is no function timeout
        os.environ.setdefault("WRITE_BUDGET_SECONDS", "30")
        localstack.create_resources(self.template, self.aws.client_endpoint)
        demo.seed()

    def start(self) -> None:
        self.aws.start()
        self.prepare()
        self.api = LocalApi(self.template)
        endpoint = self.aws.client_endpoint
        self.lambdas = self.aws.lambdas = lambdas.install(self.template, endpoint)
        self.scheduler = SchedulerPump(self.api, endpoint, gate=self.aws.gate)
        self.scheduler.start()
        self.streams = StreamPump(self.template, endpoint, gate=self.aws.gate)
        self.streams.start()
        self.deliveries = deliveries.SqsPump(self.template, endpoint, gate=self.aws.gate)
        self.deliveries.start()
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
            return 200, json_type, json.dumps({"status": "ok", "aws": self.aws.endpoint}).encode()
        if path == "/_local/reset" and method == "POST":
            self.reset()
            return 200, json_type, b'{"status":"reset"}'
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

    def reset(self) -> None:
        """Back to the demo data.  The pumps wait meanwhile, and forget the streams' shards and
        the schedules they knew (a shard iterator of the old tables would name nothing)."""
        with self._reset_lock, self.streams.paused(), self.scheduler.paused(), self.deliveries.paused():
            self.aws.reset()
            self.streams.forget()
            self.deliveries.forget()
            self.scheduler.forget()
            self.lambdas.forget()
            self.prepare()

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
    """The local run (``python -m devkit.serve``) on free loopback ports in a subprocess, as the
    README's run command starts it; yields its URL once it says where it serves, and stops it
    after.  Its log keeps being read, so it never blocks on a full pipe: into ``log_lines`` if
    given, else dropped.  ``env``: more environment; ``cwd``: another checkout to run."""
    import subprocess

    env = {**os.environ, "PORT": "0", "MOTO_PORT": "0", "HOST": "127.0.0.1", "PYTHONUNBUFFERED": "1", **(env or {})}
    if log_level:
        env.setdefault("LOCAL_LOG_LEVEL", log_level)
    proc = subprocess.Popen(
        [sys.executable, "-m", "devkit.serve"],
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


def main() -> int:
    logging.basicConfig(level=os.environ.get("LOCAL_LOG_LEVEL", "INFO"), format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("botocore.credentials").setLevel(logging.WARNING)  # "Found credentials" per client
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
