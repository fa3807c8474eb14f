"""Reference data one request reads (users, orders, queues...): each key fetched at most once.

Dialects read the users and orders their answers show through one ``References`` per request;
loads go through ``service.get_references`` (one batched read per kind and call)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ticketing import service


def _key(key: Any) -> str | None:
    return None if key is None or key == "" else str(key)


class References:
    """The reference documents one request has read, by (kind, key); a key read and not found
    is remembered as ``None``.  Safe to read from worker threads once loaded."""

    def __init__(self) -> None:
        self._docs: dict[tuple[str, str], dict[str, Any] | None] = {}

    def load(self, kind: str, keys: Iterable[Any]) -> None:
        """Read the keys of ``kind`` not read yet (one batched read)."""
        self.load_kinds({kind: keys})

    def load_kinds(self, wanted: dict[str, Iterable[Any]]) -> None:
        """Read the keys of each kind not read yet, every kind's in one batched read."""
        unread = {
            kind: [k for k in dict.fromkeys(_key(k) for k in keys) if k is not None and (kind, k) not in self._docs]
            for kind, keys in wanted.items()
        }
        unread = {kind: keys for kind, keys in unread.items() if keys}
        if not unread:
            return
        if len(unread) == 1:
            kind, keys = next(iter(unread.items()))
            found = {kind: service.get_references(kind, keys)}
        else:
            found = service.get_reference_kinds(unread)
        for kind, keys in unread.items():
            for key in keys:
                self._docs[(kind, key)] = found.get(kind, {}).get(key)

    def get(self, kind: str, key: Any) -> dict[str, Any] | None:
        """The document of ``key``, if loaded and found."""
        k = _key(key)
        return None if k is None else self._docs.get((kind, k))

    def known(self, kind: str, key: Any) -> bool:
        """Whether ``key`` was read (found or not)."""
        k = _key(key)
        return k is not None and (kind, k) in self._docs

    def missing(self, kind: str, keys: Iterable[Any]) -> list[Any]:
        """The keys of ``kind`` that do not exist (read first if needed), in the order given."""
        keys = list(keys)
        self.load(kind, keys)
        return [k for k in keys if self.get(kind, k) is None]
