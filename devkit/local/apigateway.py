"""API Gateway REST proxy integration, reproduced: the event of a request, the route API Gateway
would pick, one request through it in process (``request``), and the local run's API
(``LocalApi``: HTTP in, the function's proxy response out)."""

from __future__ import annotations

import base64
import logging
import re
import time
import traceback
import uuid
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from devkit import template as tpl
from devkit.local import runtime
from devkit.local.runtime import invoke

log = logging.getLogger("local")


def build_event(
    *,
    method: str,
    path: str,
    route: tpl.Route | None,
    path_params: dict[str, str] | None,
    headers: list[tuple[str, str]] | None = None,
    query: str = "",
    body: bytes = b"",
    binary_types: list[str] | None = None,
    stage: str = "v1",
    source_ip: str = "127.0.0.1",
    request_id: str | None = None,
) -> dict[str, Any]:
    """The event API Gateway's REST proxy integration sends for this request."""
    headers = headers or []
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in headers:
        single[name] = value
        multi.setdefault(name, []).append(value)
    q_multi: dict[str, list[str]] = {}
    for k, v in parse_qsl(query, keep_blank_values=True):
        q_multi.setdefault(k, []).append(v)
    content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
    media = content_type.split(";")[0].strip().lower()
    is_binary = bool(body) and any(_media_match(t, media) for t in (binary_types or []))
    request_id = request_id or str(uuid.uuid4())
    now = time.time()
    return {
        "resource": route.path if route else path,
        "path": path,
        "httpMethod": method.upper(),
        "headers": single or None,
        "multiValueHeaders": multi or None,
        "queryStringParameters": {k: v[-1] for k, v in q_multi.items()} or None,
        "multiValueQueryStringParameters": q_multi or None,
        "pathParameters": path_params or None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "local",
            "resourcePath": route.path if route else path,
            "httpMethod": method.upper(),
            "extendedRequestId": request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "path": f"/{stage}{path}",
            "accountId": tpl.ACCOUNT,
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainPrefix": "localhost",
            "requestTimeEpoch": int(now * 1000),
            "requestId": request_id,
            "identity": {
                "sourceIp": source_ip,
                "userAgent": single.get("User-Agent") or single.get("user-agent"),
                "accessKey": None,
                "accountId": None,
                "caller": None,
                "user": None,
                "userArn": None,
                "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
            },
            "domainName": "localhost",
            "apiId": "local",
        },
        "body": (base64.b64encode(body).decode() if is_binary else body.decode("utf-8", "replace")) if body else None,
        "isBase64Encoded": is_binary,
    }


def _media_match(pattern: str, media: str) -> bool:
    if pattern in ("*/*", media):
        return True
    if pattern.endswith("/*"):
        return media.startswith(pattern[:-1])
    return False


_ROUTES: dict[int, tuple[tpl.Template, list[tuple[tpl.Function, tpl.Route, re.Pattern[str], int]]]] = {}


def _routes(template: tpl.Template) -> list[tuple[tpl.Function, tpl.Route, re.Pattern[str], int]]:
    """Every route of the template with its compiled pattern and literal prefix's length, made
    once per template (``Template.functions()`` reads the whole template: ~1 ms a request)."""
    cached = _ROUTES.get(id(template))
    if cached is None or cached[0] is not template:
        table = [
            (fn, route, route.pattern, len(route.path.replace("{", "\0").split("\0")[0]))
            for fn in template.functions().values()
            for route in fn.routes
        ]
        cached = _ROUTES[id(template)] = (template, table)
    return cached[1]


def find_route(template: tpl.Template, method: str, path: str) -> tuple[tpl.Function, tpl.Route, dict[str, str]] | None:
    """The function and route API Gateway would pick (literal segments beat variables)."""
    best = None
    method = method.upper()
    for fn, route, pattern, literal in _routes(template):
        if route.method not in (method, "ANY"):
            continue
        m = pattern.match(path)
        if m and (best is None or literal > best[0]):
            best = (literal, fn, route, m.groupdict())
    return None if best is None else best[1:]


def request(
    template: tpl.Template,
    method: str,
    url: str,
    *,
    body: bytes | str = b"",
    headers: dict[str, str] | list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """Send one request through the template's routing to its handler, in process."""
    path, _, query = url.partition("?")
    items = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    body = body.encode() if isinstance(body, str) else body
    if body and not any(k.lower() == "content-type" for k, _ in items):
        items.append(("Content-Type", "application/json"))
    found = find_route(template, method, path)
    if found is None:
        return {
            "statusCode": 403,
            "headers": {"Content-Type": "application/json"},
            "body": '{"message":"Missing Authentication Token"}',
        }
    fn, route, params = found
    event = build_event(
        method=method,
        path=path,
        route=route,
        path_params=params,
        headers=items,
        query=query,
        body=body,
        binary_types=template.binary_media_types(),
        stage=template.stage_name(),
    )
    return invoke(fn, event)


class LocalApi:
    def __init__(self, template: tpl.Template):
        self.template = template
        self.functions = template.functions()
        self.binary_types = template.binary_media_types()
        self.stage = template.stage_name()
        if not runtime.in_workers():  # import every handler now: errors surface at start (workers: theirs)
            for fn in self.functions.values():
                runtime.load_handler(fn)

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
        found = find_route(self.template, method, raw_path)
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
        event = build_event(
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
            result = invoke(fn, event)
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
