"""Create, list and disable API clients, against the local run or a deployed stack.

    # the local run (make run) -- its embedded AWS listens on :5000 by default
    .venv/bin/python -m devkit.clients --endpoint-url http://127.0.0.1:5000 \\
        create --name "Acme helpdesk" --dialect spp --permission ticket_management --grant billing --grant sales:read
    .venv/bin/python -m devkit.clients --endpoint-url http://127.0.0.1:5000 grant cli_0123456789abcdef support:write
    .venv/bin/python -m devkit.clients --endpoint-url http://127.0.0.1:5000 revoke cli_0123456789abcdef billing
    # a deployed stack: the table name comes from the stack's outputs
    .venv/bin/python -m devkit.clients --stack ticket-hub create --name "Acme" --dialect kapture

The token is printed once and stored nowhere in clear (only its SHA-256).
"""

from __future__ import annotations

import argparse
import json
import sys

import boto3


def _table(args: argparse.Namespace) -> str:
    if args.table:
        return args.table
    if args.stack:
        stack = boto3.client("cloudformation", region_name=args.region).describe_stacks(StackName=args.stack)
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Stacks"][0].get("Outputs", [])}
        return outputs["ClientsTableName"]
    return "ClientsTable"  # the local run names tables by their logical id


def _grant(text: str) -> tuple[str, str]:
    """``QUEUE[:read|write]``, or a usage error (argparse's exit 2) saying what is wrong."""
    from ticketing.grants import parse_grant

    try:
        return parse_grant(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m devkit.clients", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--endpoint-url", help="embedded AWS endpoint (the local run), e.g. http://127.0.0.1:5000")
    p.add_argument("--stack", help="deployed CloudFormation stack whose ClientsTableName output to use")
    p.add_argument("--table", help="clients table name (overrides --stack)")
    p.add_argument("--region", default=None)
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("create", help="create a client and print its token once")
    c.add_argument("--name", required=True)
    c.add_argument(
        "--dialect",
        action="append",
        required=True,
        choices=["canonical", "myhrw", "spp", "particlespace", "kapture", "servicedesk", "*"],
    )
    c.add_argument("--group", action="append", default=[], help="security group, e.g. PartnerInteraction")
    c.add_argument("--permission", action="append", default=[], help="e.g. ticket_management")
    c.add_argument("--partner-id", type=int)
    c.add_argument("--user-id", type=int)
    c.add_argument(
        "--grant",
        action="append",
        default=None,
        type=_grant,
        metavar="QUEUE[:read|write]",
        help="a queue (or *) the client may read or write (write when not said); none given: every queue",
    )
    for name in ("grant", "revoke"):
        g = sub.add_parser(name, help=f"{name} a client's access to a queue (every token of it)")
        g.add_argument("client_id")
        if name == "grant":
            g.add_argument("grant", metavar="QUEUE[:read|write]", type=_grant)
        else:
            g.add_argument("grant", metavar="QUEUE")
    sub.add_parser("list", help="list clients (never tokens)")
    for name in ("disable", "enable"):
        d = sub.add_parser(name, help=f"{name} every token of a client")
        d.add_argument("client_id")
    args = p.parse_args(argv)

    if args.endpoint_url:
        import os

        os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    ddb = boto3.client("dynamodb", endpoint_url=args.endpoint_url, region_name=args.region or None)
    table = _table(args)
    from ticketing import auth

    if args.command == "create":
        grants = None if args.grant is None else dict(args.grant)
        token, client = auth.create_client(
            args.name,
            args.dialect,
            groups=args.group,
            permissions=args.permission,
            partner_id=args.partner_id,
            user_id=args.user_id,
            grants=grants,
            dynamodb=ddb,
            table=table,
        )
        print(json.dumps({"client_id": client.client_id, "token": token, "grants": client.grants}, indent=2))
        print("Keep the token now: it is stored only as a hash and cannot be shown again.", file=sys.stderr)
    elif args.command == "list":
        for page in ddb.get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                doc = {k: v for k, v in auth.unmarshal(item).items() if k != "token_hash"}
                print(json.dumps(doc, default=str))
    elif args.command in ("grant", "revoke"):
        queue, level = args.grant if args.command == "grant" else (args.grant, None)
        try:
            changed = auth.set_grant(args.client_id, queue, level, dynamodb=ddb, table=table)
        except ValueError as err:  # a revoke that would take nothing away
            print(f"nothing changed: {err}", file=sys.stderr)
            return 1
        done = {"grant": "granted", "revoke": "revoked"}[args.command]
        print(f"{done} {queue}{':' + level if level else ''} on {changed} token(s) of {args.client_id}")
        return 0 if changed else 1
    else:
        changed = auth.set_enabled(args.client_id, args.command == "enable", dynamodb=ddb, table=table)
        print(f"{args.command}d {changed} token(s) of {args.client_id}")
        return 0 if changed else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
