"""The ``servicedesk`` dialect: ``POST /api/Tickets/WorkflowPush`` pushes a ticket through its
workflow; ``GET /api/Tickets/GetTicket/{id}`` tells its state and the actions it allows.

Bodies in JSON (``application/json``, ``text/json``) or XML (``application/xml``,
``text/xml``) with the DataContract namespaces of the vendor's document; the response
follows ``Accept``, else the request's format.  Errors are ASP.NET Web API's
``{"Message": ...}`` / ``<Error><Message>...</Message></Error>``.  XML is parsed by
defusedxml with DTDs refused (so no entity of any kind is ever expanded or fetched),
and depth and element count bounded.  The workflow itself (states, actions, their
parameters) is data: ``ticketing/workflow.json``.  Auth: ``Authorization: Bearer <token>``.
"""

from __future__ import annotations

import codecs
import dataclasses
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from ticketing import auth, idempotency, ids, service
from ticketing.dialects.common import actor_for, json_body
from ticketing.dialects.docs import IDEMPOTENCY_KEY, Operation
from ticketing.errors import (
    BadRequest,
    DomainError,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    quoted,
)
from ticketing.http import BaseDialect, Request, Response, entrypoint
from ticketing.model import Ticket
from ticketing.repository import ChangeSet
from ticketing.workflow import Action, Arguments, Role, Workflow, get_workflow

NAME = "servicedesk"

NS_I = "http://www.w3.org/2001/XMLSchema-instance"
NS_POSTS = "http://schemas.datacontract.org/2004/07/RequestorApiDataStructures.Posts"
NS_RESULTS = "http://schemas.datacontract.org/2004/07/RequestorApiDataStructures.Results"
NS_ARRAYS = "http://schemas.microsoft.com/2003/10/Serialization/Arrays"

JSON_TYPES = ("application/json", "text/json")
XML_TYPES = ("application/xml", "text/xml")
MEDIA_TYPES = JSON_TYPES + XML_TYPES

MAX_XML_BYTES = 256 * 1024
MAX_XML_DEPTH = 8
MAX_XML_ELEMENTS = 256
MAX_REF = 32
MAX_KEY = 256
MAX_NOTE = 32768
MAX_INT32 = 2**31 - 1

# the document's name of each workflow parameter role
PARAMETER_NAMES: dict[Role, str] = {
    "operator": "UserProviderKey",
    "service": "ServiceId",
    "customer": "CustomerId",
    "note": "Note",
}
FIELDS = ("Action", "CustomerId", "Note", "ServiceId", "TicketId", "TicketREF", "UserProviderKey")
_FIELDS_CI = {f.lower(): f for f in FIELDS}

UNAUTHORIZED = "Authorization has been denied for this request."
INTERNAL = "An error has occurred."
_INTEGER_TEXT = re.compile(r"\s*([+-]?)([0-9]+)\s*")  # ASCII digits only
_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


# -- content negotiation ------------------------------------------------------------------
def _is_xml(media_type: str) -> bool:
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
            candidate, specificity = media[:-1] + ("xml" if _is_xml(fallback) else "json"), 1
        elif media == "*/*":
            candidate, specificity = fallback, 0
        else:
            continue
        rank = (q, specificity, -index, candidate)
        if best is None or rank[:3] > best[:3]:
            best = rank
    return best[3] if best else fallback


def _clean(text: str) -> str:
    return _XML_INVALID.sub("\ufffd", text)


def _xml_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(_clean(str(value)))


def _element(name: str, value: Any) -> str:
    if value is None:
        return f'<{name} i:nil="true"/>'
    return f"<{name}>{_xml_text(value)}</{name}>"


def _strings(name: str, values: list[str]) -> str:
    """A DataContract ``List<string>``."""
    if not values:
        return f'<{name} xmlns:a="{NS_ARRAYS}"/>'
    items = "".join(f"<a:string>{_xml_text(v)}</a:string>" for v in values)
    return f'<{name} xmlns:a="{NS_ARRAYS}">{items}</{name}>'


def _root(name: str, inner: str) -> str:
    return f'<{name} xmlns:i="{NS_I}" xmlns="{NS_RESULTS}">{inner}</{name}>'


def _respond(request: Request, status: int, json_body: dict[str, Any], xml_body: str) -> Response:
    """The answer in both formats: ``Servicedesk.finish`` gives the one ``Accept`` asks for."""
    return Response(status, json_body, variants={"json": json_body, "xml": xml_body})


# -- the dialect ------------------------------------------------------------------------------
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
        if _is_xml(media):
            body: Any = f"<Error><Message>{_xml_text(message)}</Message></Error>"
        else:
            body = {"Message": message}
        headers = {"WWW-Authenticate": 'Bearer realm="servicedesk"'} if error.status == 401 else {}
        return Response(status, body, headers=headers, content_type=f"{media}; charset=utf-8")

    def finish(self, request: Request | None, response: Response) -> Response:
        if response.variants:
            media = response_type(request)
            response.body = response.variants["xml" if _is_xml(media) else "json"]
            response.content_type = f"{media}; charset=utf-8"
            response.variants = None
        return response


DIALECT = Servicedesk()
# WorkflowPush's document: "HttpStatusCode 200 OK or 400 BadRequest with Message" -- a ticket that
# is not found (missing, or outside the client's grants) and a body over the limit are its 400.
PUSH_DIALECT = Servicedesk(as_bad_request=frozenset({404, 413}))


def _client(request: Request) -> auth.Client:
    token = auth.parse_authorization(request.header("authorization"), ("Bearer",))
    return auth.authenticate(token, NAME)


# -- request parsing ------------------------------------------------------------------------------
class _LimitExceeded(Exception):
    pass


class _BoundedBuilder(ET.TreeBuilder):
    """Builds the tree, refusing documents deeper or larger than a WorkflowPushPost can be."""

    def __init__(self) -> None:
        super().__init__()
        self._depth = 0
        self._count = 0

    def start(self, tag: str, attrs: dict[str, str]) -> ET.Element:
        self._depth += 1
        self._count += 1
        if self._depth > MAX_XML_DEPTH or self._count > MAX_XML_ELEMENTS:
            raise _LimitExceeded
        return super().start(tag, attrs)

    def end(self, tag: str) -> ET.Element:
        self._depth -= 1
        return super().end(tag)


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_REPLACED = "\ufffd".encode()
_UTF8_NAMES = ("", "utf-8", "utf8")


def _charset(request: Request) -> str:
    for param in (request.header("content-type") or "").split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return ""


def body_text(request: Request) -> str | None:
    """The body decoded as ASP.NET Web API decodes it: by its byte order mark, else by the
    ``charset`` of ``Content-Type``; None for a UTF-8 body without a BOM (read as it is).

    API Gateway hands a non-binary body to the function as UTF-8 text, each byte sequence that
    is not UTF-8 replaced by U+FFFD: a UTF-16 BOM arrives as two U+FFFD.  What follows it came
    through intact when it holds no U+FFFD (every byte was valid UTF-8 on its own: ASCII text
    in UTF-16), and is decoded; otherwise characters were lost on the way, and it is refused."""
    body, charset = request.body, _charset(request)
    if not request.binary and body.startswith(_REPLACED * 2) and b"\0" in body[6:10]:
        rest = body[6:]
        if _REPLACED in rest:
            raise BadRequest(
                "The UTF-16 request body lost characters on the way (API Gateway passes bodies as UTF-8 "
                "text): send it in UTF-8."
            )
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


def parse_xml(body: bytes | str) -> ET.Element:
    """Parse untrusted XML: no DTD (hence no entities, internal or external), bounded size."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import DefusedXMLParser

    if len(body) > MAX_XML_BYTES:
        raise PayloadTooLarge(f"The XML request body is larger than {MAX_XML_BYTES} bytes.")
    parser = DefusedXMLParser(target=_BoundedBuilder(), forbid_dtd=True, forbid_entities=True, forbid_external=True)
    try:
        parser.feed(body)
        return parser.close()
    except DefusedXmlException as err:
        raise BadRequest("The XML request body may not contain a DTD or entity declarations.") from err
    except _LimitExceeded as err:
        raise BadRequest(
            f"The XML request body is nested deeper than {MAX_XML_DEPTH} levels "
            f"or has more than {MAX_XML_ELEMENTS} elements."
        ) from err
    except (ET.ParseError, ValueError, LookupError) as err:
        raise BadRequest(f"The request body is not well-formed XML: {err}.") from err


def _xml_fields(request: Request) -> dict[str, str | None]:
    text = body_text(request)
    root = parse_xml(request.body if text is None else text)  # text: decoded here, its declaration ignored
    expected = f"{{{NS_POSTS}}}WorkflowPushPost"
    if root.tag != expected:
        ns, _, local = root.tag[1:].partition("}") if root.tag.startswith("{") else ("", "", root.tag)
        raise BadRequest(
            f"Expecting element 'WorkflowPushPost' from namespace '{NS_POSTS}'; "
            f"encountered element '{local}' from namespace '{ns}'."
        )
    fields: dict[str, str | None] = {}
    for child in root:
        if not child.tag.startswith(f"{{{NS_POSTS}}}"):
            continue  # elements of other namespaces are not members (DataContract ignores them)
        name = child.tag.rpartition("}")[2]
        if name not in FIELDS:
            continue  # unknown members are ignored, as DataContract does
        if name in fields:
            raise BadRequest(f"The element {name} is given more than once.")
        if len(child):
            raise BadRequest(f"The element {name} must hold a value, not elements.")
        nil = (child.get(f"{{{NS_I}}}nil") or "").strip().lower() in ("true", "1")
        fields[name] = None if nil else (child.text or "")
    return fields


def _json_fields(request: Request) -> dict[str, Any]:
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


def _quote(value: Any) -> str:
    return quoted(value)


def _integer(name: str, value: Any, *, maximum: int = MAX_INT32) -> int | None:
    if value is None:
        return None
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and (m := _INTEGER_TEXT.fullmatch(value)):
        sign, digits = m.group(1), m.group(2).lstrip("0") or "0"
        # more digits than any id has: too large (without converting thousands of digits)
        number = int(sign + digits) if len(digits) <= 19 else (-1 if sign == "-" else maximum + 1)
    if number is None:
        raise ValidationFailed(f"The value {_quote(value)} of {name} is not an integer.")
    if number <= 0:
        raise ValidationFailed(f"{name} must be a positive integer, not {number}.")
    if number > maximum:
        raise ValidationFailed(f"{name} is too large: at most {maximum}.")
    return number


def _string(name: str, value: Any, *, max_length: int, strip: bool = True) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationFailed(f"{name} must be a string.")
    text = value.strip() if strip else value
    if len(text) > max_length:
        raise ValidationFailed(f"{name} may be at most {max_length} characters long.")
    return text


def _action(workflow: Workflow, value: Any, *, by_number: bool) -> Action:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationFailed("Action is required: a TicketActionEnum name or number.")
    action = None
    if isinstance(value, str):
        text = value.strip()
        if by_number and re.fullmatch(r"[+-]?[0-9]{1,9}", text):
            action = workflow.action_by_code(int(text))
        else:
            action = workflow.action(text)
    elif by_number and isinstance(value, int) and not isinstance(value, bool):
        action = workflow.action_by_code(value)
    if action is None:
        raise ValidationFailed(f"The value {_quote(value)} of Action is not a TicketActionEnum.")
    return action


@dataclass(frozen=True, slots=True)
class WorkflowPushPost:
    action: Action
    ticket_id: int | None
    ticket_ref: str | None
    user_provider_key: str | None
    service_id: int | None
    customer_id: int | None
    note: str | None

    def given(self, role: Role) -> bool:
        value = {
            "operator": self.user_provider_key,
            "service": self.service_id,
            "customer": self.customer_id,
            "note": self.note,
        }[role]
        return value is not None


def parse_post(request: Request, workflow: Workflow) -> WorkflowPushPost:
    """The WorkflowPushPost of a JSON or XML request (415 for any other body type)."""
    media = request.media_type
    if media in JSON_TYPES:
        fields, by_number = _json_fields(request), True
    elif media in XML_TYPES:
        fields, by_number = _xml_fields(request), False
    else:
        raise UnsupportedMediaType(
            f"The request entity's media type '{media or 'none'}' is not supported for this resource; "
            f"send one of {', '.join(MEDIA_TYPES)}."
        )
    ref = _string("TicketREF", fields.get("TicketREF"), max_length=MAX_REF) or None
    key = _string("UserProviderKey", fields.get("UserProviderKey"), max_length=MAX_KEY) or None
    return WorkflowPushPost(
        action=_action(workflow, fields.get("Action"), by_number=by_number),
        ticket_id=_integer("TicketId", fields.get("TicketId"), maximum=ids.MAX_ID),
        ticket_ref=ref,
        user_provider_key=key,
        service_id=_integer("ServiceId", fields.get("ServiceId")),
        customer_id=_integer("CustomerId", fields.get("CustomerId")),
        note=_string("Note", fields.get("Note"), max_length=MAX_NOTE, strip=False),
    )


# -- identifiers and reference data ------------------------------------------------------------------
def _ticket_identifier(post: WorkflowPushPost) -> str:
    """What names the ticket: TicketREF and/or TicketId (both given: the same ticket)."""
    if post.ticket_ref is not None:
        parsed = ids.parse(post.ticket_ref)
        if parsed is None or parsed.ref_prefix is None:
            raise ValidationFailed(f"TicketREF {_quote(post.ticket_ref)} is not a ticket reference such as INC-000047.")
        if post.ticket_id is not None and post.ticket_id != parsed.ticket_id:
            raise ValidationFailed(
                f"TicketId {post.ticket_id} and TicketREF {post.ticket_ref} do not name the same ticket."
            )
        return post.ticket_ref
    if post.ticket_id is not None:
        return str(post.ticket_id)
    raise ValidationFailed("TicketId or TicketREF is required.")


def operator_key(user_provider_key: str) -> str:
    """Operators are stored under their UserProviderKey, compared case-insensitively."""
    return user_provider_key.strip().lower()


def _operator_user_id(user_provider_key: str) -> int:
    key = operator_key(user_provider_key)
    doc = service.repository().get_references("operator", [key]).get(key)
    if not doc or not doc.get("active", True) or not isinstance(doc.get("user_id"), int):
        raise ValidationFailed(f"UserProviderKey {_quote(user_provider_key)} is not a known operator.")
    return doc["user_id"]


def _service(service_id: int) -> dict[str, Any]:
    doc = service.repository().get_references("service", [service_id]).get(str(service_id))
    if not doc or not doc.get("active", True):
        raise ValidationFailed(f"ServiceId {service_id} is not a known service.")
    return doc


def _arguments(post: WorkflowPushPost) -> tuple[Arguments, dict[str, Any] | None]:
    """Check the action's parameters and resolve them; parameters the action does not take are ignored."""
    action = post.action
    missing = [PARAMETER_NAMES[r] for r in action.required if not post.given(r)]
    if missing:
        raise ValidationFailed(f"{' and '.join(missing)} is required for the action {action.name}.")
    user_id = service_doc = None
    if action.takes("operator") and post.user_provider_key is not None:
        user_id = _operator_user_id(post.user_provider_key)
    if action.takes("service") and post.service_id is not None:
        service_doc = _service(post.service_id)
    args = Arguments(
        operator_user_id=user_id,
        service_id=post.service_id if action.takes("service") else None,
        customer_id=post.customer_id if action.takes("customer") else None,
        note=post.note if action.takes("note") else None,
    )
    return args, service_doc


def _check_service_takes(service_id: int, doc: dict[str, Any], ticket: Ticket) -> None:
    types = doc.get("ticket_types")
    if types and ticket.type not in types:
        label = get_workflow().flow(ticket.type).name
        raise ValidationFailed(f"ServiceId {service_id} ({doc.get('name', '')}) does not take tickets of type {label}.")


# -- views ----------------------------------------------------------------------------------------------
def push_result(ticket: Ticket) -> tuple[dict[str, Any], str]:
    ref = service.current_ref(ticket)
    json_body = {"TicketREF": ref, "TicketId": ticket.id}
    xml_body = _root("WorkflowPushResult", _element("TicketId", ticket.id) + _element("TicketREF", ref))
    return json_body, xml_body


def ticket_result(ticket: Ticket) -> tuple[dict[str, Any], str]:
    workflow = get_workflow()
    flow = workflow.flow(ticket.type)
    state = workflow.state_of(ticket).key
    summary = workflow.summary_of(ticket)
    ref = service.current_ref(ticket)
    actions = workflow.available(ticket)
    items = []
    xml_items = []
    for action in actions:
        required = [PARAMETER_NAMES[r] for r in action.required]
        optional = [PARAMETER_NAMES[r] for r in action.optional]
        items.append(
            {
                "Action": action.code,
                "Name": action.name,
                "NeedsParameter": bool(required),
                "RequiredParameters": required,
                "OptionalParameters": optional,
            }
        )
        xml_items.append(
            "<TicketActionInfo>"
            + _element("Action", action.name)
            + _element("Name", action.name)
            + _element("NeedsParameter", bool(required))
            + _strings("OptionalParameters", optional)
            + _strings("RequiredParameters", required)
            + "</TicketActionInfo>"
        )
    json_body = {
        "TicketREF": ref,
        "TicketId": ticket.id,
        "TicketType": flow.name,
        "State": state,
        "SummaryState": summary,
        "AllAvailableTicketActions": items,
    }
    xml_body = _root(
        "GetTicketResult",
        f"<AllAvailableTicketActions>{''.join(xml_items)}</AllAvailableTicketActions>"
        + _element("State", state)
        + _element("SummaryState", summary)
        + _element("TicketId", ticket.id)
        + _element("TicketREF", ref)
        + _element("TicketType", flow.name),
    )
    return json_body, xml_body


# -- routes ------------------------------------------------------------------------------------------------
def workflow_push(request: Request, context: Any) -> Response:
    client = _client(request)

    def run() -> Response:
        workflow = get_workflow()
        post = parse_post(request, workflow)
        ticket = service.get_ticket(_ticket_identifier(post), access=client.access)
        workflow.check(ticket, post.action)  # refused early; re-checked on the ticket really written
        args, service_doc = _arguments(post)
        ref_before = service.current_ref(ticket)

        def command(draft: Ticket, cs: ChangeSet) -> None:
            before, after = workflow.apply(draft, post.action, args, cs.now)
            if service_doc is not None and args.service_id is not None:
                _check_service_takes(args.service_id, service_doc, draft)
            cs.event = "workflow_push"
            cs.detail = {
                "action": post.action.name,
                "action_code": post.action.code,
                "from_state": before.key,
                "to_state": after.key,
                "ref_before": ref_before,
                "ref": service.current_ref(draft),
            }
            cs.record_without_changes = True

        return service.update_ticket(
            ticket.id,
            command,
            actor_for(client, NAME, request),
            access=client.access,
            respond=lambda result: _respond(request, 200, *push_result(result.ticket)),
            current=ticket,
        ).answer

    return idempotency.once(request, client.client_id, run, context)


def get_ticket(request: Request, context: Any) -> Response:
    client = _client(request)
    raw = request.path_params.get("id", "").strip()
    parsed = ids.parse(raw)
    if parsed is None or not ((raw.isascii() and raw.isdigit()) or parsed.ref_prefix is not None):
        raise NotFound(f"Ticket {_quote(raw)} was not found: give its TicketId or TicketREF.")
    ticket = service.get_ticket(raw, access=client.access)
    return _respond(request, 200, *ticket_result(ticket))


workflow_push_handler = entrypoint(PUSH_DIALECT, workflow_push)
get_ticket_handler = entrypoint(DIALECT, get_ticket)


# -- the routes, for the OpenAPI document ----------------------------------------------------------------------
def _nullable(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}], "description": description}


def _schemas(workflow: Workflow) -> dict[str, dict[str, Any]]:
    names = [a.name for a in workflow.actions]
    codes = [a.code for a in workflow.actions]
    action_info = {
        "title": "TicketActionInfo",
        "type": "object",
        "xml": {"name": "TicketActionInfo", "namespace": NS_RESULTS},
        "properties": {
            "Action": {
                "description": "The action: its number in JSON, its name in XML.",
                "anyOf": [{"type": "integer", "enum": codes}, {"type": "string", "enum": names}],
            },
            "Name": {"type": "string", "enum": names},
            "NeedsParameter": {"type": "boolean", "description": "Whether the action needs a parameter."},
            "RequiredParameters": {
                "type": "array",
                "items": {"type": "string", "xml": {"name": "string", "namespace": NS_ARRAYS, "prefix": "a"}},
            },
            "OptionalParameters": {
                "type": "array",
                "items": {"type": "string", "xml": {"name": "string", "namespace": NS_ARRAYS, "prefix": "a"}},
            },
        },
    }
    return {
        "post": {
            "title": "WorkflowPushPost",
            "type": "object",
            "xml": {"name": "WorkflowPushPost", "namespace": NS_POSTS},
            "required": ["Action"],
            "properties": {
                "TicketId": _nullable({"type": "integer", "minimum": 1}, "(TicketId or TicketREF) The ticket's id."),
                "TicketREF": _nullable(
                    {"type": "string", "maxLength": MAX_REF, "pattern": r"^[A-Za-z]{2,5}-\d{1,10}$"},
                    "(TicketId or TicketREF) The ticket's reference, e.g. INC-000047; earlier REFs too.",
                ),
                "Action": {
                    "description": "TicketActionEnum: its number (JSON) or name (JSON and XML).",
                    "anyOf": [{"type": "integer", "enum": codes}, {"type": "string", "enum": names}],
                },
                "UserProviderKey": _nullable(
                    {"type": "string", "maxLength": MAX_KEY},
                    "A known operator: required by the Assign and FunctionEscalate actions, "
                    "optional for the WaitForThirdParty actions.",
                ),
                "ServiceId": _nullable(
                    {"type": "integer", "minimum": 1}, "A known service: required by the Convert actions."
                ),
                "CustomerId": _nullable(
                    {"type": "integer", "minimum": 1}, "The customer awaited (WaitForThirdParty actions)."
                ),
                "Note": _nullable({"type": "string", "maxLength": MAX_NOTE}, "Note (WaitForThirdParty actions)."),
            },
        },
        "result": {
            "title": "WorkflowPushResult",
            "type": "object",
            "xml": {"name": "WorkflowPushResult", "namespace": NS_RESULTS},
            "required": ["TicketREF", "TicketId"],
            "properties": {
                "TicketREF": {"type": "string", "description": "The ticket's reference (new after a conversion)."},
                "TicketId": {"type": "integer", "description": "The ticket's stable id."},
            },
        },
        "ticket": {
            "title": "GetTicketResult",
            "type": "object",
            "xml": {"name": "GetTicketResult", "namespace": NS_RESULTS},
            "properties": {
                "TicketREF": {"type": "string"},
                "TicketId": {"type": "integer"},
                "TicketType": {"type": "string", "enum": [t.name for t in workflow.types.values()]},
                "State": {"type": "string"},
                "SummaryState": {"type": "string", "enum": sorted(set(workflow.summary_states.values()))},
                "AllAvailableTicketActions": {"type": "array", "items": action_info},
            },
        },
        "error": {
            "title": "Error",
            "type": "object",
            "xml": {"name": "Error"},
            "required": ["Message"],
            "properties": {"Message": {"type": "string"}},
        },
    }


_SCHEMAS = _schemas(get_workflow())
_ERRORS = {401: _SCHEMAS["error"], 403: _SCHEMAS["error"], 404: _SCHEMAS["error"]}
OPERATIONS = [
    Operation(
        "POST",
        "/api/Tickets/WorkflowPush",
        "Push a ticket's state forward by a workflow action",
        NAME,
        "bearer",
        _SCHEMAS["post"],
        request_media_types=MEDIA_TYPES,
        responses={
            200: _SCHEMAS["result"],
            400: _SCHEMAS["error"],  # also a ticket not found and a body over the limit
            401: _SCHEMAS["error"],
            403: _SCHEMAS["error"],
            409: _SCHEMAS["error"],
            415: _SCHEMAS["error"],
            422: _SCHEMAS["error"],
            503: _SCHEMAS["error"],
        },
        response_media_types=MEDIA_TYPES,
        parameters=(IDEMPOTENCY_KEY,),
    ),
    Operation(
        "GET",
        "/api/Tickets/GetTicket/{id}",
        "A ticket's type, state and available workflow actions, by TicketId or TicketREF",
        NAME,
        "bearer",
        responses={200: _SCHEMAS["ticket"], **_ERRORS},
        response_media_types=MEDIA_TYPES,
    ),
]
