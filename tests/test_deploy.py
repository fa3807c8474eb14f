"""The deploy tier: the CloudFormation template ``sam deploy`` deploys, asserted on.

template.yaml is packaged as ``sam package`` does (each code folder an S3 object named by its
content) and transformed by the installed samtranslator, with samconfig.toml's parameters
(``devkit.transform``). What tests/test_template.py cannot see there (SAM's versions and
aliases, its EventInvokeConfig, its stages, the roles it writes) is checked here; so is every
alarm the operations page promises, and, by running every function's fixtures, that each
DynamoDB call the functions make is one their deployed role allows.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from devkit import template as tpl
from devkit import transform as tr

DOC = tpl.load().doc
OUT = tr.transform(DOC)
RES = OUT["Resources"]
PARAMS = tr.parameter_values()


def of_type(out: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in out["Resources"].items() if v["Type"] == kind}


def props(logical_id: str, out: dict[str, Any] = OUT) -> dict[str, Any]:
    return out["Resources"][logical_id].get("Properties", {})


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


FUNCTIONS = sorted(of_type(OUT, "AWS::Lambda::Function"))
ALARMS = of_type(OUT, "AWS::CloudWatch::Alarm")


def alias_of(fn: str, out: dict[str, Any] = OUT) -> tuple[str, dict[str, Any]]:
    ((logical_id, alias),) = [
        (k, v["Properties"])
        for k, v in of_type(out, "AWS::Lambda::Alias").items()
        if v["Properties"]["FunctionName"] == {"Ref": fn}
    ]
    return logical_id, alias


def version_of(fn: str, out: dict[str, Any] = OUT) -> str:
    """The logical id of the version the function's alias points at."""
    _, alias = alias_of(fn, out)
    version, attr = alias["FunctionVersion"]["Fn::GetAtt"]
    assert attr == "Version"
    assert out["Resources"][version]["Properties"]["FunctionName"] == {"Ref": fn}
    return version


def layer_users(out: dict[str, Any]) -> dict[str, str]:
    """{function: the logical id of the layer version it uses}."""
    users = {}
    for fn, res in of_type(out, "AWS::Lambda::Function").items():
        for layer in res["Properties"].get("Layers", []):
            users[fn] = layer["Ref"]
    return users


# -- 1. a change to the layer alone reaches every function's alias ---------------------------------
def test_the_template_is_packaged_as_sam_package_does():
    layer = of_type(OUT, "AWS::Lambda::LayerVersion")
    ((layer_id, res),) = layer.items()
    assert layer_id.startswith("CommonLayer")
    assert res["Properties"]["Content"] == {"S3Bucket": tr.BUCKET, "S3Key": tr.folder_key(tpl.ROOT / "layers/common")}
    # named per stack: two stacks in one region keep their own layer
    assert res["Properties"]["LayerName"] in ("ticket-hub-common", {"Fn::Sub": "${AWS::StackName}-common"})
    assert set(layer_users(OUT)) == set(FUNCTIONS), "every function uses the layer"


def test_a_layer_only_change_publishes_a_new_version_of_every_function_using_it():
    after = tr.transform(DOC, keys={"CommonLayer": "0" * 32})  # `sam package` after a change in layers/common only
    before_layer, after_layer = set(layer_users(OUT).values()), set(layer_users(after).values())
    assert before_layer.isdisjoint(after_layer), "a new layer version"
    for fn in FUNCTIONS:
        assert version_of(fn, after) != version_of(fn, OUT), f"{fn}: no new version, its alias keeps the old layer"
        assert props(fn, after)["Code"] == props(fn)["Code"]  # nothing else of the function changed


def test_a_functions_own_change_publishes_only_its_own_version():
    after = tr.transform(DOC, keys={"CreateTicketFunction": "1" * 32})
    changed = {fn for fn in FUNCTIONS if version_of(fn, after) != version_of(fn, OUT)}
    assert changed == {"CreateTicketFunction"}


def test_without_all_properties_a_layer_only_change_published_nothing():
    # the bug this fixes, kept visible: AutoPublishAlias alone hashes Code, Environment and MemorySize
    doc = copy.deepcopy(DOC)
    del doc["Globals"]["Function"]["AutoPublishAliasAllProperties"]
    before, after = tr.transform(doc), tr.transform(doc, keys={"CommonLayer": "0" * 32})
    assert all(version_of(fn, after) == version_of(fn, before) for fn in FUNCTIONS)


def test_versions_are_kept_for_a_rollback():
    for fn in FUNCTIONS:
        assert RES[version_of(fn)].get("DeletionPolicy") == "Retain", fn


# -- 2. every schedule and asynchronous invoke reaches the notifier through its EventInvokeConfig ---
def invoke_configs() -> dict[tuple[str, str], dict[str, Any]]:
    """{(function, qualifier): EventInvokeConfig properties}."""
    return {
        (p["FunctionName"]["Ref"], p["Qualifier"]): p
        for p in (v["Properties"] for v in of_type(OUT, "AWS::Lambda::EventInvokeConfig").values())
    }


def dead_letters(config: dict[str, Any]) -> bool:
    dest = config["DestinationConfig"]["OnFailure"]["Destination"]
    return dest == {"Fn::GetAtt": ["NotificationDeadLetterQueue", "Arn"]} and config["MaximumRetryAttempts"] == 2


def qualifier_of(target: Any) -> tuple[str, str]:
    """(function, qualifier) a Lambda ARN of the transformed template names."""
    if isinstance(target, dict) and "Ref" in target and RES[target["Ref"]]["Type"] == "AWS::Lambda::Alias":
        alias = RES[target["Ref"]]["Properties"]
        return alias["FunctionName"]["Ref"], alias["Name"]
    if isinstance(target, dict) and target.get("Fn::GetAtt", [None, None])[1] == "Arn":
        return target["Fn::GetAtt"][0], "$LATEST"
    raise AssertionError(f"not a function ARN: {target}")


def test_the_notifier_retries_and_dead_letters_on_its_alias_and_on_latest():
    configs = invoke_configs()
    _, alias = alias_of("NotifierFunction")
    assert dead_letters(configs[("NotifierFunction", alias["Name"])])
    assert dead_letters(configs[("NotifierFunction", "$LATEST")])  # schedules armed before the alias was their target


def test_every_function_that_arms_schedules_or_invokes_the_notifier_targets_a_configured_qualifier():
    users = [fn for fn in FUNCTIONS if "NOTIFIER_ARN" in props(fn)["Environment"]["Variables"]]
    assert {"TicketAutomationsFunction", "ParticleSpaceUpdateTicketFunction", "KaptureUpdateTicketFunction"} <= set(
        users
    )
    configs = invoke_configs()
    for fn in users:
        target = qualifier_of(props(fn)["Environment"]["Variables"]["NOTIFIER_ARN"])
        assert target[1] != "$LATEST", f"{fn} arms schedules on the unqualified notifier"
        assert target in configs and dead_letters(configs[target]), f"{fn}: {target} has no dead-letter queue"


def role_statements(role: str, out: dict[str, Any] = OUT) -> list[dict[str, Any]]:
    p = out["Resources"][role]["Properties"]
    found = [st for policy in p.get("Policies", []) for st in as_list(policy["PolicyDocument"]["Statement"])]
    for arn in p.get("ManagedPolicyArns", []):
        if isinstance(arn, dict) and "Ref" in arn:  # this template's managed policies
            found += as_list(props(arn["Ref"], out)["PolicyDocument"]["Statement"])
    return found


def test_every_invoke_permission_names_a_qualifier_with_a_dead_letter_queue():
    configs = invoke_configs()
    granted = []
    for role in of_type(OUT, "AWS::IAM::Role"):
        for st in role_statements(role):
            if st["Effect"] == "Allow" and "lambda:InvokeFunction" in as_list(st["Action"]):
                for resource in as_list(st["Resource"]):
                    target = qualifier_of(resource)
                    assert target in configs and dead_letters(configs[target]), f"{role} may invoke {target}"
                    granted.append((role, target))
    assert ("NotificationSchedulerRole", ("NotifierFunction", "live")) in granted
    assert ("NotificationSchedulerRole", ("NotifierFunction", "$LATEST")) in granted  # schedules already pending
    assert ("TicketAutomationsFunctionRole", ("NotifierFunction", "live")) in granted


def test_the_schedules_the_layer_arms_target_the_alias(monkeypatch):
    # the layer's scheduling.arm puts NOTIFIER_ARN as the target: locally the alias's ARN too
    fns = tpl.default().functions()
    arn = fns["KaptureUpdateTicketFunction"].environment["NOTIFIER_ARN"]
    assert arn == f"arn:aws:lambda:{tpl.REGION}:{tpl.ACCOUNT}:function:NotifierFunction:live"
    from ticketing import scheduling, settings

    calls = []

    class Scheduler:
        def create_schedule(self, **params):
            calls.append(params)

    monkeypatch.setenv("NOTIFIER_ARN", arn)
    monkeypatch.setenv("SCHEDULER_ROLE_ARN", "arn:aws:iam::123456789012:role/r")
    monkeypatch.setenv("TICKETS_TABLE", "t")
    monkeypatch.setenv("CLIENTS_TABLE", "c")
    settings.reset()
    try:
        notice = scheduling.Notice(
            ticket_id=1, purpose="x", delivery="d", due="2030-01-01T00:00:00Z",
            message={"channel": "email", "to": ["a@example.com"], "body": "b"},
        )  # fmt: skip
        scheduling.arm(notice, client=Scheduler())
    finally:
        settings.reset()
    assert calls[0]["Target"]["Arn"].endswith(":NotifierFunction:live")


# -- 3. one stage, throttled, logged and traced ----------------------------------------------------
def test_exactly_one_api_stage_with_throttling_access_logs_and_tracing():
    stages = of_type(OUT, "AWS::ApiGateway::Stage")
    assert len(stages) == 1, f"stages: {sorted(stages)}"
    ((_, stage),) = stages.items()
    p = stage["Properties"]
    assert p["StageName"] == {"Ref": "StageName"} and PARAMS["StageName"] == "v1"  # samconfig.toml's
    assert p["TracingEnabled"] is True
    assert p["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    assert json.loads(p["AccessLogSetting"]["Format"])["status"] == "$context.status"
    (setting,) = p["MethodSettings"]
    assert (setting["ThrottlingRateLimit"], setting["ThrottlingBurstLimit"]) == (100, 200)
    assert (setting["ResourcePath"], setting["HttpMethod"]) == ("/*", "*")
    for deployment in of_type(OUT, "AWS::ApiGateway::Deployment").values():
        assert "StageName" not in deployment["Properties"], "a Deployment with StageName makes a second stage"


def test_the_api_invokes_the_live_alias():
    for fn in FUNCTIONS:
        if fn in ("NotifierFunction", "TicketAutomationsFunction"):
            continue
        alias_id, _ = alias_of(fn)
        perms = [p["Properties"] for p in of_type(OUT, "AWS::Lambda::Permission").values()]
        assert any(p["FunctionName"] == {"Ref": alias_id} for p in perms), fn
