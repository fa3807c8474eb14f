"""SPP's update-a-ticket document, for every test tier: its resource tables, verbatim.

From /work/shared/seeds/001_20b08a78e52370f6.txt (``PUT /api/tickets/{ticket}``): the keys of the
TicketResource and of each nested resource, typed from the document's tables (not from the code),
in the document's order.  Besides: the demo ticket's URL and the timestamp shape the tiers check."""

from __future__ import annotations

import re

URL = "/api/tickets/8FC95B0F"  # demo ticket 1001 (client 4, order 123456)
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$")

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
