"""The route: ``POST /update-ticket-from-other-source.html/v.2.0``, and its documented operation."""

from __future__ import annotations

import json
from contextlib import suppress
from functools import lru_cache
from typing import Annotated, Any

from pydantic import ConfigDict, Field

from ticketing import idempotency, service
from ticketing.catalog import get_catalog
from ticketing.dialects.docs import IDEMPOTENCY_KEY, Operation
from ticketing.errors import DomainError
from ticketing.http import Request, Response, entrypoint
from ticketing.observability import logger, metrics

from .answers import KaptureFailure, KaptureSuccess, render
from .batch import Batch
from .dialect import DIALECT, NAME, PATH, client_for
from .updates import MAX_UPDATES, KaptureTicketUpdate, parse_body, parse_ticket_id


def read_ahead(request: Request) -> None:
    """The tickets the batch names, read ahead beside its client's credentials
    (``service.read_ahead``).  Only what is well formed is looked at, and nothing is refused
    here: a body that does not parse reads nothing ahead, and is refused after the
    credentials' check, as ever."""
    try:
        data = json.loads(request.body) if request.body.strip() else None
    except (ValueError, RecursionError):
        return
    items = [data] if isinstance(data, dict) else data if isinstance(data, list) else []
    for item in items if len(items) <= MAX_UPDATES else []:  # more is refused: nothing read
        if isinstance(item, dict):
            with suppress(DomainError, ValueError):
                service.read_ahead(parse_ticket_id(item.get("ticket_id")))


def update_tickets(request: Request, context: Any) -> Response:
    read_ahead(request)
    client = client_for(request.header("authorization"))

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


REPLAYS = "Replays the first answer to this batch (200 or 207), for this client, for 24 hours."


@lru_cache(maxsize=1)
def operations() -> list[Operation]:
    """The documented operation: its request and answers are RootModels, whose import alone costs
    ~15 ms of cold start, so they are defined when the OpenAPI document asks (``OPERATIONS``)."""
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
            parameters=({**IDEMPOTENCY_KEY, "description": REPLAYS},),
            description=(
                "Each update applies on its own; one in, its object answers (its own status: 200, 400, 404...); "
                "several, an array in request order, 200 when all were applied, else 207. At most 100 updates."
            ),
        ),
    ]
