"""Write an API Gateway REST proxy event fixture for a route of ``template.yaml``.

    python -m devkit.events POST /tickets -H 'Authorization: Bearer tkt_demo_canonical' \\
        -d '{"title": "Broken chair"}' > events/create_ticket/create.json
"""

from __future__ import annotations

import argparse
import json
import sys

from devkit import template as tpl
from devkit.local import apigateway


def route_for(template: tpl.Template, method: str, path: str) -> tuple[tpl.Function, tpl.Route, dict[str, str]]:
    found = apigateway.find_route(template, method, path)
    if found is None:
        raise LookupError(f"no function serves {method} {path}")
    return found


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("method")
    p.add_argument("path", help="path with query string, e.g. /tickets/1001/history?limit=2")
    p.add_argument("-H", "--header", action="append", default=[], help="'Name: value' (repeatable)")
    p.add_argument("-d", "--data", default="", help="request body (text)")
    args = p.parse_args(argv)
    template = tpl.default()
    path, _, query = args.path.partition("?")
    _, route, params = route_for(template, args.method, path)
    headers = [tuple(h.split(":", 1)) for h in args.header]
    headers = [(k.strip(), v.strip()) for k, v in headers]
    if args.data and not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", "application/json"))
    event = apigateway.build_event(
        method=args.method,
        path=path,
        route=route,
        path_params=params,
        headers=headers,
        query=query,
        body=args.data.encode(),
        binary_types=template.binary_media_types(),
        stage=template.stage_name(),
        request_id="fixture-request",
    )
    event["requestContext"]["requestTimeEpoch"] = 1700000000000
    event["requestContext"]["requestTime"] = "14/Nov/2023:22:13:20 +0000"
    json.dump(event, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
