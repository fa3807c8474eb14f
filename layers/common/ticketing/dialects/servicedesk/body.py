"""The request body: decoded as ASP.NET Web API decodes it (byte order mark, else ``charset``),
read as JSON or as a DataContract XML document, and validated into a ``WorkflowPushPost``."""

from __future__ import annotations

import codecs
import dataclasses
from typing import Any

from ticketing.dialects.common import json_body
from ticketing.dialects.servicedesk import datacontract
from ticketing.dialects.servicedesk.datacontract import NS_POSTS
from ticketing.dialects.servicedesk.dialect import JSON_TYPES, MEDIA_TYPES, XML_TYPES
from ticketing.dialects.servicedesk.models import FIELDS, WorkflowPushPost, validate_post
from ticketing.errors import BadRequest, UnsupportedMediaType, quoted
from ticketing.http import Request
from ticketing.workflow import Workflow

_FIELDS_CI = {f.lower(): f for f in FIELDS}
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_REPLACED = "\ufffd".encode()
_UTF8_NAMES = ("", "utf-8", "utf8")
LOST_ON_THE_WAY = (
    "The UTF-16 request body lost characters on the way (API Gateway passes bodies as UTF-8 text): send it in UTF-8."
)


def _charset(request: Request) -> str:
    for param in (request.header("content-type") or "").split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return ""


def body_text(request: Request) -> str | None:
    """The body decoded as ASP.NET Web API decodes it: by its byte order mark, else by the
    ``charset`` of ``Content-Type``; None for a UTF-8 body without a BOM (read as it is).

    The API declares this dialect's media types binary (``BinaryMediaTypes`` in template.yaml),
    so API Gateway passes their bodies base64-encoded, byte for byte.  Without that setting it
    hands a body to the function as UTF-8 text, each byte sequence that is not UTF-8 replaced by
    U+FFFD: a UTF-16 BOM arrives as two U+FFFD.  What follows it came through intact when it holds
    no U+FFFD (every byte was valid UTF-8 on its own: ASCII text in UTF-16), and is decoded;
    otherwise characters were lost on the way, and it is refused."""
    body, charset = request.body, _charset(request)
    if not request.binary and body.startswith(_REPLACED * 2) and b"\0" in body[6:10]:
        rest = body[6:]
        if _REPLACED in rest:
            raise BadRequest(LOST_ON_THE_WAY)
        return rest.decode("utf-16-le" if rest[1:2] == b"\0" else "utf-16-be", "strict")
    encoding = None
    for bom, name in _BOMS:  # a BOM wins over the charset, as in Web API
        if body.startswith(bom):
            encoding, body = name, body[len(bom) :]
            break
    if encoding is None and charset not in _UTF8_NAMES:
        encoding = {"utf-16": "utf-16-le", "unicode": "utf-16-le", "utf-32": "utf-32-le"}.get(charset, charset)
    if encoding is None or encoding.replace("_", "-") in _UTF8_NAMES:
        request.check_utf8()
        return None if encoding is None else body.decode("utf-8")
    try:
        return body.decode(encoding)
    except LookupError as err:
        raise UnsupportedMediaType(f"The charset {quoted(charset)} is not supported: send UTF-8 or UTF-16.") from err
    except UnicodeDecodeError as err:
        raise BadRequest(f"The request body is not valid {encoding.upper()} text.") from err


def xml_members(request: Request) -> dict[str, str | None]:
    text = body_text(request)
    root = datacontract.parse_xml(request.body if text is None else text)  # text: its declaration ignored
    return datacontract.members(root, "WorkflowPushPost", NS_POSTS, FIELDS)


def json_members(request: Request) -> dict[str, Any]:
    text = body_text(request)
    if text is not None:  # decoded from its BOM or charset: read as the UTF-8 text it is
        request = dataclasses.replace(request, body=text.encode("utf-8", "surrogatepass"), binary=True)
    data = json_body(request)
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a WorkflowPushPost object.")
    fields: dict[str, Any] = {}
    for key, value in data.items():
        name = _FIELDS_CI.get(key.lower())
        if name is None:
            continue  # unknown members are ignored
        if name in fields:
            raise BadRequest(f"The member {name} is given more than once.")
        fields[name] = value
    return fields


def members(request: Request) -> tuple[dict[str, Any], bool]:
    """The members of a JSON or XML request (415 for any other body type), and whether they came
    as JSON (numbers as numbers)."""
    media = request.media_type
    if media in JSON_TYPES:
        return json_members(request), True
    if media in XML_TYPES:
        return xml_members(request), False
    raise UnsupportedMediaType(
        f"The request entity's media type '{media or 'none'}' is not supported for this resource; "
        f"send one of {', '.join(MEDIA_TYPES)}."
    )


def parse_post(request: Request, workflow: Workflow) -> WorkflowPushPost:
    """The WorkflowPushPost of a JSON or XML request: the members of either format, validated by
    the one model."""
    fields, by_number = members(request)
    return validate_post({name: fields.get(name) for name in FIELDS}, workflow, by_number=by_number)


def named_tickets(request: Request) -> list[str]:
    """What the body's TicketId and TicketREF say, unchecked, for reading the ticket ahead
    (``service.read_ahead``) before the caller is authenticated: nothing here is refused, and a
    body that does not parse names nothing (``parse_post`` refuses it after the credentials'
    check, as ever)."""
    try:
        fields, _ = members(request)
    except Exception:  # whatever the parse raises, parse_post raises again in its turn
        return []
    values = (fields.get("TicketId"), fields.get("TicketREF"))
    return [str(v) for v in values if isinstance(v, (str, int)) and not isinstance(v, bool)]
