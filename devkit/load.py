"""Load run: several client processes change the same demo tickets through every dialect at
once; then every accepted change is looked for in the tickets and in their audit history.

    python -m devkit.load                                   # its own local run, on free ports
    python -m devkit.load --processes 4 --requests 60
    python -m devkit.load --url http://127.0.0.1:3000 --reset   # a running `make run` (loopback only)

Each client process (``multiprocessing``, all released at once when every one is up) sends a
fixed number of requests, one at a time on its own connection, round robin over the dialects;
the run stops sending at ``--max-seconds`` in any case.  ``R`` is the run's id, ``p`` the
process, ``n`` its request.  The tickets are the demo tickets of ``devkit.demo``:

=============  =================================================  =========================================
dialect        request                                            found afterwards
=============  =================================================  =========================================
servicedesk    first, every process at once:                      one applied at most (exactly one if it
               ``ServiceRequestAssign`` on REQ-001003              was New)
canonical      ``PATCH /tickets/{1001|1002|1004}`` metadata key   the key and its value
               ``c_R_p_n``; some with ``If-Match`` from a ``GET``
               just before (412 when another writer got there)
canonical      ``PATCH`` with the same ``Idempotency-Key`` and    applied by one request; the others are
               body from every process                            replays (or 409 while it runs)
canonical      ``POST /tickets/1004/tasks``                       a task with the answered id and title
spp            ``PUT /api/tickets/{8FC95B0F|1002|C0597C96}``      the key and its value
               metadata key ``s_R_p_n``
myhrw          ``POST`` partner ticket ``L-R-p-n`` on 1001 task   every one created; a replaced one holds
               2, or ``PUT`` (full replace) of TKT0196 (partner   the last accepted PUT's values
               17) / P18-0001 (partner 18)
particlespace  ``PUT /api/v1/ticket/{tic_0c48sol|1004}`` title    the last accepted PUT's title and
               and description, flow kept, ``notify=0``           description
kapture        a batch of three: a comment and the extra key      each comment at the message number its
               ``load_p<p>`` on 1002 (``OP``), 1004 (``P``),      answer gave, numbers distinct, in batch
               1002 again                                         order; the count grown by as many; the
                                                                  key holds the process's last value
servicedesk    ``WorkflowPush`` IncidentSuspend / IncidentResume  pushes chain state to state in the
               on INC-001001, JSON or XML                         history: none applied twice from a state
=============  =================================================  =========================================

"The last accepted" is the accepted request whose audit entry has the highest version.  And
for every request: answered, never a 5xx; a refusal only of the kinds its request may meet
(409 contention, 412 stale ``If-Match``, 400 a workflow action its state no longer allows);
each change an accepted request made is one audit entry whose ``request_id`` is the request's
``x-amzn-RequestId`` (``GET /tickets/{id}/history``, every page); a refused request has none;
and no audit entry of the run belongs to no accepted request.  Statuses are never changed
on the tickets other dialects write, except by the workflow pushes on INC-001001.

Exit status 0 when nothing was lost and nothing answered a 5xx (or anything else unexpected).
The checks assume the run's tickets have no other writers meanwhile (``--reset`` or its own run).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import multiprocessing
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
DIALECTS = ("canonical", "spp", "myhrw", "particlespace", "kapture", "servicedesk")

WORKFLOW_TICKET, WORKFLOW_REF = 1001, "INC-001001"
ASSIGN_TICKET, ASSIGN_REF = 1003, "REQ-001003"
OPERATORS = ("jane.smith@example.com", "omar.haddad@example.com", "li.wei@example.com")
SUSPEND, RESUME = 207, 205
META_TICKETS = (1001, 1002, 1004)
SPP_TICKETS = ((1001, "8FC95B0F"), (1002, "1002"), (1004, "C0597C96"))
TASK_TICKET = 1004
PARTNER_TICKET, PARTNER_TASK = 1001, 2
PARTNER_SLOTS = {17: (1, "TKT0196"), 18: (1, "P18-0001")}  # partner -> (task, technical id) replaced
FLOW_TICKETS = ((1002, "tic_0c48sol", "OPEN"), (1004, "1004", "PENDING"))
KAPTURE_BATCH = ((1002, "OP"), (1004, "P"), (1002, "OP"))  # 1002 twice: applied in request order
KAPTURE_TICKETS = (1002, 1004)
TICKETS = (1001, 1002, 1003, 1004)
KAPTURE_PATH = "/update-ticket-from-other-source.html/v.2.0"
XML_POST = (
    '<WorkflowPushPost xmlns:i="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns="http://schemas.datacontract.org/2004/07/RequestorApiDataStructures.Posts">'
    "<Action>{action}</Action><TicketREF>{ref}</TicketREF></WorkflowPushPost>"
)
ACTION_NAMES = {SUSPEND: "IncidentSuspend", RESUME: "IncidentResume"}
HTTP_TIMEOUT = 30.0
MAX_HISTORY_PAGES = 1000


# -- what one client process sends -----------------------------------------------------------------
@dataclass
class Op:
    dialect: str
    op: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""
    refusals: tuple[int, ...] = (409,)  # statuses this request may meet without anything being wrong
    tickets: tuple[int, ...] = ()  # what an accepted one changed (one audit entry each)
    expect: dict[str, Any] = field(default_factory=dict)


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


# -- one request of each dialect (also the bench's: ``devkit.bench`` writers) -----------------------
JSON_TYPE, FORM_TYPE, XML_TYPE = "application/json", "application/x-www-form-urlencoded", "application/xml"


def canonical_patch(auth: str, ticket: int | str, patch: dict[str, Any], *, op: str = "patch", **kw: Any) -> Op:
    """``PATCH /tickets/{ticket}`` (JSON merge of ``patch``); add ``If-Match``/``Idempotency-Key``
    to the answer's ``headers`` as needed."""
    headers = {"Authorization": auth, "Content-Type": JSON_TYPE}
    return Op("canonical", op, "PATCH", f"/tickets/{ticket}", headers, _json(patch), **kw)


def canonical_add_task(auth: str, ticket: int | str, title: str, *, op: str = "add_task", **kw: Any) -> Op:
    headers = {"Authorization": auth, "Content-Type": JSON_TYPE}
    return Op("canonical", op, "POST", f"/tickets/{ticket}/tasks", headers, _json({"title": title}), **kw)


def spp_put(auth: str, number: int | str, body: dict[str, Any], *, op: str = "put", **kw: Any) -> Op:
    """SPP's ``PUT /api/tickets/{number}`` (its 8-hex number or the id): a partial update."""
    headers = {"Authorization": auth, "Content-Type": JSON_TYPE, "X-Api-Version": "2024-03-05"}
    return Op("spp", op, "PUT", f"/api/tickets/{number}", headers, _json(body), **kw)


def myhrw_create(
    auth: str, ticket: int, task: int, body: dict[str, Any], *, op: str = "create_partner_ticket", **kw: Any
) -> Op:
    """MyHRW's ``POST /tickets/{id}/tasks/{task}/partnertickets``: a new partner ticket."""
    headers = {"Authorization": auth, "Content-Type": JSON_TYPE}
    return Op("myhrw", op, "POST", f"/tickets/{ticket}/tasks/{task}/partnertickets", headers, _json(body), **kw)


def myhrw_replace(
    auth: str, ticket: int, task: int, pid: str, body: dict[str, Any], *, op: str = "replace_partner_ticket", **kw: Any
) -> Op:
    """MyHRW's ``PUT /tickets/{id}/tasks/{task}/partnertickets/{pid}``: a full replace."""
    headers = {"Authorization": auth, "Content-Type": JSON_TYPE}
    return Op("myhrw", op, "PUT", f"/tickets/{ticket}/tasks/{task}/partnertickets/{pid}", headers, _json(body), **kw)


def particlespace_put(auth: str, key: int | str, form: dict[str, str], *, op: str = "put", **kw: Any) -> Op:
    """ParticleSpace's ``PUT /api/v1/ticket/{key}`` (its ``tic_`` key or the id), form-encoded:
    title, description, status (flow), notify and automated are all required."""
    headers = {"Authorization": auth, "Content-Type": FORM_TYPE}
    return Op("particlespace", op, "PUT", f"/api/v1/ticket/{key}", headers, urlencode(form).encode(), **kw)


def kapture_batch(auth: str, updates: list[dict[str, Any]], *, op: str = "batch_comment", **kw: Any) -> Op:
    """Kapture's batch ``POST`` of ``updates`` (an array, a batch of one included)."""
    headers = {"Authorization": auth, "Content-Type": JSON_TYPE}
    return Op("kapture", op, "POST", KAPTURE_PATH, headers, _json(updates), **kw)


def workflow_push(
    auth: str,
    ref: str,
    action: int | str,
    fields: dict[str, Any] | None = None,
    *,
    xml: bool = False,
    op: str = "push",
    **kw: Any,
) -> Op:
    """servicedesk's ``POST /api/Tickets/WorkflowPush`` on the ticket ``ref``: JSON (with any
    other ``fields``), or XML (``action`` then a name; no other fields)."""
    if xml:
        headers = {"Authorization": auth, "Content-Type": XML_TYPE}
        body = XML_POST.format(action=action, ref=ref).encode()
    else:
        headers = {"Authorization": auth, "Content-Type": JSON_TYPE}
        body = _json({"TicketREF": ref, "Action": action, **(fields or {})})
    return Op("servicedesk", op, "POST", "/api/Tickets/WorkflowPush", headers, body, **kw)


def plan(run: str, p: int, n: int, creds: dict[str, dict[str, str]]) -> Op:
    """Request ``n`` of process ``p``: a pure function of them, so a run can be replayed."""

    def auth(dialect: str, label: str | None = None) -> str:
        return creds[dialect][label or dialect]

    if n == 0:  # every process at once, right behind the barrier: one of them may assign it
        return workflow_push(
            auth("servicedesk"),
            ASSIGN_REF,
            "ServiceRequestAssign",
            {"UserProviderKey": OPERATORS[p % 3]},
            op="assign_race",
            refusals=(400, 409),
            tickets=(ASSIGN_TICKET,),
        )
    dialect, i = DIALECTS[(p + n) % len(DIALECTS)], n // len(DIALECTS)
    tag = f"{run}_{p}_{n}"
    if dialect == "canonical" and i % 4 == 3:
        title = f"Load task {tag}"
        return canonical_add_task(auth(dialect), TASK_TICKET, title, tickets=(TASK_TICKET,), expect={"title": title})
    if dialect == "canonical" and i % 4 == 1:
        # the same key and body from every process: applied once, the others replay it (or 409 while it runs)
        ticket, key = META_TICKETS[i % len(META_TICKETS)], f"c_{run}_once_{i}"
        op = canonical_patch(
            auth(dialect),
            ticket,
            {"metadata": {key: i}},
            op="patch_idempotent",
            tickets=(ticket,),
            expect={"metadata": {key: i}, "idempotency_key": f"load-{run}-{i}"},
        )
        op.headers["Idempotency-Key"] = f"load-{run}-{i}"
        return op
    if dialect == "canonical":
        ticket, key = META_TICKETS[(p + i) % len(META_TICKETS)], f"c_{tag}"
        conditional = i % 4 == 2
        return canonical_patch(
            auth(dialect),
            ticket,
            {"metadata": {key: n}},
            op="patch_if_match" if conditional else "patch",
            refusals=(409, 412) if conditional else (409,),
            tickets=(ticket,),
            expect={"metadata": {key: n}},
        )
    if dialect == "spp":
        ticket, identifier = SPP_TICKETS[(p + i) % len(SPP_TICKETS)]
        key = f"s_{tag}"
        return spp_put(
            auth(dialect),
            identifier,
            {"metadata": {key: f"v{n}"}},
            op="put_metadata",
            tickets=(ticket,),
            expect={"metadata": {key: f"v{n}"}},
        )
    if dialect == "myhrw":
        partner = 17 if p % 2 == 0 else 18
        token = auth(dialect, "myhrw" if partner == 17 else "myhrw_partner18")
        description = f"load {tag}"
        if i % 2 == 0:
            pid = f"L-{run}-{p}-{n}"
            return myhrw_create(
                token,
                PARTNER_TICKET,
                PARTNER_TASK,
                {"id": pid, "status": "New", "description": description},
                tickets=(PARTNER_TICKET,),
                expect={"partner": partner, "task": PARTNER_TASK, "id": pid, "description": description},
            )
        task, pid = PARTNER_SLOTS[partner]
        return myhrw_replace(
            token,
            PARTNER_TICKET,
            task,
            pid,
            {"id": pid, "status": "Open", "priority": "3 - Moderate", "description": description},
            tickets=(PARTNER_TICKET,),
            expect={"partner": partner, "task": task, "id": pid, "description": description},
        )
    if dialect == "particlespace":
        ticket, identifier, flow = FLOW_TICKETS[(p + i) % len(FLOW_TICKETS)]
        form = {
            "title": f"Load title {tag}",
            "description": f"Load description {tag}",
            "status": flow,
            "notify": "0",
            "automated": "0",
        }
        return particlespace_put(
            auth(dialect),
            identifier,
            form,
            op="put_title",
            tickets=(ticket,),
            expect={"title": form["title"], "description": form["description"]},
        )
    if dialect == "kapture":
        updates = [
            {
                "ticket_id": str(ticket),
                "sub_status": term,
                "comment": f"kapture {tag} #{k} on {ticket}",
                f"load_p{p}": f"{tag}#{k}",
            }
            for k, (ticket, term) in enumerate(KAPTURE_BATCH)
        ]
        return kapture_batch(
            auth(dialect),
            updates,
            tickets=tuple(t for t, _ in KAPTURE_BATCH),
            expect={"updates": updates, "extra_key": f"load_p{p}"},
        )
    action = SUSPEND if (p + i) % 2 else RESUME
    xml = i % 3 == 2
    return workflow_push(
        auth(dialect),
        WORKFLOW_REF,
        ACTION_NAMES[action] if xml else action,
        xml=xml,
        op="push_" + ACTION_NAMES[action],
        refusals=(400, 409),
        tickets=(WORKFLOW_TICKET,),
        expect={"action": ACTION_NAMES[action]},
    )


# -- HTTP ------------------------------------------------------------------------------------------
class Connection:
    """One kept-alive loopback connection; a request is never resent (it may have been applied)."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"the load run talks to a loopback http:// URL only, not {url}")
        self.host, self.port = parts.hostname, parts.port or 80
        self.conn: http.client.HTTPConnection | None = None

    def send(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> tuple[int, dict[str, str], bytes]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=HTTP_TIMEOUT)
        try:
            self.conn.request(method, path, body=body or None, headers=headers or {})
            resp = self.conn.getresponse()
            data = resp.read()
        except BaseException:
            self.close()
            raise
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data

    def json(self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"") -> Any:
        status, _, data = self.send(method, path, headers, body)
        if status != 200:
            raise RuntimeError(f"{method} {path}: {status} {data[:300]!r}")
        return json.loads(data)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _answer(op: Op, status: int, data: bytes) -> dict[str, Any]:
    """What verification needs of an answer: the new task's id, each Kapture element's outcome."""
    if not 200 <= status < 300 or op.op not in ("add_task", "batch_comment"):
        return {}
    body = json.loads(data)
    if op.op == "add_task":
        return {"task_id": body["id"]}
    elements = body if isinstance(body, list) else [body]
    return {
        "elements": [
            {
                "status": e.get("status"),
                "message": e.get("message"),
                "seq": (e.get("ticket") or {}).get("lastConversationId"),
            }
            for e in elements
        ]
    }


def worker(
    url: str, creds: dict, run: str, p: int, requests: int, deadline: float, ready: Any, go: Any, out: Any
) -> None:
    """One client process: ready, then (with every other one) its requests in order, then its
    records on ``out``."""
    conn, records = Connection(url), []
    try:
        ready.release()
        if not go.wait(timeout=60):
            return
        for n in range(requests):
            if time.time() >= deadline:
                break
            op = plan(run, p, n, creds)
            if op.op == "patch_if_match":  # the version just read: a racing writer makes it a 412
                rec = _send(
                    conn, p, n, Op("canonical", "get", "GET", op.path, {"Authorization": op.headers["Authorization"]})
                )
                records.append(rec)
                if rec["status"] == 200:
                    op.headers["If-Match"] = rec["etag"]
            records.append(_send(conn, p, n, op))
    finally:
        conn.close()
        out.put((p, records))


def _send(conn: Connection, p: int, n: int, op: Op) -> dict[str, Any]:
    rec: dict[str, Any] = {"p": p, "n": n, "op": op.__dict__ | {"body": op.body.decode()}}
    started = time.perf_counter()
    try:
        status, headers, data = conn.send(op.method, op.path, op.headers, op.body)
    except (OSError, http.client.HTTPException) as err:
        rec.update(status=None, error=f"{type(err).__name__}: {err}", ms=(time.perf_counter() - started) * 1000)
        return rec
    rec.update(
        status=status,
        ms=(time.perf_counter() - started) * 1000,
        request_id=headers.get("x-amzn-requestid"),
        etag=headers.get("etag"),
        replayed=headers.get("idempotent-replayed") == "true",
    )
    try:
        rec["answer"] = _answer(op, status, data)
    except (ValueError, KeyError, TypeError) as err:
        rec["answer_error"] = f"{type(err).__name__}: {err}"
    if status >= 400 and status not in op.refusals:
        rec["excerpt"] = data[:400].decode("utf-8", "replace")
    return rec


# -- reading the outcome ---------------------------------------------------------------------------
def snapshot(conn: Connection, creds: dict) -> dict[int, dict[str, Any]]:
    """Each ticket of the run as the canonical API shows it (version, fields)."""
    auth = {"Authorization": creds["canonical"]["canonical"]}
    return {t: conn.json("GET", f"/tickets/{t}", auth) for t in TICKETS}


def history(conn: Connection, creds: dict, ticket: int) -> list[dict[str, Any]]:
    auth = {"Authorization": creds["canonical"]["canonical"]}
    entries, cursor = [], None
    for _ in range(MAX_HISTORY_PAGES):
        path = f"/tickets/{ticket}/history?limit=100" + (f"&cursor={cursor}" if cursor else "")
        page = conn.json("GET", path, auth)
        entries += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return entries
    raise RuntimeError(f"ticket {ticket}: more than {MAX_HISTORY_PAGES} history pages")


def messages(conn: Connection, creds: dict, ticket: int) -> dict[int, str]:
    """The ticket's latest 100 conversation messages by number, as SPP's resource shows them
    (an empty PUT changes nothing and answers the resource)."""
    headers = {"Authorization": creds["spp"]["spp"], "Content-Type": "application/json"}
    resource = conn.json("PUT", f"/api/tickets/{ticket}", headers, b"{}")
    return {m["id"]: m["message"] for m in resource["messages"]}


# -- the report ------------------------------------------------------------------------------------
@dataclass
class Report:
    url: str
    run: str
    processes: int
    requests_per_process: int
    seconds: float = 0.0
    sent: int = 0  # of the planned requests (the GETs before If-Match PATCHes aside)
    reads: int = 0  # those GETs
    answered: int = 0
    accepted: int = 0
    replayed: int = 0
    by_dialect: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    refused: Counter = field(default_factory=Counter)  # status -> count
    server_errors: int = 0
    unexpected: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    twice: list[str] = field(default_factory=list)
    refused_but_written: list[str] = field(default_factory=list)
    unexplained_writes: list[str] = field(default_factory=list)
    workflow: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict, repr=False)  # what verify() read

    @property
    def planned(self) -> int:
        return self.processes * self.requests_per_process

    @property
    def throughput(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def render(self) -> str:
        pct = self.percentile
        lines = [
            f"Load run {self.run} against {self.url}: "
            f"{self.processes} processes x {self.requests_per_process} requests",
            f"  requests sent {self.sent + self.reads} ({self.sent} planned, {self.reads} GETs before If-Match), "
            f"answered {self.answered}, in {self.seconds:.2f} s = "
            f"{self.throughput:.1f} requests/s (latency median {pct(0.5):.1f} ms, p95 {pct(0.95):.1f} ms)",
            "  per dialect:",
        ]
        for dialect in (*DIALECTS, *sorted(set(self.by_dialect) - set(DIALECTS))):
            c = self.by_dialect.get(dialect)
            if c:
                parts = ", ".join(f"{k} {v}" for k, v in sorted(c.items()) if k != "requests")
                lines.append(f"    {dialect:14} {c['requests']:5} requests: {parts}")
        refused = ", ".join(f"{s}: {c}" for s, c in sorted(self.refused.items())) or "none"
        lines += [
            f"  accepted changes {self.accepted} (+ {self.replayed} idempotent replays); refused by reason: {refused}",
            f"  5xx = {self.server_errors}; unexpected answers = {len(self.unexpected)}",
            f"  lost updates = {len(self.lost)}; applied twice = {len(self.twice)}; "
            f"refused but written = {len(self.refused_but_written)}; "
            f"unexplained writes = {len(self.unexplained_writes)}",
        ]
        w = self.workflow
        if w:
            lines.append(
                f"  workflow pushes on {WORKFLOW_REF}: {w.get('accepted', 0)} applied "
                f"({w.get('IncidentSuspend', 0)} suspend, {w.get('IncidentResume', 0)} resume) of {w.get('sent', 0)}; "
                f"states chained: {'yes' if w.get('chained') else 'NO'}; "
                f"assign race on {ASSIGN_REF}: {w.get('assigned', 0)} of {w.get('assign_sent', 0)} applied"
            )
        if self.problems:
            lines.append(f"  PROBLEMS ({len(self.problems)}):")
            lines += [f"    - {p}" for p in self.problems[:50]]
            if len(self.problems) > 50:
                lines.append(f"    ... and {len(self.problems) - 50} more")
        else:
            lines.append("  OK: every request answered, no 5xx, every accepted change found, none applied twice")
        return "\n".join(lines)

    def percentile(self, q: float) -> float:
        lat = sorted(self.latencies)
        return lat[min(len(lat) - 1, int(len(lat) * q))] if lat else 0.0

    def figures(self) -> dict[str, Any]:
        return {
            "processes": self.processes,
            "requests_per_process": self.requests_per_process,
            "requests": self.answered,
            "seconds": self.seconds,
            "rps": self.throughput,
            "median_ms": self.percentile(0.5),
            "p95_ms": self.percentile(0.95),
            "accepted": self.accepted,
            "replayed": self.replayed,
            "refused": dict(self.refused),
            "server_errors": self.server_errors,
            "lost": len(self.lost),
            "twice": len(self.twice),
            "ok": self.ok,
        }


def _kapture_element_status(element: dict[str, Any]) -> int:
    """A Kapture element's outcome: its body has no status code, so the message tells."""
    if element.get("status") == "success":
        return 200
    message = element.get("message") or ""
    if "changed by others" in message:
        return 409
    if "internal error" in message or "busy" in message:
        return 500
    return 400


def verify(
    report: Report, records: list[dict[str, Any]], before: dict, after: dict, histories: dict, msgs: dict, state: str
) -> None:
    """Fill ``report`` from what was sent and answered and what the tickets now hold."""
    start_versions = {t: before[t]["version"] for t in TICKETS}
    by_request: dict[int, dict[str, list[dict]]] = {t: defaultdict(list) for t in TICKETS}
    for t, entries in histories.items():
        for e in entries:
            if e["version"] > start_versions[t]:
                by_request[t][e["request_id"]].append(e)

    # each accepted change: (record, ticket, element); a Kapture batch makes one per update applied
    accepted: list[tuple[dict, int, int]] = []
    replays: list[tuple[dict, int, int]] = []  # Idempotency-Key replays: found in the ticket, never written
    refused_ids: set[str] = set()
    for rec in records:
        op, status = rec["op"], rec["status"]
        counts = report.by_dialect[op["dialect"]]
        counts["requests"] += 1
        where = f"process {rec['p']} request {rec['n']} ({op['dialect']} {op['op']} {op['method']} {op['path']})"
        if status is None:
            report.problems.append(f"{where}: not answered: {rec.get('error')}")
            counts["unanswered"] += 1
            continue
        report.answered += 1
        report.latencies.append(rec["ms"])
        if status >= 500:
            report.server_errors += 1
            counts["5xx"] += 1
            report.problems.append(f"{where}: {status} {rec.get('excerpt', '')}")
            continue
        if rec.get("answer_error"):
            report.problems.append(f"{where}: unreadable answer: {rec['answer_error']}")
        if op["op"] == "get":
            counts["reads"] += 1
            continue
        if op["op"] == "batch_comment" and 200 <= status < 300:
            elements = rec.get("answer", {}).get("elements", [])
            if len(elements) != len(KAPTURE_BATCH):
                report.problems.append(f"{where}: {len(elements)} answers to {len(KAPTURE_BATCH)} updates")
            for k, ((ticket, _), element) in enumerate(zip(KAPTURE_BATCH, elements, strict=False)):
                code = _kapture_element_status(element)
                if code == 200:
                    accepted.append(({**rec, "element": element}, ticket, k))
                    counts["accepted"] += 1
                elif code in op["refusals"]:
                    report.refused[code] += 1
                    counts[f"refused {code}"] += 1
                else:
                    report.server_errors += code >= 500
                    counts["5xx" if code >= 500 else "unexpected"] += 1
                    report.unexpected.append(f"{where}: update {k} on {ticket}: {element}")
                    report.problems.append(f"{where}: update {k} on {ticket} failed: {element.get('message')}")
            continue
        if 200 <= status < 300 and rec.get("replayed"):
            counts["replayed"] += 1
            replays += [(rec, t, 0) for t in op["tickets"]]
        elif 200 <= status < 300:
            counts["accepted"] += 1
            accepted += [(rec, t, 0) for t in op["tickets"]]
        elif status in op["refusals"]:
            report.refused[status] += 1
            counts[f"refused {status}"] += 1
            refused_ids.add(rec["request_id"])
        else:
            counts["unexpected"] += 1
            report.unexpected.append(f"{where}: {status}")
            report.problems.append(f"{where}: unexpected {status}: {rec.get('excerpt', '')}")
    report.accepted = len(accepted)
    report.replayed = len(replays)

    # every accepted change: its audit entry (one per change), by its dialect, on each ticket it changed
    expected = Counter((rec["request_id"], ticket) for rec, ticket, _ in accepted)
    version_of: dict[tuple[str, int], int] = {}
    for (rid, ticket), count in expected.items():
        entries = by_request[ticket].get(rid, [])
        rec = next(r for r, t, _ in accepted if (r["request_id"], t) == (rid, ticket))
        where = f"{rec['op']['dialect']} {rec['op']['op']} {rec['op']['path']} (request {rid}) on ticket {ticket}"
        if len(entries) < count:
            report.lost.append(f"{where}: {count} changes accepted, {len(entries)} audit entries")
        elif len(entries) > count:
            report.twice.append(f"{where}: {count} changes accepted, {len(entries)} audit entries")
        if any(e["dialect"] != rec["op"]["dialect"] for e in entries):
            report.problems.append(f"{where}: audited as dialect {[e['dialect'] for e in entries]}")
        if len(entries) == 1:
            version_of[(rid, ticket)] = entries[0]["version"]
    for t in TICKETS:
        for rid, entries in by_request[t].items():
            if rid in refused_ids:
                report.refused_but_written.append(f"ticket {t}: refused request {rid} has audit entries")
            elif (rid, t) not in expected:
                report.unexplained_writes.append(f"ticket {t}: audit entry v{entries[0]['version']} of request {rid!r}")
    # an Idempotency-Key is applied once: every other request with it is a replay (or refused while it ran)
    applied_keys = Counter(
        r["op"]["expect"]["idempotency_key"] for r, _, _ in accepted if "idempotency_key" in r["op"]["expect"]
    )
    report.twice += [f"Idempotency-Key {key} applied by {c} requests" for key, c in applied_keys.items() if c > 1]

    _check_fields(report, accepted + replays, after, msgs, version_of, before)
    _check_workflow(report, records, accepted, histories, before, start_versions, state)
    report.problems += [f"lost update: {x}" for x in report.lost]
    report.problems += [f"applied twice: {x}" for x in report.twice]
    report.problems += [f"refused but written: {x}" for x in report.refused_but_written]
    report.problems += [f"unexplained write: {x}" for x in report.unexplained_writes]
    if report.sent < report.planned:
        report.problems.append(f"only {report.sent} of {report.planned} requests were sent before the time limit")


def _check_fields(report: Report, accepted: list, after: dict, msgs: dict, version_of: dict, before: dict) -> None:
    last: dict[tuple, tuple[int, dict]] = {}  # (kind, ticket, slot) -> (audit version, expect) of the last writer
    seqs: dict[int, list[int]] = defaultdict(list)
    extras: dict[tuple[int, str], tuple[tuple[int, int], str]] = {}  # (ticket, key) -> the process's last
    batches: dict[tuple[str, int], list[tuple[int, int]]] = defaultdict(list)  # (request, ticket) -> (k, seq)
    for rec, ticket, k in accepted:
        op, exp, final = rec["op"], rec["op"]["expect"], after[ticket]
        where = f"{op['dialect']} {op['op']} (request {rec['request_id']}) on ticket {ticket}"
        version = version_of.get((rec["request_id"], ticket))
        if "metadata" in exp:
            for key, value in exp["metadata"].items():
                if final["metadata"].get(key) != value:
                    report.lost.append(f"{where}: metadata {key} is {final['metadata'].get(key)!r}, not {value!r}")
        elif op["op"] == "add_task":
            task_id = rec.get("answer", {}).get("task_id")
            task = next((t for t in final["tasks"] if t["id"] == task_id), None)
            if task is None or task["title"] != exp["title"]:
                report.lost.append(f"{where}: task {task_id} is {task and task['title']!r}, not {exp['title']!r}")
        elif op["op"] == "create_partner_ticket":
            task = next((t for t in final["tasks"] if t["id"] == exp["task"]), {"partner_tickets": []})
            found = [
                pt for pt in task["partner_tickets"] if pt["id"] == exp["id"] and pt["partner_id"] == exp["partner"]
            ]
            if len(found) != 1 or found[0]["description"] != exp["description"]:
                report.lost.append(f"{where}: partner ticket {exp['id']} not found as created")
        elif op["op"] == "replace_partner_ticket" and version is not None:
            slot = ("partner", ticket, exp["partner"], exp["task"], exp["id"])
            if slot not in last or last[slot][0] < version:
                last[slot] = (version, exp)
        elif op["op"] == "put_title" and version is not None:
            if ("title", ticket) not in last or last[("title", ticket)][0] < version:
                last[("title", ticket)] = (version, exp)
        elif op["op"] == "batch_comment":
            update = exp["updates"][k]
            seq = rec["element"].get("seq")
            seqs[ticket].append(seq)
            batches[(rec["request_id"], ticket)].append((k, seq))
            if seq in msgs.get(ticket, {}) and msgs[ticket][seq] != update["comment"]:
                report.lost.append(f"{where}: message {seq} is {msgs[ticket][seq]!r}, not {update['comment']!r}")
            elif seq not in msgs.get(ticket, {}) and seq is not None and seq > final["message_count"] - 100:
                report.lost.append(f"{where}: message {seq} is missing")
            key = exp["extra_key"]
            if (ticket, key) not in extras or extras[(ticket, key)][0] < (rec["n"], k):
                extras[(ticket, key)] = ((rec["n"], k), update[key])
    for slot, (version, exp) in last.items():
        if slot[0] == "partner":
            _, ticket, partner, task_id, pid = slot
            task = next((t for t in after[ticket]["tasks"] if t["id"] == task_id), {"partner_tickets": []})
            pt = next((x for x in task["partner_tickets"] if x["id"] == pid and x["partner_id"] == partner), None)
            if pt is None or pt["description"] != exp["description"]:
                report.lost.append(
                    f"myhrw partner ticket {pid} of partner {partner}: holds {pt and pt['description']!r}, "
                    f"not the last accepted PUT's (v{version}) {exp['description']!r}"
                )
        else:
            final = after[slot[1]]
            if (final["title"], final["description"]) != (exp["title"], exp["description"]):
                report.lost.append(
                    f"particlespace on ticket {slot[1]}: title {final['title']!r}, not the last accepted "
                    f"PUT's (v{version}) {exp['title']!r}"
                )
    for (rid, ticket), pairs in batches.items():  # one batch's updates of one ticket: in request order
        ordered = [seq for _, seq in sorted(pairs)]
        if None not in ordered and ordered != sorted(ordered):
            report.lost.append(f"Kapture batch {rid} on ticket {ticket}: applied out of order {sorted(pairs)}")
    for ticket, numbers in seqs.items():
        grown = after[ticket]["message_count"] - before[ticket]["message_count"]
        if None in numbers or len(set(numbers)) != len(numbers):
            report.lost.append(f"ticket {ticket}: Kapture comments share message numbers: {sorted(map(str, numbers))}")
        if grown != len(numbers):
            report.lost.append(f"ticket {ticket}: {len(numbers)} comments accepted, message count grew by {grown}")
    for (ticket, key), (_, value) in extras.items():
        if after[ticket]["extra"].get(key) != value:
            report.lost.append(f"ticket {ticket}: extra {key} is {after[ticket]['extra'].get(key)!r}, not {value!r}")


def _check_workflow(
    report: Report, records: list, accepted: list, histories: dict, before: dict, start_versions: dict, state: str
) -> None:
    pushes = sorted(
        (
            e
            for e in histories[WORKFLOW_TICKET]
            if e["version"] > start_versions[WORKFLOW_TICKET] and e["event"] == "workflow_push"
        ),
        key=lambda e: e["version"],
    )
    chained = all(a["detail"]["to_state"] == b["detail"]["from_state"] for a, b in itertools.pairwise(pushes))
    for a, b in itertools.pairwise(pushes):
        if a["detail"]["to_state"] != b["detail"]["from_state"]:
            report.problems.append(
                f"workflow: v{b['version']} {b['detail']['action']} applied from {b['detail']['from_state']}, "
                f"but v{a['version']} had left the incident {a['detail']['to_state']} (applied twice from one state)"
            )
    if pushes and pushes[-1]["detail"]["to_state"] != state:
        report.problems.append(
            f"workflow: {WORKFLOW_REF} is {state}, its last push left it {pushes[-1]['detail']['to_state']}"
        )
    sent = [r for r in records if r["op"]["op"].startswith("push_")]
    applied = [r for r, t, _ in accepted if t == WORKFLOW_TICKET and r["op"]["op"].startswith("push_")]
    race = [r for r in records if r["op"]["op"] == "assign_race"]
    assigned = [r for r, _, _ in accepted if r["op"]["op"] == "assign_race"]
    report.workflow = {
        "sent": len(sent),
        "accepted": len(applied),
        "chained": chained,
        "assign_sent": len(race),
        "assigned": len(assigned),
        **Counter(r["op"]["expect"]["action"] for r in applied),
    }
    if len(assigned) > 1:
        report.problems.append(f"assign race on {ASSIGN_REF}: {len(assigned)} pushes applied, one at most may")
    if race and before[ASSIGN_TICKET]["status"] == "new" and len(assigned) != 1:
        report.problems.append(f"assign race on {ASSIGN_REF}: it was New, yet {len(assigned)} pushes applied")


# -- running it ------------------------------------------------------------------------------------
def run(
    url: str,
    *,
    processes: int = 4,
    requests: int = 60,
    max_seconds: float = 120.0,
    reset: bool = False,
) -> Report:
    """The load run against the local run at ``url``; the report says what was found."""
    if processes < 1 or requests < 1:
        raise ValueError("processes and requests must be at least 1")
    conn = Connection(url)
    try:
        if reset:
            status, _, data = conn.send("POST", "/_local/reset")
            if status != 200:
                raise RuntimeError(f"reset: {status} {data[:200]!r}")
        creds = conn.json("GET", "/_local/credentials")
        before = snapshot(conn, creds)
    finally:
        conn.close()
    report = Report(url=url, run=uuid.uuid4().hex[:8], processes=processes, requests_per_process=requests)
    ctx = multiprocessing.get_context("spawn")  # no state of this process (threads, sockets) in the clients
    ready, go, out = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
    started_at = time.time()
    deadline = started_at + max_seconds
    procs = [
        ctx.Process(
            target=worker,
            args=(url, creds, report.run, p, requests, deadline, ready, go, out),
            name=f"load-{p}",
            daemon=True,
        )
        for p in range(processes)
    ]
    for proc in procs:
        proc.start()
    records: list[dict[str, Any]] = []
    try:
        _await_ready(procs, ready)
        go.set()  # every client is up: all of them start now, and so does the clock
        t0 = time.perf_counter()
        for _ in procs:
            _, recs = out.get(timeout=max(1.0, deadline - time.time()) + HTTP_TIMEOUT + 5)
            records += recs
        report.seconds = time.perf_counter() - t0
    finally:
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
    report.sent = sum(1 for r in records if r["op"]["op"] != "get")
    report.reads = len(records) - report.sent
    records.sort(key=lambda r: (r["p"], r["n"]))
    conn = Connection(url)
    try:
        after = snapshot(conn, creds)
        histories = {t: history(conn, creds, t) for t in TICKETS}
        msgs = {t: messages(conn, creds, t) for t in KAPTURE_TICKETS}
        state = conn.json(
            "GET", f"/api/Tickets/GetTicket/{WORKFLOW_REF}", {"Authorization": creds["servicedesk"]["servicedesk"]}
        )["State"]
    finally:
        conn.close()
    report.evidence = {
        "records": records,
        "before": before,
        "after": after,
        "histories": histories,
        "msgs": msgs,
        "state": state,
    }
    verify(report, **report.evidence)
    return report


def reverify(report: Report, evidence: dict[str, Any]) -> Report:
    """The checks of ``report``'s run again, on (possibly doctored) evidence: a fresh report."""
    again = Report(report.url, report.run, report.processes, report.requests_per_process, seconds=report.seconds)
    again.sent, again.reads, again.evidence = report.sent, report.reads, evidence
    verify(again, **evidence)
    return again


def _await_ready(procs: list, ready: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    for _ in procs:
        while not ready.acquire(timeout=0.5):
            dead = [p.name for p in procs if p.exitcode is not None]
            if dead or time.monotonic() > deadline:
                raise RuntimeError(f"client processes did not start: {dead or 'timed out'}")


def local_run() -> contextlib.AbstractContextManager[str]:
    """``python -m devkit.local`` on free ports (loopback), as ``make run`` starts it; yields its URL."""
    from devkit.local import run

    return run.spawned(log_level="WARNING")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", help="a running local run (loopback); default: start one on free ports")
    p.add_argument("--processes", type=int, default=4, help="client processes (default 4)")
    p.add_argument("--requests", type=int, default=60, help="requests per process (default 60)")
    p.add_argument("--max-seconds", type=float, default=120.0, help="stop sending after this long (default 120)")
    p.add_argument("--reset", action="store_true", help="POST /_local/reset before the run (--url only)")
    p.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = p.parse_args(argv)
    kwargs = {"processes": args.processes, "requests": args.requests, "max_seconds": args.max_seconds}
    if args.url:
        report = run(args.url, reset=args.reset, **kwargs)
    else:
        with local_run() as url:
            report = run(url, **kwargs)
    print(report.render())
    if args.json:
        print(json.dumps(report.figures()))
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
