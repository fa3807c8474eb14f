"""The OpenAPI document of every route, built from the adapters' ``OPERATIONS``:
the schemas are those of the pydantic models that validate the requests.

    python -m devkit.openapi            # writes openapi.json
    python -m devkit.openapi --check    # exit 1 if openapi.json is not what the code says
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from devkit import template as tpl

OUTPUT = tpl.ROOT / "openapi.json"
SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "An API client's token."},
    "basic": {
        "type": "http",
        "scheme": "basic",
        "description": "Kapture style: `Authorization: Basic <token>` (the token as issued, not user:password).",
    },
}


def operations() -> list[Any]:
    import ticketing.dialects as dialects

    ops = []
    for info in sorted(pkgutil.iter_modules(dialects.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"ticketing.dialects.{info.name}")
        ops += list(getattr(module, "OPERATIONS", []))
    return ops


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def build() -> dict[str, Any]:
    ops = operations()
    models: list[tuple[type[BaseModel], str]] = []
    for op in ops:
        if _is_model(op.request):
            models.append((op.request, "validation"))
        models += [(m, "serialization") for m in op.responses.values() if _is_model(m)]
    unique = list(dict.fromkeys(models))
    for model, _ in unique:
        model.model_rebuild()  # defer_build models: build now
    keyed, defs = models_json_schema(unique, ref_template="#/components/schemas/{model}")
    schemas = dict(sorted(defs.get("$defs", {}).items()))

    def schema_of(value: Any, mode: str) -> dict[str, Any]:
        return keyed[(value, mode)] if _is_model(value) else value

    paths: dict[str, dict[str, Any]] = {}
    for op in ops:
        item: dict[str, Any] = {
            "operationId": f"{op.dialect}_{op.method.lower()}_"
            + "_".join(p.strip("{}") for p in op.path.strip("/").split("/") if p),
            "summary": op.summary,
            "tags": [op.dialect],
            "security": [{op.security: []}],
            "responses": {},
        }
        if op.description:
            item["description"] = op.description
        params = [
            {"name": name.strip("{}+"), "in": "path", "required": True, "schema": {"type": "string"}}
            for name in op.path.split("/")
            if name.startswith("{")
        ]
        params += list(op.parameters)
        if params:
            item["parameters"] = params
        if op.request is not None:
            schema = schema_of(op.request, "validation")
            item["requestBody"] = {
                "required": True,
                "content": {media: {"schema": schema} for media in op.request_media_types},
            }
        for status, body in sorted(op.responses.items()):
            response: dict[str, Any] = {"description": _reason(status)}
            if body is not None:
                schema = schema_of(body, "serialization")
                medias = op.error_media_types if status >= 400 and op.error_media_types else op.response_media_types
                response["content"] = {media: {"schema": schema} for media in medias}
            item["responses"][str(status)] = response
        paths.setdefault(op.path, {})[op.method.lower()] = item
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Ticket hub",
            "version": "1.0.0",
            "description": "Five vendors' 'update a ticket' APIs and the canonical ticket API over one ticket store.",
        },
        "servers": [{"url": "http://127.0.0.1:3000", "description": "make run"}],
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": schemas, "securitySchemes": SECURITY_SCHEMES},
    }


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return str(status)


def render() -> str:
    return json.dumps(build(), indent=2, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--check", action="store_true")
    args = p.parse_args(argv)
    text = render()
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            print("openapi.json is out of date: run python -m devkit.openapi", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT.relative_to(tpl.ROOT)}: {len(build()['paths'])} paths")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
