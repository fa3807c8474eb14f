"""The local run's invocations in worker processes (``devkit.local.workers``): on a few test functions
(``tests/data/workers.yaml``) with a pool of this process, and on the local run itself."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import boto3
import pytest

from devkit import template as tpl
from devkit.local import lambdas, runtime
from devkit.local.apigateway import LocalApi
from devkit.local.workers import Workers, count_from_environment

TEMPLATE = tpl.load(tpl.ROOT / "tests" / "data" / "workers.yaml")


@pytest.fixture(scope="module")
def pool():
    """Two workers running the test functions' invocations for this process (as the local run has
    them run its own), Lambda's Invoke of them answered here."""
    workers = Workers(TEMPLATE, 2)
    workers.start()
    try:
        workers.wait_ready()
        runtime.use_workers(workers)
        with lambdas.installed(TEMPLATE, retry_delay=0.01):
            yield workers
    finally:
        runtime.use_workers(None)
        workers.stop()


@pytest.fixture(scope="module")
def api(pool):
    return LocalApi(TEMPLATE)


def _get(api, path):
    status, _, data = api.handle("GET", path, [], b"", "127.0.0.1")
    return status, json.loads(data)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is gone, not yet reaped
    except FileNotFoundError:
        return False


def test_invocations_run_in_the_workers_with_their_context(api, pool):
    status, body = _get(api, "/probe/process")
    assert status == 200 and body["pid"] in pool.pids and body["pid"] != os.getpid()
    assert body["request_id"] and 0 < body["remaining_ms"] <= 3000  # the function's timeout: 3 s
    status, _, data = api.handle("POST", "/things/7", [("Content-Type", "application/json")], b'{"k": 1}', "10.0.0.1")
    echo = json.loads(data)["echo"]
    assert status == 200 and echo["pathParameters"] == {"id": "7"} and echo["body"] == '{"k": 1}'


def test_a_handler_that_raises_in_a_worker_is_still_a_502(api, caplog):
    status, body = _get(api, "/crash")
    assert status == 502 and body == {"message": "Internal server error"}
    assert "RuntimeError: boom" in caplog.text
    assert "tests/data/crash/app.py" in caplog.text  # the worker's traceback, as the cause


def test_a_synchronous_invoke_from_a_handler_in_a_worker(api, pool):
    status, body = _get(api, "/probe/invoke")
    assert status == 200 and body["status"] == 200 and body["error"] is None
    assert json.loads(body["payload"]["body"])["echo"] == {"path": "/things/special", "from": "probe"}
    status, body = _get(api, "/probe/invoke?function=CrashFunction")  # Lambda's error payload
    assert body["error"] == "Unhandled" and body["payload"]["errorType"] == "RuntimeError"
    assert body["payload"]["errorMessage"] == "boom"
    assert any("tests/data/crash/app.py" in line for line in body["payload"]["stackTrace"])
    status, body = _get(api, "/probe/invoke?function=NoSuchFunction")
    assert status == 502  # the client's ResourceNotFoundException, raised in the probe


def test_an_event_invoke_from_a_worker_is_retried_in_this_process(api, pool):
    local = lambdas.active()
    before = len(local.invocations)
    status, body = _get(api, "/probe/invoke?function=CrashFunction&type=Event")
    assert status == 200 and body["status"] == 202
    assert local.wait(10)
    [record] = local.invocations[before:]
    assert (record["function"], record["outcome"], record["attempts"]) == ("CrashFunction", "failed", 2)
    assert record["error"] == "RuntimeError: boom"


def test_aws_requests_of_a_worker_are_answered_by_this_process_moto(aws, api):
    status, body = _get(api, "/probe/queue?name=worker-probe&body=from-a-worker")
    assert status == 200 and body["url"].endswith("/worker-probe")
    sqs = boto3.client("sqs", region_name=tpl.REGION)  # this process's client: the same moto
    [message] = sqs.receive_message(QueueUrl=body["url"])["Messages"]
    assert message["Body"] == "from-a-worker"
    sqs.delete_queue(QueueUrl=body["url"])  # (a write of this process: the fixture resets SQS after)
    status, body = _get(api, "/probe/missing")
    assert body == {"error": "QueueDoesNotExist", "code": "AWS.SimpleQueueService.NonExistentQueue"}


def test_reset_forgets_what_the_workers_cache(api, pool):
    first = {_get(api, "/probe/cache")[1]["client"] for _ in range(6)}
    assert len(first) <= len(pool.pids)  # one client per worker, kept
    pool.reset()
    again = {_get(api, "/probe/cache")[1]["client"] for _ in range(6)}
    assert not first & again


def _until(condition, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.05)


def test_a_worker_that_exits_is_replaced_and_the_others_serve_meanwhile(api, pool):
    """As Lambda gives the next invocation a new environment when one crashed: the others serve at
    once, a new worker takes the place of the one gone, and with none left an invocation waits for
    a replacement instead of failing."""
    workers = Workers(TEMPLATE, 2)
    workers.start()
    try:
        workers.wait_ready()
        runtime.use_workers(workers)
        first, second = workers.pids
        os.kill(first, signal.SIGKILL)
        _until(lambda: first not in workers.pids)
        status, body = _get(api, "/probe/process")
        assert status == 200 and body["pid"] == second
        _until(lambda: len(workers.pids) == 2)  # a new one, ready
        assert first not in workers.pids and second in workers.pids and workers.restarts == 1
        gone = workers.pids
        for pid in gone:
            os.kill(pid, signal.SIGKILL)
        _until(lambda: not set(gone) & set(workers.pids))
        status, body = _get(api, "/probe/process")  # waits for one of the two started again
        assert status == 200 and body["pid"] not in (first, *gone) and _alive(body["pid"])
        assert workers.restarts == 3
        processes = [w.process for w in workers.workers]
    finally:
        runtime.use_workers(pool)
        workers.stop()
    assert not any(_alive(p.pid) for p in processes)  # stopped: none started again


KILLED = """
import os, signal, sys
from devkit import template as tpl
from devkit.local.workers import Workers, count_from_environment
workers = Workers(tpl.load(tpl.ROOT / "tests" / "data" / "workers.yaml"), 1)
workers.start()
workers.wait_ready()
print(workers.pids[0], flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_worker_ends_when_the_local_run_is_killed():
    """Killed, the local run stops nothing: its end of the pipe closes with it, and the worker ends."""
    proc = subprocess.run([sys.executable, "-c", KILLED], cwd=tpl.ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    worker = int(proc.stdout.split()[0])
    deadline = time.monotonic() + 10
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(worker)


def test_the_local_run_runs_its_functions_in_workers(local_run):
    _, _, health = local_run.json("GET", "/_local/health")
    # as many as LOCAL_WORKERS says (2 unless set: LOCAL_WORKERS=0 runs the tiers with the handlers in process)
    assert len(health["workers"]) == count_from_environment() and all(_alive(pid) for pid in health["workers"])
    status, _, ticket = local_run.json("GET", "/tickets/1001", headers={"Authorization": "Bearer tkt_demo_canonical"})
    assert status == 200 and ticket["id"] == 1001


def test_ctrl_c_stops_the_local_run_and_its_workers_and_their_logs_were_its_own():
    env = {**os.environ, "PORT": "0", "MOTO_PORT": "0", "PYTHONUNBUFFERED": "1", "LOCAL_WORKERS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "devkit.local"],
        cwd=tpl.ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for line in proc.stdout:
            if "the API is served on " in line:
                url = line.split("the API is served on ")[1].split()[0]
                break
        # a fresh run: what the demo data set off settled before it said where it serves (the
        # pumps' clients made, the seed's change events handed on), so a settle finds nothing to do
        settle = urllib.request.Request(url + "/_local/settle?timeout=20", method="POST")
        assert json.loads(urllib.request.urlopen(settle, timeout=30).read()) == {"settled": True, "rounds": 1}
        health = json.loads(urllib.request.urlopen(url + "/_local/health", timeout=10).read())
        [worker] = health["workers"]
        assert _alive(worker)
        request = urllib.request.Request(url + "/tickets/99999", headers={"Authorization": "Bearer tkt_demo_canonical"})
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(request, timeout=10)
        assert missing.value.code == 404
        proc.send_signal(signal.SIGINT)
        rest = proc.stdout.read()
        assert proc.wait(20) == 0
        assert not _alive(worker)
        # the handler's log line, written by its worker, in the local run's output
        assert any(
            '"function_name":"GetTicketFunction"' in line and "request refused" in line for line in rest.splitlines()
        )
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
