"""Shared ticket layer: model, catalog, repository, auth, HTTP adapter and clients.

Dependency direction: handlers -> ticketing.dialects.<name> -> ticketing.service
-> ticketing.repository (over ticketing.store) -> DynamoDB.  Nothing in here branches on a dialect name;
dialect vocabulary lives in the catalog (data) and in the dialect adapter modules.
"""
