"""The Kapture dialect: ``POST /update-ticket-from-other-source.html/v.2.0`` ("Update Ticket
API", ``../shared/seeds/003_*``), a batch of ticket updates.

The body is a JSON array of updates (one object is accepted too), at most 100.  Each
update applies atomically and on its own (one conditional write of its ticket, with its
audit entry and comment); a bad update fails alone with the document's failure body
``{"message": ..., "status": "failed"}``.  One update in: its object is the answer (200,
or the failure's own status); several: an array of them in request order, 200 when all
succeeded and 207 otherwise.

``sub_status`` is a term of the catalog vocabulary ``kapture`` (``P``, ``PS``, ``CL``...);
``queue`` a key of the reference data kind ``queue``; ``callback_time`` sets the ticket's
next follow-up and switches its reminder on (``follow_up_reminder``, with the update's comment
as ``follow_up_note``): an email to its assignee at that time.  The request arms nothing: the
reminder is a function of the stored ticket (``CALLBACK_AUTOMATION``), which the tickets
table's stream consumer (``ticketing.automations``) keeps armed whichever dialect moves the
follow-up, reassigns or closes the ticket.
Keys the document does not name are kept in ``Ticket.extra`` and echoed under
``Additional_details``.

A batch costs DynamoDB one ``BatchGetItem`` of its tickets (and one of the queues it
names, beside it), then its writes in parallel on a bounded thread pool, beside one
``BatchGetItem`` each of the users and the queues the answers show: N + 2 to N + 4 calls
in about 3 + N/10 sequential round trips, instead of 2N calls one after the other.
Updates of the same ticket run one after the other, in request order.

Auth: ``Authorization: Basic <token>`` (the token as issued; base64 of it accepted).
The choices the document leaves open are written down in ``docs/kapture.md``.
"""

from __future__ import annotations

import base64
import binascii
import contextvars
import json
import math
import re
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ticketing import auth, idempotency, ids, moments, scheduling, service
from ticketing.catalog import Term, Vocabulary, get_catalog
from ticketing.dialects.common import MAX_NESTING, actor_for, merge_patch, unstorable, utf8
from ticketing.dialects.docs import Operation
from ticketing.errors import BadRequest, DomainError, NotFound, PayloadTooLarge
from ticketing.http import BaseDialect, Request, Response, entrypoint
from ticketing.model import Actor, Ticket, utcnow
from ticketing.notifications import SUBJECT_MAX_CHARS
from ticketing.observability import logger, metrics
from ticketing.repository import MAX_TICKET_BYTES, ChangeSet, Command, Repository, ticket_bytes
from ticketing.settings import get_settings

NAME = "kapture"
PATH = "/update-ticket-from-other-source.html/v.2.0"
PURPOSE = "kapture-callback"  # the callback reminder: one per follow-up time
QUEUE_KIND, USER_KIND = "queue", "user"  # reference data kinds (Repository.put_reference)

MAX_UPDATES = 100
# Threads applying a batch's updates: botocore's default connection pool per client
# (max_pool_connections), so no thread waits for a connection.  The boto3 client is thread-safe.
MAX_WORKERS = 10
MAX_COMMENT = 65_536
MAX_DISPOSITION = 500
MAX_QUEUE_KEY = 200
MAX_EXTRA_KEYS = 50  # per update
MAX_EXTRA_BYTES = 2_048  # per update, as JSON: a 100-update answer echoes them all
MAX_EXTRA_DEPTH = MAX_NESTING  # nesting of one value (DynamoDB allows 32 levels in an item)
MAX_TICKET_EXTRA_KEYS = 100  # kept on one ticket
DETAIL_CHARS = 1_000  # ``detail`` shows the description's start (the full text: GET /tickets/{id})
DEADLINE_MARGIN_SECONDS = 3.0  # kept to answer the batch once its updates are done

DATE_FORMAT = "%Y-%m-%d %H:%M:%S"  # the document's yyyy-MM-dd HH:mm:ss
MIN_YEAR, MAX_YEAR = 1970, 9998  # callback_time years (local); in UTC, ticketing.moments' range applies too
KNOWN_KEYS = ("ticket_id", "sub_status", "queue", "comment", "callback_time", "disposition")
TICKET_TYPE = "O"  # every ticket reaches Kapture's view "from other source"
FOLDER = {"id": 0, "name": "Inbox", "color": "red"}  # the hub has one folder

# The document's failure messages, verbatim ("callback_date" although the field is callback_time).
INVALID_AUTH = "Invalid Auth Key"
MISSING_TICKET_ID = "No Data found/ticket_id is missing"
INVALID_CALLBACK = "Invalid Format.callback_date should be yyyy-MM-dd hh:mm:ss."
# Ours, in the same style, where the document has none.
INVALID_BODY = "Invalid Format.The request body should be a JSON array of updates."
INVALID_ELEMENT = "Invalid Format.Each update should be a JSON object."
INVALID_TICKET_ID = 'Invalid Format.ticket_id should be the ticket\'s id as a string, e.g. "1004".'
MISSING_SUB_STATUS = "Invalid Format.sub_status is missing."
OUT_OF_TIME = "This update was not applied: the batch ran out of time. Send it again."
INVALID_EXTRA = (
    f"Invalid Format.Additional details should be at most {MAX_EXTRA_KEYS} keys "
    f"and {MAX_EXTRA_BYTES} bytes of JSON per update, with named keys, text, finite numbers "
    f"and at most {MAX_EXTRA_DEPTH} levels of nesting."
)
STATUS_LINE = "Status and Comment have been updated.\n"  # the document's message, always its first line
UPDATED_LINES = {
    "queue": "Queue has been updated.\n",
    "callback_time": "Callback time has been updated.\n",
    "disposition": "Disposition has been updated.\n",
}

_CALLBACK_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$")  # ASCII digits only
_DIGITS_RE = re.compile(r"^[0-9]{1,20}$")


# -- the dialect: its failure body for every error ---------------------------------------------
def failure(message: str) -> dict[str, str]:
    return {"message": message, "status": "failed"}


def status_of(error: DomainError) -> int:
    """The HTTP status a failure answers with: the document lists 400, 401, 403, 404 and 500,
    so a body over the size limit is a 400 like every other malformed request."""
    return 400 if isinstance(error, PayloadTooLarge) else error.status


class Kapture(BaseDialect):
    name = NAME

    def render_error(self, error: DomainError, request: Request | None) -> Response:
        # the document has one failure for a key "either not passed in header, or incorrect, or
        # expired/disabled": a valid key of a client of another dialect is not a Kapture key either
        if error.status == 401 or (error.status == 403 and error.detail.get("reason") == "dialect"):
            return Response(401, failure(INVALID_AUTH), headers={"WWW-Authenticate": 'Basic realm="kapture"'})
        if isinstance(error, PayloadTooLarge):
            message = f"Invalid Format.The request body should be at most {get_settings().max_body_bytes} bytes."
        else:
            message = error.message
        return Response(status_of(error), failure(message))


DIALECT = Kapture()


# -- auth ----------------------------------------------------------------------------------------
def token_of(header: str | None) -> str | None:
    """The token of ``Authorization: Basic <token>``: the token as issued, or base64 of it
    (also of ``<token>:`` or ``:<token>``, as HTTP Basic clients encode a user name or password)."""
    credential = auth.parse_authorization(header, ("Basic",))
    if credential is None or credential.startswith(auth.TOKEN_PREFIX):
        return credential
    try:
        decoded = base64.b64decode(credential + "=" * (-len(credential) % 4), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return credential  # not base64: looked up as it is (and refused if unknown)
    user, colon, password = decoded.partition(":")
    candidate = (user or password if not (user and password) else "") if colon else decoded
    return candidate if candidate.startswith(auth.TOKEN_PREFIX) else credential


# -- the request ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Update:
    """One validated update of the batch."""

    index: int
    ticket_id: int
    term: Term
    queue: str = ""
    comment: str = ""
    callback: datetime | None = None  # UTC
    disposition: str = ""
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def given(self) -> list[str]:
        """The optional fields this update sets (they name the lines of its message)."""
        values = {"queue": self.queue, "callback_time": self.callback, "disposition": self.disposition}
        return [k for k, v in values.items() if v]


def parse_body(request: Request) -> tuple[list[Any], bool]:
    """The updates sent, and whether they came as one object rather than an array.

    The body is read as JSON whatever its ``Content-Type`` says (the document's examples
    send ``application/json``; other clients are not refused for a missing header)."""
    try:
        data = request.json()
    except (BadRequest, RecursionError) as err:  # RecursionError: JSON nested too deep for the parser
        raise BadRequest(INVALID_BODY) from err
    if data is None or data == [] or data == {}:
        raise BadRequest(MISSING_TICKET_ID)  # no data at all
    if isinstance(data, dict):
        return [data], True
    if not isinstance(data, list):
        raise BadRequest(INVALID_BODY)
    if len(data) > MAX_UPDATES:
        raise BadRequest(f"Invalid Format.At most {MAX_UPDATES} updates can be sent in one request.")
    return data, False


def shown(text: str) -> str:
    """A caller's value quoted in a failure message: its start, always valid text."""
    return text[:64].encode("utf-8", "replace").decode("utf-8")


def _text(raw: Any, limit: int, message: str) -> str:
    """An optional text field: absent, null or blank is empty."""
    if raw is None:
        return ""
    if not isinstance(raw, str) or len(raw) > limit or not utf8(raw):
        raise BadRequest(message)
    return raw.strip()


def parse_ticket_id(raw: Any) -> int:
    """``ticket_id``: the ticket's numeric id, as the document's string ("1004") or a JSON integer."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise BadRequest(MISSING_TICKET_ID)
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        raise BadRequest(INVALID_TICKET_ID)
    text = str(raw).strip()
    if not _DIGITS_RE.match(text) or not 0 < int(text) <= ids.MAX_ID:
        raise NotFound(f"No Data found for ticket_id {shown(text)}.")  # names no ticket: no read needed
    return int(text)


def parse_term(raw: Any, vocab: Vocabulary) -> Term:
    """``sub_status``: a term of the ``kapture`` vocabulary (``PS``; case-insensitive)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise BadRequest(MISSING_SUB_STATUS)
    text = raw.strip() if isinstance(raw, str) else None
    term = (vocab.lookup(text) or vocab.lookup(text.upper())) if text else None
    if term is None:
        what = shown(text) if text else shown(json.dumps(raw))
        keys = ", ".join(str(t.term) for t in vocab.terms)
        raise BadRequest(f"Invalid sub_status {what}: it is not a key of the sub status list ({keys}).")
    return term


def parse_callback(raw: Any, zone: tzinfo) -> datetime | None:
    """``callback_time``: ``yyyy-MM-dd HH:mm:ss`` in the configured time zone; empty: none."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if not isinstance(raw, str) or not _CALLBACK_RE.match(raw.strip()):
        raise BadRequest(INVALID_CALLBACK)
    try:
        local = datetime.strptime(raw.strip(), DATE_FORMAT)
    except ValueError as err:  # 2024-13-45 25:61:00 has the form but is no time
        raise BadRequest(INVALID_CALLBACK) from err
    if not MIN_YEAR <= local.year <= MAX_YEAR:  # the years this form takes (docs/kapture.md)
        raise BadRequest(INVALID_CALLBACK)
    try:
        return moments.to_utc(local, naive_as=zone)  # and, in UTC, within the range every dialect renders
    except moments.Unkeepable as err:
        raise BadRequest(INVALID_CALLBACK) from err


def parse_extras(data: dict[str, Any]) -> dict[str, Any]:
    extras = {k: v for k, v in data.items() if k not in KNOWN_KEYS}
    if len(extras) > MAX_EXTRA_KEYS or unstorable(extras) is not None:
        raise BadRequest(INVALID_EXTRA)
    size = len(json.dumps(extras, ensure_ascii=False, separators=(",", ":")).encode())
    if size > MAX_EXTRA_BYTES:
        raise BadRequest(INVALID_EXTRA)
    return extras


def parse_update(index: int, data: Any, vocab: Vocabulary, zone: tzinfo) -> Update:
    """One element, checked in the order a caller fixes them: ticket_id, sub_status,
    callback_time, then the rest.  Refusals raise the element's failure."""
    if not isinstance(data, dict):
        raise BadRequest(INVALID_ELEMENT)
    ticket_id = parse_ticket_id(data.get("ticket_id"))
    term = parse_term(data.get("sub_status"), vocab)
    callback = parse_callback(data.get("callback_time"), zone)
    queue = _text(data.get("queue"), MAX_QUEUE_KEY, "Invalid Format.queue should be the key of a queue.")
    comment = _text(
        data.get("comment"), MAX_COMMENT, f"Invalid Format.comment should be text of at most {MAX_COMMENT} characters."
    )
    disposition = _text(
        data.get("disposition"),
        MAX_DISPOSITION,
        f"Invalid Format.disposition should be text of at most {MAX_DISPOSITION} characters.",
    )
    return Update(index, ticket_id, term, queue, comment, callback, disposition, parse_extras(data))


# -- configuration from the catalog --------------------------------------------------------------
@lru_cache(maxsize=8)
def _zone(name: str) -> tzinfo:
    if name.upper() == "UTC":
        return UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        logger.error("unknown time zone in the kapture vocabulary; using UTC", extra={"timezone": name})
        return UTC


def zone_of(vocab: Vocabulary) -> tzinfo:
    """The time zone of ``callback_time`` and of the answer's dates: the vocabulary's
    ``timezone`` attribute (an IANA name, e.g. ``Asia/Kolkata``), UTC by default."""
    return _zone(str(vocab.attrs.get("timezone") or "UTC"))


# -- reference data ------------------------------------------------------------------------------
class References:
    """The queues and users one request reads, each key fetched at most once (thread-safe
    for reads once loaded; loads happen in the request's own thread or one worker)."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        self._docs: dict[tuple[str, str], dict[str, Any] | None] = {}

    def load(self, kind: str, keys: Iterable[Any]) -> None:
        wanted = list(dict.fromkeys(str(k) for k in keys if k not in (None, "")))
        wanted = [k for k in wanted if (kind, k) not in self._docs]
        if not wanted:
            return
        found = self.repo.get_references(kind, wanted)
        for key in wanted:
            self._docs[(kind, key)] = found.get(key)

    def get(self, kind: str, key: Any) -> dict[str, Any] | None:
        return None if key in (None, "") else self._docs.get((kind, str(key)))

    def known(self, kind: str, key: Any) -> bool:
        return (kind, str(key)) in self._docs


def user_keys(ticket: Ticket) -> list[int]:
    """The users an answer about ``ticket`` shows: assignee, creator, requester."""
    return [u for u in (*ticket.assignee_ids[:1], ticket.creator_id, ticket.requester_id) if u is not None]


def user_name(doc: dict[str, Any] | None) -> str:
    doc = doc or {}
    return doc.get("name") or " ".join(p for p in (doc.get("name_f"), doc.get("name_l")) if p)


# -- the change ----------------------------------------------------------------------------------
def command_for(update: Update, vocab: Vocabulary, author: Actor, author_id: int | None) -> Command:
    """The update as a pure function of the ticket it is given (it may run again on a
    fresher ticket when another writer got there first)."""

    def command(ticket: Ticket, cs: ChangeSet) -> None:
        term = update.term
        shown = vocab.for_status(ticket.status, ticket.sub_status)
        if shown is None or shown.term != term.term:  # the status it already shows keeps its stay
            service.set_status(ticket, term.status, term.sub_status, cs.now)
        if update.queue:
            ticket.queue = update.queue
        if update.disposition:
            ticket.disposition = update.disposition
        if update.callback is not None:
            if update.callback != ticket.follow_up_at:
                if ticket.follow_up_at is not None:
                    ticket.last_follow_up_at = ticket.follow_up_at
                ticket.follow_up_at = update.callback
            # the reminder is ticket state: the stream's consumer arms it from the stored ticket
            ticket.follow_up_reminder = True
            ticket.follow_up_note = update.comment
        if update.extras:
            merged = merge_patch(ticket.extra, update.extras)
            if len(merged) > MAX_TICKET_EXTRA_KEYS:
                raise BadRequest(
                    f"Ticket {ticket.id} cannot hold more than {MAX_TICKET_EXTRA_KEYS} additional details; "
                    "send null for the keys no longer needed."
                )
            ticket.extra = merged
            size = ticket_bytes(ticket)
            if size > MAX_TICKET_BYTES:
                raise BadRequest(f"Ticket {ticket.id} cannot hold these additional details: it would be too large.")
        if update.comment:
            cs.add_message(ticket, update.comment, author=author.name, author_id=author_id)
        cs.event = "kapture_update"
        cs.detail = {"sub_status": str(term.term), **({"fields": update.given} if update.given else {})}

    return command


# -- the callback reminder -----------------------------------------------------------------------
def format_time(when: datetime | None, zone: tzinfo) -> str:
    return when.astimezone(zone).strftime(DATE_FORMAT) if when else ""


def reminder(
    ticket: Ticket, to: str, vocab: Vocabulary, zone: tzinfo, armed_by: str, notice_id: str = ""
) -> scheduling.Notice:
    """The reminder of the ticket's callback, to its assignee, at its next follow-up, quoting the
    callback's comment (``follow_up_note``).

    Delivered once per follow-up time (its delivery key: ticket and time), so arming it again
    (a replayed record, a reassignment) never sends it twice; it expects the same follow-up,
    assignee and an open ticket when it fires, so a callback moved, reassigned or closed
    meanwhile (through any dialect) sends nothing."""
    due = ticket.follow_up_at
    term = vocab.for_status(ticket.status, ticket.sub_status)
    when = format_time(due, zone)
    lines = [
        f'The callback for ticket {ticket.id} "{ticket.title}" is due at {when} ({_zone_label(zone)}).',
        f"Status: {term.name if term else ticket.status}",
    ]
    if ticket.queue:
        lines.append(f"Queue: {ticket.queue}")
    if ticket.disposition:
        lines.append(f"Disposition: {ticket.disposition}")
    if ticket.follow_up_note:
        lines += ["", ticket.follow_up_note]
    return scheduling.Notice(
        id=notice_id or callback_id(ticket) or "",
        ticket_id=ticket.id,
        purpose=PURPOSE,
        delivery=scheduling.delivery_key(ticket.id, PURPOSE, due.isoformat()),
        due=due,
        expect=scheduling.expect_of(ticket, "follow_up_at", "closed_at", "assignee_ids", "follow_up_reminder"),
        message=scheduling.Message(
            channel="email",
            to=[to],
            subject=f"Callback due: ticket {ticket.id} {ticket.title}"[:SUBJECT_MAX_CHARS],
            body="\n".join(lines)[: scheduling.MESSAGE_BODY_MAX],
        ),
        armed_by=armed_by,
        version=ticket.version,
    )


def callback_id(ticket: Ticket) -> str | None:
    """The id of the callback reminder the ticket calls for (None: none): a Kapture callback
    switched it on, the follow-up is set, the ticket open and assigned.  From the ticket alone:
    its follow-up time, its assignee's id and the callback's comment."""
    if not ticket.follow_up_reminder or ticket.follow_up_at is None or ticket.closed_at is not None:
        return None
    if not ticket.assignee_ids:
        return None
    when = ticket.follow_up_at.isoformat()
    return scheduling.delivery_key(ticket.id, PURPOSE, when, ticket.assignee_ids[0], ticket.follow_up_note)


def _callback_called_for(ticket: Ticket, notice_id: str, now: datetime) -> scheduling.Notice | None:
    """The callback reminder, to the assignee's email (reference data); None if they have none."""
    assignee = ticket.assignee_ids[0]
    user = service.repository().get_references(USER_KIND, [assignee]).get(str(assignee))
    recipient = (user or {}).get("email")
    if not recipient:
        logger.warning("callback time stored, but the ticket's assignee has no email", extra={"ticket_id": ticket.id})
        return None
    vocab = get_catalog().vocabulary(NAME)
    return reminder(ticket, recipient, vocab, zone_of(vocab), "automations", notice_id)


# Whichever dialect moves the follow-up, reassigns or closes the ticket (Kapture included), the
# reminder follows (ticketing.automations).  Only a Kapture callback switches it on.
CALLBACK_AUTOMATION = scheduling.Automation(
    PURPOSE,
    ("follow_up_at", "closed_at", "assignee_ids", "follow_up_reminder", "follow_up_note"),
    callback_id,
    _callback_called_for,
)


def _zone_label(zone: tzinfo) -> str:
    return getattr(zone, "key", None) or "UTC"


# -- applying a batch ----------------------------------------------------------------------------
@dataclass
class Outcome:
    """What became of one element: the updated ticket, or its failure."""

    status: int
    ticket: Ticket | None = None
    update: Update | None = None
    error: str = ""


class Batch:
    """One request's updates: read together, written in parallel, answered in order."""

    def __init__(self, client: auth.Client, request: Request, vocab: Vocabulary, context: Any = None) -> None:
        self.client = client
        self.actor = actor_for(client, NAME, request)
        self.vocab = vocab
        self.zone = zone_of(vocab)
        self.repo = service.repository()
        self.refs = References(self.repo)
        self.now = utcnow()
        # updates not started by then are answered "not applied": the rest of the batch must be
        # answered (and kept for its Idempotency-Key) before the function's time runs out
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        self.deadline = time.monotonic() + remaining() / 1000 - DEADLINE_MARGIN_SECONDS if remaining else math.inf

    # each step catches its own failures: one element never takes another down
    def fail(self, error: Exception) -> Outcome:
        if isinstance(error, NotFound) and "ticket_id" in error.detail:  # moved out of the grants meanwhile
            return Outcome(404, error=f"No Data found for ticket_id {error.detail['ticket_id']}.")
        if isinstance(error, DomainError):
            return Outcome(status_of(error), error=error.message)
        logger.exception("kapture update failed")
        return Outcome(500, error="An internal error occurred while applying this update; retry it.")

    def run(self, items: list[Any]) -> list[Outcome]:
        outcomes: dict[int, Outcome] = {}
        updates: list[Update] = []
        for index, data in enumerate(items):
            try:
                updates.append(parse_update(index, data, self.vocab, self.zone))
            except DomainError as err:
                outcomes[index] = self.fail(err)
        if updates:
            self._apply(updates, outcomes)
        return [outcomes[i] for i in range(len(items))]

    def _apply(self, updates: list[Update], outcomes: dict[int, Outcome]) -> None:
        _ = self.repo.client  # one client for every thread, made before them
        queues = [u.queue for u in updates if u.queue]
        workers = min(MAX_WORKERS, len({u.ticket_id for u in updates}) + 2)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kapture") as pool:
            # 1. the tickets, and the queues named, side by side (one BatchGetItem each)
            tickets_read = pool.submit(service.get_tickets, [u.ticket_id for u in updates], access=self.client.access)
            queues_read = pool.submit(self.refs.load, QUEUE_KIND, queues) if queues else None
            try:
                tickets = tickets_read.result()
                if queues_read:
                    queues_read.result()
            except DomainError as err:  # the store is unavailable: every update fails alike
                for u in updates:
                    outcomes[u.index] = self.fail(err)
                return
            groups: dict[int, list[Update]] = {}
            for u in updates:
                if u.queue and self.refs.get(QUEUE_KIND, u.queue) is None:
                    outcomes[u.index] = Outcome(400, error=f"Invalid queue {shown(u.queue)}: no queue has this key.")
                elif u.ticket_id not in tickets:
                    outcomes[u.index] = Outcome(404, error=f"No Data found for ticket_id {u.ticket_id}.")
                else:
                    groups.setdefault(u.ticket_id, []).append(u)
            if not groups:
                return
            # 2. the users and queues the answers show (read beside the writes), and each ticket's
            #    updates in request order; different tickets in parallel
            found = [tickets[t] for t in groups]
            users_read = pool.submit(self.refs.load, USER_KIND, [u for t in found for u in user_keys(t)])
            queues_shown = pool.submit(self.refs.load, QUEUE_KIND, [t.queue for t in found])
            # each group in a copy of this context: the request's Idempotency-Key rides with its writes
            futures = [
                pool.submit(contextvars.copy_context().run, self._apply_group, tickets[t], group)
                for t, group in groups.items()
            ]
            for future in futures:
                outcomes.update(future.result())  # _apply_group never raises
            users_read.exception()  # a failed read is read again below
            queues_shown.exception()
        # 3. whatever the answers show that was not read yet (an assignee changed meanwhile, or a
        #    read failed): the updates are stored, so a failure here only blanks names
        done = [o.ticket for o in outcomes.values() if o.ticket is not None]
        if done:
            try:
                self._load_refs(done)
            except Exception:  # the answers must still go out
                logger.exception("reference data unavailable: the answers show blank names")

    def _load_refs(self, tickets: list[Ticket]) -> None:
        self.refs.load(USER_KIND, [u for t in tickets for u in user_keys(t)])
        self.refs.load(QUEUE_KIND, [t.queue for t in tickets])

    def _apply_group(self, current: Ticket, group: list[Update]) -> dict[int, Outcome]:
        out: dict[int, Outcome] = {}
        for update in group:
            if time.monotonic() > self.deadline:
                out[update.index] = Outcome(503, error=OUT_OF_TIME)
                continue
            try:
                command = command_for(update, self.vocab, self.actor, self.client.user_id)
                with idempotency.step(update.index):  # the update's place in the batch, the same when resent
                    result = service.update_ticket(
                        current.id, command, self.actor, access=self.client.access, current=current
                    )
                current = result.ticket
                out[update.index] = Outcome(200, current, update)
            except Exception as err:  # one element's failure is its own
                out[update.index] = self.fail(err)
        return out


# -- the answer ----------------------------------------------------------------------------------
def millis(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def render_ticket(ticket: Ticket, batch: Batch) -> dict[str, Any]:
    """The document's ``ticket`` object: every key, in the document's order."""
    vocab, zone, refs = batch.vocab, batch.zone, batch.refs
    term = vocab.for_status(ticket.status, ticket.sub_status)
    letter = str(term.attrs.get("status", "")) if term else ""
    statuses = vocab.attrs.get("statuses") or {}
    assignee_id = ticket.assignee_ids[0] if ticket.assignee_ids else None
    assignee = refs.get(USER_KIND, assignee_id) or {}
    requester = refs.get(USER_KIND, ticket.requester_id) or {}
    ticket_type = get_catalog().ticket_type(ticket.type)
    type_name = ticket_type.name if ticket_type else ticket.type
    pending_task = next((t.id for t in sorted(ticket.tasks.values(), key=lambda t: t.id) if t.status == "open"), 0)
    url = f"/employee/all-tickets.html?detail=2/{ticket.id}/{ticket.id}"
    values = {
        "id": ticket.id,
        "type": TICKET_TYPE,
        "email": requester.get("email") or "",
        "phone": requester.get("phone") or "",
        "status": letter,
        "orderId": ticket.order_number or "",
        "queueKey": ticket.queue,
        "ticketId": str(ticket.id),
        "folderId": FOLDER["id"],
        "detail": ticket.description[:DETAIL_CHARS],
        "isUnread": False,
        "isOutOfSLA": False,
        "priority": ticket.priority,
        "isCallBack": ticket.follow_up_at is not None and ticket.follow_up_at > batch.now,
        "creatorId": ticket.creator_id or 0,
        "enquiryId": 0,
        "contactId": ticket.requester_id or 0,
        "substatus": str(term.term) if term else "",
        "productId": 0,
        "erpOrderId": "",
        "referenceId": 0,
        "ticketEmail": "",
        "assignedToId": assignee_id or 0,
        "pendingTaskId": pending_task,
        "agencyBriefId": 0,
        "twitterUserId": "",
        "facebookUserId": "",
        "associativefile": "",
        "statusName": str(statuses.get(letter, "")),
        "customerFeedback": 0,
        "playStoreReviewId": "",
        "lastConversationId": ticket.message_count,
        "lastConversationType": TICKET_TYPE,
        "lastConversationTime": millis(ticket.last_message_at or ticket.created_at),
        "date": format_time(ticket.created_at, zone),
        "totalConversationCount": ticket.message_count,
        "taskTitle": ticket.title,
        "typeName": type_name,
        "taskEnddate": "",
        "lastFollowUp": format_time(ticket.last_follow_up_at, zone),
        "nextFollowUp": format_time(ticket.follow_up_at, zone),
        "substatusName": term.name if term else "",
        "encryptedPhone": "",
        "encryptedEmail": "",
        "lastConversationTypeName": type_name,
        "ticketURL": url,
        "ticketCreatorURL": url,
        "isEscalated": ticket.sub_status == "escalated",
        "folders": [FOLDER["name"]],
        "queueName": (refs.get(QUEUE_KIND, ticket.queue) or {}).get("name") or "",
        "creatorName": user_name(refs.get(USER_KIND, ticket.creator_id)),
        "folderColor": FOLDER["color"],
        "assignedToName": user_name(assignee),
        "assignedToEmail": assignee.get("email") or "",
        "mergeTicketId": "",
        "skuCode": "",
        "productName": "",
    }
    return {key: values[key] for key in KaptureTicket.model_fields}


def render(outcome: Outcome, batch: Batch) -> dict[str, Any]:
    if outcome.ticket is None or outcome.update is None:
        return failure(outcome.error)
    update = outcome.update
    return {
        "ticket": render_ticket(outcome.ticket, batch),
        "Additional_details": dict(update.extras),
        "message": STATUS_LINE + "".join(UPDATED_LINES[k] for k in update.given),
        "status": "success",
    }


# -- the route -----------------------------------------------------------------------------------
def update_tickets(request: Request, context: Any) -> Response:
    client = auth.authenticate(token_of(request.header("authorization")), NAME)

    def run() -> Response:
        items, single = parse_body(request)
        batch = Batch(client, request, get_catalog().vocabulary(NAME), context)
        outcomes = batch.run(items)
        failed = sum(1 for o in outcomes if o.ticket is None)
        metrics.add_metric(name="BatchUpdates", unit="Count", value=len(outcomes))
        if failed:
            metrics.add_metric(name="BatchUpdateFailures", unit="Count", value=failed)
            logger.info("kapture batch had failures", extra={"updates": len(outcomes), "failed": failed})
        bodies = [render(o, batch) for o in outcomes]
        if single or len(bodies) == 1:
            return Response(outcomes[0].status, bodies[0])
        return Response(207 if failed else 200, bodies)

    return idempotency.once(request, client.client_id, run, context)


update_handler = entrypoint(DIALECT, update_tickets)


# -- the documented shapes (the request's schema, the answers' keys and their order) -----------------
class _Doc(BaseModel):
    model_config = ConfigDict(defer_build=True)  # the OpenAPI document and the key order only


class KaptureTicketUpdate(_Doc):
    """One update.  Keys the document does not name are kept on the ticket and echoed
    under ``Additional_details``."""

    model_config = ConfigDict(defer_build=True, extra="allow")

    ticket_id: str = Field(description='The ticket\'s numeric id, e.g. "1004" (a JSON integer is accepted too).')
    sub_status: str = Field(description="A sub status key, e.g. P (Pending), PS, CL (Closed).")
    queue: str = Field(default="", max_length=MAX_QUEUE_KEY, description="A queue key; empty: the queue stays.")
    comment: str = Field(default="", max_length=MAX_COMMENT, description="Added to the conversation; empty: none.")
    callback_time: str = Field(
        default="",
        description="yyyy-MM-dd HH:mm:ss: the next follow-up; the assignee is reminded by email then. Empty: none.",
    )
    disposition: str = Field(default="", max_length=MAX_DISPOSITION, description="Empty: the disposition stays.")


class KaptureTicket(_Doc):
    """The document's ``ticket`` object."""

    id: int
    type: str
    email: str
    phone: str
    status: str = Field(description="O (Open), P (Pending) or C (Closed).")
    orderId: str
    queueKey: str
    ticketId: str
    folderId: int
    detail: str
    isUnread: bool
    isOutOfSLA: bool
    priority: int
    isCallBack: bool
    creatorId: int
    enquiryId: int
    contactId: int
    substatus: str
    productId: int
    erpOrderId: str
    referenceId: int
    ticketEmail: str
    assignedToId: int
    pendingTaskId: int
    agencyBriefId: int
    twitterUserId: str
    facebookUserId: str
    associativefile: str
    statusName: str
    customerFeedback: int
    playStoreReviewId: str
    lastConversationId: int
    lastConversationType: str
    lastConversationTime: int = Field(description="Epoch milliseconds.")
    date: str = Field(description="Created, yyyy-MM-dd HH:mm:ss.")
    totalConversationCount: int
    taskTitle: str
    typeName: str
    taskEnddate: str
    lastFollowUp: str
    nextFollowUp: str
    substatusName: str
    encryptedPhone: str
    encryptedEmail: str
    lastConversationTypeName: str
    ticketURL: str
    ticketCreatorURL: str
    isEscalated: bool
    folders: list[str]
    queueName: str
    creatorName: str
    folderColor: str
    assignedToName: str
    assignedToEmail: str
    mergeTicketId: str
    skuCode: str
    productName: str


class KaptureSuccess(_Doc):
    ticket: KaptureTicket
    Additional_details: dict[str, Any]
    message: str
    status: Literal["success"]


class KaptureFailure(_Doc):
    message: str
    status: Literal["failed"]


@lru_cache(maxsize=1)
def _operations() -> list[Operation]:
    """The documented operation: its request and answers are RootModels, whose import alone costs
    ~15 ms of cold start, so they are defined when the OpenAPI document asks (``__getattr__``)."""
    from pydantic import RootModel

    class KaptureRequest(
        RootModel[
            Annotated[list[KaptureTicketUpdate], Field(min_length=1, max_length=MAX_UPDATES)] | KaptureTicketUpdate
        ]
    ):
        """A JSON array of at most 100 updates, or one update."""

        model_config = ConfigDict(defer_build=True)

    class KaptureAnswer(RootModel[KaptureSuccess | list[KaptureSuccess]]):
        """One update in: its object; several: an array of them, in request order."""

        model_config = ConfigDict(defer_build=True)

    class KaptureMixedAnswer(RootModel[list[KaptureSuccess | KaptureFailure]]):
        """Several updates, not all applied: each one's object, in request order."""

        model_config = ConfigDict(defer_build=True)

    return [
        Operation(
            "POST",
            PATH,
            "Update tickets (Kapture): a batch of status, queue, comment, callback and disposition updates",
            NAME,
            "basic",
            KaptureRequest,
            responses={
                200: KaptureAnswer,
                207: KaptureMixedAnswer,
                **{s: KaptureFailure for s in (400, 401, 403, 404, 409, 422, 500, 503)},
            },
            parameters=(
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string", "maxLength": 255},
                    "description": (
                        "Replays the first answer to this batch (200 or 207), for this client, for 24 hours."
                    ),
                },
            ),
            description=(
                "Each update applies on its own; one in, its object answers (its own status: 200, 400, 404...); "
                "several, an array in request order, 200 when all were applied, else 207. At most 100 updates."
            ),
        ),
    ]


def __getattr__(name: str) -> Any:
    if name == "OPERATIONS":
        return _operations()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
