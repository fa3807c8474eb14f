"""Every function of template.yaml, driven with every fixture in its events/ folder.

Handler and layer are resolved from the template as SAM resolves them; each fixture
runs against a freshly seeded store.  For a function behind API Gateway, a fixture is
a REST proxy event and ``expected.json`` gives the HTTP status it must answer; for a
function invoked otherwise (the notifier: an EventBridge Scheduler input), it gives
an object whose every key must appear, with that value, in the handler's result.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devkit import template as tpl
from devkit.local import apigateway as apigw

EVENTS = tpl.ROOT / "events"


def _cases():
    for fn in tpl.default().functions().values():
        folder = EVENTS / fn.code_uri.name
        expected_file = folder / "expected.json"
        if not expected_file.exists():
            continue
        expected = json.loads(expected_file.read_text())
        for name, outcome in sorted(expected.items()):
            yield pytest.param(fn.logical_id, folder / name, outcome, id=f"{fn.code_uri.name}/{name}")


def test_every_function_has_fixtures():
    missing = [
        fn.logical_id
        for fn in tpl.default().functions().values()
        if not (EVENTS / fn.code_uri.name / "expected.json").exists()
    ]
    assert not missing, f"functions without events/<dir>/expected.json: {missing}"


def test_every_fixture_is_expected():
    for folder in EVENTS.iterdir():
        if not folder.is_dir():
            continue
        expected = json.loads((folder / "expected.json").read_text())
        files = {p.name for p in folder.glob("*.json")} - {"expected.json"}
        assert files == set(expected), f"{folder.name}: fixtures and expected.json disagree"


@pytest.mark.parametrize(("logical_id", "fixture", "expected"), list(_cases()))
def test_fixture(seeded, logical_id: str, fixture: Path, expected):
    fn = tpl.default().functions()[logical_id]
    event = json.loads(fixture.read_text())
    response = apigw.invoke(fn, event)
    if not fn.routes:  # not behind API Gateway: the handler's result says what happened
        assert isinstance(expected, dict) and expected, "expected.json: an object of result keys and values"
        assert {k: response.get(k) for k in expected} == expected, response
        return
    assert isinstance(expected, int), "expected.json: the HTTP status"
    assert response["statusCode"] == expected, response["body"]
    assert set(response) >= {"statusCode", "headers", "body"}
    if response["body"] and not response.get("isBase64Encoded"):
        content_type = response["headers"].get("Content-Type", "")
        if "json" in content_type:
            json.loads(response["body"])
