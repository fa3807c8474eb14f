"""template.yaml, read as data: least privilege, tracing, routes, encryption and alarms.

What checkov cannot know about this design is checked here: which function may touch which
table and key, that API Gateway will accept the routes, that every function's errors and
every queue's depth reach an alarm.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections import defaultdict
from typing import Any

import pytest

from devkit import template as tpl

T = tpl.load()
RESOURCES = T.resources
GLOBALS = T.doc.get("Globals", {}).get("Function", {})
FUNCTIONS = T.of_type("AWS::Serverless::Function")
TABLES = T.of_type("AWS::DynamoDB::Table")
QUEUES = T.of_type("AWS::SQS::Queue")
ALARMS = T.of_type("AWS::CloudWatch::Alarm")
FN_IDS = sorted(FUNCTIONS)

# SAM policy templates that grant access to a table, and what they grant.
TABLE_TEMPLATES = {
    "DynamoDBReadPolicy": {"read"},
    "DynamoDBWritePolicy": {"write"},
    "DynamoDBCrudPolicy": {"read", "write"},
    "DynamoDBStreamReadPolicy": {"read"},
}
READ_ACTIONS = {"GetItem", "BatchGetItem", "Query", "Scan", "ConditionCheckItem", "DescribeTable", "GetRecords"}
WRITE_ACTIONS = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "PartiQLInsert", "PartiQLUpdate"}
KEY_READ = {"kms:Decrypt", "kms:DescribeKey"}
KEY_WRITE = KEY_READ | {"kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"}


def props(logical_id: str) -> dict[str, Any]:
    return RESOURCES[logical_id].get("Properties", {})


def refs(value: Any) -> set[str]:
    """Logical ids (or parameters) an intrinsic value refers to: Ref, GetAtt, ${...} in Sub."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str):
                found.add(arg)
            elif key == "Fn::GetAtt":
                found.add(arg[0] if isinstance(arg, list) else arg.split(".")[0])
            elif key == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                found |= {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text)}
                if not isinstance(arg, str):
                    found |= refs(arg[1])
            else:
                found |= refs(arg)
    elif isinstance(value, list):
        for item in value:
            found |= refs(item)
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(doc: Any):
    """Every policy statement anywhere in ``doc`` (roles, managed policies, key policies,
    functions' inline policies...)."""
    if isinstance(doc, dict):
        if isinstance(doc.get("Statement"), list):
            for st in doc["Statement"]:
                if isinstance(st, dict):
                    yield st
        for value in doc.values():
            yield from statements(value)
    elif isinstance(doc, list):
        for item in doc:
            yield from statements(item)


MANAGED = T.of_type("AWS::IAM::ManagedPolicy")


def table_access(fn: str, policies: Any = None) -> dict[str, set[str]]:
    """{table logical id: {"read", "write"}} from a function's Policies (SAM policy templates,
    inline statements, and the template's own managed policies it refers to)."""
    policies = props(fn).get("Policies", []) if policies is None else policies
    policies = [
        {"Statement": props(p["Ref"])["PolicyDocument"]["Statement"]}
        if isinstance(p, dict) and p.get("Ref") in MANAGED
        else p
        for p in as_list(policies)
    ]
    access: dict[str, set[str]] = defaultdict(set)
    for policy in as_list(policies):
        if not isinstance(policy, dict):
            continue
        for name, arg in policy.items():
            if name in TABLE_TEMPLATES:
                for table in refs(arg.get("TableName")):
                    access[table] |= TABLE_TEMPLATES[name]
            elif name.startswith("DynamoDB"):
                pytest.fail(f"{fn}: policy template {name} is not known to tests/deploy/test_template.py")
    for st in statements(policies):
        tables = refs(st.get("Resource")) & set(TABLES)
        for action in as_list(st.get("Action", [])):
            service, _, verb = action.partition(":")
            if service != "dynamodb":
                continue
            kind = "read" if verb in READ_ACTIONS else "write" if verb in WRITE_ACTIONS else None
            assert kind, f"{fn}: {action} is not classified as a read or a write"
            for table in tables:
                access[table].add(kind)
    return dict(access)


def key_policies(fn: str) -> set[str]:
    return {p["Ref"] for p in as_list(props(fn).get("Policies", [])) if isinstance(p, dict) and "Ref" in p}


def key_actions(policy: str) -> set[str]:
    return {a for st in statements(props(policy)["PolicyDocument"]) for a in as_list(st["Action"])}


def work_queues() -> set[str]:
    """Queues a function's SQS event source reads: their failures go to their redrive queue."""
    return {
        next(iter(refs(ev["Properties"]["Queue"])))
        for fn in FUNCTIONS
        for ev in (props(fn).get("Events") or {}).values()
        if ev.get("Type") == "SQS"
    }


def on_failure_queue(fn: str) -> str | None:
    """The queue an asynchronous invocation's, a stream event source's or an SQS event source's
    failures go to (for SQS: the source queue's dead-letter queue)."""
    for ev in (props(fn).get("Events") or {}).values():
        if ev.get("Type") == "SQS":
            source = next(iter(refs(ev["Properties"]["Queue"])))
            redrive = props(source).get("RedrivePolicy") or {}
            return next(iter(refs(redrive.get("deadLetterTargetArn")) & set(QUEUES)), None)
    configs = [props(fn).get("EventInvokeConfig") or {}]
    configs += [ev["Properties"] for ev in (props(fn).get("Events") or {}).values() if ev.get("Type") == "DynamoDB"]
    for config in configs:
        dest = (config.get("DestinationConfig") or {}).get("OnFailure", {})
        queues = refs(dest.get("Destination")) & set(QUEUES)
        if dest.get("Type") == "SQS" and queues:
            return next(iter(queues))
    return None


def api_events(fn: str) -> list[dict[str, Any]]:
    return [ev["Properties"] for ev in (props(fn).get("Events") or {}).values() if ev.get("Type") == "Api"]


def encryption_key(logical_id: str) -> str | None:
    p = props(logical_id)
    kind = RESOURCES[logical_id]["Type"]
    value = {
        "AWS::DynamoDB::Table": (p.get("SSESpecification") or {}).get("KMSMasterKeyId"),
        "AWS::SQS::Queue": p.get("KmsMasterKeyId"),
        "AWS::SNS::Topic": p.get("KmsMasterKeyId"),
        "AWS::Logs::LogGroup": p.get("KmsKeyId"),
    }[kind]
    keys = refs(value) & set(T.of_type("AWS::KMS::Key"))
    return next(iter(keys), None)


# -- least privilege ----------------------------------------------------------------------------
def unreadable_writes(access: dict[str, set[str]]) -> list[str]:
    return sorted(table for table, kinds in access.items() if "write" in kinds and "read" not in kinds)


@pytest.mark.parametrize("fn", FN_IDS)
def test_a_function_may_read_every_table_it_writes(fn):
    # a write is a conditional update of what was read, and the status catalog is read
    # from the tickets table on first use
    access = table_access(fn)
    assert set(access) <= set(TABLES), f"{fn} names something that is not a table of the template"
    assert unreadable_writes(access) == [], f"{fn} writes tables it may not read"


def test_no_function_may_scan_or_batch_write_a_table():
    # what the layer never calls (the DynamoDB policy templates grant both): least privilege
    for fn in FN_IDS:
        policies = as_list(props(fn).get("Policies", []))
        assert not any(isinstance(p, dict) and "DynamoDBCrudPolicy" in p for p in policies), fn
        assert not any(
            isinstance(p, dict) and {"DynamoDBReadPolicy", "DynamoDBWritePolicy"} & set(p) for p in policies
        ), fn
    for st in statements(T.doc):
        granted = {a.lower() for a in as_list(st.get("Action", [])) if st.get("Effect") == "Allow"}
        assert not granted & {"dynamodb:scan", "dynamodb:batchwriteitem", "dynamodb:describetable"}, st


def test_the_access_check_sees_templates_and_inline_statements():
    write_only = [{"DynamoDBWritePolicy": {"TableName": {"Ref": "TicketsTable"}}}]
    assert unreadable_writes(table_access("X", write_only)) == ["TicketsTable"]
    inline = [{"Statement": [{"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
                              "Resource": {"Fn::GetAtt": ["ClientsTable", "Arn"]}}]}]  # fmt: skip
    assert table_access("X", inline) == {"ClientsTable": {"read", "write"}}
    assert table_access("X", [{"DynamoDBCrudPolicy": {"TableName": {"Ref": "IdempotencyTable"}}}]) == {
        "IdempotencyTable": {"read", "write"}
    }
    assert table_access("X", [{"Ref": "TicketsWritePolicy"}]) == {"TicketsTable": {"write"}}


def test_no_policy_statement_allows_every_action_of_a_service():
    found = list(statements(T.doc))
    assert len(found) > 10
    for st in found:
        actions = as_list(st.get("Action", []))
        assert not (st.get("Effect") == "Allow" and "NotAction" in st), st
        for action in actions:
            assert isinstance(action, str), st
            assert action != "*" and not action.endswith(":*"), f"too broad: {action} in {st}"


def test_every_table_is_encrypted_with_the_stacks_key():
    keys = T.of_type("AWS::KMS::Key")
    assert len(keys) == 1
    ((key, res),) = keys.items()
    assert res["Properties"]["EnableKeyRotation"] is True
    assert res.get("DeletionPolicy") == "Retain", "the retained tables' backups need the key"
    for table in TABLES:
        sse = props(table)["SSESpecification"]
        assert sse["SSEEnabled"] is True and sse["SSEType"] == "KMS", table
        assert encryption_key(table) == key, table


@pytest.mark.parametrize("fn", FN_IDS)
def test_a_function_has_exactly_the_key_permissions_its_tables_and_queue_need(fn):
    access = table_access(fn)
    encrypted = {t: kinds for t, kinds in access.items() if encryption_key(t)}
    writes = any("write" in kinds for kinds in encrypted.values())
    queue = on_failure_queue(fn)
    writes = writes or bool(queue and encryption_key(queue))
    granted = key_policies(fn) & {"DataKeyReadPolicy", "DataKeyWritePolicy"}
    if writes:
        assert granted == {"DataKeyWritePolicy"}, f"{fn} writes encrypted data: {granted}"
    elif encrypted:
        assert granted == {"DataKeyReadPolicy"}, f"{fn} only reads encrypted tables: {granted}"
    else:
        assert not granted, f"{fn} needs no key permission: {granted}"


def test_the_key_policies_grant_what_dynamodb_asks_for_and_nothing_else():
    assert key_actions("DataKeyReadPolicy") == KEY_READ
    assert key_actions("DataKeyWritePolicy") == KEY_WRITE
    for policy in ("DataKeyReadPolicy", "DataKeyWritePolicy"):
        for st in statements(props(policy)["PolicyDocument"]):
            assert refs(st["Resource"]) == {"DataKey"}, "on the stack's key only"


def test_every_sender_to_an_encrypted_queue_may_encrypt_for_it():
    for role_id in T.of_type("AWS::IAM::Role"):
        sts = list(statements(props(role_id).get("Policies", [])))
        for st in sts:
            if "sqs:SendMessage" not in as_list(st["Action"]):
                continue
            for queue in refs(st["Resource"]) & set(QUEUES):
                key = encryption_key(queue)
                assert key, f"{queue} is not encrypted"
                assert any("kms:GenerateDataKey" in as_list(s["Action"]) and key in refs(s["Resource"]) for s in sts), (
                    f"{role_id} sends to {queue} but may not use {key}"
                )


def test_the_key_lets_cloudwatch_use_it_for_the_topic_and_this_stacks_log_groups():
    key_policy = props("DataKey")["KeyPolicy"]
    by_principal = {str(st["Principal"]): st for st in statements(key_policy)}
    assert any("cloudwatch.amazonaws.com" in p for p in by_principal), "alarms publish to the encrypted topic"
    (logs,) = [st for p, st in by_principal.items() if "logs." in p]
    pattern = T.resolve(logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"])
    for group in T.of_type("AWS::Logs::LogGroup"):
        assert encryption_key(group) == "DataKey", group
        assert props(group).get("RetentionInDays"), group
        arn = f"arn:aws:logs:{tpl.REGION}:{tpl.ACCOUNT}:log-group:{T.resolve(props(group)['LogGroupName'])}"
        assert fnmatch.fnmatchcase(arn, pattern), f"the key policy does not let CloudWatch Logs encrypt {group}"


# -- functions ----------------------------------------------------------------------------------
@pytest.mark.parametrize("fn", FN_IDS)
def test_every_function_is_traced(fn):
    assert props(fn).get("Tracing", GLOBALS.get("Tracing")) == "Active"


def test_the_api_is_traced_and_logs_every_request_with_its_id():
    api = props("TicketsApi")
    assert api["TracingEnabled"] is True
    fields = json.loads(api["AccessLogSetting"]["Format"])  # one JSON document per request
    assert fields["requestId"] == "$context.requestId"  # = the functions' correlation_id
    assert refs(api["AccessLogSetting"]["DestinationArn"]) == {"ApiAccessLogGroup"}


@pytest.mark.parametrize("fn", FN_IDS)
def test_every_api_event_is_on_the_tickets_api(fn):
    for event in api_events(fn):
        assert event.get("RestApiId") == {"Ref": "TicketsApi"}, f"{fn}: {event}"


@pytest.mark.parametrize("fn", FN_IDS)
def test_every_function_folder_has_its_handler_and_makefile(fn):
    folder = tpl.ROOT / props(fn)["CodeUri"]
    assert (folder / "app.py").is_file(), folder
    assert (folder / "Makefile").is_file(), folder
    assert props(fn)["Handler"].startswith("app.")
    assert RESOURCES[fn].get("Metadata", {}).get("BuildMethod") == "makefile"


def route_problems(routes: list[tuple[str, str, str]]) -> list[str]:
    """What API Gateway would refuse in (function, method, path) routes: the same method and
    path twice, or two variable names at one level (/tickets/{id} beside /tickets/{ticket}/x)."""
    problems = []
    seen: dict[tuple[str, str], str] = {}
    variables: dict[str, dict[str, str]] = defaultdict(dict)  # parent path -> {variable: a path using it}
    for fn, method, path in routes:
        if (method.upper(), path) in seen:
            problems.append(f"{method.upper()} {path}: {fn} and {seen[(method.upper(), path)]}")
        seen[(method.upper(), path)] = fn
        parts = path.strip("/").split("/")
        for depth, part in enumerate(parts):
            if part.startswith("{"):
                variables["/" + "/".join(parts[:depth])][part] = path
    for parent, names in variables.items():
        if len(names) > 1:
            problems.append(f"one variable per level: {parent.rstrip('/')}/ has {sorted(names)}")
    return problems


def test_no_two_routes_collide_and_each_level_has_one_variable_name():
    routes = [(fn, ev["Method"], ev["Path"]) for fn in FN_IDS for ev in api_events(fn)]
    assert routes
    assert route_problems(routes) == []


def test_the_route_check_finds_what_api_gateway_refuses():
    assert route_problems([("A", "get", "/t/{id}"), ("B", "GET", "/t/{id}")]) == ["GET /t/{id}: B and A"]
    assert route_problems([("A", "GET", "/t/{id}"), ("B", "PUT", "/t/{ticketUid}/tasks/{taskid}")]) == [
        "one variable per level: /t/ has ['{id}', '{ticketUid}']"
    ]
    assert route_problems([("A", "GET", "/t/{id}/x/{a}"), ("B", "GET", "/u/{id}/x/{b}")]) == []


# -- alarms ---------------------------------------------------------------------------------------
def alarms_on(namespace: str, metric: str) -> dict[str, dict[str, Any]]:
    return {
        k: v["Properties"]
        for k, v in ALARMS.items()
        if v["Properties"].get("Namespace") == namespace and v["Properties"].get("MetricName") == metric
    }


def dimensions(alarm: dict[str, Any]) -> dict[str, Any]:
    return {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}


def math_metrics(alarm: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A metric-math alarm's metrics, by id: {"Namespace", "MetricName", "Dimensions": {...}, "Stat"}."""
    out = {}
    for query in alarm.get("Metrics", []):
        if "MetricStat" in query:
            metric = query["MetricStat"]["Metric"]
            out[query["Id"]] = {**metric, "Dimensions": dimensions(metric), "Stat": query["MetricStat"]["Stat"]}
    return out


def math_alarms_on(namespace: str, metric: str) -> dict[str, dict[str, Any]]:
    return {
        k: v["Properties"]
        for k, v in ALARMS.items()
        if any(
            m["Namespace"] == namespace and m["MetricName"] == metric for m in math_metrics(v["Properties"]).values()
        )
    }


@pytest.mark.parametrize("fn", FN_IDS)
def test_every_functions_errors_reach_an_alarm(fn):
    if api_events(fn):
        # behind TicketsApi: its 5XXError counts handled 500s, crashes and timeouts alike, as a rate
        (alarm,) = math_alarms_on("AWS/ApiGateway", "5XXError").values()
        metrics = math_metrics(alarm)
        assert {m["MetricName"] for m in metrics.values()} == {"5XXError", "Count"}
        for metric in metrics.values():
            assert metric["Dimensions"]["ApiName"] == props("TicketsApi")["Name"]
            assert metric["Dimensions"]["Stage"] == props("TicketsApi")["StageName"]
            assert metric["Stat"] == "Sum"
    else:
        mine = [a for a in alarms_on("AWS/Lambda", "Errors").values() if dimensions(a)["FunctionName"] == {"Ref": fn}]
        assert mine, f"{fn} has no API in front of it, and no errors alarm of its own"


@pytest.mark.parametrize("fn", FN_IDS)
def test_every_functions_throttles_reach_an_alarm(fn):
    watching = [
        name
        for name, alarm in math_alarms_on("AWS/Lambda", "Throttles").items()
        if {"FunctionName": {"Ref": fn}} in [m["Dimensions"] for m in math_metrics(alarm).values()]
    ]
    assert len(watching) == 1, f"{fn}: throttles watched by {watching}"
    alarm = props(watching[0])
    assert len(math_metrics(alarm)) <= 10, "CloudWatch allows at most 10 metrics in a metric-math alarm"


@pytest.mark.parametrize("fn", FN_IDS)
def test_an_asynchronous_function_keeps_its_failed_events(fn):
    # what the CKV_AWS_116 skip in .checkov.yaml relies on
    if not api_events(fn):
        assert on_failure_queue(fn), f"{fn} is invoked asynchronously: it needs an on-failure destination"


@pytest.mark.parametrize("queue", sorted(QUEUES))
def test_every_queue_has_a_depth_alarm(queue):
    if queue in work_queues():  # messages waiting are its normal state: its dead-letter queue is alarmed
        dead = next(iter(refs(props(queue)["RedrivePolicy"]["deadLetterTargetArn"])))
        assert dead in QUEUES and dead not in work_queues(), queue
        assert encryption_key(queue), f"{queue} is not encrypted with the stack's key"
        return
    mine = [
        a
        for a in alarms_on("AWS/SQS", "ApproximateNumberOfMessagesVisible").values()
        if dimensions(a)["QueueName"] == {"Fn::GetAtt": [queue, "QueueName"]}
    ]
    assert len(mine) == 1, queue
    assert (mine[0]["Threshold"], mine[0]["ComparisonOperator"]) == (0, "GreaterThanThreshold")
    assert encryption_key(queue), f"{queue} is not encrypted with the stack's key"


def test_every_alarm_notifies_the_encrypted_topic_and_the_email_is_optional():
    assert ALARMS
    for name, alarm in ALARMS.items():
        props_ = alarm["Properties"]
        assert {"Ref": "AlarmTopic"} in props_["AlarmActions"], name
        assert props_["TreatMissingData"] == "notBreaching", name
    assert encryption_key("AlarmTopic") == "DataKey"
    (sub,) = T.of_type("AWS::SNS::Subscription").values()
    assert sub["Condition"] == "HasAlarmEmail" and sub["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}
    assert T.doc["Parameters"]["AlarmEmail"]["Default"] == ""
    assert T.doc["Conditions"]["HasAlarmEmail"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}


def test_metric_alarms_watch_what_the_layer_emits():
    env = GLOBALS["Environment"]["Variables"]
    from ticketing import observability

    assert env["POWERTOOLS_METRICS_NAMESPACE"] == observability.metrics.provider.namespace
    assert env["POWERTOOLS_SERVICE_NAME"] == observability.SERVICE
    filtered = {
        t["MetricName"]
        for f in T.of_type("AWS::Logs::MetricFilter").values()
        for t in f["Properties"]["MetricTransformations"]
    }
    watched = []
    for alarm in ALARMS.values():
        p = alarm["Properties"]
        metrics = list(math_metrics(p).values()) or ([{**p, "Dimensions": dimensions(p)}] if "Namespace" in p else [])
        for m in metrics:
            if m["Namespace"].startswith("AWS/"):
                continue
            watched.append(m["MetricName"])
            assert m["Namespace"] == env["POWERTOOLS_METRICS_NAMESPACE"]
            if m["MetricName"] in filtered:  # made from the access log by a metric filter: no dimension
                assert m["Dimensions"] == {}
            else:  # the layer's EMF: the totals' dimension set
                assert m["Dimensions"] == {"service": env["POWERTOOLS_SERVICE_NAME"]}
    assert {"NotificationsFailed", "IdempotencyNotKept", "BatchUpdateFailures", "ApiThrottled"} <= set(watched)


def test_every_function_logs_to_the_stacks_log_group():
    assert GLOBALS["LoggingConfig"] == {"LogGroup": {"Ref": "FunctionLogGroup"}}
    for fn in FN_IDS:
        assert "LoggingConfig" not in props(fn), fn
