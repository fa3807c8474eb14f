"""Lambda's Python runtime, in this process: a function's handler imported as Lambda imports it
(its layers first on the path), its context object, and one invocation of it.

Real Lambda runs each function in processes of its own, one invocation at a time; here one
process runs every function of the template, several at once (the local run's threads).  What
Powertools' logger keeps process-wide -- its formatter's keys: function name, request and
correlation ids, ``append_keys`` -- would then name whichever invocation set them last.  So
every ``invoke`` runs in a context of its own (``contextvars``), and while the runtime is in use
the formatter's keys are kept per invocation (``_PerInvocation``): each invocation's lines name
it, as they would in its own process, and the layer's handlers need nothing for it.

The local run may have its invocations run in worker processes instead (``devkit.local.workers``,
``use_workers``): ``call`` and ``invoke`` then hand each one to a worker, which runs it as above.
"""

from __future__ import annotations

import contextvars
import importlib.util
import logging
import os
import sys
import time
import uuid
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from devkit import template as tpl


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int
    timeout: int
    aws_request_id: str
    invoked_function_arn: str
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def configure_logging(level: str | None = None) -> None:
    """The local run's log lines, in its process and in its workers (``devkit.local.workers``)."""
    logging.basicConfig(
        level=level or os.environ.get("LOCAL_LOG_LEVEL", "INFO"), format="%(asctime)s %(name)s %(message)s"
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("botocore.credentials").setLevel(logging.WARNING)  # "Found credentials" per client
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")


_INVOCATION: contextvars.ContextVar[dict[int, dict[str, Any]] | None] = contextvars.ContextVar(
    "local_invocation", default=None
)


class _PerInvocation:
    """``LambdaPowertoolsFormatter.log_format`` (the keys every line carries), kept for the
    invocation that set it: read within an invocation, the invocation's own (once it set them,
    as ``inject_lambda_context`` does first); elsewhere, and before, the process-wide one as
    Powertools keeps it.  A set also sets the process-wide one, so a thread a handler starts
    without its context sees what one function's process would show."""

    def __get__(self, formatter: Any, owner: type | None = None) -> Any:
        if formatter is None:
            return self
        mine = _INVOCATION.get()
        if mine is not None and id(formatter) in mine:
            return mine[id(formatter)]
        return formatter.__dict__["log_format"]

    def __set__(self, formatter: Any, keys: dict[str, Any]) -> None:
        formatter.__dict__["log_format"] = keys
        mine = _INVOCATION.get()
        if mine is not None:
            mine[id(formatter)] = keys


def _keep_log_keys_per_invocation() -> None:
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    if not isinstance(LambdaPowertoolsFormatter.__dict__.get("log_format"), _PerInvocation):
        LambdaPowertoolsFormatter.log_format = _PerInvocation()


def run(handler: Any, event: Any, context: Any) -> Any:
    """``handler(event, context)`` as one invocation of its own: in a copy of the caller's context,
    with log keys of its own (see above)."""
    _keep_log_keys_per_invocation()

    def invocation() -> Any:
        _INVOCATION.set({})
        return handler(event, context)

    return contextvars.copy_context().run(invocation)


_modules: dict[str, ModuleType] = {}


def load_handler(fn: tpl.Function) -> Any:
    """Import a function's handler the way Lambda does: layer first on the path."""
    module = _modules.get(fn.logical_id)
    if module is None:
        for layer in fn.layers:
            if str(layer) not in sys.path:
                sys.path.insert(0, str(layer))
        spec = importlib.util.spec_from_file_location(f"lambda_{fn.logical_id}", fn.module_file)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _modules[fn.logical_id] = module
    return getattr(module, fn.attribute)


_workers: Any = None  # the worker processes that run the invocations (None: this process does)


def use_workers(workers: Any) -> None:
    """From now on ``call`` hands every invocation to ``workers`` (``devkit.local.workers.Workers``;
    None: back to this process)."""
    global _workers
    _workers = workers


def in_workers() -> bool:
    return _workers is not None


def call(fn: tpl.Function, event: Any, context: LambdaContext) -> Any:
    """One invocation of ``fn``: in a worker process if the local run has them, else here (``run``)."""
    workers = _workers
    if workers is not None:
        return workers.call(fn, event, context)
    return run(load_handler(fn), event, context)


def invoke(fn: tpl.Function, event: dict[str, Any]) -> dict[str, Any]:
    request_id = (event.get("requestContext") or {}).get("requestId") or str(uuid.uuid4())
    context = LambdaContext(
        function_name=fn.logical_id,
        memory_limit_in_mb=fn.memory,
        timeout=fn.timeout,
        aws_request_id=request_id,
        invoked_function_arn=f"arn:aws:lambda:{tpl.REGION}:{tpl.ACCOUNT}:function:{fn.logical_id}",
    )
    return call(fn, event, context)
