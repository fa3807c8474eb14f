"""Item sizes as DynamoDB counts them, for the limits the store enforces (400 KB an item) and
the request units it charges.

DynamoDB's rules (Developer Guide, "Item sizes and formats"): an item is the UTF-8 length of each
attribute's name plus its value's size.  Strings: their UTF-8 bytes; binaries: their raw bytes;
numbers: 1 byte per two significant digits, plus 1; booleans and null: 1 byte; a list or map: 3
bytes, plus each element's size and 1 byte per element (a map element's name counted too); sets:
the sum of their elements.  JSON bytes are not that: a list element of ``1`` is 2 bytes of JSON
(``1,``) and 3 here (2 for the number, 1 for the element).
"""

from __future__ import annotations

import base64
from typing import Any

MAX_ITEM_BYTES = 400 * 1024


def _number_size(text: str) -> int:
    """1 byte per two significant digits (rounded up), plus 1; leading and trailing zeros do not
    count (``"1000"`` and ``"0.001"`` have one significant digit)."""
    mantissa = text.lower().split("e")[0].lstrip("+-").replace(".", "")
    digits = len(mantissa.strip("0")) or 1
    return -(-digits // 2) + 1


def _raw_bytes(value: bytes | str) -> int:
    return len(value) if isinstance(value, (bytes, bytearray)) else len(base64.b64decode(value))  # JSON: base64


def attribute_size(value: dict[str, Any]) -> int:
    """The size of one attribute value in DynamoDB's wire form (``{"S": "abc"}``), its name not
    counted."""
    ((kind, v),) = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        return _number_size(v)
    if kind == "B":
        return _raw_bytes(v)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(attribute_size(e) + 1 for e in v)
    if kind == "M":
        return 3 + sum(len(k.encode()) + attribute_size(e) + 1 for k, e in v.items())
    if kind == "SS":
        return sum(len(e.encode()) for e in v)
    if kind == "NS":
        return sum(_number_size(e) for e in v)
    if kind == "BS":
        return sum(_raw_bytes(e) for e in v)
    raise ValueError(f"not a DynamoDB attribute value type: {kind}")


def item_size(item: dict[str, Any] | None) -> int:
    """An item's size (typed attribute values): each attribute's name plus its value (0: none)."""
    return sum(len(name.encode()) + attribute_size(v) for name, v in (item or {}).items())


class NotPlain(ValueError):
    """A value that is not JSON's own (str, int, finite float, bool, None, list, dict with str keys)."""


def _plain_size(value: Any) -> int:
    """The size of a JSON value as the attribute value it is stored as (``codec.marshal``: a
    string ``S``, a number ``N``, ``BOOL``, ``NULL``, a list ``L``, an object ``M``)."""
    kind = type(value)
    if kind is str:
        return len(value.encode())
    if kind is dict:
        size = 3
        for key, element in value.items():
            if type(key) is not str:
                raise NotPlain("a key that is not a string")
            size += len(key.encode()) + _plain_size(element) + 1
        return size
    if kind is list:
        return 3 + sum(_plain_size(e) + 1 for e in value)
    if kind is bool or value is None:
        return 1
    if kind is int and -(10**38) < value < 10**38:  # DynamoDB's numbers: 38 digits at most
        return _number_size(str(value))
    if kind is float and (value == 0 or 1e-100 < abs(value) < 1e100):  # well within DynamoDB's range
        return _number_size(repr(value))  # JSON's text of it
    raise NotPlain(kind.__name__)


def doc_size(doc: dict[str, Any]) -> int:
    """The size of the item a JSON document is stored as (each field an attribute), counted from
    the document itself: the same as ``item_size`` of its marshalled item, without making it.
    ``NotPlain`` for anything but JSON's own values."""
    return _plain_size(doc) - 3 - len(doc)  # an item: its attributes, without a map's 3 + 1 each
