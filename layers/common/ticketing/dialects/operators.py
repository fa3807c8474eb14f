"""Operators: the people servicedesk's ``UserProviderKey`` names, who are hub users (a user record
with an ``operator_key``, written by ``PUT /users/{id}``).  Shared by the user routes and the
servicedesk dialect; no dialect's own code (a module of its own so that servicedesk does not
build the user resource models to read an operator)."""

from __future__ import annotations

OPERATOR_KIND = "operator"  # reference data: an operator's key -> the hub user it signs in as


def operator_key(user_provider_key: str) -> str:
    """An operator's key: its UserProviderKey (a sign-in name), compared case-insensitively."""
    return user_provider_key.strip().lower()
