"""The OpenAPI document: generated from the code, complete, and checked in up to date."""

from __future__ import annotations

import json

from devkit import openapi
from devkit import template as tpl


def test_every_route_of_the_template_is_documented_and_nothing_else():
    documented = {(op.method.upper(), op.path) for op in openapi.operations()}
    served = {(r.method, r.path) for fn in tpl.default().functions().values() for r in fn.routes}
    assert served - documented == set(), "routes without an Operation in their adapter's OPERATIONS"
    assert documented - served == set(), "Operations that template.yaml does not serve"


def test_checked_in_document_matches_the_code():
    assert openapi.OUTPUT.exists(), "run: python -m devkit.openapi"
    assert json.loads(openapi.OUTPUT.read_text()) == openapi.build(), "openapi.json is stale: python -m devkit.openapi"


def test_document_is_well_formed():
    doc = openapi.build()
    assert doc["openapi"].startswith("3.")
    refs = {m.group(1) for m in __import__("re").finditer(r'"#/components/schemas/([^"]+)"', json.dumps(doc))}
    assert refs <= set(doc["components"]["schemas"]), "dangling $ref"
    for path, item in doc["paths"].items():
        for method, op in item.items():
            assert op["responses"], f"{method} {path} documents no response"
            assert op["security"], f"{method} {path} documents no security"


def test_every_security_scheme_is_one_a_route_uses():
    doc = openapi.build()
    used = {name for item in doc["paths"].values() for op in item.values() for s in op["security"] for name in s}
    assert used == set(doc["components"]["securitySchemes"]) == set(openapi.SECURITY_SCHEMES)


def test_shared_header_parameters_and_their_variants():
    from ticketing.dialects.docs import IDEMPOTENCY_KEY, IF_MATCH, variant

    assert (IF_MATCH["name"], IF_MATCH["in"]) == ("If-Match", "header")
    assert (IDEMPOTENCY_KEY["name"], IDEMPOTENCY_KEY["in"]) == ("Idempotency-Key", "header")
    own = variant(IF_MATCH, description="The ETag the change applies to.")
    assert own == {**IF_MATCH, "description": "The ETag the change applies to."}
    assert IF_MATCH["description"] != own["description"], "the shared declaration is left as it was"
