"""``Idempotency-Key`` on writes, with Powertools' idempotency utility.

The key is scoped to the client and the request (method and path); the record also keeps a hash
of the request body, so the same key with another body is refused (422 in the
dialect's format) instead of replaying an answer to a different question.  Only
successful (2xx) results are kept: a refused request may be corrected and sent
again with the same key.  Records live ``idempotency_ttl_seconds`` (24 h at least)
in the idempotency table, whose TTL attribute is ``expiration``.

Powertools is imported on first use only, so requests without a key pay nothing.

A record is one DynamoDB item (400 KB at most): an answer larger than ``COMPRESS_ABOVE``
bytes of JSON is kept gzip-compressed.  Should keeping the answer fail all the same (the
store throttled past its retries), the change has been made: the caller gets its answer,
not a false "nothing was changed", and the failure is logged and counted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from ticketing import aws
from ticketing.errors import BadRequest, Conflict, IdempotencyMismatch, Unavailable
from ticketing.http import Request, Response
from ticketing.observability import count, logger
from ticketing.settings import get_settings

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
_MAX_KEY = 255
COMPRESS_ABOVE = 32 * 1024


class _NotKept(Exception):
    def __init__(self, response: Response):
        self.response = response


@lru_cache(maxsize=1)
def _persistence():
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(table_name=get_settings().idempotency_table, boto3_client=aws.dynamodb())


@lru_cache(maxsize=1)
def _serializer():
    import base64
    import gzip
    import json

    from aws_lambda_powertools.utilities.idempotency.serialization.base import BaseIdempotencySerializer

    class Compact(BaseIdempotencySerializer):
        """The answer as it is, or gzip-compressed (base64) when its JSON is large."""

        def to_dict(self, data: dict[str, Any]) -> dict[str, Any]:
            raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
            if len(raw) <= COMPRESS_ABOVE:
                return data
            return {"gzip": base64.b64encode(gzip.compress(raw, mtime=0)).decode("ascii")}

        def from_dict(self, data: dict[str, Any]) -> dict[str, Any]:
            if set(data) == {"gzip"}:
                return json.loads(gzip.decompress(base64.b64decode(data["gzip"])))
            return data

    return Compact()


def _to_response(doc: dict[str, Any]) -> Response:
    return Response(
        status=doc["status"],
        body=doc["body"],
        headers=doc["headers"],
        multi_headers=doc.get("multi_headers") or {},
        content_type=doc["content_type"],
    )


def once(request: Request, client_id: str, run: Callable[[], Response], context: Any = None) -> Response:
    """Run ``run`` at most once per (client, route, Idempotency-Key)."""
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
        response = run()
        made.append(response)
        if not 200 <= response.status < 300:
            raise _NotKept(response)
        return {
            "status": response.status,
            "body": response.body,
            "headers": response.headers,
            "multi_headers": response.multi_headers,
            "content_type": response.content_type,
        }

    doc = {
        "client": client_id,
        "route": f"{request.method} {request.path}",
        "key": key,
        "body_sha256": hashlib.sha256(request.body).hexdigest(),
    }
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
        raise Conflict(f"A request with this {HEADER} is still in progress; retry shortly.") from err
    except IdempotencyPersistenceLayerError as err:
        if made and 200 <= made[0].status < 300:
            # the change is made; only keeping its answer for a replay failed: a retry with this
            # key finds the request in progress (409) until this invocation's timeout has passed,
            # then runs it again
            logger.error("the answer was not kept for replay", extra={"route": doc["route"], "error": str(err)})
            count("IdempotencyNotKept")
            return made[0]
        raise Unavailable("The idempotency store is unavailable; nothing was changed.") from err
    return _to_response(stored)
