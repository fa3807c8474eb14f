"""What a new ticket may be given (``service.create_ticket``).  Its own module, so that only the
functions that create tickets build these models at import (issue 15: own imports)."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ticketing.fields import Short, Tag, new_list


class NewTask(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Annotated[str, StringConstraints(max_length=500)] = ""


class NewTicket(BaseModel):
    """What a new ticket may be given.  Unknown fields are refused, not ignored."""

    # No function validates with this model itself: the canonical API's body (``NewTicketBody``,
    # built at import) extends it, so its own validator is built when first used (the local
    # run's seed data, the tests), not at every cold start of the functions that import it.
    model_config = ConfigDict(extra="forbid", defer_build=True)

    type: str = "ticket"
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    description: Annotated[str, StringConstraints(max_length=65536)] = ""
    status: str = "new"
    sub_status: str | None = None
    queue: Short = ""
    priority: int = Field(default=0, ge=0, le=5)
    category: Annotated[str, StringConstraints(max_length=500)] = ""
    source: Short = ""
    tags: list[Tag] = Field(default_factory=new_list, max_length=50)
    assignee_ids: list[Annotated[int, Field(gt=0)]] = Field(default_factory=new_list, max_length=50)
    requester_id: int | None = Field(default=None, gt=0)
    order_number: Short | None = None
    metadata: dict[str, Any] = Field(default_factory=dict, max_length=100)
    tasks: list[NewTask] = Field(default_factory=new_list, max_length=100)
    follow_up_at: datetime | None = None
