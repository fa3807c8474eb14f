"""API clients and their tokens.

A token is 256 random bits; only its SHA-256 is stored (a slow password hash buys
nothing for secrets of that entropy and would cost every request).  The clients
table is keyed by that hash, so authenticating is one GetItem, cached per
container for ``auth_cache_seconds`` (disabling a client takes effect within it).
"""

import hashlib
import secrets
import time
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, field_validator

from ticketing import aws
from ticketing.errors import Forbidden, Unauthenticated
from ticketing.fields import new_list
from ticketing.grants import EVERYTHING, Access
from ticketing.moments import utcnow
from ticketing.observability import logger
from ticketing.settings import get_settings
from ticketing.store import readahead
from ticketing.store.calls import call, read_batch
from ticketing.store.codec import marshal, unmarshal

TOKEN_PREFIX = "tkt_"  # noqa: S105 - a prefix, not a secret
_MAX_TOKEN = 512


class Client(BaseModel):
    client_id: str
    name: str
    dialects: list[str] = Field(default_factory=new_list)
    groups: list[str] = Field(default_factory=new_list)
    permissions: list[str] = Field(default_factory=new_list)
    partner_id: int | None = None
    user_id: int | None = None
    enabled: bool = True
    created_at: datetime
    expires_at: datetime | None = None
    # queue (or "*") -> "read" | "write" (ticketing.grants); absent: a client made before grants
    # existed, which keeps the access it had (every queue); an empty map: no ticket at all
    grants: dict[str, Literal["read", "write"]] | None = None

    @property
    def access(self) -> Access:
        return EVERYTHING if self.grants is None else Access(dict(self.grants))

    @field_validator("created_at", "expires_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.utcoffset() is None:
            raise ValueError("must name its UTC offset (a naive time cannot be compared with now)")
        return value

    def allows(self, dialect: str) -> bool:
        return "*" in self.dialects or dialect in self.dialects

    def has_group(self, group: str) -> bool:
        return group in self.groups

    def has_permission(self, permission: str) -> bool:
        return "*" in self.permissions or permission in self.permissions


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


_cache: dict[str, tuple[float, Client | None]] = {}


def _table() -> str:
    return get_settings().clients_table


def lookup(token: str, *, with_catalog: bool = False) -> Client | None:
    return lookup_hash(hash_token(token), with_catalog=with_catalog)


def lookup_hash(digest: str, *, with_catalog: bool = False) -> Client | None:
    """The client whose token hashes to ``digest`` (cached as ``lookup``): webhook subscriptions
    keep the hash of the token that made them, so a disabled client or a grant taken away stops
    its deliveries too.  When the client must be read, what the request reads next is read in
    the same ``BatchGetItem``: the items it wants read ahead (``store.readahead``: the ticket its
    path names), and, ``with_catalog`` (it goes on to read the status catalog) when the
    catalog's cache is stale, the catalog (``catalog.loaded`` caches it).  The client's record
    is read consistently, as alone; none of the others is shown before the caller is
    authenticated and authorized."""
    now = time.monotonic()
    hit = _cache.get(digest)
    if hit and hit[0] > now:
        return hit[1]
    key = {"token_hash": {"S": digest}}
    catalog = with_catalog and _catalog_stale()
    ahead = readahead.pending()
    if ahead or catalog:
        item = _read_with(key, ahead, catalog=catalog)
    else:
        item = call(aws.dynamodb(), "get_item", TableName=_table(), Key=key, ConsistentRead=True).get("Item")
    client = _client_of(unmarshal(item)) if item else None
    ttl = get_settings().auth_cache_seconds
    if ttl > 0 and client is not None:
        if len(_cache) > 1024:
            _cache.clear()
        _cache[digest] = (now + ttl, client)
    return client


def _catalog_stale() -> bool:
    from ticketing import catalog  # loaded already by every route that reads it (the webhooks' do not)

    return catalog.stale()


def _read_with(key: dict, ahead: dict[str, list[dict]], *, catalog: bool) -> dict | None:
    """The client's stored item (None: no such token); beside it, in one ``BatchGetItem``, the
    items read ahead, by table (consistently, as their own reads would be) and, if ``catalog``,
    the catalog (eventually consistent when no ticket is read ahead with it)."""
    from ticketing.repository import CATALOG_KEY

    clients, tickets = _table(), get_settings().tickets_table
    request: dict = {table: {"Keys": list(keys), "ConsistentRead": True} for table, keys in ahead.items()}
    if catalog:
        request.setdefault(tickets, {"Keys": []})["Keys"].insert(0, CATALOG_KEY)
    request[clients] = {"Keys": [key], "ConsistentRead": True}
    found = read_batch(aws.dynamodb(), request)
    if catalog:
        from ticketing import catalog as catalogs

        pk, sk = CATALOG_KEY["pk"]["S"], CATALOG_KEY["sk"]["S"]
        document = next((i for i in found.get(tickets, []) if i["pk"]["S"] == pk and i["sk"]["S"] == sk), None)
        catalogs.loaded(document["document"]["S"] if document else None)
    for table, keys in ahead.items():
        readahead.fill(table, keys, found.get(table, []))
    return next(iter(found.get(clients, [])), None)


def _client_of(record: dict) -> Client | None:
    """The client a stored record describes; a malformed record (a naive ``expires_at``,
    ``dialects`` as a string, ...) is no client: its token is refused (401) and the fault is
    logged for the operators, with the client's id and the bad fields, never the token or its hash."""
    try:
        return Client.model_validate(record)
    except ValidationError as err:
        client_id = record.get("client_id")
        logger.error(
            "malformed client record: its token is refused",
            extra={
                "client_id": client_id if isinstance(client_id, str) else None,
                "fields": sorted({".".join(str(p) for p in e["loc"]) for e in err.errors(include_url=False)}),
            },
        )
        return None


def parse_authorization(value: str | None, schemes: tuple[str, ...]) -> str | None:
    """The token of an ``Authorization: <scheme> <token>`` header, if well formed."""
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    if not token or len(token) > _MAX_TOKEN or scheme.lower() not in {s.lower() for s in schemes}:
        return None
    return token


def client_for(
    authorization: str | None, dialect: str, schemes: tuple[str, ...] = ("Bearer",), *, with_catalog: bool = False
) -> Client:
    """The client an ``Authorization`` header names, for ``dialect`` (401 / 403 as ``authenticate``)."""
    return authenticate(parse_authorization(authorization, schemes), dialect, with_catalog=with_catalog)


def authenticate(token: str | None, dialect: str | None, *, with_catalog: bool = False) -> Client:
    """The enabled, unexpired client owning ``token`` that may speak ``dialect`` (None: any client,
    whatever its dialects: the hub's own routes every client has, such as its webhooks).
    ``with_catalog``: the route reads the status catalog next (``lookup_hash``)."""
    if token is None:
        raise Unauthenticated("Missing or malformed credentials.")
    client = lookup(token, with_catalog=with_catalog)
    if client is None:
        raise Unauthenticated("Invalid credentials.")
    if not client.enabled or (client.expires_at is not None and client.expires_at <= utcnow()):
        raise Unauthenticated("Credentials are disabled or expired.")
    if dialect is not None and not client.allows(dialect):
        raise Forbidden(f"This client may not use the {dialect} API.", reason="dialect")
    return client


def save_client(client: Client, token_hash: str, *, dynamodb=None, table: str | None = None) -> None:
    (dynamodb or aws.dynamodb()).put_item(
        TableName=table or _table(),
        Item=marshal({**client.model_dump(mode="json", exclude_none=True), "token_hash": token_hash}),
    )


def create_client(
    name: str,
    dialects: list[str],
    *,
    groups: list[str] | None = None,
    permissions: list[str] | None = None,
    partner_id: int | None = None,
    user_id: int | None = None,
    grants: dict[str, str] | None = None,
    token: str | None = None,
    dynamodb=None,
    table: str | None = None,
) -> tuple[str, Client]:
    """Create a client; returns its token, which is not kept anywhere in clear."""
    token = token or new_token()
    client = Client(
        client_id="cli_" + secrets.token_hex(8),
        name=name,
        dialects=dialects,
        groups=groups or [],
        permissions=permissions or [],
        partner_id=partner_id,
        user_id=user_id,
        grants=grants,
        created_at=utcnow(),
    )
    save_client(client, hash_token(token), dynamodb=dynamodb, table=table)
    return token, client


def set_enabled(client_id: str, enabled: bool, *, dynamodb=None, table: str | None = None) -> int:
    """Enable or disable every token of a client; returns how many were changed."""
    ddb, table = dynamodb or aws.dynamodb(), table or _table()
    changed = 0
    for page in ddb.get_paginator("scan").paginate(
        TableName=table,
        FilterExpression="client_id = :c",
        ExpressionAttributeValues={":c": {"S": client_id}},
        ProjectionExpression="token_hash",
    ):
        for item in page.get("Items", []):
            ddb.update_item(
                TableName=table,
                Key={"token_hash": item["token_hash"]},
                UpdateExpression="SET enabled = :e",
                ExpressionAttributeValues={":e": {"BOOL": enabled}},
            )
            changed += 1
    _cache.clear()
    return changed


def set_grant(client_id: str, queue: str, level: str | None, *, dynamodb=None, table: str | None = None) -> int:
    """Give every token of a client ``level`` on ``queue`` (None: take the grant away); a client
    from before grants (every queue) keeps every other queue.  Returns how many were changed.
    Taking a queue away from a client that would still reach it through ``*`` would take nothing
    away: a ValueError, and nothing is changed."""
    ddb, table = dynamodb or aws.dynamodb(), table or _table()
    updated = []
    for page in ddb.get_paginator("scan").paginate(
        TableName=table, FilterExpression="client_id = :c", ExpressionAttributeValues={":c": {"S": client_id}}
    ):
        for item in page.get("Items", []):
            client = Client.model_validate(unmarshal(item))
            grants = dict(client.grants) if client.grants is not None else {"*": "write"}
            if level is None:
                grants.pop(queue, None)
                if Access(grants).can_read(queue):
                    raise ValueError(
                        f"{client_id} would still reach {queue!r} through '*' (grants {grants}); "
                        "revoke '*' and grant the queues it keeps instead"
                    )
            else:
                grants[queue] = level
            updated.append((client.model_copy(update={"grants": grants}), item["token_hash"]["S"]))
    for client, token_hash in updated:
        save_client(client, token_hash, dynamodb=ddb, table=table)
    _cache.clear()
    return len(updated)


def reset() -> None:
    _cache.clear()
