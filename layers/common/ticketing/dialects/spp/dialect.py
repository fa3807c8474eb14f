"""SPP's conventions on every response: its error body, ``X-Api-Identifier`` and ``X-Api-Version``."""

from __future__ import annotations

import uuid

from ticketing.errors import DomainError, FieldError, ValidationFailed, quoted
from ticketing.http import BaseDialect, Request, Response

NAME = "spp"
PERMISSION = "ticket_management"
IDENTIFIER_HEADER = "X-Api-Identifier"
VERSION_HEADER = "X-Api-Version"
# The versions the document names (request example 2024-03-05, response example 20231214),
# each accepted in both spellings; the response echoes the caller's spelling.
VERSIONS = ("2024-03-05", "2023-12-14")
SUPPORTED_VERSIONS = (*VERSIONS, *(v.replace("-", "") for v in VERSIONS))
DEFAULT_VERSION = VERSIONS[0]


def response_version(request: Request | None) -> str:
    """The version a response names: the caller's, when it is one we serve."""
    asked = (request.header(VERSION_HEADER) or "").strip() if request is not None else ""
    return asked if asked in SUPPORTED_VERSIONS else DEFAULT_VERSION


def check_version(request: Request) -> None:
    """A request ``X-Api-Version`` that names no version we serve is a 400."""
    asked = request.header(VERSION_HEADER)
    if asked is not None and asked.strip() not in SUPPORTED_VERSIONS:
        supported = " and ".join(f"{v} ({v.replace('-', '')})" for v in VERSIONS)
        message = f"Unsupported API version {quoted(asked.strip())}; supported: {supported}."
        raise invalid([FieldError(VERSION_HEADER, message)])


def invalid(errors: list[FieldError]) -> ValidationFailed:
    """Laravel's summary: the first message, and how many more there are."""
    more = len(errors) - 1
    suffix = f" (and {more} more error{'s' if more > 1 else ''})" if more else ""
    return ValidationFailed(errors[0].message + suffix, errors=errors)


class Spp(BaseDialect):
    name = NAME

    def render_error(self, error: DomainError, request: Request | None) -> Response:
        errors: dict[str, list[str]] = {}
        for e in error.errors:
            errors.setdefault(e.field, []).append(e.message)
        headers = {"WWW-Authenticate": 'Bearer realm="spp"'} if error.status == 401 else {}
        return Response(error.status, {"message": error.message, "errors": errors}, headers=headers)

    def finish(self, request: Request | None, response: Response) -> Response:
        response.headers = {
            **response.headers,
            IDENTIFIER_HEADER: str(uuid.uuid4()),
            VERSION_HEADER: response_version(request),
        }
        return response


DIALECT = Spp()
