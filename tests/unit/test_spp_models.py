"""SPP's models and routes against its document and the template (the rest: ``tests/integration/test_spp.py``)."""

from __future__ import annotations

from ticketing.dialects import canonical_reference, spp

from devkit import template as tpl

TICKET_KEYS = [
    "id", "created_at", "updated_at", "last_message_at", "date_closed", "subject", "user_id", "form_data",
    "tags", "note", "employees", "status", "source", "order_id", "messages", "order", "ticket", "client",
    "metadata",
]  # fmt: skip


EMPLOYEE_KEYS = ["id", "name_f", "name_l", "group_id", "role_id"]


MESSAGE_KEYS = ["id", "user_id", "created_at", "message", "staff_only", "files"]


ORDER_KEYS = [
    "id", "created_at", "updated_at", "last_message_at", "date_started", "date_completed", "date_due", "client",
    "tags", "status", "price", "quantity", "invoice_id", "service", "service_id", "user_id", "employees", "note",
    "form_data", "paysys", "currency", "subscription", "options", "invoice", "order_service", "addons", "ratings",
    "messages",
]  # fmt: skip


USER_KEYS = [
    "id", "aff_id", "aff_link", "created_at", "name_f", "name_l", "email", "company", "tax_id", "phone", "address",
    "note", "balance", "optin", "stripe_id", "custom_fields", "status", "role_id", "role", "name", "spent",
    "employee_id", "managers", "ga_cid", "team_owner_ids", "team_member_ids",
]  # fmt: skip


ADDRESS_KEYS = [
    "line_1", "line_2", "city", "country", "state", "postcode", "name_f", "name_l", "tax_id", "company_name",
    "company_vat",
]  # fmt: skip


ROLE_KEYS = [
    "id", "name", "dashboard_access", "affiliates", "clients", "coupons", "created_at", "forms", "invoice_access",
    "invoice_management", "messaging", "order_access", "order_management", "rank_tracking", "services", "team",
    "settings", "ticket_access", "ticket_management", "settings_company", "settings_payments", "settings_team",
    "settings_modules", "settings_integrations", "settings_orders", "settings_tickets", "settings_accounts",
    "settings_messages", "settings_tags", "settings_sidebar", "settings_dashboard", "settings_templates",
    "settings_emails", "settings_language", "settings_logs", "updated_at",
]  # fmt: skip


MANAGER_KEYS = ["id", "name", "name_f", "name_l", "email", "role_id"]


SUBSCRIPTION_KEYS = [
    "id", "number", "invoice_id", "status", "processor_id", "current_period_end", "payments", "orders",
    "payment_count", "client",
]  # fmt: skip


INVOICE_KEYS = [
    "id", "number", "number_prefix", "client", "items", "billing_address", "status", "status_id", "created_at",
    "date_due", "date_paid", "credit", "tax", "tax_name", "tax_percent", "currency", "reason", "note", "ip_address",
    "loc_confirm", "recurring", "coupon_id", "transaction_id", "paysys", "subtotal", "total", "employee_id",
    "view_link", "download_link", "thanks_link",
]  # fmt: skip


INVOICE_ITEM_KEYS = [
    "id", "invoice_id", "amount", "created_at", "description", "discount", "discount2", "name", "options",
    "order_id", "quantity", "service_id", "total", "updated_at",
]  # fmt: skip


SERVICE_KEYS = [
    "id", "name", "description", "image", "recurring", "price", "pretty_price", "currency", "f_price", "f_period_l",
    "f_period_t", "r_price", "r_period_l", "r_period_t", "recurring_action", "multi_order", "request_orders",
    "option_categories", "option_variants", "deadline", "public", "sort_order", "braintree_plan_id",
    "group_quantities", "addon_to", "folder_id", "metadata", "hoth_product_key", "hoth_package_name", "created_at",
    "updated_at", "provider_id", "provider_service_id", "deleted_at", "media",
]  # fmt: skip


RATING_KEYS = ["user_id", "rating"]


ADDON_KEYS = ["id", "addon_to", "name"]


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
