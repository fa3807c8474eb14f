"""Read ``template.yaml`` the way SAM does, so nothing here keeps a second list of
functions, routes, tables or environment variables."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
ACCOUNT = "123456789012"
REGION = "us-east-1"
STACK_NAME = "ticket-hub"  # samconfig.toml's
PSEUDO = {"AWS::Partition": "aws", "AWS::StackName": STACK_NAME, "AWS::URLSuffix": "amazonaws.com"}
# Values for the parameters that have no default (a deploy must be given them): the local run's
LOCAL_PARAMETERS = {"SenderEmail": "tickets@example.com"}


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml's: ~8x the pure-Python parser
    pass


def _intrinsic(loader: yaml.Loader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_Loader.add_multi_constructor("!", lambda loader, suffix, node: _intrinsic(loader, suffix, node))


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # API Gateway resource path, e.g. /tickets/{id}

    @property
    def pattern(self) -> re.Pattern[str]:
        regex = ""
        for part in re.split(r"(\{[^}]+\})", self.path):
            if part.startswith("{") and part.endswith("+}"):
                regex += f"(?P<{part[1:-2]}>.+)"
            elif part.startswith("{"):
                regex += f"(?P<{part[1:-1]}>[^/]+)"
            else:
                regex += re.escape(part)
        return re.compile(f"^{regex}$")


@dataclass(frozen=True)
class Schedule:
    logical_id: str


@dataclass(frozen=True)
class StreamSource:
    """A DynamoDB stream event source of a function (``Type: DynamoDB``)."""

    table: str  # the table's logical id
    batch_size: int = 100
    filters: tuple[dict[str, Any], ...] = ()  # FilterCriteria patterns, parsed
    max_retries: int = -1  # -1: until the record expires, as the event source mapping's default
    on_failure_queue: str | None = None  # logical id of the SQS queue
    batch_window: float = 0.0  # MaximumBatchingWindowInSeconds: how long records are gathered before a batch


@dataclass(frozen=True)
class AsyncInvoke:
    """What Lambda does with a function's failed asynchronous invocations (its ``EventInvokeConfig``)."""

    max_retries: int = 2  # MaximumRetryAttempts: Lambda's default
    max_age: int = 21600  # MaximumEventAgeInSeconds
    on_failure: str | None = None  # the destination's ARN (DestinationConfig.OnFailure)
    on_success: str | None = None


@dataclass
class Function:
    logical_id: str
    code_uri: Path
    handler: str
    routes: list[Route] = field(default_factory=list)
    streams: list[StreamSource] = field(default_factory=list)
    environment: dict[str, Any] = field(default_factory=dict)
    layers: list[Path] = field(default_factory=list)
    timeout: int = 3
    memory: int = 128
    alias: str | None = None  # AutoPublishAlias
    async_invoke: AsyncInvoke = AsyncInvoke()

    @property
    def module_file(self) -> Path:
        module, _, _ = self.handler.rpartition(".")
        return self.code_uri / (module.replace(".", "/") + ".py")

    @property
    def attribute(self) -> str:
        return self.handler.rpartition(".")[2]


@dataclass
class Template:
    doc: dict[str, Any]
    parameters: dict[str, str]

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.doc.get("Resources", {})

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v.get("Type") == kind}

    # -- intrinsic resolution for local use --------------------------------------
    def physical_name(self, logical_id: str) -> str:
        res = self.resources[logical_id]
        kind = res.get("Type", "")
        if kind == "AWS::Serverless::Function":
            return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{logical_id}"
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{self.queue_name(logical_id)}"
        if kind == "AWS::SNS::Topic":
            return f"arn:aws:sns:{REGION}:{ACCOUNT}:{logical_id}"
        if kind == "AWS::SES::ConfigurationSet" and res.get("Properties", {}).get("Name"):
            return str(self.resolve(res["Properties"]["Name"]))
        return logical_id

    def queue_name(self, logical_id: str) -> str:
        """A queue's local name: its logical id (with ``.fifo`` for a FIFO queue, as SQS requires)."""
        fifo = self.resources[logical_id].get("Properties", {}).get("FifoQueue") in (True, "true")
        return logical_id + (".fifo" if fifo else "")

    def arn(self, logical_id: str) -> str:
        kind = self.resources[logical_id].get("Type", "")
        service = {
            "AWS::Serverless::Function": "lambda",
            "AWS::SQS::Queue": "sqs",
            "AWS::SNS::Topic": "sns",
            "AWS::IAM::Role": "iam",
            "AWS::DynamoDB::Table": "dynamodb",
            "AWS::Scheduler::ScheduleGroup": "scheduler",
        }.get(kind, "x")
        if service == "lambda":
            return self.physical_name(logical_id)
        if service == "iam":
            return f"arn:aws:iam::{ACCOUNT}:role/{logical_id}"
        if service == "dynamodb":
            return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{logical_id}"
        if service == "scheduler":
            return f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule-group/{logical_id}"
        if service == "sqs":
            return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{self.queue_name(logical_id)}"
        return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{logical_id}"

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                logical, _, attr = str(arg).partition(".")
                if attr == "Alias" and logical in self.resources:  # SAM: the AutoPublishAlias's ARN
                    alias = self._alias(logical)
                    return f"{self.arn(logical)}:{alias}" if alias else self.arn(logical)
                if arg in self.parameters:
                    return self.parameters[arg]
                if arg == "AWS::Region":
                    return REGION
                if arg == "AWS::AccountId":
                    return ACCOUNT
                if arg in PSEUDO:
                    return PSEUDO[arg]
                return self.physical_name(arg)
            if key == "Fn::GetAtt":
                logical, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.arn(logical) if attr == "Arn" else self.physical_name(logical)
            if key == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                extra = {} if isinstance(arg, str) else arg[1]
                return re.sub(
                    r"\$\{([^}!]+)\}",
                    lambda m: str(
                        self.resolve(extra[m.group(1)])
                        if m.group(1) in extra
                        else self.resolve({"Fn::GetAtt": m.group(1).split(".", 1)})
                        if "." in m.group(1)
                        else self.resolve({"Ref": m.group(1)})
                    ),
                    text,
                )
            if key == "Fn::Join":
                sep, parts = arg
                return sep.join(str(self.resolve(p)) for p in parts)
        return value

    def _alias(self, logical_id: str) -> str | None:
        glob = self.doc.get("Globals", {}).get("Function", {})
        value = self.resources[logical_id].get("Properties", {}).get("AutoPublishAlias", glob.get("AutoPublishAlias"))
        return str(self.resolve(value)) if value else None

    # -- what SAM would deploy ---------------------------------------------------------
    def functions(self) -> dict[str, Function]:
        glob = self.doc.get("Globals", {}).get("Function", {})
        out = {}
        for logical_id, res in self.of_type("AWS::Serverless::Function").items():
            props = {**glob, **res.get("Properties", {})}
            env = {
                **glob.get("Environment", {}).get("Variables", {}),
                **res.get("Properties", {}).get("Environment", {}).get("Variables", {}),
            }
            routes, streams = [], []
            for ev in (props.get("Events") or {}).values():
                if ev.get("Type") == "Api":
                    routes.append(Route(ev["Properties"]["Method"].upper(), ev["Properties"]["Path"]))
                if ev.get("Type") == "DynamoDB":
                    streams.append(self._stream_source(ev["Properties"]))
            layers = []
            for layer in props.get("Layers", []):
                ref = layer.get("Ref") if isinstance(layer, dict) else None
                if ref and ref in self.resources:
                    layers.append(ROOT / self.resources[ref]["Properties"]["ContentUri"])
            out[logical_id] = Function(
                logical_id=logical_id,
                code_uri=ROOT / props["CodeUri"],
                handler=props["Handler"],
                routes=routes,
                streams=streams,
                environment={k: str(self.resolve(v)) for k, v in env.items()},
                layers=layers,
                timeout=int(props.get("Timeout", 3)),
                memory=int(props.get("MemorySize", 128)),
                alias=self._alias(logical_id),
                async_invoke=self._async_invoke(props.get("EventInvokeConfig") or {}),
            )
        return out

    def _async_invoke(self, props: dict[str, Any]) -> AsyncInvoke:
        destinations = props.get("DestinationConfig") or {}

        def destination(kind: str) -> str | None:
            found = (destinations.get(kind) or {}).get("Destination")
            return str(self.resolve(found)) if found else None

        return AsyncInvoke(
            max_retries=int(props.get("MaximumRetryAttempts", 2)),
            max_age=int(props.get("MaximumEventAgeInSeconds", 21600)),
            on_failure=destination("OnFailure"),
            on_success=destination("OnSuccess"),
        )

    @staticmethod
    def _stream_source(props: dict[str, Any]) -> StreamSource:
        table, attr = props["Stream"]["Fn::GetAtt"]
        if attr != "StreamArn":
            raise ValueError(f"a DynamoDB event's Stream must be !GetAtt <table>.StreamArn, not {attr}")
        destination = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        return StreamSource(
            table=table,
            batch_size=int(props.get("BatchSize", 100)),
            filters=tuple(json.loads(f["Pattern"]) for f in (props.get("FilterCriteria") or {}).get("Filters", [])),
            max_retries=int(props.get("MaximumRetryAttempts", -1)),
            on_failure_queue=destination["Fn::GetAtt"][0] if isinstance(destination, dict) else None,
            batch_window=float(props.get("MaximumBatchingWindowInSeconds", 0)),
        )

    def tables(self) -> dict[str, dict[str, Any]]:
        return {k: v["Properties"] for k, v in self.of_type("AWS::DynamoDB::Table").items()}

    def binary_media_types(self) -> list[str]:
        types: list[str] = []
        for res in self.of_type("AWS::Serverless::Api").values():
            types += [t.replace("~1", "/") for t in res.get("Properties", {}).get("BinaryMediaTypes", [])]
        return types

    def stage_name(self) -> str:
        for res in self.of_type("AWS::Serverless::Api").values():
            return str(self.resolve(res.get("Properties", {}).get("StageName", "Prod")))
        return "Prod"


def load(path: Path = TEMPLATE, overrides: dict[str, str] | None = None) -> Template:
    doc = yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    params = {
        k: str(v["Default"]) if "Default" in v else LOCAL_PARAMETERS.get(k, "")
        for k, v in (doc.get("Parameters") or {}).items()
    }
    params.update(overrides or {})
    return Template(doc, params)


@lru_cache(maxsize=1)
def default() -> Template:
    return load()
