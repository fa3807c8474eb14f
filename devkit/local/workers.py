"""The local run's Lambda invocations in worker processes, moto in the local run's own.

Under load the local run is bound by one Python process's GIL: moto, the front door, the pumps
and every handler's botocore and pydantic work take turns on one core.  With workers
(``LOCAL_WORKERS``, default 2), every invocation (``runtime.invoke`` and ``runtime.call``: API
Gateway, the stream and queue pumps, the scheduler, Lambda's ``Invoke``) runs in a worker process
instead, while moto and everything that reads its backends (the pumps' reads, the console, reset,
the outbox, the gate) stays in the local run's process: the handlers' work and moto's run on two
cores.

* A worker is started with ``spawn`` (the local run has threads), gets the functions' environment
  (``provision.apply_environment``) and imports every handler before it says it is ready, as the
  local run did in process: nothing is left for the first request.
* Its boto3 clients do not go over HTTP: a ``before-send`` handler among botocore's built-ins
  (every session the layer makes has it) sends the request (event name, method, URL, headers,
  body) on the worker's pipe, and the local run answers it with moto's in-process stubber, behind
  the same gate as its own requests (one at a time, ``ClientRequestToken``, the change count).
  The answer (status, headers, body) short-circuits botocore's HTTP send, as moto's own
  ``mock_aws`` does: parsing, errors and retries are the client's as ever.  Requests are unsigned,
  as in process (``embedded_aws.unsigned_requests``).
* Lambda's ``Invoke`` from a worker goes to the local run's ``lambdas`` emulation (its records,
  retries and destinations are the local run's); a synchronous one runs on another thread of
  whichever worker is picked, so it never waits on itself: a worker runs each invocation on a
  thread of its own, and its requests and answers are told apart by id on the one pipe.
* What an invocation raises is raised again in the local run (the worker's traceback as its
  cause): API Gateway's 502, Lambda's ``FunctionError`` payload and retries are as in process.
* Each worker keeps its own caches (clients, settings, auth, catalog, idempotency), as a Lambda
  container does; ``reset`` forgets them in every worker (``POST /_local/reset``).
* The handlers' log lines are written by the workers to the local run's own output.  A worker
  ends when told to (``stop``) or when the local run's end of its pipe closes (the local run
  killed): none outlives it.
* A worker that exits while serving (killed, a crash in native code, ``os._exit`` in a handler)
  fails what it was running, as a crashed Lambda environment does, and a new one takes its place
  (``_replace``); the others serve meanwhile, and with none serving an invocation waits for the
  first to be ready.  ``/_local/health`` lists the serving workers.

``LOCAL_WORKERS=0`` runs the invocations in the local run's process, as the in-process tests do.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import pickle
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

from devkit import template as tpl

log = logging.getLogger("local.workers")

# On a 2-core machine, under the load (devkit.load) and the Kapture batch: 3 measured slower than 2;
# 1 and 2 within the machine's noise (the local run's moto is the limit), 2 keeping a busy
# worker's invocations from queueing behind one another (a batch and the stream consumers it sets off)
DEFAULT_COUNT = 2


def count_from_environment() -> int:
    """``LOCAL_WORKERS``: how many worker processes run the invocations (0: none, in process)."""
    value = os.environ.get("LOCAL_WORKERS", "").strip()
    try:
        return max(0, int(value)) if value else DEFAULT_COUNT
    except ValueError:
        raise ValueError(f"LOCAL_WORKERS must be a whole number, not {value!r}") from None


class WorkerError(Exception):
    """What a worker's invocation raised, when that exception cannot travel as it is (not
    picklable): raised with the name of the original type (see ``_remote_error``)."""


class _RemoteTraceback(Exception):
    """The worker's traceback, as the cause of the exception raised again in the local run."""

    def __init__(self, text: str):
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return f'\n"""\n{self.text}"""'


def _remote_error(info: tuple) -> BaseException:
    """The exception a worker's invocation raised, as the local run raises it again."""
    pickled, type_name, module, message, text, stack = info
    err = None
    if pickled is not None:
        try:
            err = pickle.loads(pickled)  # noqa: S301 - from our own worker's pipe
        except Exception:
            err = None
    if not isinstance(err, BaseException):
        err = type(type_name, (WorkerError,), {"__module__": module})(message)
    err.__cause__ = _RemoteTraceback(text)
    err.lambda_stack_trace = stack  # the handler's frames, for Lambda's error payload (lambdas)
    return err


def _error_info(err: BaseException) -> tuple:
    try:
        pickled = pickle.dumps(err)
        pickle.loads(pickled)  # noqa: S301 - our own exception, to see it comes back
    except Exception:
        pickled = None
    return (
        pickled,
        type(err).__name__,
        type(err).__module__,
        str(err),
        "".join(traceback.format_exception(err)),
        traceback.format_tb(err.__traceback__),
    )


class _Channel:
    """One end of a worker's pipe: messages sent whole under a lock, and requests whose answers
    come back by id (``ask``), waited for by the thread that asked."""

    def __init__(self, conn: Any):
        self.conn = conn
        self._send_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._waiting: dict[int, list[Any]] = {}
        self.closed = False

    def send(self, message: tuple) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        with self._send_lock:
            self.conn.send_bytes(data)

    def recv(self) -> tuple:
        return pickle.loads(self.conn.recv_bytes())  # noqa: S301 - a pipe between the local run and its own worker

    def ask(self, kind: str, *payload: Any) -> Any:
        """Send a request and wait for its answer (``answered``)."""
        ident = next(self._ids)
        done = threading.Lock()
        done.acquire()
        slot = [done, None]
        self._waiting[ident] = slot
        try:
            if self.closed:
                raise ConnectionError("the worker's pipe is closed")
            self.send((kind, ident, *payload))
            done.acquire()
        finally:
            self._waiting.pop(ident, None)
        if slot[1] is _CLOSED:
            raise ConnectionError("the worker's pipe closed before the answer came")
        return slot[1]

    def answered(self, ident: int, value: Any) -> None:
        slot = self._waiting.get(ident)
        if slot is not None:
            slot[1] = value
            slot[0].release()

    def close_all(self) -> None:
        """The pipe is gone: every waiting request ends (``ConnectionError``)."""
        self.closed = True
        for slot in list(self._waiting.values()):
            slot[1] = _CLOSED
            slot[0].release()
        self._waiting.clear()


_CLOSED = object()


# ------------------------------------------------------------------ the local run's side
class _Worker:
    def __init__(self, index: int, process: Any, conn: Any):
        self.index, self.process = index, process
        self.channel = _Channel(conn)
        self.busy = 0  # invocations sent and not answered
        self.ready = threading.Event()
        self.failure: str | None = None
        self.pid: int | None = None


class Workers:
    """The worker processes that run the local run's invocations (see the module's description).

    ``answer_aws(event_name, method, url, headers, body)`` answers a worker's AWS request (the
    local run: moto's in-process stubber behind its gate); ``answer_invoke(path, query, headers,
    body)`` a worker's Lambda ``Invoke`` (the local run: ``lambdas``)."""

    def __init__(
        self,
        template: tpl.Template,
        count: int,
        answer_aws: Callable[..., Any] | None = None,
        answer_invoke: Callable[..., Any] | None = None,
    ):
        self.template = template
        self.count = count
        self.answer_aws = answer_aws or moto_answer
        self.answer_invoke = answer_invoke or lambdas_answer
        self.workers: list[_Worker] = []
        self._pick_lock = threading.Lock()
        self._live = threading.Condition(self._pick_lock)  # notified when a worker is ready or gone
        self._stopping = False
        self.restarts = 0  # workers started again after one exited

    @property
    def pids(self) -> list[int]:
        """The serving workers' process ids (not one still starting, nor one gone)."""
        with self._live:
            return [w.pid for w in self._serving() if w.pid]

    def start(self) -> None:
        """Start the workers (they import the handlers meanwhile: ``wait_ready``)."""
        for index in range(self.count):
            self.workers.append(self._spawn(index))

    def _spawn(self, index: int) -> _Worker:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        settings = {"template": self.template, "log_level": os.environ.get("LOCAL_LOG_LEVEL", "INFO")}
        mine, theirs = ctx.Pipe(duplex=True)
        process = ctx.Process(target=serve, args=(theirs, settings), name=f"local-worker-{index}", daemon=True)
        process.start()
        theirs.close()
        worker = _Worker(index, process, mine)
        threading.Thread(target=self._read, args=(worker,), name=f"worker-{index}-pipe", daemon=True).start()
        return worker

    def _replace(self, dead: _Worker) -> None:
        """A worker that was serving exited (killed, a crash in native code, ``os._exit`` in a
        handler): what it was running failed, as on Lambda, where the next invocation gets a new
        environment; here a new worker takes its place (the others serve meanwhile, and with none
        left an invocation waits for it: ``_pick``).  One that never got ready is not started
        again (its failure is the local run's to report)."""
        process = dead.process
        process.join(1.0)
        with self._live:  # gone and replaced at once: no pick sees neither a serving nor a starting one
            dead.channel.closed = True
            if self._stopping or dead not in self.workers:
                return
            log.warning("worker %d (pid %s) exited (code %s): starting another", dead.index, dead.pid, process.exitcode)
            self.workers[self.workers.index(dead)] = self._spawn(dead.index)
            self.restarts += 1
            self._live.notify_all()

    def wait_ready(self, timeout: float = 120.0) -> None:
        for worker in self.workers:
            if not worker.ready.wait(timeout) or worker.failure:
                raise RuntimeError(f"worker {worker.index} did not start: {worker.failure or 'timed out'}")

    def _read(self, worker: _Worker) -> None:
        channel = worker.channel
        try:
            while True:
                message = channel.recv()
                kind = message[0]
                if kind == "aws":  # here, in this thread: moto answers one request at a time anyway
                    _, ident, *request = message
                    channel.send(("answer", ident, self._aws(request)))
                elif kind == "answer":
                    channel.answered(message[1], message[2])
                elif kind == "invoke":  # may take long (a synchronous invoke runs a handler)
                    threading.Thread(
                        target=self._invoke_for, args=(worker, message), name="worker-invoke", daemon=True
                    ).start()
                elif kind == "ready":
                    worker.pid = message[1]
                    worker.ready.set()
                    with self._live:
                        self._live.notify_all()
                elif kind == "failed":
                    worker.failure = message[1]
                    worker.ready.set()
                    log.error("worker %d did not start:\n%s", worker.index, worker.failure)
        except (EOFError, OSError):
            pass
        finally:
            if worker.ready.is_set() and not worker.failure:
                self._replace(worker)  # before its waiting requests fail: a new one is starting by then
            channel.close_all()
            if not worker.ready.is_set():
                worker.failure = f"it exited before it was ready (exit code {worker.process.exitcode})"
                worker.ready.set()
            with self._live:
                self._live.notify_all()

    def _aws(self, request: list[Any]) -> Any:
        try:
            return ("ok", self.answer_aws(*request))
        except Exception as err:  # raised in the worker's botocore, as the stubber's would be
            return ("raise", _error_info(err))

    def _invoke_for(self, worker: _Worker, message: tuple) -> None:
        _, ident, *request = message
        try:
            answer = ("ok", self.answer_invoke(*request))
        except Exception as err:
            answer = ("raise", _error_info(err))
        with contextlib.suppress(OSError, ValueError):  # the worker is gone
            worker.channel.send(("answer", ident, answer))

    def _serving(self) -> list[_Worker]:
        return [w for w in self.workers if not w.channel.closed and w.ready.is_set() and not w.failure]

    def _pick(self, wait: float = 29.0) -> _Worker:
        """The serving worker with the fewest invocations under way; with none serving (every one
        exited, their replacements still importing the handlers), the first to be ready, waited
        for up to ``wait`` seconds (API Gateway's integration timeout), and not at all when none
        is starting (a replacement that failed to start: the invocation fails at once)."""

        def decided() -> bool:
            starting = any(not w.ready.is_set() for w in self.workers)
            return bool(self._serving()) or self._stopping or not starting

        with self._live:
            self._live.wait_for(decided, wait)
            live = self._serving() or self.workers
            worker = min(live, key=lambda w: w.busy)
            worker.busy += 1
            return worker

    def call(self, fn: tpl.Function, event: Any, context: Any) -> Any:
        """One invocation of ``fn`` in a worker: its result, or what it raised raised here."""
        worker = self._pick()
        try:
            status, value = worker.channel.ask("call", fn.logical_id, event, context)
        finally:
            with self._pick_lock:
                worker.busy -= 1
        if status == "raise":
            raise _remote_error(value)
        return value

    def reset(self) -> None:
        """Every worker forgets its caches, as ``provision.apply_environment`` has them forgotten
        (one still starting has none yet)."""
        with self._live:
            serving = self._serving()
        for worker in serving:
            status, value = worker.channel.ask("reset")
            if status == "raise":
                raise _remote_error(value)

    def stop(self, timeout: float = 5.0) -> None:
        with self._live:
            self._stopping = True  # no worker is started again from now on
            self._live.notify_all()
        for worker in self.workers:
            with contextlib.suppress(OSError, ValueError):  # gone already
                worker.channel.send(("stop",))
        for worker in self.workers:
            worker.process.join(timeout)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout)
            worker.channel.conn.close()
        self.workers = []


def moto_answer(event_name: str, method: str, url: str, headers: list, body: Any) -> Any:
    """A worker's AWS request answered by moto in this process, as its ``before-send`` stubber
    answers this process's own clients (through ``serialised_moto``'s gate while that is on):
    (status, headers, body), or None if moto has nothing to say (the worker sends it itself)."""
    from botocore.awsrequest import AWSPreparedRequest
    from botocore.compat import HTTPHeaders
    from moto.core.models import botocore_stubber

    sent = HTTPHeaders()
    for name, value in headers:
        sent[name] = value
    request = AWSPreparedRequest(method=method, url=url, headers=sent, body=body, stream_output=False)
    response = botocore_stubber(event_name, request)
    if response is None:
        return None
    return response.status_code, dict(response.headers.items()), response.content


def lambdas_answer(path: str, query: Any, headers: Any, body: Any) -> Any:
    """A worker's Lambda ``Invoke``, answered by what answers it in this process (``lambdas``)."""
    from devkit.local import lambdas

    local = lambdas.active()
    return None if local is None else local.answer(path, query, headers, body)


# ------------------------------------------------------------------ the worker's side
_channel: _Channel | None = None


def _forward(request: Any, event_name: str = "", **_: Any) -> Any:
    """botocore's ``before-send`` in a worker: the request answered by the local run's moto."""
    channel = _channel
    if channel is None:
        return None
    from botocore.awsrequest import AWSResponse

    body = request.body
    if body is not None and hasattr(body, "read"):
        position = body.tell() if hasattr(body, "seek") else None
        body = body.read()
        if position is not None:
            request.body.seek(position)
    status, answer = channel.ask("aws", event_name, request.method, request.url, list(request.headers.items()), body)
    if status == "raise":
        raise _remote_error(answer)
    if answer is None:
        return None
    code, headers, data = answer
    from devkit.local.lambdas import _Raw

    return AWSResponse(request.url, code, headers, _Raw(data))


class _RemoteLambdas:
    """What answers ``Invoke`` in a worker (``lambdas.active()``): the local run's ``lambdas``."""

    def answer(self, path: str, query: Any, headers: Any, body: Any) -> Any:
        if body is not None and hasattr(body, "read"):
            body = body.read()
        status, answer = _channel.ask("invoke", path, dict(query or {}), dict(headers or {}), body)
        if status == "raise":
            raise _remote_error(answer)
        return answer


def _unsigned(**_: Any) -> Any:
    """botocore's ``choose-signer``: unsigned, as the local run's own clients (``embedded_aws.unsigned_requests``)."""
    from botocore import UNSIGNED

    return UNSIGNED


def _install_forwarding() -> None:
    import boto3
    from botocore import handlers

    from devkit.local import lambdas

    entries = [("before-send", _forward), ("choose-signer", _unsigned)]
    for entry in entries:
        if entry not in handlers.BUILTIN_HANDLERS:
            handlers.BUILTIN_HANDLERS.append(entry)
    if boto3.DEFAULT_SESSION is not None:
        for event, handler in entries:
            boto3.DEFAULT_SESSION.events.register(event, handler)
    lambdas._register()
    lambdas._INSTALLED.append(_RemoteLambdas())


LAYER_SERVICES = ("dynamodb", "events", "lambda", "scheduler", "sesv2", "sns", "sqs")  # ticketing.aws's clients


def _one_loader() -> None:
    """Every botocore session of the worker shares one loader of AWS's service models (read-only
    data): the layer makes each client from a session of its own, which would read its model's
    JSON again (~50 ms a client), at start and after every reset."""
    import functools

    import botocore.loaders
    import botocore.session

    botocore.session.create_loader = functools.cache(botocore.loaders.create_loader)


def _warm() -> None:
    """The layer's clients made now, not in the first request (as the local run's seed made them
    in its own process)."""
    from ticketing import aws

    for service in LAYER_SERVICES:
        aws.client(service)


def _prepare(template: tpl.Template) -> None:
    """The functions' environment and the local run's settings for the layer, caches forgotten."""
    from devkit.local import provision

    provision.apply_environment(template, None)
    from ticketing.store import writer

    # as the local run's prepare has it (see devkit.local.run.LocalRun.prepare)
    writer.WRITE_BUDGET_SECONDS = float(os.environ.get("WRITE_BUDGET_SECONDS", "30"))


def serve(conn: Any, settings: dict[str, Any]) -> None:
    """A worker process: import the handlers, say so, then run what the local run sends."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the local run's to handle: it stops us
    global _channel
    channel = _channel = _Channel(conn)
    try:
        from devkit.local import runtime  # (not devkit.local.run: moto is this process's business no more)

        runtime.configure_logging(settings["log_level"])
        template = settings["template"]
        _one_loader()
        _install_forwarding()
        _prepare(template)
        functions = template.functions()
        for fn in functions.values():  # warm: every handler imported before the first request
            runtime.load_handler(fn)
        _warm()
    except BaseException:
        channel.send(("failed", traceback.format_exc()))
        raise
    channel.send(("ready", os.getpid()))

    def call(ident: int, name: str, event: Any, context: Any) -> None:
        try:
            answer = ("ok", runtime.run(runtime.load_handler(functions[name]), event, context))
        except Exception as err:
            answer = ("raise", _error_info(err))
        try:
            channel.send(("answer", ident, answer))
        except Exception as err:  # the result does not pickle: as the runtime fails to marshal it
            channel.send(("answer", ident, ("raise", _error_info(TypeError(f"Unable to marshal response: {err}")))))

    def reset(ident: int) -> None:
        try:
            _prepare(template)
            answer: tuple = ("ok", None)
        except Exception as err:
            answer = ("raise", _error_info(err))
        channel.send(("answer", ident, answer))

    try:
        while True:
            message = channel.recv()
            kind = message[0]
            if kind == "answer":
                channel.answered(message[1], message[2])
            elif kind == "call":
                threading.Thread(target=call, args=message[1:], name=f"invoke-{message[2]}", daemon=True).start()
            elif kind == "reset":
                reset(message[1])
            elif kind == "stop":
                break
    except (EOFError, OSError):
        pass  # the local run is gone
    finally:
        channel.close_all()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
