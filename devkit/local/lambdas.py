"""Lambda's ``Invoke`` of template.yaml's own functions, without Docker: for the local run
and for in-process tests.

    local = lambdas.install(template, endpoint)     # or: with lambdas.installed(template) as local:
    ticketing.aws.client("lambda").invoke(FunctionName=<its ARN>[":live"], InvocationType="Event", Payload=...)
    local.wait(); local.invocations

* Who is answered: every botocore client made once something was installed.  The answer
  comes from a ``before-call.lambda.Invoke`` handler among botocore's built-in handlers,
  which every new session registers (the layer makes each client from a session of its
  own); boto3's default session gets it too.  While nothing is installed the handler says
  nothing and the call goes on as before (to moto, or to AWS).  Callers in other processes
  (``sam local invoke`` containers) reach the same emulation through the local run's
  embedded AWS: ``POST /2015-03-31/functions/<name>/invocations`` (``devkit.local.run``).
* Names: a function's name (locally its logical id), ``<name>:<qualifier>``, its ARN,
  qualified or not, or ``<account>:function:<name>``; qualifiers ``$LATEST`` and the
  function's ``AutoPublishAlias`` (``live``).  Anything else is Lambda's 404
  ``ResourceNotFoundException``.
* ``InvocationType="Event"``: 202 and an empty payload at once; the handler runs on a thread
  of its own.  A handler that raises is retried ``MaximumRetryAttempts`` times (the
  function's ``EventInvokeConfig``; Lambda's default is 2), after ``retry_delay`` seconds and
  then twice that (Lambda waits about one minute, then two), then Lambda's invocation record
  (``condition: RetriesExhausted``, the request payload, the error as the response payload)
  goes to its ``OnFailure`` destination, an SQS queue on the same embedded AWS.  A success
  goes to ``OnSuccess`` if there is one.
* ``RequestResponse``: runs in the caller's thread (handed to a worker process if the local run
  has them: ``runtime.call``); the handler's result is the payload (200);
  an exception gives ``FunctionError: Unhandled`` and Lambda's error payload.  ``DryRun``: 204.
* ``invocations``: one record per accepted invocation: function, at, type, outcome
  (``pending``, then ``succeeded`` or ``failed``), attempts, error, destination (and
  ``destination_error`` when the destination could not be reached).

Not emulated: ``MaximumEventAgeInSeconds`` (retries come within a second), throttling and
concurrency limits, timeouts (a handler runs to its end), payload size limits,
``LogType=Tail``, published versions, destinations other than SQS queues.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import threading
import time
import traceback
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote

from devkit import template as tpl
from devkit.local import runtime

log = logging.getLogger("local.lambdas")

INVOKE_PATH = "/2015-03-31/functions/{name}/invocations"
EVENT = "before-call.lambda.Invoke"
TYPES = ("Event", "RequestResponse", "DryRun")

Answer = tuple[int, dict[str, str], bytes]  # an HTTP answer: status, headers, body


class _Refused(Exception):
    """What Lambda's API answers instead of invoking: its error status, code and message."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def answer(self, request_id: str) -> Answer:
        headers = {"Content-Type": "application/json", "x-amzn-ErrorType": self.code, "x-amzn-RequestId": request_id}
        return self.status, headers, json.dumps({"Type": "User", "Message": self.message}).encode()


class LocalLambdas:
    """The template's functions behind Lambda's ``Invoke``, run by ``runtime.call``: in this process,
    or in the local run's workers (``devkit.local.workers``, which send their own ``Invoke`` here)."""

    def __init__(self, template: tpl.Template, endpoint: str | None = None, retry_delay: float = 0.2):
        self.template = template
        self.functions = template.functions()
        self.endpoint = endpoint  # the embedded AWS, for the destinations (None: moto in process)
        self.retry_delay = retry_delay
        self.invocations: list[dict[str, Any]] = []
        self._busy = 0
        self._idle = threading.Condition()
        self._closed = threading.Event()

    # -- names ------------------------------------------------------------------------------------
    def resolve(self, name: str, qualifier: str | None = None) -> tuple[tpl.Function, str | None]:
        """The function ``name`` names (any form ``FunctionName`` takes) and its qualifier."""
        parts = name.split(":")
        if name.startswith("arn:"):
            ours = len(parts) in (7, 8) and parts[2:6] == ["lambda", tpl.REGION, tpl.ACCOUNT, "function"]
            parts = parts[6:] if ours else []
        elif len(parts) in (3, 4) and parts[1] == "function":
            parts = parts[2:] if parts[0] == tpl.ACCOUNT else []
        elif len(parts) > 2:
            parts = []
        if not parts:
            raise _Refused(404, "ResourceNotFoundException", f"Function not found: {name}")
        fn_name, derived = parts[0], (parts[1] if len(parts) == 2 else None)
        if derived and qualifier and derived != qualifier:
            raise _Refused(
                400,
                "InvalidParameterValueException",
                "The derived qualifier from the function name does not match the specified qualifier.",
            )
        qualifier = derived or qualifier or None
        fn = self.functions.get(fn_name)
        arn = f"arn:aws:lambda:{tpl.REGION}:{tpl.ACCOUNT}:function:{fn_name}"
        if fn is None or qualifier not in (None, "$LATEST", fn.alias):
            raise _Refused(
                404, "ResourceNotFoundException", f"Function not found: {arn}{':' + qualifier if qualifier else ''}"
            )
        return fn, qualifier

    # -- Invoke -----------------------------------------------------------------------------------
    def invoke(
        self, name: str, payload: bytes = b"", invocation_type: str = "RequestResponse", qualifier: str | None = None
    ) -> Answer:
        """Lambda's ``Invoke``, answered as its API answers (status, headers, body)."""
        request_id = str(uuid.uuid4())
        try:
            fn, qualifier = self.resolve(name, qualifier)
            if invocation_type not in TYPES:
                raise _Refused(
                    400,
                    "InvalidParameterValueException",
                    f"1 validation error detected: Value '{invocation_type}' at 'invocationType' failed to satisfy "
                    f"constraint: Member must satisfy enum value set: [{', '.join(TYPES)}]",
                )
            text = _payload_text(payload)
        except _Refused as err:
            return err.answer(request_id)
        if invocation_type == "DryRun":
            return 204, {"x-amzn-RequestId": request_id}, b""
        arn = self.template.arn(fn.logical_id) + (f":{qualifier}" if qualifier else "")
        record: dict[str, Any] = {
            "function": fn.logical_id,
            "invoked": arn,
            "type": invocation_type,
            "request_id": request_id,
            "at": time.time(),
            "outcome": "pending",
            "attempts": 0,
            "error": None,
            "destination": None,
        }
        self.invocations.append(record)
        if invocation_type == "Event":
            with self._idle:
                self._busy += 1
            threading.Thread(
                target=self._run_async, args=(fn, arn, text, record), name=f"lambda-{fn.logical_id}", daemon=True
            ).start()
            return 202, {"x-amzn-RequestId": request_id, "Content-Length": "0"}, b""
        result, error = self._call(fn, arn, text, record)
        record["outcome"] = "failed" if error else "succeeded"
        headers = {
            "Content-Type": "application/json",
            "X-Amz-Executed-Version": "$LATEST",
            "x-amzn-RequestId": request_id,
        }
        if error:
            headers["X-Amz-Function-Error"] = "Unhandled"
        return 200, headers, json.dumps(error or result).encode()

    def answer(self, path: str, query: Mapping[str, str] | str, headers: Mapping[str, str], body: Any) -> Answer | None:
        """The answer to an HTTP ``POST`` to Lambda's API (``None``: it is no ``Invoke``)."""
        name = invoked_name(path)
        if name is None:
            return None
        query = dict(parse_qsl(query)) if isinstance(query, str) else query
        lower = {k.lower(): v for k, v in headers.items()}
        return self.invoke(
            name, body, lower.get("x-amz-invocation-type") or "RequestResponse", query.get("Qualifier") or None
        )

    def answer_wsgi(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes] | None:
        """For a WSGI app (the embedded AWS): the answer to a request that is an ``Invoke``
        (``None``, its body unread, to any other)."""
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") != "POST" or invoked_name(path) is None:
            return None
        headers = {k[5:].replace("_", "-"): v for k, v in environ.items() if k.startswith("HTTP_")}
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        status, out, data = self.answer(path, environ.get("QUERY_STRING", ""), headers, body)
        return f"{status} {HTTPStatus(status).phrase}", list(out.items()), data

    # -- running ----------------------------------------------------------------------------------
    def _call(self, fn: tpl.Function, arn: str, text: str, record: dict[str, Any]) -> tuple[Any, dict | None]:
        """One run of the handler: (its result, None) or (None, Lambda's error payload)."""
        record["attempts"] += 1
        context = runtime.LambdaContext(
            function_name=fn.logical_id,
            memory_limit_in_mb=fn.memory,
            timeout=fn.timeout,
            aws_request_id=record["request_id"],
            invoked_function_arn=arn,
        )
        try:
            result = runtime.call(fn, json.loads(text), context)  # a fresh event every attempt
        except Exception as err:
            log.error("%s failed (attempt %d): %s", fn.logical_id, record["attempts"], err)
            record["error"] = f"{type(err).__name__}: {err}"
            return None, {
                "errorMessage": str(err),
                "errorType": type(err).__name__,
                "requestId": record["request_id"],
                # a worker's (devkit.local.workers) are the handler's own frames
                "stackTrace": getattr(err, "lambda_stack_trace", None) or traceback.format_tb(err.__traceback__),
            }
        try:
            json.dumps(result)
        except (TypeError, ValueError) as err:  # as Lambda's Python runtime fails it
            record["error"] = f"Runtime.MarshalError: {err}"
            return None, {
                "errorMessage": f"Unable to marshal response: {err}",
                "errorType": "Runtime.MarshalError",
                "requestId": record["request_id"],
                "stackTrace": [],
            }
        record["error"] = None
        return result, None

    def _run_async(self, fn: tpl.Function, arn: str, text: str, record: dict[str, Any]) -> None:
        try:
            config = fn.async_invoke
            result, error = self._call(fn, arn, text, record)
            for retry in range(1, max(config.max_retries, 0) + 1):
                if error is None or self._closed.wait(self.retry_delay * retry):
                    break
                result, error = self._call(fn, arn, text, record)
            destination = config.on_failure if error else config.on_success
            if destination and not self._closed.is_set():
                try:
                    self._deliver(destination, self._destination_record(arn, text, record, result, error))
                    record["destination"] = destination
                except Exception as err:  # as Lambda, the invocation's outcome stands
                    log.exception("%s: could not send to %s", fn.logical_id, destination)
                    record["destination_error"] = f"{type(err).__name__}: {err}"
            record["outcome"] = "failed" if error else "succeeded"  # last: a record is final once delivered
            if error:
                log.error(
                    "%s: asynchronous invocation failed %d times: sent to %s",
                    fn.logical_id,
                    record["attempts"],
                    record["destination"] or "nowhere",
                )
        except Exception:
            log.exception("asynchronous invocation of %s", fn.logical_id)
            record["outcome"] = "failed"
        finally:
            with self._idle:
                self._busy -= 1
                self._idle.notify_all()

    @staticmethod
    def _destination_record(arn: str, text: str, record: dict[str, Any], result: Any, error: dict | None) -> dict:
        """The invocation record Lambda sends to a destination."""
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if error:
            response["functionError"] = "Unhandled"
        return {
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "requestContext": {
                "requestId": record["request_id"],
                "functionArn": arn if arn.count(":") == 7 else f"{arn}:$LATEST",
                "condition": "RetriesExhausted" if error else "Success",
                "approximateInvokeCount": record["attempts"],
            },
            "requestPayload": json.loads(text),
            "responseContext": response,
            "responsePayload": error if error else result,
        }

    def _deliver(self, destination: str, body: dict[str, Any]) -> None:
        if not destination.startswith("arn:aws:sqs:"):
            log.warning("destination %s is not emulated (only SQS queues are): dropped", destination)
            return
        from devkit.local import provision

        sqs = provision.session().client("sqs", endpoint_url=self.endpoint)
        url = sqs.get_queue_url(QueueName=destination.rsplit(":", 1)[1])["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))

    # -- for tests and the local run --------------------------------------------------------------
    def wait(self, timeout: float = 10.0) -> bool:
        """Until no asynchronous invocation is running or waiting to retry; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout)

    def forget(self) -> None:
        self.invocations = []

    def close(self, timeout: float = 10.0) -> None:
        """Let running invocations finish (up to ``timeout``), then retry and deliver nothing more."""
        self.wait(timeout)
        self._closed.set()


def invoked_name(path: str) -> str | None:
    """The ``FunctionName`` of an ``Invoke`` request's path, or None if it is none."""
    prefix, _, suffix = INVOKE_PATH.partition("{name}")
    path = path.rstrip("/")
    name = path[len(prefix) : -len(suffix)]
    if not (path.startswith(prefix) and path.endswith(suffix)) or not name or "/" in name:
        return None
    return unquote(name)


def _payload_text(payload: Any) -> str:
    """The payload as the JSON text the handler's event is read from (none: ``{}``)."""
    if payload is not None and hasattr(payload, "read"):
        payload = payload.read()
    try:
        text = (payload.decode("utf-8") if isinstance(payload, bytes) else payload) or "{}"
        json.loads(text)
    except ValueError as err:  # UnicodeDecodeError is one
        raise _Refused(
            400, "InvalidRequestContentException", f"Could not parse request body into json: {err}"
        ) from None
    return text


# -------------------------------------------------------------------- botocore
_INSTALLED: list[LocalLambdas] = []


def active() -> LocalLambdas | None:
    """What answers ``Invoke`` in this process now (the latest installed)."""
    return _INSTALLED[-1] if _INSTALLED else None


class _Raw(io.BytesIO):
    """An HTTP body, as botocore reads a response's (``stream()``, ``read()``)."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        while chunk := self.read(65536):
            yield chunk


def _before_call(model: Any, params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]] | None:
    """botocore's ``before-call.lambda.Invoke``: answer it here, parsed as botocore parses
    Lambda's own answer (so errors raise the client's modeled exceptions)."""
    local = active()
    if local is None or model.name != "Invoke":
        return None
    answer = local.answer(
        params["url_path"], params.get("query_string") or {}, params.get("headers") or {}, params.get("body")
    )
    if answer is None:
        return None
    from botocore.awsrequest import AWSResponse
    from botocore.endpoint import convert_to_response_dict
    from botocore.parsers import create_parser

    status, headers, body = answer
    http = AWSResponse(params.get("url", ""), status, headers, _Raw(body))
    response = convert_to_response_dict(http, model)
    service = model.service_model
    parser = create_parser(getattr(service, "resolved_protocol", None) or service.protocol)
    parsed = parser.parse(response, model.output_shape)
    code = parsed.get("Error", {}).get("Code") if status >= 300 else None
    shape = service.shape_for_error_code(code) if code else None
    if shape is not None:  # the error's modeled fields, as botocore's endpoint adds them
        parsed.update(parser.parse(response, shape))
    return http, parsed


def _register() -> None:
    """Put the handler among botocore's built-ins (every session made from now on registers
    them) and on boto3's default session if it exists already.  It answers only while
    something is installed."""
    import boto3
    from botocore import handlers

    if (EVENT, _before_call) not in handlers.BUILTIN_HANDLERS:
        handlers.BUILTIN_HANDLERS.append((EVENT, _before_call))
    if boto3.DEFAULT_SESSION is not None:
        boto3.DEFAULT_SESSION.events.register(EVENT, _before_call, unique_id=f"{__name__}.{EVENT}")


def install(template: tpl.Template, endpoint: str | None = None, retry_delay: float = 0.2) -> LocalLambdas:
    """Answer ``Invoke`` of the template's functions in this process from now on.  Clients
    made before this (the layer's are cached) are not answered: ``provision.reset_caches()``."""
    _register()
    local = LocalLambdas(template, endpoint, retry_delay)
    _INSTALLED.append(local)
    return local


def uninstall(local: LocalLambdas, timeout: float = 10.0) -> None:
    """Stop answering with ``local``, once its running invocations finished (up to ``timeout``)."""
    local.close(timeout)
    with contextlib.suppress(ValueError):
        _INSTALLED.remove(local)


@contextlib.contextmanager
def installed(template: tpl.Template, endpoint: str | None = None, retry_delay: float = 0.2) -> Iterator[LocalLambdas]:
    """``install`` for the block; on leaving it, waits for the invocations still running."""
    local = install(template, endpoint, retry_delay)
    try:
        yield local
    finally:
        uninstall(local)
