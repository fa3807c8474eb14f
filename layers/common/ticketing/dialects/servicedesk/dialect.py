"""Content negotiation and errors as ASP.NET Web API gives them: ``{"Message": ...}`` or
``<Error><Message>...</Message></Error>``, in the format ``Accept`` asks for, else the request's."""

from __future__ import annotations

from typing import Any

from ticketing.dialects.servicedesk.results import error_body
from ticketing.errors import DomainError
from ticketing.http import BaseDialect, Request, Response

NAME = "servicedesk"

JSON_TYPES = ("application/json", "text/json")
XML_TYPES = ("application/xml", "text/xml")
MEDIA_TYPES = JSON_TYPES + XML_TYPES

UNAUTHORIZED = "Authorization has been denied for this request."
INTERNAL = "An error has occurred."


def is_xml(media_type: str) -> bool:
    return media_type in XML_TYPES


def response_type(request: Request | None) -> str:
    """The media type to answer in: the best of ``Accept`` we serve, else the request's."""
    fallback = "application/json"
    if request is not None and request.media_type in MEDIA_TYPES:
        fallback = request.media_type
    accept = request.header("accept") if request is not None else None
    if not accept:
        return fallback
    best: tuple[float, int, int, str] | None = None
    for index, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        media = media.lower()
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        if q <= 0:
            continue
        if media in MEDIA_TYPES:
            candidate, specificity = media, 2
        elif media in ("application/*", "text/*"):
            candidate, specificity = media[:-1] + ("xml" if is_xml(fallback) else "json"), 1
        elif media == "*/*":
            candidate, specificity = fallback, 0
        else:
            continue
        rank = (q, specificity, -index, candidate)
        if best is None or rank[:3] > best[:3]:
            best = rank
    return best[3] if best else fallback


def respond(status: int, json_body: dict[str, Any], xml_body: str) -> Response:
    """The answer in both formats: ``Servicedesk.finish`` gives the one ``Accept`` asks for."""
    return Response(status, json_body, variants={"json": json_body, "xml": xml_body})


class Servicedesk(BaseDialect):
    name = NAME
    # statuses this operation's document does not name, answered as its 400 instead
    as_bad_request: frozenset[int] = frozenset()

    def __init__(self, *, as_bad_request: frozenset[int] = frozenset()) -> None:
        self.as_bad_request = as_bad_request

    def render_error(self, error: DomainError, request: Request | None) -> Response:
        status = 400 if error.status in self.as_bad_request else error.status
        if error.status == 401:
            message = UNAUTHORIZED
        elif error.status >= 500 and error.code == "internal_error":
            message = INTERNAL
        else:
            message = error.message
        media = response_type(request)
        body = error_body(message, is_xml(media))
        headers = {"WWW-Authenticate": 'Bearer realm="servicedesk"'} if error.status == 401 else {}
        return Response(status, body, headers=headers, content_type=f"{media}; charset=utf-8")

    def finish(self, request: Request | None, response: Response) -> Response:
        if response.variants:
            media = response_type(request)
            response.body = response.variants["xml" if is_xml(media) else "json"]
            response.content_type = f"{media}; charset=utf-8"
            response.variants = None
        return response


DIALECT = Servicedesk()
# WorkflowPush's document: "HttpStatusCode 200 OK or 400 BadRequest with Message" -- a ticket that
# is not found (missing, or outside the client's grants) and a body over the limit are its 400.
PUSH_DIALECT = Servicedesk(as_bad_request=frozenset({404, 413}))
