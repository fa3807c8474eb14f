"""The canonical API's ``POST /tickets/{id}/tasks``: add a task to a ticket, exactly once under
an ``Idempotency-Key`` (``canonical_base`` has the API's conventions)."""

from typing import Any

from ticketing import idempotency, service
from ticketing.commands import ChangeSet, UpdateResult
from ticketing.dialects.canonical_base import DIALECT, NAME, client_of, json_object
from ticketing.dialects.canonical_views import render_task
from ticketing.dialects.common import actor_for, etag, if_match, validate
from ticketing.http import Request, Response, entrypoint
from ticketing.model import Task, Ticket
from ticketing.new_ticket import NewTask


class NewTaskBody(NewTask):
    pass


def add_task(request: Request, context: Any) -> Response:
    service.read_ahead(request.path_params.get("id"))
    client = client_of(request)

    def run() -> Response:
        spec = validate(NewTaskBody, json_object(request))
        created: list[Task] = []

        def command(ticket: Ticket, cs: ChangeSet) -> None:
            task_id = max((t.id for t in ticket.tasks.values()), default=0) + 1
            task = Task(id=task_id, title=spec.title, created_at=cs.now)
            ticket.tasks = {**ticket.tasks, str(task_id): task}
            created[:] = [task]

        def respond(result: UpdateResult) -> Response:
            task = created[0]
            return Response(
                201,
                render_task(task),
                headers={
                    "Location": f"/tickets/{result.ticket.id}/tasks/{task.id}",
                    "ETag": etag(result.ticket.version),
                },
            )

        return service.update_ticket(
            request.path_params.get("id", ""),
            command,
            actor_for(client, NAME, request),
            if_match=if_match(request),
            access=client.access,
            respond=respond,
        ).answer

    return idempotency.once(request, client.client_id, run, context, ticket_param="id")


add_task_handler = entrypoint(DIALECT, add_task)
