"""The local run's console: ``GET /_local/`` (``devkit/console_page/``: plain HTML and vanilla JS, no
build step, nothing fetched from elsewhere) and the dev endpoints it reads.

* ``GET /_local/changes``: how many AWS requests that may have changed something the embedded
  AWS has answered so far, and the outbox's size.  The page polls it (once a second) and reads
  anything else only when it moved, so an open console costs the API nothing but that.
* ``GET /_local/find?q=<identifier>``: tickets found by any identifier: id, number (SPP), key
  (ParticleSpace), REF (servicedesk, any of its prefixes), a MyHRW partner ticket's id or display
  id, an order number, or words of the title.
* ``GET /_local/tickets/<id>/views``: one ticket through every dialect, read-only: the canonical
  ``GET /tickets/{id}`` and servicedesk's ``GET /api/Tickets/GetTicket/{id}`` through the API
  itself (the demo clients' tokens); SPP's TicketResource, Kapture's ticket, ParticleSpace's
  ticket and each MyHRW partner ticket rendered by the dialect's own render function (those
  dialects have no read route).
* ``GET /_local/tickets/<id>/history``: its audit history through ``GET /tickets/{id}/history``.
* ``GET /_local/routes``: every route of template.yaml with a ``curl`` that works as it is (the
  route's first successful fixture in ``events/``, with the demo token).
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import mimetypes
import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from devkit import demo
from devkit import template as tpl

log = logging.getLogger("local.console")
STATIC = Path(__file__).parent / "console_page"
Answer = tuple[int, list[tuple[str, str]], bytes]
JSON = [("Content-Type", "application/json"), ("Cache-Control", "no-store")]
_TICKET = re.compile(r"^/_local/tickets/(\d{1,10})/(views|history)$")

# the dialect of each function, by its code folder's prefix (the rest are the canonical API's)
DIALECTS = ("myhrw", "servicedesk", "spp", "particlespace", "kapture")


def dialect_of(fn: tpl.Function) -> str:
    return next((d for d in DIALECTS if fn.code_uri.name.startswith(d + "_")), "canonical")


def _json(data: Any, status: int = 200) -> Answer:
    return status, JSON, json.dumps(data, indent=2, default=str).encode()


class Console:
    def __init__(self, run: Any):
        self.run = run

    def answer(self, method: str, path: str, args: dict[str, str]) -> Answer | None:
        if method != "GET":
            return None
        if path in ("/_local", "/_local/"):
            return self._static("index.html")
        if path in ("/_local/console.js", "/_local/console.css", "/_local/webhooks.js"):
            return self._static(path.rsplit("/", 1)[1])
        if path == "/_local/changes":  # no AWS request: what the page polls costs the API nothing
            from moto.ses.models import ses_backends
            from moto.sns.models import sns_backends

            sent = len(ses_backends[tpl.ACCOUNT][tpl.REGION].sent_messages)
            sent += len(sns_backends[tpl.ACCOUNT][tpl.REGION].sms_messages)
            return _json({"changes": self.run.aws.gate.changes, "outbox": sent})
        if path == "/_local/find":
            return _json(find(args.get("q", "")))
        if path == "/_local/routes":
            return _json(routes(self.run.template))
        match = _TICKET.match(path)
        if match:
            ticket_id, what = int(match.group(1)), match.group(2)
            if what == "views":
                return _json(self.views(ticket_id))
            return self._through_api("GET", f"/tickets/{ticket_id}/history?limit=100", "canonical")
        return None

    def _static(self, name: str) -> Answer:
        data = (STATIC / name).read_bytes()
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind.endswith("javascript"):
            kind += "; charset=utf-8"
        return 200, [("Content-Type", kind), ("Cache-Control", "no-store")], data

    def _through_api(self, method: str, target: str, dialect: str, accept: str = "application/json") -> Answer:
        token = demo.credentials()[dialect][dialect]
        headers = [("Authorization", token), ("Accept", accept), ("User-Agent", "ticket-hub-console")]
        status, out, data = self.run.api.handle(method, target, headers, b"", "127.0.0.1")
        kind = next((v for k, v in out if k.lower() == "content-type"), "application/json")
        return status, [("Content-Type", kind), ("Cache-Control", "no-store")], data

    def views(self, ticket_id: int) -> dict[str, Any]:
        """The ticket as each dialect shows it: {dialect: {how, status, body}}."""
        from ticketing import service
        from ticketing.errors import DomainError
        from ticketing.grants import EVERYTHING  # the console shows every ticket: it is the developer's

        out: dict[str, Any] = {}
        status, _, data = self._through_api("GET", f"/tickets/{ticket_id}", "canonical")
        out["canonical"] = {"how": f"GET /tickets/{ticket_id}", "status": status, "body": _parsed(data)}
        try:
            ticket = service.get_ticket(ticket_id, access=EVERYTHING)
        except DomainError as err:
            return {**out, "error": err.message}
        ref = service.current_ref(ticket)
        status, _, data = self._through_api("GET", f"/api/Tickets/GetTicket/{quote(ref)}", "servicedesk")
        out["servicedesk"] = {"how": f"GET /api/Tickets/GetTicket/{ref}", "status": status, "body": _parsed(data)}
        for name, render in (("spp", _spp), ("kapture", _kapture), ("particlespace", _particlespace)):
            try:
                out[name] = {"how": render.__doc__, "status": None, "body": render(ticket)}
            except Exception as err:  # one dialect's failure shows; the others still do
                out[name] = {"how": render.__doc__, "status": None, "error": f"{type(err).__name__}: {err}"}
        out["myhrw"] = {"how": _myhrw.__doc__, "status": None, "body": _myhrw(ticket)}
        return out


def _parsed(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data.decode("utf-8", "replace")


def _spp(ticket: Any) -> Any:
    """TicketResource: ticketing.dialects.spp.render (as PUT /api/tickets/{ticket} answers)"""
    from ticketing import service
    from ticketing.dialects import spp
    from ticketing.references import References

    return spp.render(ticket, References(), service.messages(ticket))


def _kapture(ticket: Any) -> Any:
    """ticket: ticketing.dialects.kapture.render_ticket (as the update batch answers)"""
    from types import SimpleNamespace

    from ticketing.catalog import get_catalog
    from ticketing.dialects import kapture
    from ticketing.model import utcnow
    from ticketing.references import References

    vocab = get_catalog().vocabulary(kapture.NAME)
    refs = References()
    refs.load(kapture.USER_KIND, [u for u in (*ticket.assignee_ids[:1], ticket.requester_id, ticket.creator_id) if u])
    if ticket.queue:
        refs.load(kapture.QUEUE_KIND, [ticket.queue])
    batch = SimpleNamespace(vocab=vocab, zone=kapture.zone_of(vocab), refs=refs, now=utcnow())
    return kapture.render_ticket(ticket, batch)


def _particlespace(ticket: Any) -> Any:
    """ticket: ticketing.dialects.particlespace.render (as PUT /api/v1/ticket/{id} answers)"""
    from ticketing.catalog import get_catalog
    from ticketing.dialects import particlespace

    return particlespace.render(ticket, get_catalog().vocabulary(particlespace.NAME))


def _myhrw(ticket: Any) -> Any:
    """partner tickets: ticketing.dialects.myhrw.render (as PUT .../partnertickets/{id} answers)"""
    from ticketing.dialects import myhrw

    return [
        myhrw.render(ticket.id, task.id, pt)
        for task in sorted(ticket.tasks.values(), key=lambda t: t.id)
        for pt in task.partner_tickets.values()
    ]


def _tickets() -> list[Any]:
    from ticketing import service
    from ticketing.repository import from_item

    repo = service.repository()
    found = []
    for page in repo.client.get_paginator("scan").paginate(
        TableName=repo.table,
        FilterExpression="sk = :t",
        ExpressionAttributeValues={":t": {"S": "TICKET"}},
    ):
        for item in page.get("Items", []):
            try:
                found.append(from_item(item))
            except ValueError as err:  # a ticket the model refuses is not one to show
                log.info("console: ticket item %s skipped: %s", item.get("pk"), err)
    return sorted(found, key=lambda t: t.id)


def find(query: str) -> list[dict[str, Any]]:
    """Tickets matching ``query`` by any identifier (or, failing that, words of the title); the
    newest first when the query is empty."""
    from ticketing import service

    query = query.strip()
    tickets = _tickets()
    out: dict[int, dict[str, Any]] = {}

    def add(ticket: Any, how: str) -> None:
        out.setdefault(
            ticket.id,
            {
                "id": ticket.id,
                "number": ticket.number,
                "key": ticket.key,
                "ref": service.current_ref(ticket),
                "title": ticket.title,
                "status": ticket.status,
                "sub_status": ticket.sub_status,
                "version": ticket.version,
                "updated_at": ticket.updated_at,
                "matched": how,
            },
        )

    if not query:
        for ticket in sorted(tickets, key=lambda t: t.updated_at, reverse=True)[:50]:
            add(ticket, "recent")
        return list(out.values())
    from ticketing.errors import DomainError
    from ticketing.grants import EVERYTHING

    with contextlib.suppress(DomainError, ValueError):  # not an identifier of a ticket that exists
        add(service.get_ticket(query, access=EVERYTHING), "identifier")
    folded = query.casefold()
    for ticket in tickets:
        for task in ticket.tasks.values():
            for pt in task.partner_tickets.values():
                if folded in (pt.id.casefold(), pt.display_id.casefold()):
                    add(ticket, f"MyHRW partner ticket {pt.id} (task {task.id})")
        if ticket.order_number and folded == ticket.order_number.casefold():
            add(ticket, "order number")
    for ticket in tickets:
        if folded in ticket.title.casefold():
            add(ticket, "title")
    return list(out.values())


def routes(template: tpl.Template) -> list[dict[str, Any]]:
    """Every route with a curl that works on the demo data as it is."""
    creds = demo.credentials()
    out = []
    for fn in template.functions().values():
        dialect = dialect_of(fn)
        for route in fn.routes:
            event = _example(fn, route)
            token = creds[dialect][dialect]
            out.append(
                {
                    "function": fn.logical_id,
                    "dialect": dialect,
                    "method": route.method,
                    "path": route.path,
                    "authorization": token,
                    "curl": _curl(route, event, token),
                }
            )
    return out


def _example(fn: tpl.Function, route: tpl.Route) -> dict[str, Any] | None:
    """The route's first fixture in events/ that succeeds (and needs no If-Match)."""
    folder = tpl.ROOT / "events" / fn.code_uri.name
    try:
        expected = json.loads((folder / "expected.json").read_text())
    except (OSError, ValueError):
        return None
    for name, outcome in expected.items():
        if not isinstance(outcome, int) or not 200 <= outcome < 300:
            continue
        try:
            event = json.loads((folder / name).read_text())
        except (OSError, ValueError):
            continue
        headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
        if event.get("httpMethod") == route.method and "if-match" not in headers:
            return event
    return None


def _curl(route: tpl.Route, event: dict[str, Any] | None, token: str) -> str:
    base = "http://127.0.0.1:${PORT:-3000}"
    if event is None:
        return f'curl -s -X{route.method} "{base}{route.path}" -H {shlex.quote("Authorization: " + token)}'
    path = event.get("path") or route.path
    query = event.get("queryStringParameters") or {}
    url = f"{base}{quote(path)}" + (f"?{urlencode(query)}" if query else "")
    parts = ["curl -s", f"-X{route.method}" if route.method != "GET" else "", f'"{url}"']
    parts.append("-H " + shlex.quote(f"Authorization: {token}"))
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    for name in ("content-type", "accept"):
        if name in headers:
            parts.append("-H " + shlex.quote(f"{name.title()}: {headers[name]}"))
    body = event.get("body")
    if body:
        if event.get("isBase64Encoded"):
            body = base64.b64decode(body).decode("utf-8", "replace")
        parts.append("--data-binary " + shlex.quote(body))
    return " ".join(p for p in parts if p)
