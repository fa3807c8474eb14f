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
