"""The bench's cost arithmetic (``devkit.bench``, section cost), against rows worked out by hand
at fixed prices (not ``bench.PRICES``, so a price update does not touch these figures):

* API Gateway and Lambda requests: price per million x invocations (a batch: one per N updates);
* Lambda duration: billed milliseconds (rounded up) x MemorySize / 1024 GB x the architecture's price;
* DynamoDB: WRU and RRU per invocation x price, the auth lookup's read added at the cache's miss ratio;
* CloudWatch Logs: bytes per invocation / 2^30 x price per GB;
* X-Ray: one trace per invocation; the default rule records 1 per second + 5% of the rest.
"""

from __future__ import annotations

import json

import pytest

from devkit import bench
from devkit import template as tpl

PRICES = bench.Prices(
    as_of="test",
    region="us-east-1",
    api_rest_per_million=3.50,
    api_http_per_million=1.00,
    lambda_requests_per_million=0.20,
    lambda_gb_second_arm64=0.0000133334,
    lambda_gb_second_x86_64=0.0000166667,
    ddb_wru_per_million=0.625,
    ddb_rru_per_million=0.125,
    logs_ingested_per_gb=0.50,
    xray_traces_per_million=5.00,
)

# a canonical PATCH as measured: 11.2 ms at 1024 MB on arm64, 4 WRU (ticket + audit entry in one
# transaction, twice), 1 RRU, the auth lookup 1 RRU on a miss, 1067 bytes logged
UPDATE = bench.CostInputs(
    duration_ms=11.2, memory_mb=1024, architecture="arm64", wru=4, rru=1, auth_rru=1, log_bytes=1067
)


def test_xray_default_rule():
    assert bench.xray_sampled(0.5) == 1.0  # below the reservoir: every request
    assert bench.xray_sampled(1) == 1.0
    assert bench.xray_sampled(10) == pytest.approx((1 + 0.05 * 9) / 10)  # 0.145
    assert bench.xray_sampled(100) == pytest.approx((1 + 0.05 * 99) / 100)  # 0.0595
    assert bench.xray_sampled(10, reservoir=0) == pytest.approx(0.05)


def test_a_canonical_update_per_million():
    c = bench.cost_per_million(UPDATE, PRICES, auth_hit_ratio=0.9, rates=(10, 100))
    expected = {
        "api": 3.50,
        "lambda_requests": 0.20,
        "lambda_duration": 1e6 * (1024 / 1024) * 0.012 * 0.0000133334,  # 12 ms billed: 12,000 GB-s = 0.1600008
        "ddb_writes": 4 * 0.625,  # 2.50
        "ddb_reads": (1 + 0.1 * 1) * 0.125,  # 0.1375
        "logs": 1e6 * 1067 / 2**30 * 0.50,  # 0.4968606
        "xray": 5.00,
        "xray@10": 5.00 * 0.145,  # 0.725
        "xray@100": 5.00 * 0.0595,  # 0.2975
    }
    for key, value in expected.items():
        assert c[key] == pytest.approx(value), key
    assert c["lambda_duration"] == pytest.approx(0.1600008)
    assert c["logs"] == pytest.approx(0.4968606, abs=1e-7)
    assert c["total"] == pytest.approx(11.9943614, abs=1e-7)  # 3.5 + 0.2 + 0.16 + 2.5 + 0.1375 + 0.4969 + 5
    assert c["total@10"] == pytest.approx(11.9943614 - 5 + 0.725, abs=1e-7)
    assert c["total@100"] == pytest.approx(11.9943614 - 5 + 0.2975, abs=1e-7)


def test_a_batch_element_on_x86_64_per_million():
    batch = bench.CostInputs(
        duration_ms=854.3,  # one invocation for 100 updates; 855 ms billed
        memory_mb=512,
        architecture="x86_64",
        wru=600,
        rru=100.5,
        auth_rru=1,
        log_bytes=1200,
        elements=100,
    )
    c = bench.cost_per_million(batch, PRICES, auth_hit_ratio=0.9, rates=(10,))
    # a million updates: 10,000 invocations
    assert c["api"] == pytest.approx(0.035)
    assert c["lambda_requests"] == pytest.approx(0.002)
    assert c["lambda_duration"] == pytest.approx(10_000 * 0.5 * 0.855 * 0.0000166667)  # 0.0712501
    assert c["ddb_writes"] == pytest.approx(3.75)  # 6 WRU per update
    assert c["ddb_reads"] == pytest.approx(10_000 * (100.5 + 0.1) * 0.125e-6)  # 0.12575
    assert c["logs"] == pytest.approx(10_000 * 1200 / 2**30 * 0.5)  # 0.0055879
    assert c["xray"] == pytest.approx(0.05)
    assert c["total"] == pytest.approx(0.035 + 0.002 + 0.0712501 + 3.75 + 0.12575 + 0.0055879 + 0.05, abs=1e-6)


def test_levers_of_the_canonical_update():
    row = {
        "inputs": UPDATE,
        "logs": {"emf": 287, "platform": 282, "access": 498},
        "tx_wru": 4,
    }
    saved = bench.cost_levers(row, PRICES)
    per_byte = 1e6 / 2**30 * 0.50
    assert saved["xray_default"] == pytest.approx(5.00 - 0.725)  # the default rule at 10 req/s
    assert saved["xray_rule"] == pytest.approx(5.00 * 0.95)  # 5%, no reservoir
    assert saved["http_api"] == pytest.approx(3.50 - 1.00)
    assert saved["no_transaction"] == pytest.approx(2 * 0.625)  # 4 WRU in the transaction: 2 plain
    assert saved["memory_512"] == pytest.approx(0.1600008 / 2)
    assert saved["platform_logs"] == pytest.approx(282 * per_byte)
    assert saved["access_log"] == pytest.approx(498 * per_byte)
    assert saved["log_level"] == 0  # no INFO line


def test_the_log_lines_costed():
    template = tpl.default()
    event = {
        "requestContext": {
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "requestTime": "09/Apr/2025:12:34:56 +0000",
            "httpMethod": "PATCH",
            "resourcePath": "/tickets/{id}",
            "path": "/v1/tickets/1001",
            "protocol": "HTTP/1.1",
        }
    }
    line = bench.access_log_line(template, event, {"statusCode": 200, "body": "é" * 10}, 11.2)
    doc = json.loads(line)  # the template's format, every $context variable filled
    assert "$context" not in line
    assert doc["requestId"] == event["requestContext"]["requestId"]
    assert (doc["status"], doc["responseLength"], doc["integrationLatency"]) == ("200", "20", "17")
    start, end, report = bench.platform_log_lines("r-1", 11.2, 1024)
    assert (start, end) == ("START RequestId: r-1 Version: 12", "END RequestId: r-1")
    assert "Billed Duration: 12 ms\tMemory Size: 1024 MB" in report and "XRAY TraceId" in report
