"""The status catalog: canonical statuses and each dialect's vocabulary, as data.

The default catalog ships in ``catalog.json``; a deployment may store its own in the
tickets table (item ``CATALOG``/``default``), read at most once per
``catalog_cache_seconds`` per container.  Dialect adapters look their terms up here;
the domain only ever sees canonical ``status`` / ``sub_status`` keys.
"""

import json
import time
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ticketing.fields import new_list

_DEFAULT_PATH = Path(__file__).with_name("catalog.json")


class TicketType(BaseModel):
    key: str
    name: str
    ref_prefix: str = Field(pattern=r"^[A-Z]{2,5}$")


class Status(BaseModel):
    key: str
    name: str
    category: str = Field(pattern=r"^(open|pending|closed)$")


class SubStatus(BaseModel):
    key: str
    status: str
    name: str


class Term(BaseModel):
    model_config = ConfigDict(frozen=True)
    term: str | int
    name: str
    status: str
    sub_status: str | None = None
    attrs: dict[str, Any] = Field(default_factory=dict)


class Vocabulary(BaseModel):
    terms: list[Term]
    attrs: dict[str, Any] = Field(default_factory=dict)

    def lookup(self, term: str | int) -> Term | None:
        return self._by_term.get(term)

    def for_status(self, status: str, sub_status: str | None) -> Term | None:
        """The term that renders a canonical status: exact sub-status match first."""
        fallback = None
        for t in self.terms:
            if t.status == status:
                if t.sub_status == sub_status:
                    return t
                if fallback is None or (t.sub_status is None and fallback.sub_status is not None):
                    fallback = t
        return fallback

    @cached_property
    def _by_term(self) -> dict[str | int, Term]:
        return {t.term: t for t in self.terms}


class Catalog(BaseModel):
    ticket_types: list[TicketType]
    statuses: list[Status]
    sub_statuses: list[SubStatus] = Field(default_factory=new_list)
    vocabularies: dict[str, Vocabulary] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> "Catalog":
        keys = {s.key for s in self.statuses}
        subs = {(s.key, s.status) for s in self.sub_statuses}
        for sub in self.sub_statuses:
            if sub.status not in keys:
                raise ValueError(f"sub-status {sub.key!r} names unknown status {sub.status!r}")
        for name, vocab in self.vocabularies.items():
            for t in vocab.terms:
                if t.status not in keys:
                    raise ValueError(f"{name} term {t.term!r} names unknown status {t.status!r}")
                if t.sub_status is not None and (t.sub_status, t.status) not in subs:
                    raise ValueError(f"{name} term {t.term!r} names unknown sub-status {t.sub_status!r}")
        return self

    def status(self, key: str) -> Status | None:
        return next((s for s in self.statuses if s.key == key), None)

    def ticket_type(self, key: str) -> TicketType | None:
        return next((t for t in self.ticket_types if t.key == key), None)

    def type_for_prefix(self, prefix: str) -> TicketType | None:
        return next((t for t in self.ticket_types if t.ref_prefix == prefix), None)

    def vocabulary(self, name: str) -> Vocabulary:
        return self.vocabularies.get(name) or Vocabulary(terms=[])


def default_catalog() -> Catalog:
    return Catalog.model_validate_json(_DEFAULT_PATH.read_bytes())


_cache: tuple[float, Catalog] | None = None


def stale() -> bool:
    """Whether the next ``get_catalog`` would read the store (nothing cached, or past its TTL)."""
    from ticketing.settings import get_settings

    return _cache is None or time.monotonic() - _cache[0] >= get_settings().catalog_cache_seconds


def get_catalog() -> Catalog:
    """The catalog in force: the stored one if any, else the default (cached per TTL)."""
    if not stale():
        return _cache[1]
    from ticketing.repository import load_catalog_document

    return loaded(load_catalog_document())


def loaded(document: str | None) -> Catalog:
    """The catalog a stored document (None: none stored) makes, cached as ``get_catalog``'s
    (for a read that fetched the document beside another item: ``auth.lookup_hash``)."""
    global _cache
    now = time.monotonic()
    catalog = Catalog.model_validate(json.loads(document)) if document else default_catalog()
    _cache = (now, catalog)
    return catalog


def reset() -> None:
    global _cache
    _cache = None
