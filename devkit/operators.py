"""Add, list and retire servicedesk operators (hub users with an operator key), against the local
run or a deployed stack.

    # the local run (make run): its embedded AWS listens on :5000 by default
    .venv/bin/python -m devkit.operators --endpoint-url http://127.0.0.1:5000 \\
        put 504 --key ana.lima@example.com --name "Ana Lima" --email ana.lima@example.com
    .venv/bin/python -m devkit.operators --endpoint-url http://127.0.0.1:5000 retire 504
    .venv/bin/python -m devkit.operators --stack ticket-hub list

An operator is a hub user (``PUT /users/{id}``, with ``operator_key``): one record, with a name
and an email, that every dialect shows when the operator is a ticket's assignee (Kapture's
``assignedToName`` / ``assignedToEmail``, SPP's employees...) and that Kapture's callback reminder
is sent to.  Its key is its servicedesk ``UserProviderKey`` (WorkflowPush Assign and
FunctionEscalate name operators by it).  This writes through the layer, as ``PUT /users/{id}``
does; ``PUT /users/{id}`` with a canonical token does the same over HTTP.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def _tables(args: argparse.Namespace) -> None:
    """Point the layer at the tickets table (the reference data lives there)."""
    table = args.table
    if not table and args.stack:
        import boto3

        stack = boto3.client("cloudformation", region_name=args.region).describe_stacks(StackName=args.stack)
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Stacks"][0].get("Outputs", [])}
        table = outputs["TicketsTableName"]
    os.environ["TICKETS_TABLE"] = table or "TicketsTable"  # the local run names tables by their logical id
    os.environ.setdefault("CLIENTS_TABLE", "ClientsTable")
    if args.endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = args.endpoint_url
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    if args.region:
        os.environ["AWS_DEFAULT_REGION"] = args.region
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m devkit.operators", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--endpoint-url", help="embedded AWS endpoint (the local run), e.g. http://127.0.0.1:5000")
    p.add_argument("--stack", help="deployed CloudFormation stack whose TicketsTableName output to use")
    p.add_argument("--table", help="tickets table name (overrides --stack)")
    p.add_argument("--region", default=None)
    sub = p.add_subparsers(dest="command", required=True)
    put = sub.add_parser("put", help="create or replace an operator (a hub user with an operator key)")
    put.add_argument("user_id", type=int)
    put.add_argument("--key", required=True, help="the operator's UserProviderKey, e.g. jane.smith@example.com")
    put.add_argument("--name", required=True)
    put.add_argument("--email", required=True)
    retire = sub.add_parser("retire", help="keep the user, refuse its operator key (a former operator)")
    retire.add_argument("user_id", type=int)
    sub.add_parser("list", help="the operators: key, user id, name, active")
    args = p.parse_args(argv)
    _tables(args)

    from ticketing import service
    from ticketing.dialects.canonical_reference import UserDocument, store_user
    from ticketing.dialects.reference_data import USER_KIND
    from ticketing.errors import DomainError

    try:
        if args.command == "put":
            first, _, last = args.name.partition(" ")
            spec = {"name": args.name, "name_f": first, "name_l": last, "email": args.email, "operator_key": args.key}
            doc, created = store_user(args.user_id, UserDocument.model_validate(spec))
            print(json.dumps({"user_id": args.user_id, "created": created, "operator_key": doc["operator_key"]}))
        elif args.command == "retire":
            user = service.get_references(USER_KIND, [args.user_id]).get(str(args.user_id))
            if not user or not user.get("operator_key"):
                print(f"user {args.user_id} is not an operator", file=sys.stderr)
                return 1
            kept = {k: v for k, v in user.items() if k in UserDocument.model_fields}
            store_user(args.user_id, UserDocument.model_validate({**kept, "operator_active": False}))
            print(json.dumps({"user_id": args.user_id, "operator_key": user["operator_key"], "active": False}))
        else:
            for row in _operators(service):
                print(json.dumps(row))
    except (DomainError, ValueError) as err:
        print(str(getattr(err, "message", err)), file=sys.stderr)
        return 2
    return 0


def _operators(service) -> list[dict]:
    import boto3
    from ticketing.dialects.operators import OPERATOR_KIND
    from ticketing.settings import get_settings

    client = boto3.client("dynamodb")
    rows, start = [], None
    while True:
        page = client.scan(
            TableName=get_settings().tickets_table,
            FilterExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"REF#{OPERATOR_KIND}"}},
            **({"ExclusiveStartKey": start} if start else {}),
        )
        for item in page.get("Items", []):
            rows.append(
                {
                    "operator_key": item["sk"]["S"],
                    "user_id": int(item.get("user_id", {}).get("N", "0")),
                    "name": item.get("name", {}).get("S", ""),
                    "active": item.get("active", {}).get("BOOL", True),
                }
            )
        start = page.get("LastEvaluatedKey")
        if not start:
            return rows


if __name__ == "__main__":
    sys.exit(main())
