"""Ticket identifiers.

The numeric id is the one stored key.  The other identifiers the dialects use are
derived from it by an invertible 32-bit permutation, so resolving any of them costs
no read and two tickets can never share one:

* ``number``: 8 upper-case hex digits (SPP's ``E4A269FC``); ids whose number would
  be all decimal digits are never allocated, so a number never reads as an id;
* ``key``: ``tic_`` + 7 base-36 characters (ParticleSpace);
* ``ref``: ``<PREFIX>-<id, 6+ digits>`` (servicedesk ``INC-000047``); the prefix is
  the ticket type's, and a converted ticket keeps resolving under its old prefixes.
"""

from __future__ import annotations

import re
from typing import NamedTuple

MAX_ID = 0xFFFFFFFF
_ROUND_KEYS_NUMBER = (0x5BD1, 0xE995, 0x2C1B, 0x7A4D)
_ROUND_KEYS_KEY = (0x9E37, 0x79B9, 0x7F4A, 0x1C69)
_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"

_NUMBER_RE = re.compile(r"^[0-9A-Fa-f]{8}$")
_KEY_RE = re.compile(r"^tic_([0-9a-z]{7})$")
# ASCII digits only: ``\d`` and ``str.isdigit`` also take other scripts' digits (Arabic-Indic, fullwidth)
_REF_RE = re.compile(r"^([A-Za-z]{2,5})-([0-9]{1,10})$")
_ID_RE = re.compile(r"^[0-9]{1,10}$")


def _round(half: int, key: int) -> int:
    x = (half * 0x9E3B + key) & 0xFFFF
    x ^= x >> 7
    x = (x * 0x2F6B) & 0xFFFF
    return x ^ (x >> 9)


def _permute(value: int, keys: tuple[int, ...]) -> int:
    left, right = value >> 16, value & 0xFFFF
    for k in keys:
        left, right = right, left ^ _round(right, k)
    return (left << 16) | right


def _unpermute(value: int, keys: tuple[int, ...]) -> int:
    left, right = value >> 16, value & 0xFFFF
    for k in reversed(keys):
        left, right = right ^ _round(left, k), left
    return (left << 16) | right


def number_for(ticket_id: int) -> str:
    return f"{_permute(ticket_id, _ROUND_KEYS_NUMBER):08X}"


def key_for(ticket_id: int) -> str:
    value = _permute(ticket_id, _ROUND_KEYS_KEY)
    chars = []
    for _ in range(7):
        value, digit = divmod(value, 36)
        chars.append(_B36[digit])
    return "tic_" + "".join(reversed(chars))


def ref_for(prefix: str, ticket_id: int) -> str:
    return f"{prefix}-{ticket_id:06d}"


def allocatable(ticket_id: int) -> bool:
    """An id is handed out only if its number contains a letter (never ambiguous)."""
    return 0 < ticket_id <= MAX_ID and not number_for(ticket_id).isdigit()


class Identifier(NamedTuple):
    """A parsed ticket identifier: the id it names, and the REF prefix if it was a REF."""

    ticket_id: int
    ref_prefix: str | None = None


def parse(text: str) -> Identifier | None:
    """Parse any ticket identifier; ``None`` when it names no possible ticket."""
    text = text.strip()
    if not text.isascii():
        return None
    if _ID_RE.match(text):
        value = int(text)
        return Identifier(value) if 0 < value <= MAX_ID else None
    if _NUMBER_RE.match(text):
        return Identifier(_unpermute(int(text, 16), _ROUND_KEYS_NUMBER))
    m = _KEY_RE.match(text)
    if m:
        value = 0
        for ch in m.group(1):
            value = value * 36 + _B36.index(ch)
        return Identifier(_unpermute(value, _ROUND_KEYS_KEY)) if value <= MAX_ID else None
    m = _REF_RE.match(text)
    if m:
        value = int(m.group(2))
        return Identifier(value, m.group(1).upper()) if 0 < value <= MAX_ID else None
    return None
