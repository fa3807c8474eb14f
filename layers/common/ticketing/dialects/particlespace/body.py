"""The request body's fields: a form (as the document's ``qs.stringify`` example sends it),
``multipart/form-data`` or a JSON object."""

from __future__ import annotations

from typing import Any

from ticketing.dialects.common import json_body
from ticketing.errors import BadRequest, UnsupportedMediaType, quoted
from ticketing.http import Request

FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"  # Postman's default body, curl -F
MAX_PARTS = 1000


def fields(request: Request) -> dict[str, Any]:
    """The body's fields, by its media type (none: JSON if it looks like JSON, else a form)."""
    media = request.media_type
    looks_json = request.body.lstrip()[:1] in (b"{", b"[")
    if media == "application/json" or media.endswith("+json") or (media == "" and looks_json):
        data = json_body(request)
        if not isinstance(data, dict):
            raise BadRequest("The request body must be a JSON object.")
        return data
    if media in (FORM, ""):
        return request.form()
    if media == MULTIPART:
        return multipart_fields(request)
    raise UnsupportedMediaType(f"Send the body as {FORM}, {MULTIPART} or application/json, not {media}.")


def multipart_fields(request: Request) -> dict[str, str]:
    """The text fields of a ``multipart/form-data`` body (RFC 7578), read with the stdlib's
    MIME parser: the same fields as the form body.  A file part is refused (the operation
    takes none), and so is a part that is not UTF-8 text (or its declared charset)."""
    import email.parser
    import email.policy

    request.check_utf8()
    content_type = request.header("content-type") or ""
    try:
        head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("ascii")
    except UnicodeEncodeError as err:
        raise BadRequest("The Content-Type header of a multipart/form-data body must be ASCII.") from err
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.body)
    if not message.get_boundary():
        raise BadRequest("A multipart/form-data body needs the boundary parameter in its Content-Type.")
    parts = list(message.iter_parts()) if message.is_multipart() else []
    if message.defects or not parts or any(p.defects for p in parts):
        raise BadRequest("The request body is not valid multipart/form-data.")
    if len(parts) > MAX_PARTS:
        raise BadRequest(f"A multipart/form-data body may have at most {MAX_PARTS} parts.")
    out: dict[str, str] = {}
    for part in parts:
        name = part.get_param("name", header="content-disposition")
        if part.get_content_disposition() != "form-data" or not isinstance(name, str) or not name:
            raise BadRequest("Each part of a multipart/form-data body must be form-data with a name.")
        if part.get_filename() is not None:
            raise BadRequest(f"The part {quoted(name)} is a file: this operation takes text fields only.")
        payload = part.get_payload(decode=True) or b""
        try:
            out[name] = payload.decode(part.get_content_charset() or "utf-8")
        except (LookupError, UnicodeDecodeError) as err:
            raise BadRequest(f"The part {quoted(name)} is not valid text in its charset (UTF-8 by default).") from err
    return out
