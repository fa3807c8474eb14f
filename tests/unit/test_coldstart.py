"""ticketing.coldstart: a handler module's imports run with the collector paused, then what they
built is frozen and the collector is as it was."""

import ast
import gc

import pytest
from ticketing import aws
from ticketing.coldstart import loading, paused

from devkit import template as tpl


@pytest.fixture(autouse=True)
def _collector_as_found():
    enabled = gc.isenabled()
    yield
    gc.unfreeze()  # what a test froze goes back to the collector
    (gc.enable if enabled else gc.disable)()


def test_the_collector_is_paused_inside_and_running_after():
    gc.enable()
    with loading():
        assert not gc.isenabled()
        built = [[] for _ in range(100)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= len(built)  # what the block built is in the permanent generation


def test_a_pause_around_it_is_kept():
    gc.disable()
    with loading():
        pass
    assert not gc.isenabled()


def test_the_collector_runs_again_when_an_import_fails():
    gc.enable()
    with pytest.raises(ImportError), loading():
        import ticketing.no_such_module  # noqa: F401
    assert gc.isenabled()


def test_a_pause_freezes_nothing_and_restores_the_collector():
    gc.enable()
    frozen = gc.get_freeze_count()
    with paused():
        assert not gc.isenabled()
        with paused():  # nested: the outer pause is kept
            pass
        assert not gc.isenabled()
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen


def test_a_client_is_built_with_the_collector_paused(monkeypatch):
    gc.enable()
    seen = []

    class Session:
        def client(self, service, config):
            seen.append((service, gc.isenabled(), config.connect_timeout))
            return object()

    monkeypatch.setattr(aws.boto3.session, "Session", Session)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    aws.reset()
    try:
        aws.client("sns")
    finally:
        aws.reset()
    assert seen == [("sns", False, aws.CONNECT_TIMEOUT_SECONDS)]
    assert gc.isenabled()


@pytest.mark.parametrize("fn", sorted(tpl.default().functions()))
def test_every_handler_module_imports_its_handler_inside_loading(fn):
    module = ast.parse(tpl.default().functions()[fn].module_file.read_text())
    blocks = [node for node in module.body if isinstance(node, ast.With)]
    assert [ast.unparse(block.items[0].context_expr) for block in blocks] == ["loading()"], fn
    imported = {alias.asname or alias.name for node in blocks[0].body for alias in node.names}
    assert tpl.default().functions()[fn].attribute in imported, fn
    outside = [n for n in module.body if isinstance(n, ast.ImportFrom) and n.module != "ticketing.coldstart"]
    assert not outside, f"{fn}: imports outside loading(): {[ast.unparse(n) for n in outside]}"
