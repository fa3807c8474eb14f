"""The bench's cold-start arithmetic (``devkit.bench``, section cold): ratios taken within each
round then their median, which modules the own-imports probe imports first (the third-party
ones), and the summary line against issue 15's goals (ours / stack <= 1.10, own imports <= 30 ms)."""

from __future__ import annotations

import pytest

from devkit import bench


def test_round_ratio_is_the_median_of_ratios_within_rounds():
    # (init, init + first request) per round: ours, and the stack in the same rounds
    ours = [(0.30, 0.33), (0.44, 0.48), (0.26, 0.27)]
    stack = [(0.25, 0.30), (0.40, 0.40), (0.20, 0.25)]
    assert bench.round_ratio(ours, stack, 0) == pytest.approx(1.2)  # 1.2, 1.1, 1.3
    assert bench.round_ratio(ours, stack, 1) == pytest.approx(1.1)  # 1.1, 1.2, 1.08
    # the median of the ratios (0.5, 3.0), not the ratio of the medians (2.0 / 1.5)
    assert bench.round_ratio([(1.0,), (3.0,)], [(2.0,), (1.0,)], 0) == pytest.approx((0.5 + 3.0) / 2)
    with pytest.raises(ValueError):  # a round missing on one side is an error, not a shorter median
        bench.round_ratio([(1.0,)], [(1.0,), (2.0,)], 0)


def test_third_party_keeps_the_order_and_drops_stdlib_and_ours():
    loaded = [
        "sys",
        "json.decoder",
        "boto3",
        "botocore.client",
        "ticketing",
        "ticketing.model",
        "app",
        "pydantic_core._pydantic_core",
        "xml.etree.ElementTree",
        "aws_lambda_powertools.logging",
        "apps",  # not ours: only the exact top-level names in OURS are
        "ticketingx",
    ]
    assert bench.third_party(loaded) == [
        "boto3",
        "botocore.client",
        "pydantic_core._pydantic_core",
        "aws_lambda_powertools.logging",
        "apps",
        "ticketingx",
    ]
    assert bench.third_party(["json", "boto3"], stdlib=frozenset()) == ["json", "boto3"]


def _row(name: str, vs_stack: float, first: float, own: float) -> dict:
    return {"function": name, "vs_stack": vs_stack, "first_vs_stack": first, "own_imports_ms": own}


def test_cold_goals_line_medians_across_functions():
    rows = [_row("A", 1.25, 1.05, 41.0), _row("B", 1.02, 1.00, 20.0), _row("C", 1.15, 1.30, 30.0)]
    assert bench.cold_goals(rows) == (
        "Against the stack (median across functions): init 1.15 (over: goal <= 1.10), "
        "init+1st 1.05 (met: goal <= 1.10); own modules' import 30.0 ms (met: goal <= 30.0 ms); "
        "1 of 3 functions over 30 ms (A).\n"
    )
    met = [_row("A", 1.0, 1.0, 12.5), _row("B", 1.1, 1.1, 29.9)]
    assert bench.cold_goals(met) == (
        "Against the stack (median across functions): init 1.05 (met: goal <= 1.10), "
        "init+1st 1.05 (met: goal <= 1.10); own modules' import 21.2 ms (met: goal <= 30.0 ms); "
        "0 of 2 functions over 30 ms.\n"
    )
    most = [_row("A", 1.2, 1.2, 31.0), _row("B", 1.2, 1.2, 45.0), _row("C", 1.0, 1.0, 29.0)]  # the fewer named
    assert bench.cold_goals(most).endswith("2 of 3 functions over 30 ms (within: C).\n")
    over = [_row("A", 1.2, 1.2, 31.0), _row("B", 1.2, 1.2, 45.0)]  # every one over: none named
    assert bench.cold_goals(over).endswith(
        "own modules' import 38.0 ms (over: goal <= 30.0 ms); 2 of 2 functions over 30 ms.\n"
    )
