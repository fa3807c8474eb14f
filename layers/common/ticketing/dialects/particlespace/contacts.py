"""The notify contacts: email addresses and phone numbers, normalised (phones in E.164)."""

from __future__ import annotations

import re

DEFAULT_PHONE_REGION = "US"  # national numbers such as 1112223333 are read as North American
_EMAIL_RE = re.compile(
    r"^(?=[^@]{1,64}@)[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
_PHONE_RE = re.compile(r"^\+?(?=(?:[^0-9]*[0-9]){4})[0-9 ().-]{4,32}$")  # digits, spaces, ( ) . -


def normalise_email(raw: str) -> str | None:
    """The address with its domain in lower case, or None if it is not a valid address."""
    if len(raw) > 254 or not _EMAIL_RE.match(raw):
        return None
    local, _, domain = raw.rpartition("@")
    return f"{local}@{domain.lower()}"


def normalise_phone(raw: str, region: str = DEFAULT_PHONE_REGION) -> str | None:
    """The number in E.164 (``+12025550143``), or None if it is not a valid phone number.

    National numbers are read in ``region``.  A number must be *valid* (libphonenumber's
    ``is_valid_number``: a number its country's plan assigns, with its area code), not merely
    possible: ``555-9497`` is a local-only number and would go nowhere in E.164.  The document's
    illustrative ``1112223333`` (area code 111 does not exist) is refused too: docs/particlespace.md."""
    if not _PHONE_RE.match(raw):
        return None
    import phonenumbers  # only requests with SMS contacts pay for it

    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
