"""SPP's models and routes against its document and the template (the rest: ``tests/integration/test_spp.py``)."""

from __future__ import annotations

from doc_spp import (
    ADDON_KEYS,
    ADDRESS_KEYS,
    EMPLOYEE_KEYS,
    INVOICE_ITEM_KEYS,
    INVOICE_KEYS,
    MANAGER_KEYS,
    MESSAGE_KEYS,
    ORDER_KEYS,
    RATING_KEYS,
    ROLE_KEYS,
    SERVICE_KEYS,
    SUBSCRIPTION_KEYS,
    TICKET_KEYS,
    USER_KEYS,
)
from ticketing.dialects import canonical_reference, spp

from devkit import template as tpl


def test_models_follow_the_document():
    assert list(spp.SppTicketResource.model_fields) == TICKET_KEYS
    assert list(spp.SppEmployee.model_fields) == EMPLOYEE_KEYS
    assert list(spp.SppMessage.model_fields) == MESSAGE_KEYS
    assert list(spp.SppOrder.model_fields) == ORDER_KEYS
    assert list(spp.SppUser.model_fields) == USER_KEYS
    assert list(spp.SppAddress.model_fields) == ADDRESS_KEYS
    assert list(spp.SppRole.model_fields) == ROLE_KEYS
    assert list(spp.SppUserManager.model_fields) == MANAGER_KEYS
    assert list(spp.SppSubscription.model_fields) == SUBSCRIPTION_KEYS
    assert list(spp.SppInvoice.model_fields) == INVOICE_KEYS
    assert list(spp.SppInvoiceItem.model_fields) == INVOICE_ITEM_KEYS
    assert list(spp.SppService.model_fields) == SERVICE_KEYS
    assert list(spp.SppRating.model_fields) == RATING_KEYS
    assert list(spp.SppAddon.model_fields) == ADDON_KEYS
    assert set(spp.SaveTicketRequest.model_fields) == {"status", "employees", "tags", "order", "metadata", "subject"}


def test_operations_match_the_template():
    routes = {
        (r.method, r.path)
        for fn in tpl.default().functions().values()
        if fn.code_uri.name in {"spp_update_ticket", "put_user", "put_order"}
        for r in fn.routes
    }
    declared = {(op.method, op.path) for op in [*spp.OPERATIONS, *canonical_reference.OPERATIONS]}
    assert declared == routes == {("PUT", "/api/tickets/{ticket}"), ("PUT", "/users/{id}"), ("PUT", "/orders/{number}")}
