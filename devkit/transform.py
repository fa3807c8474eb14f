"""template.yaml as CloudFormation will deploy it: packaged as ``sam package`` does, then
transformed by the same translator CloudFormation's ``AWS::Serverless-2016-10-31`` runs.

    python -m devkit.transform [-o transformed.json] [--parameter Name=value ...]

* Packaging: every local ``CodeUri`` (functions) and ``ContentUri`` (the layer) becomes
  ``s3://<bucket>/<key>``, the key a hash of the folder's files (``sam package`` names the
  uploaded zip by the MD5 of its content, so a change in a folder, and only in that folder,
  gives it a new key).  ``keys`` overrides a resource's key (tests simulate a layer-only
  change with it).
* Parameters: samconfig.toml's ``parameter_overrides`` (what ``sam deploy`` passes) over the
  template's defaults; a parameter without a default (``SenderEmail``) gets a placeholder, as
  ``sam deploy --guided`` would ask for one.  Pseudo parameters: the region and partition,
  as SAM adds them (``devkit.template``'s region); the rest is left to CloudFormation.
* No AWS call: the managed policies SAM may look up by name are not used by this template
  (a name it does look up fails the transform, so a new one is noticed here).

The deploy tier (tests/deploy/test_deploy.py) asserts on this output, and ``make checkov`` scans it
beside template.yaml.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import logging
import re
import shlex
import sys
import tomllib
from pathlib import Path
from typing import Any

from devkit import template as tpl

BUCKET = "ticket-hub-artifacts"
SAMCONFIG = tpl.ROOT / "samconfig.toml"
# what `sam deploy --guided` would have asked for: parameters without a default
REQUIRED_PLACEHOLDERS = {"SenderEmail": "tickets@hub.example.org"}
PACKAGED = {"AWS::Serverless::Function": "CodeUri", "AWS::Serverless::LayerVersion": "ContentUri"}


class _NoManagedPolicies:
    """The managed-policy loader SAM asks for policy names it must turn into ARNs."""

    def load(self) -> dict[str, str]:
        return {}


def samconfig_parameters(path: Path = SAMCONFIG, env: str = "default") -> dict[str, str]:
    """``sam deploy``'s ``parameter_overrides`` from samconfig.toml, as a dict."""
    config = tomllib.loads(path.read_text())
    raw = config.get(env, {}).get("deploy", {}).get("parameters", {}).get("parameter_overrides", "")
    items = shlex.split(raw) if isinstance(raw, str) else list(raw)
    return dict(item.split("=", 1) for item in items)


def folder_key(folder: Path) -> str:
    """A content hash of ``folder``'s files (names and bytes), as ``sam package``'s key is of its zip."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:32]


def package(doc: dict[str, Any], keys: dict[str, str] | None = None) -> dict[str, Any]:
    """A copy of ``doc`` with every local code folder replaced by its S3 location."""
    doc = copy.deepcopy(doc)
    keys = keys or {}
    for logical_id, res in doc.get("Resources", {}).items():
        prop = PACKAGED.get(res.get("Type", ""))
        value = (res.get("Properties") or {}).get(prop) if prop else None
        if isinstance(value, str) and not value.startswith("s3://"):
            key = keys.get(logical_id) or folder_key(tpl.ROOT / value)
            res["Properties"][prop] = f"s3://{BUCKET}/{key}"
    return doc


def parameter_values(overrides: dict[str, str] | None = None, doc: dict[str, Any] | None = None) -> dict[str, Any]:
    doc = doc if doc is not None else tpl.load().doc
    values: dict[str, Any] = {
        name: REQUIRED_PLACEHOLDERS[name]
        for name, spec in (doc.get("Parameters") or {}).items()
        if "Default" not in spec and name in REQUIRED_PLACEHOLDERS
    }
    values.update(samconfig_parameters())
    values.update(overrides or {})
    # the pseudo parameters SAM itself adds (the others stay for CloudFormation to resolve)
    values.update({"AWS::Region": tpl.REGION, "AWS::Partition": "aws"})
    return values


def transform(
    doc: dict[str, Any] | None = None,
    parameters: dict[str, str] | None = None,
    *,
    keys: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The CloudFormation template ``doc`` (default: template.yaml) becomes once deployed."""
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    doc = doc if doc is not None else tpl.load().doc
    # the session only names the region (pseudo parameters); nothing calls AWS
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=tpl.REGION))
    return translator.translate(
        package(doc, keys), parameter_values(parameters, doc), get_managed_policy_map=_NoManagedPolicies().load
    )


def inline_skips(text: str) -> dict[str, list[dict[str, str]]]:
    """template.yaml's inline ``# checkov:skip=CKV_...: reason`` comments, by the resource they
    are written in."""
    skips: dict[str, list[dict[str, str]]] = {}
    resource = None
    in_resources = False
    for line in text.splitlines():
        if re.match(r"^\S", line):
            in_resources = line.startswith("Resources:")
            resource = None
        elif in_resources and (m := re.match(r"^  ([A-Za-z0-9]+):\s*(#.*)?$", line)):
            resource = m.group(1)
        if resource and (m := re.search(r"#\s*checkov:skip=(CKV2?_[A-Z0-9_]+)\s*:?\s*(.*)$", line)):
            skips.setdefault(resource, []).append({"id": m.group(1), "comment": m.group(2).strip()})
    return skips


def carry_skips(out: dict[str, Any], skips: dict[str, list[dict[str, str]]]) -> dict[str, Any]:
    """Put each inline skip, as checkov's ``Metadata: checkov: skip``, on the resources the
    transform made of the resource it was written in (``TicketsApi`` -> ``TicketsApiStage``...):
    comments do not survive the transform, and the skip is about what they became."""
    resources = out.get("Resources", {})
    sources = sorted(skips, key=len, reverse=True)
    for logical_id, res in resources.items():
        owner = next((s for s in sources if logical_id == s or logical_id.startswith(s)), None)
        if owner is None or (logical_id != owner and logical_id in skips):
            continue
        meta = res.setdefault("Metadata", {}).setdefault("checkov", {}).setdefault("skip", [])
        meta += [dict(skip, comment=f"{skip['comment']} (template.yaml, {owner})") for skip in skips[owner]]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", type=Path, help="write the JSON here (default: stdout)")
    parser.add_argument("--parameter", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument(
        "--checkov",
        action="store_true",
        help="carry template.yaml's inline checkov skips to the resources made of them",
    )
    args = parser.parse_args(argv)
    logging.getLogger("samtranslator").setLevel(logging.ERROR)  # its feature-toggle warnings
    out = transform(parameters=dict(p.split("=", 1) for p in args.parameter))
    if args.checkov:
        out = carry_skips(out, inline_skips(tpl.TEMPLATE.read_text()))
    text = json.dumps(out, indent=1, sort_keys=True) + "\n"
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
