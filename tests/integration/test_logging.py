"""Secrets never reach the logs; every request's log lines carry a correlation id."""

from __future__ import annotations

import json

from devkit.local import apigateway as apigw


def test_tokens_never_appear_in_logs(aws, seeded, log_output):
    for token in ("tkt_demo_canonical", "tkt_not_a_real_token_123", "tkt_demo_disabled"):
        apigw.request(aws, "GET", "/tickets/1001", headers={"Authorization": f"Bearer {token}"})
        apigw.request(aws, "POST", "/tickets", body='{"title": ', headers={"Authorization": f"Bearer {token}"})
    text = log_output.getvalue()
    assert text, "the requests above should have logged their refusals"
    for token in ("tkt_demo_canonical", "tkt_not_a_real_token_123", "tkt_demo_disabled"):
        assert token not in text
    for line in text.splitlines():
        entry = json.loads(line)
        assert entry["correlation_id"] and entry["service"] == "tickets"


def test_each_log_line_names_its_own_invocation_when_functions_run_at_once(tmp_path, log_output, monkeypatch):
    """One process runs every function on the local run, several at once: a line must name the
    function and request it came from, not the last one that started (Powertools keeps those
    keys process-wide; the local run's Lambda runtime, ``devkit.local.runtime``, keeps them per
    invocation, as one process per function would: the layer's handlers need nothing for it)."""
    import threading

    from devkit import template as tpl

    (tmp_path / "both_started.py").write_text("import threading\nbarrier = threading.Barrier(2, timeout=10)\n")
    monkeypatch.syspath_prepend(str(tmp_path))  # one barrier for both functions' modules
    (tmp_path / "app.py").write_text(
        "from both_started import barrier\n"
        "from ticketing.observability import logger\n"  # decorated as the layer's handlers are, and no more
        "@logger.inject_lambda_context(correlation_id_path='requestContext.requestId', clear_state=True)\n"
        "def handler(event, context):\n"
        "    barrier.wait()  # each has set its keys before either logs\n"
        "    logger.info('working', extra={'mine': context.function_name})\n"
        "    return {}\n"
    )
    functions = [
        tpl.Function(
            logical_id=name,
            code_uri=tmp_path,
            handler="app.handler",
            layers=tpl.default().functions()["GetTicketFunction"].layers,
        )
        for name in ("FirstFunction", "SecondFunction")
    ]
    threads = [
        threading.Thread(target=apigw.invoke, args=(fn, {"requestContext": {"requestId": f"req-{fn.logical_id}"}}))
        for fn in functions
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = [json.loads(line) for line in log_output.getvalue().splitlines()]
    assert sorted(e["mine"] for e in lines) == ["FirstFunction", "SecondFunction"]
    for entry in lines:
        assert entry["function_name"] == entry["mine"]
        assert entry["correlation_id"] == f"req-{entry['mine']}"
