"""API Gateway REST proxy events in, proxy responses out: a one-route adapter.

Every function serves exactly one documented operation, so a router adds nothing
but cold-start time (Powertools' resolver measured +36..95 ms of imports here).
This module gives handlers a parsed ``Request``, turns what they return into the
proxy response, and turns every ``DomainError`` into the dialect's own error body
through the dialect's ``render_error`` -- the single place errors are mapped.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aws_lambda_powertools.logging import correlation_paths

from ticketing import invocation
from ticketing.errors import BadRequest, DomainError, PayloadTooLarge
from ticketing.observability import count, dimension, emit_metrics, logger
from ticketing.settings import get_settings
from ticketing.store import readahead


class Headers(Mapping[str, str]):
    """Case-insensitive view of API Gateway's headers / multiValueHeaders."""

    def __init__(self, single: Mapping[str, str] | None, multi: Mapping[str, list[str]] | None):
        self._multi: dict[str, list[str]] = {}
        for k, vs in (multi or {}).items():
            self._multi.setdefault(k.lower(), []).extend(vs or [])
        for k, v in (single or {}).items():
            if k.lower() not in self._multi and v is not None:
                self._multi[k.lower()] = [v]

    def __getitem__(self, key: str) -> str:
        return self._multi[key.lower()][-1]

    def __iter__(self):
        return iter(self._multi)

    def __len__(self) -> int:
        return len(self._multi)

    def get_all(self, key: str) -> list[str]:
        return list(self._multi.get(key.lower(), []))


@dataclass
class Request:
    """One API Gateway request, as every dialect reads it."""

    method: str
    path: str
    resource: str
    headers: Headers
    query: dict[str, str]
    path_params: dict[str, str]
    body: bytes
    request_id: str
    # the body came base64-encoded (a binary media type): its bytes are exactly the caller's
    binary: bool = False

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> Request:
        raw = event.get("body") or ""
        if event.get("isBase64Encoded"):
            try:
                body = base64.b64decode(raw, validate=True)
            except ValueError as err:
                raise BadRequest("The request body is not valid base64.") from err
        else:
            body = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
        multi_q = {k: list(v) for k, v in (event.get("multiValueQueryStringParameters") or {}).items()}
        query = {k: v[-1] for k, v in multi_q.items() if v} or dict(event.get("queryStringParameters") or {})
        ctx = event.get("requestContext") or {}
        return cls(
            method=(event.get("httpMethod") or "").upper(),
            path=event.get("path") or "",
            resource=event.get("resource") or "",
            headers=Headers(event.get("headers"), event.get("multiValueHeaders")),
            query=query,
            path_params=dict(event.get("pathParameters") or {}),
            body=body,
            request_id=ctx.get("requestId") or "",
            binary=bool(event.get("isBase64Encoded")),
        )

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    @property
    def media_type(self) -> str:
        return (self.header("content-type") or "").split(";")[0].strip().lower()

    def check_utf8(self) -> None:
        """Refuse a body that is not UTF-8.  API Gateway hands a non-binary body to the function
        as text, every byte sequence that is not UTF-8 replaced by U+FFFD: so U+FFFD sent raw
        (not as JSON's ``\\ufffd`` or a form's ``%EF%BF%BD``) is refused too, as what it
        almost always is, bytes that were lost on the way."""
        if not self.binary and _REPLACEMENT in self.body:
            raise BadRequest(NOT_UTF8)
        try:
            self.body.decode("utf-8")
        except UnicodeDecodeError as err:
            raise BadRequest(NOT_UTF8) from err

    def text(self) -> str:
        self.check_utf8()
        return self.body.decode("utf-8")

    def json(self) -> Any:
        if not self.body.strip():
            return None
        self.check_utf8()
        try:
            return json.loads(self.body)  # bytes: a UTF-8 BOM (and UTF-16/32 by their NULs) are read as sent
        except ValueError as err:
            raise BadRequest(f"The request body is not valid JSON: {err}.") from err

    def form(self) -> dict[str, str]:
        return dict(parse_form(self.text()))


NOT_UTF8 = "The request body is not valid UTF-8."
NOT_UTF8_FORM = "The request body is not valid UTF-8 form data: a percent-encoded value is not UTF-8."
_REPLACEMENT = "\ufffd".encode()


def parse_form(text: str, *, max_num_fields: int = 1000) -> list[tuple[str, str]]:
    """The pairs of an ``application/x-www-form-urlencoded`` body; a percent-encoded byte
    sequence that is not UTF-8 is refused (``parse_qsl`` would store U+FFFD for it)."""
    try:
        return parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=bool(text.strip()),
            max_num_fields=max_num_fields,
            errors="strict",
        )
    except UnicodeDecodeError as err:
        raise BadRequest(NOT_UTF8_FORM) from err
    except ValueError as err:
        raise BadRequest("The request body is not valid form data.") from err


@dataclass
class Response:
    """The answer a route gives, before its dialect renders it as the proxy response."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    multi_headers: dict[str, list[str]] = field(default_factory=dict)
    content_type: str = "application/json"
    # the same answer in each format the dialect negotiates (media type -> body): its ``finish``
    # picks the one the request's Accept asks for (a replay may ask for another than the first)
    variants: dict[str, Any] | None = None

    def to_proxy(self) -> dict[str, Any]:
        if self.body is None:
            payload, b64 = "", False
        elif isinstance(self.body, bytes):
            payload, b64 = base64.b64encode(self.body).decode(), True
        elif isinstance(self.body, str):
            payload, b64 = self.body, False
        else:
            payload, b64 = json.dumps(self.body, ensure_ascii=False, separators=(",", ":")), False
        headers = dict(self.headers)
        if self.body is not None:
            headers.setdefault("Content-Type", self.content_type)
        out: dict[str, Any] = {"statusCode": self.status, "headers": headers, "body": payload, "isBase64Encoded": b64}
        if self.multi_headers:
            out["multiValueHeaders"] = {k: list(v) for k, v in self.multi_headers.items()}
        return out


Route = Callable[[Request, Any], Response]


class BaseDialect:
    """Defaults for a dialect: override ``render_error`` and, if needed, ``finish``."""

    name = "base"

    def render_error(self, error: DomainError, request: Request | None) -> Response:
        return Response(error.status, {"message": error.message})

    def finish(self, request: Request | None, response: Response) -> Response:
        return response


def _internal(dialect: BaseDialect, request: Request | None) -> Response:
    err = DomainError("An internal error occurred; nothing further was changed.")
    err.status, err.code = 500, "internal_error"
    return dialect.render_error(err, request)


def entrypoint(dialect: BaseDialect, route: Route) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The Lambda handler for one route of one dialect."""

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
    @emit_metrics
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        request = None
        dimension("dialect", dialect.name)
        count("Requests")
        try:
            request = Request.from_event(event)
            if len(request.body) > get_settings().max_body_bytes:
                raise PayloadTooLarge(f"The request body is larger than {get_settings().max_body_bytes} bytes.")
            # the time left, for the store's write budget; the items read ahead, for this request only
            with invocation.serving(context), readahead.scope():
                response = route(request, context)
        except DomainError as err:
            log = logger.warning if err.status < 500 else logger.error
            log("request refused", extra={"status": err.status, "code": err.code, "reason": err.message})
            count("Refusals")
            response = dialect.render_error(err, request)
        except Exception:
            logger.exception("unhandled error")
            count("Errors")
            response = _internal(dialect, request)
        return dialect.finish(request, response).to_proxy()

    return handler
