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
