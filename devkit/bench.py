"""Benchmarks: figures, not pass/fail.  ``make bench`` (or ``python -m devkit.bench``).

* cold: import + init of each function's handler module in a fresh interpreter,
  next to the floor -- a bare handler that only imports boto3 and builds a DynamoDB
  client -- measured in the same run, as a ratio (goal <= 1.10);
* warm: time per request through the handler on moto in process, next to the floor
  of one bare GetItem on the same moto, and the DynamoDB calls each request makes;
* kapture: the Kapture batch's DynamoDB calls and time for N = 1, 25, 100;
* local, load: the local run's round trip, and under ``devkit.load``;
* writers: 1, 10 and 50 concurrent writers (every dialect) on one ticket of the local run,
  changing different fields or the same one: accepted, refused, latency, lost updates,
  whether the history's versions are contiguous;
* capacity: the DynamoDB calls and read/write request units (by DynamoDB's rules) of one
  update through each dialect, and of Kapture batches, on moto in process.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ticketing.sizes import attribute_size, item_size  # noqa: F401 (DynamoDB's size rules)

from devkit import load
from devkit import template as tpl

FLOOR = """
import boto3
client = boto3.client("dynamodb")
t_init = time.perf_counter()
client.get_item(TableName="TicketsTable", Key={"pk": {"S": "TICKET#1001"}, "sk": {"S": "TICKET"}})
"""
STACK = """
sys.path.insert(0, {layer!r})
import boto3
from pydantic import BaseModel
from aws_lambda_powertools import Logger, Metrics
class Probe(BaseModel):
    id: int
Probe(id=1)
Logger(service="bench"); Metrics(namespace="bench")
client = boto3.client("dynamodb")
t_init = time.perf_counter()
client.get_item(TableName="TicketsTable", Key={"pk": {"S": "TICKET#1001"}, "sk": {"S": "TICKET"}})
"""
HANDLER = """
sys.path.insert(0, {layer!r})
spec = importlib.util.spec_from_file_location("app", {module!r})
mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
from ticketing import aws; aws.dynamodb()
t_init = time.perf_counter()
event = json.load(open({event!r}))
response = mod.lambda_handler(event, Context())
assert response.get("statusCode", 200) < 500 and response.get("outcome", "sent") in ("sent", "duplicate"), response
assert not response.get("batchItemFailures"), response
"""
PROBE = """
import importlib.util, json, sys, time
class Context:
    function_name = "bench"; memory_limit_in_mb = 1024; aws_request_id = "bench"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    def get_remaining_time_in_millis(self): return 10000
t0 = time.perf_counter()
{body}
t_end = time.perf_counter()
# this process's peak resident memory: VmHWM belongs to the program (getrusage's ru_maxrss
# would carry the parent's peak over the fork and exec that started it)
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
sys.stdout.write(json.dumps([t_init - t0, t_end - t0, peak_kb / 1024]))
"""


RUNTIME_VENV = tpl.ROOT / ".bench" / "runtime"


def runtime_python() -> str:
    """A Python like the Lambda runtime's: only boto3 installed (the dev venv also has
    SAM CLI's extras, such as awscrt, which would slow every boto3 import, the floor's too)."""
    python = RUNTIME_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(RUNTIME_VENV)], check=True)
        boto3_version = __import__("boto3").__version__
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, f"boto3=={boto3_version}"], check=True)
    return str(python)


def _probe(python: str, body: str, env: dict[str, str]) -> tuple[float, float, float]:
    out = subprocess.run([python, "-c", PROBE.format(body=body)], capture_output=True, text=True, env=env, check=False)
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    init, total, peak_mb = json.loads(out.stdout.strip().splitlines()[-1])  # after any EMF lines
    return init, total, peak_mb


def _cold(bodies: dict[str, str], runs: int, env: dict[str, str]) -> dict[str, dict[str, float]]:
    """Each body in a fresh interpreter, in rounds (floor, stack, handler, floor, stack, ...), so the
    machine's drift falls on all of them alike; ratios to the first body are taken within each round,
    then their median."""
    python = runtime_python() if _built_layer() else sys.executable
    samples: dict[str, list[tuple[float, float, float]]] = {name: [] for name in bodies}
    for _ in range(runs):
        for name, body in bodies.items():
            samples[name].append(_probe(python, body, env))
    base = next(iter(bodies))
    result = {}
    for name, rows in samples.items():
        result[name] = {
            "init": statistics.median(r[0] for r in rows),
            "total": statistics.median(r[1] for r in rows),
            "peak": max(r[2] for r in rows),
            "init_ratio": statistics.median(r[0] / f[0] for r, f in zip(rows, samples[base], strict=True)),
            "total_ratio": statistics.median(r[1] / f[1] for r, f in zip(rows, samples[base], strict=True)),
        }
    return result


IMPORT_GROUPS = {
    "AWS SDK": ("boto3", "botocore", "s3transfer", "urllib3", "jmespath", "dateutil", "six"),
    "pydantic": ("pydantic", "pydantic_core", "annotated_types", "typing_inspection", "typing_extensions"),
    "Powertools": ("aws_lambda_powertools",),
    "ours": ("ticketing", "app", "defusedxml", "phonenumbers"),
}


def _import_breakdown(body: str, runs: int, env: dict[str, str]) -> dict[str, float]:
    """Median ms of module-level import work per group (``python -X importtime`` self times):
    what the init time is made of; the rest ("stdlib") is the standard library these pull in."""
    python = runtime_python() if _built_layer() else sys.executable
    samples: dict[str, list[float]] = {group: [] for group in [*IMPORT_GROUPS, "stdlib"]}
    owner = {package: group for group, packages in IMPORT_GROUPS.items() for package in packages}
    for _ in range(runs):
        out = subprocess.run(
            [python, "-X", "importtime", "-c", PROBE.format(body=body)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        totals = dict.fromkeys(samples, 0.0)
        for line in out.stderr.splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            self_us, _, name = line[len("import time:") :].split("|")
            totals[owner.get(name.strip().split(".")[0], "stdlib")] += int(self_us) / 1000
        for group, ms in totals.items():
            samples[group].append(ms)
    return {group: statistics.median(values) for group, values in samples.items()}


def _success_fixture(fn: tpl.Function) -> Path:
    folder = tpl.ROOT / "events" / fn.code_uri.name
    expected = json.loads((folder / "expected.json").read_text())

    def succeeds(name: str, outcome: object) -> bool:
        if isinstance(outcome, dict):  # a function behind no API: its result must say it did the work
            return outcome.get("outcome") == "sent" or outcome == {"batchItemFailures": []}
        return 200 <= outcome < 300 and "If-Match" not in (folder / name).read_text()

    return folder / next(n for n, outcome in expected.items() if succeeds(n, outcome))


def cold(functions: dict[str, tpl.Function], runs: int) -> list[dict]:
    """Fresh interpreters against the local run's embedded AWS (moto's server in a thread
    here, so no in-process moto preloads boto3 in them)."""
    import logging

    from devkit import demo, localstack
    from devkit.serve import EmbeddedAWS

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = EmbeddedAWS("127.0.0.1", 0)
    server.start()
    endpoint = server.endpoint
    try:
        template = tpl.default()
        env = localstack.apply_environment(template, endpoint)
        localstack.create_resources(template, endpoint)
        demo.seed()
        env = {**os.environ, **env, "POWERTOOLS_METRICS_DISABLED": "1"}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # a deployed layer ships compiled bytecode
        rows = []
        for fn in functions.values():
            layer = _built_layer() or fn.layers[0]
            body = HANDLER.format(layer=str(layer), module=str(fn.module_file), event=str(_success_fixture(fn)))
            stack = STACK.replace("{layer!r}", repr(str(layer)))
            _cold({"handler": body}, 1, env)  # compile bytecode once, as the built layer has it
            m = _cold({"floor": FLOOR, "stack": stack, "handler": body}, runs, env)
            floor, stack, ours = m["floor"], m["stack"], m["handler"]
            rows.append(
                {
                    "function": fn.logical_id,
                    "floor_init_ms": floor["init"] * 1000,
                    "stack_init_ms": stack["init"] * 1000,
                    "init_ms": ours["init"] * 1000,
                    "init_ratio": ours["init_ratio"],
                    "stack_ratio": stack["init_ratio"],
                    "imports": _import_breakdown(body, max(3, runs // 2), env),
                    "floor_first_ms": floor["total"] * 1000,
                    "first_ms": ours["total"] * 1000,
                    "first_ratio": ours["total_ratio"],
                    "floor_peak_mb": floor["peak"],
                    "peak_mb": ours["peak"],
                }
            )
        return rows
    finally:
        server.stop()


def _built_layer() -> Path | None:
    built = tpl.ROOT / ".aws-sam" / "build" / "CommonLayer" / "python"
    return built if built.is_dir() else None


WARM_REQUESTS = {
    "CreateTicketFunction": ("POST", "/tickets", {"title": "Bench ticket", "tags": ["bench"]}),
    "GetTicketFunction": ("GET", "/tickets/8FC95B0F", None),
    "GetTicketHistoryFunction": ("GET", "/tickets/1001/history?limit=10", None),
    "PatchTicketFunction": ("PATCH", "/tickets/1002", "counter"),
    "AddTaskFunction": ("POST", "/tickets/1003/tasks", {"title": "Bench task"}),
}


def warm(requests: int) -> tuple[float, list[dict]]:
    from moto import mock_aws
    from ticketing import aws

    from devkit import apigw, demo, localstack, metering
    from devkit.inprocess import fast_moto, item_level_transactions

    os.environ.update(localstack.FAKE_ENV)
    rows = []
    with mock_aws(), item_level_transactions(), fast_moto():
        template = tpl.default()
        localstack.apply_environment(template, extra={"AUTH_CACHE_SECONDS": "30"})
        localstack.create_resources(template)
        demo.seed()
        ddb = aws.dynamodb()
        key = {"pk": {"S": "TICKET#1001"}, "sk": {"S": "TICKET"}}
        floor = []
        for _ in range(requests):
            t = time.perf_counter()
            ddb.get_item(TableName="TicketsTable", Key=key)
            floor.append(time.perf_counter() - t)
        floor_ms = statistics.median(floor) * 1000
        headers = {"Authorization": "Bearer tkt_demo_canonical"}
        for logical_id, (method, url, body) in WARM_REQUESTS.items():
            samples, calls = [], []
            for i in range(requests + 1):
                payload = {"metadata": {"n": i}} if body == "counter" else body
                data = json.dumps(payload) if payload else ""
                with metering.aws_calls() as counted:
                    t = time.perf_counter()
                    resp = apigw.request(template, method, url, body=data, headers=headers)
                    elapsed = time.perf_counter() - t
                assert resp["statusCode"] < 300, resp
                if i:  # the first request warms the container's caches
                    samples.append(elapsed)
                    calls.append(sum(counted.values()))
            rows.append(
                {
                    "function": logical_id,
                    "warm_ms": statistics.median(samples) * 1000,
                    "p95_ms": sorted(samples)[int(len(samples) * 0.95) - 1] * 1000,
                    "ddb_calls": statistics.mean(calls),
                    "vs_floor": statistics.median(samples) * 1000 / floor_ms,
                }
            )
    return floor_ms, rows


KAPTURE_SIZES = (1, 25, 100)


def kapture_batch(repeats: int = 3) -> list[dict]:
    """The Kapture batch (``POST /update-ticket-from-other-source.html/v.2.0``) on moto in
    process, for N = 1, 25 and 100 updates, each on its own ticket and with a comment (so each
    one writes), on a freshly seeded store per N: the DynamoDB calls of one batch by operation,
    the most calls in flight at once (the parallel writes), and the median time of a batch as
    moto answers it (one request at a time, as the local run's embedded AWS)."""
    return [_kapture_batch_of(n, repeats) for n in KAPTURE_SIZES]


def _kapture_batch_of(n: int, repeats: int) -> dict:
    import threading

    from moto import mock_aws
    from ticketing import aws, service
    from ticketing.model import SYSTEM

    from devkit import apigw, demo, localstack, metering
    from devkit.inprocess import fast_moto, item_level_transactions, serialised_moto

    os.environ.update(localstack.FAKE_ENV)
    url = "/update-ticket-from-other-source.html/v.2.0"
    headers = [("Authorization", "Basic tkt_demo_kapture"), ("Content-Type", "application/json")]
    terms = ("P", "PS", "OH", "IP")
    lock, flight = threading.Lock(), {"now": 0, "most": 0}

    def before(**_):
        with lock:
            flight["now"] += 1
            flight["most"] = max(flight["most"], flight["now"])

    def after(**_):
        with lock:
            flight["now"] -= 1

    with mock_aws(), serialised_moto(), item_level_transactions(), fast_moto():
        template = tpl.default()
        localstack.apply_environment(template, extra={"AUTH_CACHE_SECONDS": "30"})
        localstack.create_resources(template)
        demo.seed()
        created = [service.create_ticket(service.NewTicket(title=f"Bench {i}"), SYSTEM).id for i in range(n - 7)]
        ids = [*range(1001, 1008), *created][:n]

        fn = template.functions()["KaptureUpdateTicketFunction"]
        route = fn.routes[0]

        def send(r: int) -> tuple[float, dict]:
            body = [
                {"ticket_id": str(t), "sub_status": terms[(i + r) % len(terms)], "comment": f"bench {r}"}
                for i, t in enumerate(ids)
            ]
            event = apigw.build_event(
                method="POST", path=url, route=route, path_params=None, headers=headers, body=json.dumps(body).encode()
            )
            # moto's time per write grows with the table: give the handler all the time it needs
            # (the function's 20 s would cut a slow batch short: its last updates answer 503)
            context = apigw.LambdaContext(fn.logical_id, fn.memory, 900, f"bench-{r}", "arn:aws:lambda:::function:k")
            with metering.aws_calls() as counted:
                t0 = time.perf_counter()
                resp = apigw.load_handler(fn)(event, context)
                elapsed = time.perf_counter() - t0
            assert resp["statusCode"] == 200, resp["body"][:500]
            return elapsed, dict(counted)

        send(0)  # a warm container: the client's key and the catalog cached
        client = aws.dynamodb()
        client.meta.events.register("before-call.dynamodb.*", before, unique_id="bench-kapture-before")
        client.meta.events.register("after-call.dynamodb.*", after, unique_id="bench-kapture-after")
        try:
            runs = [send(r) for r in range(1, repeats + 1)]
        finally:
            client.meta.events.unregister("before-call.dynamodb.*", unique_id="bench-kapture-before")
            client.meta.events.unregister("after-call.dynamodb.*", unique_id="bench-kapture-after")
    localstack.reset_caches()
    by_op = runs[-1][1]
    return {
        "n": n,
        "calls": sum(by_op.values()),
        "writes": by_op.get("TransactWriteItems", 0),
        "batch_reads": by_op.get("BatchGetItem", 0),
        "in_flight": flight["most"],
        "ms": statistics.median(r[0] for r in runs) * 1000,
    }


def local_run(requests: int, cwd: Path | None = None) -> dict[str, float]:
    """The local run (this checkout's, or the one in ``cwd``): seconds from start until it
    answers, and its request round trip."""
    from devkit import serve

    started = time.perf_counter()
    with serve.spawned(cwd=cwd) as url:
        return _local_figures(url, requests, started)


def _local_figures(url: str, requests: int, started: float) -> dict[str, float]:
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    headers = {"Authorization": "Bearer tkt_demo_canonical"}
    conn.request("GET", "/tickets/1001", headers=headers)
    conn.getresponse().read()
    ready = time.perf_counter() - started
    samples = []
    for _ in range(requests):
        t = time.perf_counter()
        conn.request("GET", "/tickets/1001", headers=headers)
        resp = conn.getresponse()
        resp.read()
        samples.append(time.perf_counter() - t)
        assert resp.status == 200
    conn.close()
    return {
        "ready_s": ready,
        "median_ms": statistics.median(samples) * 1000,
        "p95_ms": sorted(samples)[int(len(samples) * 0.95) - 1] * 1000,
        "rps": len(samples) / sum(samples),
    }


BURST = 100  # simultaneous new connections


def burst(url: str, n: int = BURST) -> dict[str, int]:
    """``n`` new connections at once, each sending one GET: how many were answered, reset or
    failed otherwise."""
    import http.client
    import threading
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    barrier, lock = threading.Barrier(n), threading.Lock()
    out = {"answered": 0, "reset": 0, "other": 0}

    def one() -> None:
        try:
            barrier.wait(timeout=30)
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
            conn.request("GET", "/tickets/1001", headers={"Authorization": "Bearer tkt_demo_canonical"})
            conn.getresponse().read()
            conn.close()
            kind = "answered"
        except (ConnectionResetError, BrokenPipeError, ConnectionRefusedError):
            kind = "reset"
        except Exception:
            kind = "other"
        with lock:
            out[kind] += 1

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return out


def kapture_over_http(url: str, n: int = 100, repeats: int = 3) -> dict[str, float]:
    """Kapture batches of ``n`` updates (each on its own ticket, with a comment) sent to the local
    run: the median wall time of a batch, and how many of its updates succeeded."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    canonical = {"Authorization": "Bearer tkt_demo_canonical", "Content-Type": "application/json"}
    ids = list(range(1001, 1008))
    while len(ids) < n:
        conn.request("POST", "/tickets", body=json.dumps({"title": f"Bench {len(ids)}"}), headers=canonical)
        ids.append(json.loads(conn.getresponse().read())["id"])
    headers = {"Authorization": "Basic tkt_demo_kapture", "Content-Type": "application/json"}
    terms = ("P", "PS", "OH", "IP")
    times, succeeded = [], 0
    for r in range(repeats + 1):
        body = [
            {"ticket_id": str(t), "sub_status": terms[(i + r) % len(terms)], "comment": f"bench {r}"}
            for i, t in enumerate(ids[:n])
        ]
        t0 = time.perf_counter()
        conn.request("POST", "/update-ticket-from-other-source.html/v.2.0", body=json.dumps(body), headers=headers)
        answer = json.loads(conn.getresponse().read())
        elapsed = time.perf_counter() - t0
        if r:  # the first warms the functions' caches
            times.append(elapsed)
            succeeded = sum(1 for a in answer if a.get("status") == "success")
    conn.close()
    return {"ms": statistics.median(times) * 1000, "succeeded": succeeded, "n": n}


LOAD_PROCESSES, LOAD_REQUESTS = 4, 60
BASELINE = "03786c4"  # the local run before issue 19: http.server in front, the handlers calling moto over HTTP
BASELINE_FIGURES = {  # issue 19's figures for it, when its checkout cannot be made here
    "median_ms": 25.0,
    "rps": 31.0,
    "load_rps": 9.1,
    "load_median_ms": 401.0,
    "load_p95_ms": 782.0,
    "kapture_ms": 1350.0,
}


def local_run_load(processes: int = LOAD_PROCESSES, requests: int = LOAD_REQUESTS, url: str | None = None) -> dict:
    """The local run under ``devkit.load``: client processes changing the same demo tickets
    through every dialect at once (a fresh local run on free ports, or the one at ``url``); its
    throughput and latency, and what the load run's checks found (5xx, lost updates)."""
    from devkit import load

    if url is not None:
        report = load.run(url, processes=processes, requests=requests, reset=True)
    else:
        with load.local_run() as started:
            report = load.run(started, processes=processes, requests=requests)
    if not report.ok:
        print(report.render(), file=sys.stderr)
    return report.figures()


def _baseline_checkout(commit: str = BASELINE) -> Path | None:
    """The repository at ``commit`` in a temporary folder (``git archive``: no worktree), or None."""
    import subprocess
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="bench-baseline-"))
    try:
        archive = subprocess.run(
            ["git", "-C", str(tpl.ROOT), "archive", commit], check=True, capture_output=True, timeout=120
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as err:
        print(f"bench: no checkout of {commit} ({err}); quoting issue 19's figures for it", file=sys.stderr)
        return None
    return folder


def local_compare(requests: int) -> dict[str, dict[str, Any] | None]:
    """The local run before issue 19 (``BASELINE``, checked out beside) and now, one after the
    other in this run: sequential GETs, a burst of new connections, a Kapture batch of 100 over
    HTTP, the 4-process load.  {"before": figures or None, "now": figures}."""
    import shutil

    from devkit import serve

    out: dict[str, dict[str, Any] | None] = {}
    baseline = _baseline_checkout()
    for label, cwd in (("before", baseline), ("now", None)):
        if label == "before" and cwd is None:
            out[label] = None
            continue
        started = time.perf_counter()
        with serve.spawned(cwd=cwd, log_level="WARNING") as url:
            figures: dict[str, Any] = _local_figures(url, requests, started)
            figures["burst"] = burst(url)
            figures["kapture"] = kapture_over_http(url)
            figures.update({f"load_{k}": v for k, v in local_run_load(url=url).items()})
        out[label] = figures
    if baseline is not None:
        shutil.rmtree(baseline, ignore_errors=True)
    return out


# -- concurrent writers on one ticket, against the local run -----------------------------------------
WRITER_COUNTS = (1, 10, 50)
WRITER_REPEATS = 3
WRITERS_TICKET = {  # the fresh ticket of every run (canonical POST /tickets), and of the capacity section
    "type": "incident",
    "title": "Bench: one ticket, many writers",
    "status": "open",
    "sub_status": "assigned",  # servicedesk state Assigned (IncidentAssignOther allowed), Kapture term AS
    "description": "Created by devkit.bench for concurrent writers.",
    "queue": "facilities",
    "priority": 2,
    "tags": ["bench"],
    "tasks": [{"title": "Partner work"}],  # MyHRW's partner tickets live on task 1
}
WRITERS_TASK, WRITERS_FLOW, WRITERS_TERM = 1, "OPEN", "AS"  # the ticket's ParticleSpace flow and Kapture term
SHARED_PARTNER_TICKET = "BENCH-SHARED"
VARIANTS = ("different", "same")  # each writer a field of its own; the writers of a dialect one shared field


@dataclass
class BenchTicket:
    id: int
    number: str
    key: str
    ref: str


def _operator_user(key: str) -> int:
    from devkit.demo_servicedesk import OPERATORS

    return OPERATORS[key]["user_id"]


def writer_op(dialect: str, variant: str, i: int, ticket: BenchTicket, creds: dict, tag: str) -> Any:
    """Writer ``i``'s request (``devkit.load``'s builders) on ``ticket``, in ``variant``:

    * ``different``: canonical and SPP each set a metadata key of their own; Kapture adds a comment
      and an extra key of its own (sub_status sent as the ticket shows it: AS); MyHRW replaces a
      partner ticket of its own (task 1, created before the run); ParticleSpace's PUT replaces title,
      description and flow together, so its writers share the description (title and flow sent as
      they are); servicedesk pushes IncidentAssignOther to one operator for all (allowed while the
      incident is Assigned; it changes nothing after the first, yet every push is audited).
    * ``same``: the title (canonical ``title``, SPP ``subject``, ParticleSpace ``title``), and for the
      dialects that cannot write a title, one field shared by all their writers: Kapture the
      disposition, servicedesk the assignee (IncidentAssignOther, the three operators in turn),
      MyHRW one shared partner ticket's description.

    ``expect``: ``own`` = (field, value) pairs the ticket must show afterwards; ``last`` = (field,
    value) where the accepted write with the highest audit version must have won."""
    auth = {d: next(iter(labels.values())) for d, labels in creds.items()}
    value = f"{tag} w{i}"
    if dialect == "canonical":
        if variant == "different":
            key = f"c_{tag}_{i}"
            return load.canonical_patch(
                auth[dialect], ticket.id, {"metadata": {key: i}}, expect={"own": [(f"metadata.{key}", i)]}
            )
        return load.canonical_patch(
            auth[dialect], ticket.id, {"title": value}, op="patch_title", expect={"last": ("title", value)}
        )
    if dialect == "spp":
        if variant == "different":
            key = f"s_{tag}_{i}"
            return load.spp_put(
                auth[dialect], ticket.number, {"metadata": {key: value}}, expect={"own": [(f"metadata.{key}", value)]}
            )
        return load.spp_put(
            auth[dialect], ticket.number, {"subject": value}, op="put_subject", expect={"last": ("title", value)}
        )
    if dialect == "myhrw":
        pid = f"BENCH-{i}" if variant == "different" else SHARED_PARTNER_TICKET
        body = {"id": pid, "status": "Open", "priority": "3 - Moderate", "description": value}
        field = f"partner.{pid}"
        expect = {"own": [(field, value)]} if variant == "different" else {"last": (field, value)}
        return load.myhrw_replace(auth[dialect], ticket.id, WRITERS_TASK, pid, body, expect=expect)
    if dialect == "particlespace":
        form = {
            "title": value if variant == "same" else WRITERS_TICKET["title"],
            "description": value if variant == "different" else WRITERS_TICKET["description"],
            "status": WRITERS_FLOW,
            "notify": "0",
            "automated": "0",
        }
        expect = {"last": ("description" if variant == "different" else "title", value)}
        return load.particlespace_put(auth[dialect], ticket.key, form, expect=expect)
    if dialect == "kapture":
        update = {"ticket_id": str(ticket.id), "sub_status": WRITERS_TERM}
        if variant == "different":
            key = f"k_{tag}_{i}"
            update |= {"comment": f"comment {value}", key: value}
            expect = {"own": [(f"extra.{key}", value)], "comment": update["comment"]}
        else:
            update["disposition"] = value
            expect = {"last": ("disposition", value)}
        return load.kapture_batch(auth[dialect], [update], expect=expect)
    operator = load.OPERATORS[0 if variant == "different" else i % len(load.OPERATORS)]
    user = _operator_user(operator)
    expect = {"own": [("assignee", user)]} if variant == "different" else {"last": ("assignee", user)}
    return load.workflow_push(
        auth["servicedesk"],
        ticket.ref,
        "IncidentAssignOther",
        {"UserProviderKey": operator},
        expect=expect,
    )


def _field(doc: dict, field: str) -> Any:
    """``field`` of the canonical ticket ``doc``: ``title``, ``metadata.<key>``, ``extra.<key>``,
    ``assignee`` (the only assignee), ``partner.<id>`` (that partner ticket's description)."""
    if field == "assignee":
        return doc["assignee_ids"][0] if len(doc["assignee_ids"]) == 1 else doc["assignee_ids"]
    kind, _, name = field.partition(".")
    if kind in ("metadata", "extra"):
        return doc[kind].get(name)
    if kind == "partner":
        task = next(t for t in doc["tasks"] if t["id"] == WRITERS_TASK)
        return next((pt["description"] for pt in task["partner_tickets"] if pt["id"] == name), None)
    return doc[field]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else 0.0


def _writers_run(url: str, creds: dict, variant: str, n: int, offset: int) -> dict:
    """One run: a fresh ticket, ``n`` writers (dialects in turn from ``offset``), each on its own
    kept-alive connection, released together by a barrier; then the ticket and its history."""
    import threading
    import uuid

    canonical = {"Authorization": creds["canonical"]["canonical"]}
    conn = load.Connection(url)
    headers = {**canonical, "Content-Type": "application/json"}
    status, _, data = conn.send("POST", "/tickets", headers, json.dumps(WRITERS_TICKET).encode())
    if status != 201:
        raise RuntimeError(f"POST /tickets: {status} {data[:300]!r}")
    created = json.loads(data)
    ticket = BenchTicket(created["id"], created["number"], created["key"], created["ref"])
    tag = uuid.uuid4().hex[:6]
    dialects = [load.DIALECTS[(i + offset) % len(load.DIALECTS)] for i in range(n)]
    partner_ids = [f"BENCH-{i}" for i, d in enumerate(dialects) if d == "myhrw"] if variant == "different" else []
    if variant == "same" and "myhrw" in dialects:
        partner_ids = [SHARED_PARTNER_TICKET]
    for pid in partner_ids:  # before the run: the partner tickets the writers replace
        op = load.myhrw_create(creds["myhrw"]["myhrw"], ticket.id, WRITERS_TASK, {"id": pid, "status": "New"})
        status, _, data = conn.send(op.method, op.path, op.headers, op.body)
        if status != 201:
            raise RuntimeError(f"partner ticket {pid}: {status} {data[:300]!r}")
    start_version = conn.json("GET", f"/tickets/{ticket.id}", canonical)["version"]
    ops = [writer_op(d, variant, i, ticket, creds, tag) for i, d in enumerate(dialects)]
    barrier = threading.Barrier(n)
    records: list[dict | None] = [None] * n

    def writer(i: int) -> None:
        own = load.Connection(url)
        try:
            own.send("GET", "/_local/health")  # connected (and the server's thread up) before the barrier
            barrier.wait(timeout=60)
            records[i] = load._send(own, 0, i, ops[i])
        finally:
            own.close()

    threads = [threading.Thread(target=writer, args=(i,), name=f"writer-{i}") for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        after = conn.json("GET", f"/tickets/{ticket.id}", canonical)
        history = load.history(conn, creds, ticket.id)
        messages = load.messages(conn, creds, ticket.id) if "kapture" in dialects and variant == "different" else {}
    finally:
        conn.close()
    return _writers_verify([r for r in records if r is not None], n, start_version, after, history, messages)


def _writers_verify(
    records: list[dict], n: int, start_version: int, after: dict, history: list, messages: dict
) -> dict:
    """Accepted and refused requests; lost updates (an accepted change with no audit entry of its
    request, or not in the ticket); whether the history's versions are 1..version, each once."""
    versions = sorted(e["version"] for e in history)
    by_request: dict[str, list[dict]] = defaultdict(list)
    for e in history:
        if e["version"] > start_version:
            by_request[e["request_id"]].append(e)
    out = {
        "sent": n,
        "answered": len(records),
        "accepted": 0,
        "refused": Counter(),
        "by_dialect": defaultdict(lambda: [0, 0]),  # dialect -> [accepted, sent]
        "latencies": [],
        "lost": [],
        "anomalies": [],  # audited twice, refused yet audited, audit entries of no request
        "contiguous": versions == list(range(1, after["version"] + 1)),
    }
    if len(records) < n:  # a writer that never sent (its thread failed before the request)
        out["refused"]["unanswered"] += n - len(records)
    last: dict[str, tuple[int, Any, str]] = {}  # field -> (version, value, request) of the last accepted writer
    for rec in records:
        op, status = rec["op"], rec["status"]
        out["by_dialect"][op["dialect"]][1] += 1
        if status is None:
            out["refused"]["unanswered"] += 1
            continue
        out["latencies"].append(rec["ms"])
        rid = rec["request_id"]
        entries = by_request.get(rid, [])
        if not 200 <= status < 300:
            out["refused"][status] += 1
            if entries:
                out["anomalies"].append(
                    f"refused {op['dialect']} request {rid} ({status}) has {len(entries)} audit entries"
                )
            continue
        out["accepted"] += 1
        out["by_dialect"][op["dialect"]][0] += 1
        where = f"{op['dialect']} {op['op']} (request {rid})"
        if not entries:
            out["lost"].append(f"{where}: accepted, no audit entry")
            continue
        if len(entries) > 1:
            out["anomalies"].append(f"{where}: {len(entries)} audit entries")
        expect = op["expect"]
        for field, value in expect.get("own", []):
            if _field(after, field) != value:
                out["lost"].append(f"{where}: {field} is {_field(after, field)!r}, not {value!r}")
        if "comment" in expect:
            element = (rec.get("answer", {}).get("elements") or [{}])[0]
            if messages.get(element.get("seq")) != expect["comment"]:
                out["lost"].append(f"{where}: comment {element.get('seq')} is {messages.get(element.get('seq'))!r}")
        if "last" in expect:
            field, value = expect["last"]
            version = entries[0]["version"]
            if field not in last or last[field][0] < version:
                last[field] = (version, value, where)
    for field, (version, value, where) in last.items():
        if _field(after, field) != value:
            out["lost"].append(
                f"{field} is {_field(after, field)!r}, not {value!r} of the last accepted write, {where} (v{version})"
            )
    known = {rec.get("request_id") for rec in records}
    for rid, entries in by_request.items():
        if rid not in known:
            out["anomalies"].append(
                f"audit entries v{[e['version'] for e in entries]} of no request of the run ({rid})"
            )
    return out


def concurrent_writers(counts: tuple[int, ...] = WRITER_COUNTS, repeats: int = WRITER_REPEATS) -> list[dict]:
    """For each variant and writer count: ``repeats`` runs (one per dialect for a single writer,
    so each dialect's lone write is timed too), each on a fresh ticket of one local run, after a
    first run per variant (not counted) that loads every dialect's handler."""
    rows = []
    with load.local_run() as url:
        conn = load.Connection(url)
        try:
            creds = conn.json("GET", "/_local/credentials")
        finally:
            conn.close()
        for variant in VARIANTS:  # not counted: every dialect's handler loaded in the local run
            _writers_run(url, creds, variant, len(load.DIALECTS), 0)
        for variant in VARIANTS:
            for n in counts:
                runs = [
                    _writers_run(url, creds, variant, n, r) for r in range(len(load.DIALECTS) if n == 1 else repeats)
                ]
                by_dialect: dict[str, list[int]] = defaultdict(lambda: [0, 0])
                refused: Counter = Counter()
                for run in runs:
                    refused.update(run["refused"])
                    for d, (a, s) in run["by_dialect"].items():
                        by_dialect[d][0] += a
                        by_dialect[d][1] += s
                latencies = [ms for run in runs for ms in run["latencies"]]
                sent = sum(run["sent"] for run in runs)
                rows.append(
                    {
                        "variant": variant,
                        "writers": n,
                        "runs": len(runs),
                        "sent": sent,
                        "accepted": sum(run["accepted"] for run in runs),
                        "refused": dict(refused),
                        "refusal_rate": sum(refused.values()) / sent if sent else 0.0,
                        "p50_ms": _percentile(latencies, 0.5),
                        "p95_ms": _percentile(latencies, 0.95),
                        "lost": sum(len(run["lost"]) for run in runs),
                        "lost_examples": [x for run in runs for x in run["lost"]][:3],
                        "anomalies": [x for run in runs for x in run["anomalies"]],
                        "contiguous": sum(run["contiguous"] for run in runs),
                        "by_dialect": {d: tuple(by_dialect[d]) for d in load.DIALECTS if d in by_dialect},
                    }
                )
    return rows


# -- DynamoDB capacity units, by DynamoDB's documented rules ---------------------------------------
READ_UNIT_BYTES, WRITE_UNIT_BYTES = 4096, 1024


def read_units(size: int, *, consistent: bool = True) -> float:
    """Read request units of reading ``size`` bytes: 1 per 4 KB, rounded up (at least 1, also
    for an item that is not there); half that when eventually consistent."""
    units = max(1, -(-size // READ_UNIT_BYTES))
    return float(units) if consistent else units / 2


def write_units(size: int) -> int:
    """Write request units of writing an item of ``size`` bytes (the larger of the item before and
    after): 1 per 1 KB, rounded up, at least 1."""
    return max(1, -(-size // WRITE_UNIT_BYTES))


class CapacityMeter:
    """``before-call``/``after-call`` hooks on a DynamoDB client: its calls by operation and their
    read and write request units by the rules above (transactional items twice).  The items a
    write targets are read before and after it through ``reader``, another client: those reads are
    the meter's own and are not counted.  Thread-safe (the Kapture batch writes on threads)."""

    def __init__(self, client: Any, reader: Any):
        import threading

        self.client, self.reader = client, reader
        self.calls: Counter = Counter()
        self.rru: Counter = Counter()
        self.wru: Counter = Counter()
        self.writes: list[tuple[str, str, str, int, int]] = []  # (operation, element, sort key, before, after)
        self._keys: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self._id = f"bench-capacity-{id(self)}"

    def __enter__(self) -> CapacityMeter:
        events = self.client.meta.events
        events.register("before-call.dynamodb.*", self._before, unique_id=self._id + "-before")
        events.register("after-call.dynamodb.*", self._after, unique_id=self._id + "-after")
        return self

    def __exit__(self, *_: Any) -> None:
        events = self.client.meta.events
        events.unregister("before-call.dynamodb.*", unique_id=self._id + "-before")
        events.unregister("after-call.dynamodb.*", unique_id=self._id + "-after")

    # -- the items a write targets, before and after ------------------------------------------------
    def _key(self, table: str, item: dict[str, Any]) -> dict[str, Any]:
        if table not in self._keys:
            schema = self.reader.describe_table(TableName=table)["Table"]["KeySchema"]
            self._keys[table] = [k["AttributeName"] for k in schema]
        return {name: item[name] for name in self._keys[table]}

    def _read(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        return self.reader.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")

    @staticmethod
    def _targets(op: str, api: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
        """(element kind, table, element) of each item a write call targets."""
        if op in ("PutItem", "UpdateItem", "DeleteItem"):
            return [(op.removesuffix("Item"), api["TableName"], api)]
        if op == "TransactWriteItems":
            return [
                (kind, body["TableName"], body) for element in api["TransactItems"] for kind, body in element.items()
            ]
        if op == "BatchWriteItem":
            return [
                (kind.removesuffix("Request"), table, body)
                for table, requests in api["RequestItems"].items()
                for request in requests
                for kind, body in request.items()
            ]
        return []

    def _before(self, model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        api = json.loads(params.get("body") or b"{}")  # DynamoDB's JSON protocol: the body is the call
        targets = []
        for kind, table, body in self._targets(model.name, api):
            key = self._key(table, body["Item"]) if kind == "Put" else body["Key"]
            targets.append((kind, table, body, key, self._read(table, key)))
        context["bench_capacity"] = (api, targets)

    def _after(self, model: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        api, targets = context.pop("bench_capacity", ({}, []))
        op, rru, wru = model.name, 0.0, 0
        if op == "GetItem":
            rru = read_units(item_size(parsed.get("Item")), consistent=bool(api.get("ConsistentRead")))
        elif op == "BatchGetItem":
            for table, spec in api["RequestItems"].items():
                consistent = bool(spec.get("ConsistentRead"))
                found = parsed.get("Responses", {}).get(table, [])
                unprocessed = len(parsed.get("UnprocessedKeys", {}).get(table, {}).get("Keys", []))
                missing = len(spec["Keys"]) - len(found) - unprocessed  # a key with no item: the minimum
                rru += sum(read_units(item_size(i), consistent=consistent) for i in found)
                rru += missing * read_units(0, consistent=consistent)
        elif op in ("Query", "Scan"):  # the items' sizes summed, then rounded up
            rru = read_units(
                sum(item_size(i) for i in parsed.get("Items", [])), consistent=bool(api.get("ConsistentRead"))
            )
        elif op == "TransactGetItems":
            rru = sum(2 * read_units(item_size(r.get("Item"))) for r in parsed.get("Responses", []))
        factor = 2 if op == "TransactWriteItems" else 1
        writes = []
        for kind, table, body, key, before in targets:
            if kind == "ConditionCheck":
                rru += factor * read_units(item_size(before))
                continue
            after = body["Item"] if kind == "Put" else None if kind == "Delete" else self._read(table, key)
            size_before, size_after = item_size(before), item_size(after)
            wru += factor * write_units(max(size_before, size_after))
            sort_key = next((v.get("S", "") for name, v in key.items() if name == "sk"), "")
            writes.append((op, kind, sort_key, size_before, size_after))
        with self._lock:
            self.calls[op] += 1
            self.rru[op] += rru
            self.wru[op] += wru
            self.writes += writes


CAPACITY_BATCH_SIZES = KAPTURE_SIZES
CAPACITY_DEMO_TICKET = 1001  # the largest demo ticket: two tasks, three partner tickets (~1.7 KB)


def capacity() -> dict:
    """On moto in process (the client's key and the catalog cached by a first request): one
    update of a fresh ticket through each dialect's handler (the requests of the writers section's
    first variant), then Kapture batches of N updates, each on its own fresh ticket with a comment;
    the DynamoDB calls of each and their request units (``CapacityMeter``)."""
    import boto3
    from moto import mock_aws
    from ticketing import aws, service
    from ticketing.model import SYSTEM

    from devkit import apigw, demo, localstack
    from devkit.inprocess import item_level_transactions, serialised_moto

    os.environ.update(localstack.FAKE_ENV)
    out: dict[str, Any] = {"single": [], "batch": []}
    with mock_aws(), serialised_moto(), item_level_transactions():
        template = tpl.default()
        localstack.apply_environment(template, extra={"AUTH_CACHE_SECONDS": "300"})
        localstack.create_resources(template)
        demo.seed()
        creds = demo.credentials()
        reader = boto3.client("dynamodb")
        spec = service.NewTicket.model_validate(WRITERS_TICKET)

        def fresh() -> BenchTicket:
            t = service.create_ticket(spec, SYSTEM)
            return BenchTicket(t.id, t.number, t.key, service.current_ref(t))

        def send(op: Any) -> dict:
            resp = apigw.request(template, op.method, op.path, body=op.body, headers=op.headers)
            assert resp["statusCode"] < 300, resp.get("body", "")[:500]
            return resp

        def prepared(dialect: str, tag: str, ticket: BenchTicket | None = None) -> Any:
            ticket = ticket or fresh()
            if dialect == "myhrw":  # the partner ticket the update replaces
                send(
                    load.myhrw_create(
                        creds["myhrw"]["myhrw"], ticket.id, WRITERS_TASK, {"id": "BENCH-0", "status": "New"}
                    )
                )
            return writer_op(dialect, "different", 0, ticket, creds, tag)

        def demo_copy() -> BenchTicket:
            """A copy of the demo ticket (its tasks, partner tickets, SPP requester and order) under a new id."""
            repo = service.repository()
            key = {"pk": {"S": f"TICKET#{CAPACITY_DEMO_TICKET}"}, "sk": {"S": "TICKET"}}
            item = reader.get_item(TableName=repo.table, Key=key, ConsistentRead=True)["Item"]
            new = repo.allocate_id()
            reader.put_item(TableName=repo.table, Item={**item, "pk": {"S": f"TICKET#{new}"}, "id": {"N": str(new)}})
            t = service.get_ticket(new)
            return BenchTicket(t.id, t.number, t.key, service.current_ref(t))

        for dialect, which in itertools.product(load.DIALECTS, ("fresh", "demo")):
            if which == "fresh":
                send(prepared(dialect, "warm"))  # the client's key cached, the handler loaded
            op = prepared(dialect, "measured", demo_copy() if which == "demo" else None)
            with CapacityMeter(aws.dynamodb(), reader) as meter:
                send(op)
            ticket_writes = [w for w in meter.writes if w[2] == "TICKET"]
            out["single"].append(
                {
                    "dialect": dialect,
                    "ticket": which,
                    "calls": dict(meter.calls),
                    "rru": sum(meter.rru.values()),
                    "wru": sum(meter.wru.values()),
                    "ticket_before": ticket_writes[0][3] if ticket_writes else 0,
                    "ticket_after": ticket_writes[0][4] if ticket_writes else 0,
                    "items": [(w[1], w[2].split("#")[0], max(w[3], w[4])) for w in meter.writes],
                }
            )
        for n in CAPACITY_BATCH_SIZES:
            tickets = [fresh() for _ in range(n)]
            updates = [
                {"ticket_id": str(t.id), "sub_status": WRITERS_TERM, "comment": f"bench batch of {n} #{k}"}
                for k, t in enumerate(tickets)
            ]
            op = load.kapture_batch(creds["kapture"]["kapture"], updates)
            fn = template.functions()["KaptureUpdateTicketFunction"]
            event = apigw.build_event(
                method="POST",
                path=op.path,
                route=fn.routes[0],
                path_params=None,
                headers=list(op.headers.items()),
                body=op.body,
            )
            # moto is slow with a large table: the handler gets all the time it needs (see kapture_batch)
            context = apigw.LambdaContext(
                fn.logical_id, fn.memory, 900, f"bench-cap-{n}", "arn:aws:lambda:::function:k"
            )
            with CapacityMeter(aws.dynamodb(), reader) as meter:
                resp = apigw.load_handler(fn)(event, context)
            assert resp["statusCode"] == 200, resp["body"][:500]
            out["batch"].append(
                {"n": n, "calls": dict(meter.calls), "rru": sum(meter.rru.values()), "wru": sum(meter.wru.values())}
            )
    localstack.reset_caches()
    return out


SECTIONS = ["cold", "warm", "kapture", "local", "load", "writers", "capacity"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=7, help="fresh interpreters per cold measurement")
    p.add_argument("--requests", type=int, default=100, help="warm requests per function")
    p.add_argument("--markdown", type=Path, help="also write the figures to this file")
    p.add_argument(
        "--sections",
        nargs="+",
        choices=SECTIONS,
        default=SECTIONS,
        help="measure only these (default: all)",
    )
    args = p.parse_args(argv)
    functions = tpl.default().functions()
    lines = [
        f"# Benchmarks\n\nMade by `make bench` (`python -m devkit.bench --runs {args.runs} --requests "
        f"{args.requests}`) on {os.cpu_count()} cores, Python {sys.version.split()[0]}. Cold starts use "
        + (
            "the built layer (`.aws-sam/build`, bytecode precompiled) in a venv holding only boto3, as the "
            "Lambda runtime does."
            if _built_layer()
            else "the layer's source (run `make build` first to measure the built layer)."
        )
        + "\n"
    ]
    if "cold" in args.sections:
        lines += _cold_section(functions, args.runs)
    if "warm" in args.sections:
        lines += _warm_section(args.requests)
    if "kapture" in args.sections:
        lines += _kapture_section()
    if "local" in args.sections:
        lines += _local_section(args.requests)
    if "load" in args.sections:
        lines += _load_section()
    if "writers" in args.sections:
        lines += _writers_section()
    if "capacity" in args.sections:
        lines += _capacity_section()
    text = "\n".join(lines) + "\n"
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
    return 0


def _cold_section(functions: dict[str, tpl.Function], runs: int) -> list[str]:
    rows = cold(functions, runs)
    lines = ["## Cold start (median of fresh interpreters, moto server as the AWS)\n"]
    lines.append(
        "Floor: a bare handler that imports boto3 and builds a DynamoDB client (init), then makes one "
        "GetItem (first request). Stack: the floor plus what the brief fixes for every function -- "
        "pydantic v2 with one model built and used, Powertools' Logger and Metrics. Ours: the function's "
        "handler module with the layer, its DynamoDB client (init), then its first fixture through the "
        "handler (first request). Ratios are the median of ratios taken within each round (floor, stack, "
        "ours, in turn). The goal was init ratio <= 1.10.\n"
    )
    lines.append(
        "| function | floor init ms | stack init ms | init ms | stack ratio | init ratio "
        "| floor init+1st ms | init+1st ms | ratio | floor peak MB | peak MB |"
    )
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        lines.append(
            f"| {row['function']} | {row['floor_init_ms']:.1f} | {row['stack_init_ms']:.1f} | "
            f"{row['init_ms']:.1f} | {row['stack_ratio']:.2f} | {row['init_ratio']:.2f} | "
            f"{row['floor_first_ms']:.1f} | {row['first_ms']:.1f} | "
            f"{row['first_ratio']:.2f} | {row['floor_peak_mb']:.0f} | {row['peak_mb']:.0f} |"
        )
    if rows:
        lines.append(
            f"\nAcross functions (median): init ratio {statistics.median(r['init_ratio'] for r in rows):.2f}, "
            f"of which the stack alone {statistics.median(r['stack_ratio'] for r in rows):.2f}.\n"
        )
    groups = list(rows[0]["imports"]) if rows else []
    lines.append(
        "\nWhat the init is made of: module-level import work per package group (median ms of "
        "`python -X importtime` self times; building the client is not an import and is not counted).\n"
    )
    lines.append("| function | " + " | ".join(f"{g} ms" for g in groups) + " |")
    lines.append("|---|" + "---:|" * len(groups))
    for row in rows:
        lines.append(f"| {row['function']} | " + " | ".join(f"{row['imports'][g]:.1f}" for g in groups) + " |")
    layer = _built_layer()
    if layer:
        size = sum(f.stat().st_size for f in layer.rglob("*") if f.is_file())
        lines.append(
            f"\nBuilt layer (unzipped, both architectures' binaries): {size / 1e6:.1f} MB, "
            f"{size / 250e6:.1%} of Lambda's 250 MB limit for a function and its layers.\n"
        )
    return lines


def _warm_section(requests: int) -> list[str]:
    floor_ms, rows = warm(requests)
    lines = [f"\n## Warm requests on moto in process (floor: one bare GetItem = {floor_ms:.2f} ms)\n"]
    lines.append("| function | median ms | p95 ms | x floor | DynamoDB calls / request |")
    lines.append("|---|---:|---:|---:|---:|")
    for row in rows:
        lines.append(
            f"| {row['function']} | {row['warm_ms']:.2f} | {row['p95_ms']:.2f} | {row['vs_floor']:.1f} "
            f"| {row['ddb_calls']:.2f} |"
        )
    return lines


def _kapture_section() -> list[str]:
    lines = ["\n## Kapture batch on moto in process (`POST /update-ticket-from-other-source.html/v.2.0`)\n"]
    lines.append(
        "N updates, each on its own ticket with a comment, on a freshly seeded store per N; the client's key "
        "and the catalog cached. Calls: the DynamoDB calls of one batch (one read and one write per update "
        "would be 2N, one after the other). In flight: the most calls under way at once (the writes run on "
        "up to 10 threads). Time: median of 3 batches as moto answers them, one request at a time (with "
        "the embedded AWS's item-level transaction rollback and faster answers: devkit/inprocess.py).\n"
    )
    lines.append("| N | DynamoDB calls | per update | TransactWriteItems | BatchGetItem | in flight | median ms |")
    lines.append("|---:|---:|---:|---:|---:|---:|---:|")
    for row in kapture_batch():
        lines.append(
            f"| {row['n']} | {row['calls']} | {row['calls'] / row['n']:.2f} | {row['writes']} | "
            f"{row['batch_reads']} | {row['in_flight']} | {row['ms']:.1f} |"
        )
    return lines


GOALS = {
    "median_ms": ("<=", 5.0),
    "rps": (">=", 150.0),
    "load_rps": (">=", 60.0),
    "load_p95_ms": ("<=", 100.0),
    "resets": ("==", 0),
    "kapture_ms": ("<=", 500.0),
    "load_lost": ("==", 0),
}


def _flat(fig: dict[str, Any] | None) -> dict[str, Any] | None:
    if fig is None:
        return None
    return {
        "ready_s": fig["ready_s"],
        "median_ms": fig["median_ms"],
        "p95_ms": fig["p95_ms"],
        "rps": fig["rps"],
        "answered": fig["burst"]["answered"],
        "resets": fig["burst"]["reset"] + fig["burst"]["other"],
        "kapture_ms": fig["kapture"]["ms"],
        "kapture_ok": fig["kapture"]["succeeded"],
        "load_rps": fig["load_rps"],
        "load_median_ms": fig["load_median_ms"],
        "load_p95_ms": fig["load_p95_ms"],
        "load_5xx": fig["load_server_errors"],
        "load_lost": fig["load_lost"],
    }


def _met(key: str, value: float) -> str:
    op, goal = GOALS[key]
    ok = {"<=": value <= goal, ">=": value >= goal, "==": value == goal}[op]
    return "met" if ok else "**not met**"


def _local_section(requests: int) -> list[str]:
    both = local_compare(requests)
    now, before = _flat(both["now"]), _flat(both["before"])
    quoted = before is None
    if before is None:
        before = {k: BASELINE_FIGURES.get(k) for k in now}
    rows = [
        ("started and answered its first request", "ready_s", "s", None),
        ("sequential GET /tickets/{id}, median", "median_ms", "ms", "<= 5 ms"),
        ("sequential GET /tickets/{id}, p95", "p95_ms", "ms", None),
        ("sequential requests/s", "rps", "", ">= 150"),
        (f"{BURST} simultaneous new connections: answered", "answered", "", None),
        (f"{BURST} simultaneous new connections: reset or failed", "resets", "", "0"),
        ("Kapture batch of 100 over HTTP, median of 3", "kapture_ms", "ms", "<= 500 ms"),
        ("Kapture batch of 100: updates that succeeded", "kapture_ok", "", None),
        (f"{LOAD_PROCESSES}-process load: requests/s", "load_rps", "", ">= 60"),
        (f"{LOAD_PROCESSES}-process load: median", "load_median_ms", "ms", None),
        (f"{LOAD_PROCESSES}-process load: p95", "load_p95_ms", "ms", "<= 100 ms"),
        (f"{LOAD_PROCESSES}-process load: 5xx", "load_5xx", "", None),
        (f"{LOAD_PROCESSES}-process load: lost updates", "load_lost", "", "0"),
    ]

    def cell(value: Any, unit: str) -> str:
        if value is None:
            return "--"
        text = f"{value:.2f}" if isinstance(value, float) and value < 100 else f"{value:.0f}"
        return f"{text} {unit}".strip()

    head = f"before (issue 19's figures, {BASELINE})" if quoted else f"before ({BASELINE}, this run)"
    lines = [
        "\n## Local run (`make run`): before and after issue 19\n",
        "The same measurements of the local run as it was before issue 19 (http.server in front, the handlers "
        "calling moto over HTTP; checked out beside with `git archive`) and as it is, one after the other in this "
        "run on this machine (other work on it slows both alike). Sequential: one keep-alive connection, "
        f"GET /tickets/1001. Burst: {BURST} new connections opened at once, one GET each. Kapture: a batch of 100 "
        "updates, each on its own ticket with a comment, over HTTP. Load: `devkit.load` with "
        f"{LOAD_PROCESSES} client processes of {LOAD_REQUESTS} requests through every dialect.\n",
        f"| | {head} | now | goal | |",
        "|---|---:|---:|---:|---|",
    ]
    for label, key, unit, goal in rows:
        verdict = _met(key, now[key]) if goal else ""
        lines.append(f"| {label} | {cell(before.get(key), unit)} | {cell(now[key], unit)} | {goal or ''} | {verdict} |")
    return lines


def _load_section() -> list[str]:
    ld = local_run_load()
    refused = ", ".join(f"{status}: {count}" for status, count in sorted(ld["refused"].items())) or "none"
    return [
        f"\n## Local run under load (`python -m devkit.load --processes {ld['processes']} "
        f"--requests {ld['requests_per_process']}`)\n",
        "Client processes updating the same demo tickets through all five dialects and the canonical API at "
        "once; every accepted change then looked for in the tickets and their audit history.\n",
        "| processes | requests | requests/s | median ms | p95 ms | accepted | refused (status: count) | "
        "5xx | lost updates |",
        "|---:|---:|---:|---:|---:|---:|---|---:|---:|",
        f"| {ld['processes']} | {ld['requests']} | {ld['rps']:.1f} | {ld['median_ms']:.0f} | {ld['p95_ms']:.0f} | "
        f"{ld['accepted']} | {refused} | {ld['server_errors']} | {ld['lost']} |",
    ]


def _writers_section() -> list[str]:
    rows = concurrent_writers()
    lines = ["\n## Concurrent writers on one ticket (local run)\n"]
    lines.append(
        f"N writers, the dialects in turn ({', '.join(load.DIALECTS)}), change one fresh ticket (canonical "
        "`POST /tickets`: an incident with one task; MyHRW's partner tickets made before the run), each on its own "
        "kept-alive connection, released together by a barrier; "
        f"{len(load.DIALECTS)} runs (one per dialect) for one writer, {WRITER_REPEATS} for more, a fresh ticket each. "
        "*different*: canonical and SPP each set a metadata key of their own, Kapture adds a comment and an extra "
        "key of its own, MyHRW replaces a partner ticket of its own; ParticleSpace's PUT replaces title, description "
        "and flow together, so its writers share the description; servicedesk pushes IncidentAssignOther to one "
        "operator for all (audited every time). *same*: the title (canonical `title`, SPP `subject`, ParticleSpace "
        "`title`), and for the dialects that cannot write one, one field shared by all their writers: Kapture the "
        "disposition, servicedesk the assignee (IncidentAssignOther, three operators in turn), MyHRW one partner "
        "ticket's description. Refused: any non-2xx. Then the ticket and its whole history "
        "(`GET /tickets/{id}/history`, canonical token): a lost update is an accepted request with no audit entry "
        "of its `x-amzn-RequestId`, or whose change the ticket does not show (in *same*, the field must hold the "
        "value of the accepted write with the highest version); contiguous: versions 1 to the ticket's, each once.\n"
    )
    lines.append(
        "| variant | writers | runs | requests | accepted | refused (status: count) | refusal rate | p50 ms | p95 ms "
        "| lost updates | history contiguous | accepted / sent by dialect |"
    )
    lines.append("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---|---|")
    notes = []
    for row in rows:
        refused = ", ".join(f"{status}: {count}" for status, count in sorted(row["refused"].items(), key=str)) or "none"
        by_dialect = ", ".join(f"{d} {a}/{n}" for d, (a, n) in row["by_dialect"].items())
        contiguous = "yes" if row["contiguous"] == row["runs"] else f"NO ({row['runs'] - row['contiguous']} runs)"
        lines.append(
            f"| {row['variant']} | {row['writers']} | {row['runs']} | {row['sent']} | {row['accepted']} | {refused} "
            f"| {row['refusal_rate']:.0%} | {row['p50_ms']:.0f} | {row['p95_ms']:.0f} | {row['lost']} | {contiguous} "
            f"| {by_dialect} |"
        )
        where = f"{row['variant']}, {row['writers']} writers"
        notes += [f"* {where}: lost: {x}" for x in row["lost_examples"]]
        notes += [f"* {where}: {x}" for x in row["anomalies"][:3]]
    if notes:
        lines += ["", *notes]
    return lines


def _calls(calls: dict[str, int], per: int = 1) -> str:
    return ", ".join(f"{op} {count / per:g}" for op, count in sorted(calls.items()))


def _capacity_section() -> list[str]:
    result = capacity()
    lines = ["\n## DynamoDB cost per write (moto in process; request units by DynamoDB's rules)\n"]
    lines.append(
        "The layer's DynamoDB calls during one request (botocore `before-call`/`after-call` hooks on its client; "
        "the client's key and the catalog already cached, no `Idempotency-Key`), and their read and write "
        "request units (RRU, WRU) computed by DynamoDB's documented rules, since moto reports no reliable "
        "`ConsumedCapacity`: item size = each attribute's UTF-8 name plus its value (`ticketing.sizes`); a read "
        "1 RRU per 4 KB rounded up (half when eventually consistent; per item in a `BatchGetItem`); a write 1 WRU "
        "per KB of the larger of the item before and after (read outside the count), twice in a "
        "`TransactWriteItems`. One update per dialect (the writers section's *different* request) on a fresh "
        f"ticket like the writers' and on a copy of demo ticket {CAPACITY_DEMO_TICKET} (two tasks, three partner "
        "tickets, an SPP requester and order); ticket bytes are its item's size by the same rules.\n"
    )
    lines.append(
        "| dialect | ticket | ticket bytes before -> after | DynamoDB calls | RRU | WRU | items written (bytes) |"
    )
    lines.append("|---|---|---:|---|---:|---:|---|")
    for row in result["single"]:
        items = ", ".join(f"{kind} {what} {size}" for kind, what, size in row["items"])
        lines.append(
            f"| {row['dialect']} | {row['ticket']} | {row['ticket_before']} -> {row['ticket_after']} "
            f"| {_calls(row['calls'])} | {row['rru']:g} | {row['wru']} | {items} |"
        )
    lines.append(
        "\nKapture batch of N updates (`POST /update-ticket-from-other-source.html/v.2.0`), each on its own fresh "
        "ticket with a comment (so each writes the ticket, its audit entry and a message); per update:\n"
    )
    lines.append("| N | DynamoDB calls per update | calls per update | RRU per update | WRU per update |")
    lines.append("|---:|---|---:|---:|---:|")
    for row in result["batch"]:
        n = row["n"]
        lines.append(
            f"| {n} | {_calls(row['calls'], n)} | {sum(row['calls'].values()) / n:.2f} | {row['rru'] / n:.2f} "
            f"| {row['wru'] / n:.2f} |"
        )
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
