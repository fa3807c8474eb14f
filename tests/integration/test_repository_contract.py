"""The repository port's contract (tests/repository_contract.py) on the real repository over moto:
the same assertions the in-memory repository of the unit tier passes, so the fake cannot drift."""

from __future__ import annotations

import pytest
from repository_contract import CHECKS
from ticketing.repository import Repository


@pytest.mark.parametrize("check", CHECKS, ids=[c.__name__.removeprefix("check_") for c in CHECKS])
def test_the_repository_keeps_the_contract(aws, check):
    check(Repository())
