"""The local run's ``ClientRequestToken`` on ``TransactWriteItems`` (``devkit.local.gate``): a
token is kept for DynamoDB's 10 minutes, then forgotten, the oldest first.  The same in process
against moto: ``tests/integration/test_local_inprocess.py``."""

from __future__ import annotations

from devkit.local import gate


def body(token: str, value: int = 1) -> bytes:
    return b'{"TransactItems": [{"n": %d}], "ClientRequestToken": "%s"}' % (value, token.encode())


def test_a_token_answers_as_before_for_ten_minutes_then_is_forgotten(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(gate.time, "monotonic", lambda: clock[0])
    tokens = gate.TransactionTokens()
    calls = []

    def call():
        calls.append(1)
        return 200, [], b"{}"

    for i in range(5):
        clock[0] = 1000.0 + i * 100  # a token every 100 s
        assert tokens.around(body(f"t{i}"), call) == (200, [], b"{}")
    assert len(calls) == 5
    clock[0] = 1599.0  # t0 is 599 s old: a retry of it is answered as before, not applied
    assert tokens.around(body("t0"), call) == (200, [], b"{}") and len(calls) == 5
    assert tokens.around(body("t0", 2), call)[0] == 400  # another request under its token
    clock[0] = 1750.0  # t0 and t1 are over the window (750 s, 650 s): forgotten, t2 on kept
    assert tokens.around(body("t5"), call)[0] == 200 and len(calls) == 6
    assert list(tokens._done) == ["t2", "t3", "t4", "t5"]
    assert tokens.around(body("t0"), call)[0] == 200 and len(calls) == 7  # applied again: a new call
    assert tokens.around(body("t2", 2), call)[0] == 400  # still within its window


def test_a_refused_call_keeps_no_token(monkeypatch):
    tokens = gate.TransactionTokens()
    assert tokens.around(body("x"), lambda: (400, [], b"{}"))[0] == 400
    assert tokens.around(body("x", 2), lambda: (200, [], b"{}"))[0] == 200
