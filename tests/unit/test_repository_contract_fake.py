"""The repository port's contract (tests/repository_contract.py) on the in-memory repository the
unit tier uses; tests/integration/test_repository_contract.py runs the same on moto."""

from __future__ import annotations

import pytest
from fake_repository import FakeRepository
from repository_contract import CHECKS


@pytest.mark.parametrize("check", CHECKS, ids=[c.__name__.removeprefix("check_") for c in CHECKS])
def test_the_fake_keeps_the_contract(check):
    check(FakeRepository())
