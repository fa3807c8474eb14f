"""myhrw's routes against the template and its document (the rest: ``tests/integration/test_myhrw.py``)."""

from __future__ import annotations

import re

from doc_myhrw import DOCUMENT_KEYS, ERROR_KEYS, EXAMPLE
from ticketing.dialects import myhrw

from devkit import template as tpl


def test_operations_match_the_template_and_the_document():
    routes = {
        (r.method, r.path)
        for fn in tpl.default().functions().values()
        if fn.code_uri.name.startswith("myhrw_")
        for r in fn.routes
    }
    assert {(op.method, op.path) for op in myhrw.OPERATIONS} == routes
    assert list(myhrw.PartnerTicketView.model_fields) == DOCUMENT_KEYS
    assert set(myhrw.PartnerTicketBody.model_fields) == set(EXAMPLE)
    assert list(myhrw.ErrorBody.model_fields) == ERROR_KEYS


def test_routes_keep_one_variable_name_per_path_level():
    """API Gateway refuses two differently named variables under one parent resource."""
    names: dict[str, set[str]] = {}
    for fn in tpl.default().functions().values():
        for route in fn.routes:
            parts = route.path.strip("/").split("/")
            for depth, part in enumerate(parts):
                if re.fullmatch(r"\{[^}]+\}", part):
                    names.setdefault("/".join(parts[:depth]), set()).add(part)
    mine = {
        r.path for fn in tpl.default().functions().values() if fn.code_uri.name.startswith("myhrw_") for r in fn.routes
    }
    for path in mine:
        parts = path.strip("/").split("/")
        for depth in range(len(parts)):
            parent = "/".join(parts[:depth])
            assert len(names.get(parent, set())) <= 1, (parent, names[parent])
