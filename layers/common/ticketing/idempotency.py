"""``Idempotency-Key`` on writes: exactly once, and a replay is the first answer byte for byte.

Powertools' idempotency utility keeps what it is good at: the request's record (one item per
client, route, key), its in-progress lock with its expiry, the payload hash (the same key with
another body is refused: 422 in the dialect's format), the TTL and the replay.  Its one gap is
that the answer is saved in a write of its own *after* the change: a timeout, a store failure or
an answer too large to keep left the change made and the key free to apply it again.  So it is
extended here, not replaced:

* ``_Persistence`` (a ``DynamoDBPersistenceLayer``) notes the request's hashed key when it takes
  the in-progress lock;
* every change the request writes carries, in its own ``TransactWriteItems`` (a repository
  *rider*), a marker item ``<key>#w<step>`` that must not exist yet.  The marker commits with the
  change or not at all.  A request that finds its marker (a retry after a timeout, a function that
  died after the commit, an answer that could not be kept) does not apply the change again: the
  repository answers from the ticket as it is (``AlreadyApplied``);
* the answer is kept as the proxy response it was: status, headers, content type and the body as
  the exact text sent (JSON keeps the documents' key order), gzip-compressed when large and split
  over several items when one would not hold it, so a replay is the same bytes.  A dialect that
  negotiates its format (servicedesk) keeps each variant, and its ``finish`` answers the one the
  replay's ``Accept`` asks for.

The scope is the client, the route and the *resolved* ticket (``ticket_param``: the path
parameter naming the ticket, by any of its spellings), and the body's hash.  A refused request
(not 2xx) is not kept: it may be corrected and sent again with the same key.  Powertools is
imported on first use only, so requests without a key pay nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from ticketing import aws, ids
from ticketing.commands import UpdateResult
from ticketing.errors import BadRequest, Conflict, IdempotencyMismatch, Unavailable
from ticketing.http import Request, Response
from ticketing.observability import count, logger
from ticketing.settings import get_settings
from ticketing.store import readahead

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
_MAX_KEY = 255
COMPRESS_ABOVE = 32 * 1024
PART_BYTES = 300_000  # of base64 text per item: well inside DynamoDB's 400 KB

_KEY: ContextVar[str | None] = ContextVar("idempotency_key", default=None)
_STEP: ContextVar[int] = ContextVar("idempotency_step", default=0)
# the marker that holds this request's answer, when one does: Powertools' record then points to
# it instead of holding the answer a second time (one write of it, not two)
_ON_MARKER: ContextVar[str | None] = ContextVar("idempotency_answer_on_marker", default=None)


class _NotKept(Exception):
    def __init__(self, response: Response):
        self.response = response


@lru_cache(maxsize=1)
def _persistence():
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    class _Persistence(DynamoDBPersistenceLayer):
        """Powertools' DynamoDB layer, noting the request's hashed key for the change's riders."""

        def save_inprogress(self, data: dict[str, Any], remaining_time_in_millis: int | None = None) -> None:
            _KEY.set(self._get_hashed_idempotency_key(data=data))
            super().save_inprogress(data, remaining_time_in_millis)

    return _Persistence(table_name=get_settings().idempotency_table, boto3_client=aws.dynamodb())


def _table() -> str:
    return get_settings().idempotency_table


def _item_key(suffix: str) -> dict[str, Any]:
    return {"id": {"S": f"{_KEY.get()}#{suffix}"}}


@contextmanager
def step(number: int) -> Iterator[None]:
    """The writes of a request that makes several (a Kapture batch's updates) are told apart by a
    step number that is the same each time the request is sent (the update's place in it)."""
    token = _STEP.set(number)
    try:
        yield
    finally:
        _STEP.reset(token)


MAX_KEPT_ANSWER = 350_000  # bytes of an answer kept on a write's marker (one item, 400 KB at most)


class _Marker:
    """The repository rider: this request's marker for the write being made, in its transaction,
    with the answer rendered for it (when small enough for one item)."""

    def items(self, result: UpdateResult) -> list[dict[str, Any]]:
        if _KEY.get() is None:
            return []
        import time

        item: dict[str, Any] = {
            **_item_key(f"w{_STEP.get()}"),
            "expiration": {"N": str(int(time.time()) + get_settings().idempotency_ttl_seconds)},
            "ticket_id": {"N": str(result.ticket.id)},
        }
        if isinstance(result.answer, Response):
            answer = _pack(_to_doc(result.answer))
            if len(answer) <= MAX_KEPT_ANSWER:
                item["answer"] = {"S": answer}
                _ON_MARKER.set(f"w{_STEP.get()}")
        return [
            {
                "Put": {
                    "TableName": _table(),
                    "Item": item,
                    "ConditionExpression": "attribute_not_exists(id)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
        ]

    def recall(self, item: dict[str, Any]) -> Response | None:

        answer = (item.get("answer") or {}).get("S")
        if not answer:
            return None
        response = _to_response(_unpack(answer))
        response.headers = {**response.headers, REPLAY_HEADER: "true"}
        return response


_MARKER = _Marker()


def _pack(doc: dict[str, Any]) -> str:
    """A kept answer as text: its JSON, or ``gzip:`` and the compressed JSON (base64) when large."""
    import base64
    import gzip
    import json

    raw = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    if len(raw.encode()) <= COMPRESS_ABOVE:
        return raw
    return "gzip:" + base64.b64encode(gzip.compress(raw.encode(), mtime=0)).decode("ascii")


def _unpack(text: str) -> dict[str, Any]:
    import base64
    import gzip
    import json

    if text.startswith("gzip:"):
        return json.loads(gzip.decompress(base64.b64decode(text[5:])))
    return json.loads(text)


def _applied_before() -> dict[str, Any] | None:
    """This request's first write's marker, if that write committed in an earlier invocation."""
    resp = aws.dynamodb().get_item(TableName=_table(), Key=_item_key("w0"), ConsistentRead=True)
    return resp.get("Item")


# -- the answer, as it was sent ---------------------------------------------------------------
def _body_text(body: Any) -> tuple[str, Any]:
    import json

    if body is None:
        return "none", None
    if isinstance(body, bytes):
        import base64

        return "bytes", base64.b64encode(body).decode("ascii")
    if isinstance(body, str):
        return "text", body
    return "json", json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def _body_of(kind: str, text: Any) -> Any:
    import json

    if kind == "none":
        return None
    if kind == "bytes":
        import base64

        return base64.b64decode(text)
    if kind == "text":
        return text
    return json.loads(text)  # a dict keeps the order its text has: sent again, the same bytes


def _to_doc(response: Response) -> dict[str, Any]:
    kind, text = _body_text(response.body)
    doc = {
        "status": response.status,
        "headers": response.headers,
        "multi_headers": response.multi_headers,
        "content_type": response.content_type,
        "kind": kind,
        "body": text,
    }
    if response.variants:
        doc["variants"] = {media: _body_text(body) for media, body in response.variants.items()}
    return doc


def _to_response(doc: dict[str, Any]) -> Response:
    variants = {media: _body_of(*kb) for media, kb in (doc.get("variants") or {}).items()}
    return Response(
        status=doc["status"],
        body=_body_of(doc.get("kind", "json"), doc["body"]) if "kind" in doc else doc["body"],
        headers=doc["headers"],
        multi_headers=doc.get("multi_headers") or {},
        content_type=doc["content_type"],
        variants=variants or None,
    )


@lru_cache(maxsize=1)
def _serializer():
    import base64
    import gzip
    import json

    from aws_lambda_powertools.utilities.idempotency.serialization.base import BaseIdempotencySerializer

    class Compact(BaseIdempotencySerializer):
        """The answer as it is; gzip-compressed (base64) when large; over several items when one
        item would not hold it (``<key>#part<i>``, written before the record completes)."""

        def to_dict(self, data: dict[str, Any]) -> dict[str, Any]:
            if _ON_MARKER.get() is not None:
                return {"marker": _ON_MARKER.get()}
            raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
            if len(raw) <= COMPRESS_ABOVE:
                return data
            packed = base64.b64encode(gzip.compress(raw, mtime=0)).decode("ascii")
            if len(packed) <= PART_BYTES:
                return {"gzip": packed}
            parts = [packed[i : i + PART_BYTES] for i in range(0, len(packed), PART_BYTES)]
            import time

            expires = str(int(time.time()) + get_settings().idempotency_ttl_seconds)
            for index, part in enumerate(parts):
                aws.dynamodb().put_item(
                    TableName=_table(),
                    Item={**_item_key(f"part{index}"), "data": {"S": part}, "expiration": {"N": expires}},
                )
            return {"parts": len(parts), "sha256": hashlib.sha256(packed.encode()).hexdigest()}

        def from_dict(self, data: dict[str, Any]) -> dict[str, Any]:
            if set(data) == {"marker"}:  # the answer is on the change's marker
                item = aws.dynamodb().get_item(TableName=_table(), Key=_item_key(data["marker"]), ConsistentRead=True)
                return _unpack(item["Item"]["answer"]["S"])
            if set(data) == {"gzip"}:
                return json.loads(gzip.decompress(base64.b64decode(data["gzip"])))
            if set(data) == {"parts", "sha256"}:
                client = aws.dynamodb()
                texts = []
                for index in range(data["parts"]):
                    item = client.get_item(TableName=_table(), Key=_item_key(f"part{index}"), ConsistentRead=True)
                    texts.append(item["Item"]["data"]["S"])
                packed = "".join(texts)
                if hashlib.sha256(packed.encode()).hexdigest() != data["sha256"]:
                    raise ValueError("a kept answer's parts do not add up")
                return json.loads(gzip.decompress(base64.b64decode(packed)))
            return data

    return Compact()


def _scope(request: Request, ticket_param: str | None) -> str:
    """The route and its path values, the ticket by its id whichever spelling named it."""
    values = []
    for name in sorted(request.path_params):
        value = request.path_params[name]
        if name == ticket_param and (parsed := ids.parse(value)) is not None:
            value = f"ticket:{parsed.ticket_id}"
        values.append(f"{name}={value}")
    return f"{request.method} {request.resource or request.path} " + "&".join(values)


def once(
    request: Request,
    client_id: str,
    run: Callable[[], Response],
    context: Any = None,
    *,
    ticket_param: str | None = None,
) -> Response:
    """Run ``run`` at most once per (client, route and ticket, Idempotency-Key)."""
    key = request.header(HEADER)
    if key is None:
        return run()
    key = key.strip()
    if not key or len(key) > _MAX_KEY:
        raise BadRequest(f"{HEADER} must be 1 to {_MAX_KEY} characters.")

    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyPersistenceLayerError,
        IdempotencyValidationError,
    )

    from ticketing.store.writer import riding

    def mark_replayed(response: dict[str, Any], _record: Any) -> dict[str, Any]:
        response = dict(response)
        response["headers"] = {**response["headers"], REPLAY_HEADER: "true"}
        return response

    config = IdempotencyConfig(
        event_key_jmespath="[client, route, key]",
        payload_validation_jmespath="body_sha256",
        expires_after_seconds=get_settings().idempotency_ttl_seconds,
        response_hook=mark_replayed,
    )
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        config.register_lambda_context(context)

    made: list[Response] = []  # the answer, once the work is done

    def execute(request_doc: dict[str, Any]) -> dict[str, Any]:
        with riding(_MARKER):
            response = run()
        made.append(response)
        if not 200 <= response.status < 300:
            raise _NotKept(response)
        return _to_doc(response)

    doc = {
        "client": client_id,
        "route": _scope(request, ticket_param),
        "key": key,
        "body_sha256": hashlib.sha256(request.body).hexdigest(),
    }
    token, on_marker = _KEY.set(None), _ON_MARKER.set(None)
    try:
        stored = idempotent_function(
            execute,
            data_keyword_argument="request_doc",
            persistence_store=_persistence(),
            config=config,
            output_serializer=_serializer(),
        )(request_doc=doc)
    except _NotKept as refused:
        return refused.response
    except IdempotencyValidationError as err:
        raise IdempotencyMismatch(f"This {HEADER} was already used with a different request body.") from err
    except IdempotencyAlreadyInProgressError as err:
        # the first request with this key is still running, or died: if its change committed, answer
        # as it did when its marker holds its answer (a request of one write), else from the ticket
        # as it is (its marker stops the change being applied again)
        marker = _committed_before() if _KEY.get() is not None else None
        if marker is not None:
            kept = _MARKER.recall(marker)
            if kept is not None:
                return kept
            readahead.forget()  # read before that commit: the ticket is read as it is now
            with riding(_MARKER):
                return run()
        raise Conflict(f"A request with this {HEADER} is still in progress; retry shortly.") from err
    except IdempotencyPersistenceLayerError as err:
        if made and 200 <= made[0].status < 300:
            # the change is made (its marker committed with it): only keeping the answer failed; a
            # retry with this key answers from the ticket as it is, and applies nothing again
            logger.error("the answer was not kept for replay", extra={"route": doc["route"], "error": str(err)})
            count("IdempotencyNotKept")
            return made[0]
        raise Unavailable("The idempotency store is unavailable; nothing was changed.") from err
    finally:
        _KEY.reset(token)
        _ON_MARKER.reset(on_marker)
    return _to_response(stored)


def _committed_before() -> dict[str, Any] | None:
    try:
        return _applied_before()
    except Exception:  # the store is unreachable: say "in progress", the safe answer
        logger.exception("could not tell whether the request in progress committed")
        return None
