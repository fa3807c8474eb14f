"""Points in time the hub keeps: timezone-aware, UTC, within one range every dialect renders.

Every datetime a request brings in goes through one of the annotated types below (or,
for a dialect with its own text form, through ``to_utc``), and becomes an aware UTC
datetime from ``EARLIEST`` to ``LATEST``.  That range renders without overflow in every
time zone (UTC-12 to UTC+14: years 1899 to 9999) and in every dialect's form (four-digit
years, epoch milliseconds, EventBridge ``at()`` expressions).  What cannot be kept -- no
offset where one is required, out of range -- is a field error with the wording below,
which each dialect renders as its own 400.

``check_ticket`` is the last line of defence: the repository calls it on every ticket it
is about to write.  ``StoredDateTime`` reads what was stored before these checks (naive,
or out of range) as the nearest value they allow, so an old ticket heals instead of
failing every later request.  Nothing here knows a dialect.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel
from pydantic_core import PydanticCustomError

from ticketing.errors import FieldError, ValidationFailed

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9998, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)

NAIVE = "must include a UTC offset, e.g. 2030-01-01T09:00:00Z or 2030-01-01T09:00:00+02:00"
OUT_OF_RANGE = "must be from 1900-01-01T00:00:00Z to 9998-12-31T23:59:59Z"


def utcnow() -> datetime:
    return datetime.now(UTC)


class Unkeepable(ValueError):
    """A datetime the hub cannot keep; ``reason`` is ``NAIVE`` or ``OUT_OF_RANGE``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def in_range(value: datetime) -> bool:
    """Whether an aware ``value`` lies within the range (compared without converting it,
    so a value near year 1 or 9999 in any offset cannot overflow)."""
    return EARLIEST <= value <= LATEST


def to_utc(value: datetime, *, naive_as: tzinfo | None = None) -> datetime:
    """``value`` as an aware UTC datetime within the range.

    A naive ``value`` is read in ``naive_as`` (UTC, a dialect's configured zone), or refused
    when that is None.  Raises ``Unkeepable``."""
    if value.tzinfo is None or value.utcoffset() is None:
        if naive_as is None:
            raise Unkeepable(NAIVE)
        value = value.replace(tzinfo=naive_as)
    if not in_range(value):
        raise Unkeepable(OUT_OF_RANGE)
    return value.astimezone(UTC)


def _validator(naive_as: tzinfo | None) -> AfterValidator:
    def check(value: datetime) -> datetime:
        try:
            return to_utc(value, naive_as=naive_as)
        except Unkeepable as err:
            kind = "datetime_naive" if err.reason == NAIVE else "datetime_range"
            raise PydanticCustomError(kind, err.reason) from err

    return AfterValidator(check)


UtcDateTime = Annotated[datetime, _validator(None)]
"""A request datetime that must carry its offset; kept in UTC, within the range."""

UtcDateTimeNaiveAsUtc = Annotated[datetime, _validator(UTC)]
"""A request datetime that is UTC when it carries no offset; kept in UTC, within the range."""


def stored(value: datetime) -> datetime:
    """A stored datetime as the hub reads it: naive means UTC (data from before every write
    was checked); a value out of range reads as the nearest end of the range."""
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=UTC)
    if in_range(value):
        return value.astimezone(UTC)
    from ticketing.observability import logger  # only for data from before the checks

    logger.warning("a stored datetime is out of range; read as the nearest end of it", extra={"value": str(value)})
    return EARLIEST if value < EARLIEST else LATEST


StoredDateTime = Annotated[datetime, AfterValidator(stored)]
"""A datetime of a stored record (``ticketing.model``): read, never refused."""


def unkeepable(value: Any, path: str = "") -> FieldError | None:
    """The first datetime in ``value`` (a record, walked through its records and the lists and
    dicts holding them) that is naive or out of range, as a field error naming where it is;
    None when every one can be kept.  Free-form JSON (``metadata``) holds no datetimes: the
    values of a list or dict are looked at only when they are records or datetimes."""
    if isinstance(value, datetime):
        try:
            to_utc(value)
        except Unkeepable as err:
            return FieldError(path or "value", err.reason)
        return None
    if isinstance(value, BaseModel):
        items: Any = ((name, getattr(value, name)) for name in type(value).model_fields)
    elif isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        if not isinstance(value, BaseModel) and not isinstance(item, (BaseModel, datetime)):
            continue
        found = unkeepable(item, f"{path}.{key}" if path else str(key))
        if found is not None:
            return found
    return None


def check_ticket(ticket: BaseModel) -> None:
    """Refuse (``ValidationFailed``, each dialect's own 400) a ticket about to be written that
    holds a datetime that is naive or out of range: the last line of defence, after the
    dialects' own checks, so nothing unrenderable is ever stored."""
    error = unkeepable(ticket)
    if error is not None:
        raise ValidationFailed(f"{error.field} {error.message}.", errors=[error])
