"""Ticket workflows, as data: per ticket type its states, and the actions allowed from each.

``workflow.json`` (beside this module) is the one place they are declared:

* ``types.<type>.states``: each state is one canonical ``status`` (and optional
  ``sub_status``) of the catalog, so a transition made here is a status change every
  dialect sees.  A status set elsewhere maps back to a state: the state declaring that
  exact status and sub-status, else the one declaring the status without a sub-status,
  else the one listing the status in ``also``.  Every catalog status maps to exactly one
  state of every type (checked when the file is loaded).
* ``actions``: ``name``, numeric ``code``, ``from`` (type -> states it may start in),
  ``to`` (the state it moves to; absent: the status is kept), ``convert_to`` (a new
  ticket type), and ``parameters``: role -> ``required`` | ``optional``.  Roles:
  ``operator`` (the ticket is assigned to that operator's user), ``service`` (stored as
  ``service_id``), ``customer`` (``customer_id``) and ``note`` (``note``).

``apply`` is meant to run inside a repository command: it re-checks the action against
the state of the ticket it is given, so a write that lost a race and is re-run on the
winner's ticket is refused instead of applied twice.  Nothing here knows a dialect.
"""

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ticketing import service
from ticketing.catalog import Catalog, default_catalog, get_catalog
from ticketing.errors import BadRequest, Conflict, ValidationFailed
from ticketing.model import Ticket

_PATH = Path(__file__).with_name("workflow.json")

Role = Literal["operator", "service", "customer", "note"]
ROLES: tuple[Role, ...] = ("operator", "service", "customer", "note")


class ActionNotAllowed(BadRequest):
    code = "action_not_allowed"


class State(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9]*$")
    status: str
    sub_status: str | None = None
    also: tuple[str, ...] = ()


class TypeWorkflow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9]*$")
    states: list[State] = Field(min_length=1)

    def state(self, key: str) -> State | None:
        return next((s for s in self.states if s.key == key), None)

    def state_for(self, status: str, sub_status: str | None) -> State | None:
        """The state a canonical status (and sub-status) shows as."""
        for s in self.states:
            if s.status == status and s.sub_status == sub_status:
                return s
        for s in self.states:
            if s.status == status and s.sub_status is None:
                return s
        return next((s for s in self.states if status in s.also), None)


class Action(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9]*$")
    code: int = Field(gt=0)
    from_: dict[str, tuple[str, ...]] = Field(alias="from", min_length=1)
    to: str | None = None
    convert_to: str | None = None
    parameters: dict[Role, Literal["required", "optional"]] = Field(default_factory=dict)

    def takes(self, role: Role) -> bool:
        return role in self.parameters

    def requires(self, role: Role) -> bool:
        return self.parameters.get(role) == "required"

    @property
    def required(self) -> list[Role]:
        return [r for r in ROLES if self.requires(r)]

    @property
    def optional(self) -> list[Role]:
        return [r for r in ROLES if self.parameters.get(r) == "optional"]

    def result_type(self, ticket_type: str) -> str:
        return self.convert_to or ticket_type


@dataclass(frozen=True, slots=True)
class Arguments:
    """An action's resolved parameters (``None``: not given)."""

    operator_user_id: int | None = None
    service_id: int | None = None
    customer_id: int | None = None
    note: str | None = None

    def given(self, role: Role) -> bool:
        value = {
            "operator": self.operator_user_id,
            "service": self.service_id,
            "customer": self.customer_id,
            "note": self.note,
        }[role]
        return value is not None


class Workflow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    summary_states: dict[str, str]
    types: dict[str, TypeWorkflow]
    actions: list[Action]

    @model_validator(mode="after")
    def _consistent(self) -> "Workflow":
        names: set[str] = set()
        codes: set[int] = set()
        for action in self.actions:
            if action.name.lower() in names or action.code in codes:
                raise ValueError(f"action {action.name!r} ({action.code}) is declared twice")
            names.add(action.name.lower())
            codes.add(action.code)
            for type_key, states in action.from_.items():
                flow = self.types.get(type_key)
                if flow is None:
                    raise ValueError(f"{action.name}: unknown ticket type {type_key!r}")
                for key in states:
                    if flow.state(key) is None:
                        raise ValueError(f"{action.name}: {type_key} has no state {key!r}")
                target = self.types.get(action.result_type(type_key))
                if target is None:
                    raise ValueError(f"{action.name}: unknown ticket type {action.convert_to!r}")
                if action.to is not None and target.state(action.to) is None:
                    raise ValueError(f"{action.name}: {action.result_type(type_key)} has no state {action.to!r}")
            if action.to is None and action.convert_to is None:
                raise ValueError(f"{action.name}: an action moves to a state, converts the ticket, or both")
        return self

    def check_against(self, catalog: Catalog) -> None:
        """Every state names a catalog status; every catalog status maps to one state per type."""
        statuses = {s.key for s in catalog.statuses}
        subs = {(s.key, s.status) for s in catalog.sub_statuses}
        for type_key, flow in self.types.items():
            if catalog.ticket_type(type_key) is None:
                raise ValueError(f"workflow type {type_key!r} is not a catalog ticket type")
            for state in flow.states:
                for status in (state.status, *state.also):
                    if status not in statuses:
                        raise ValueError(f"{type_key}.{state.key}: unknown status {status!r}")
                if state.sub_status is not None and (state.sub_status, state.status) not in subs:
                    raise ValueError(f"{type_key}.{state.key}: unknown sub-status {state.sub_status!r}")
            for status in statuses:
                plain = [s for s in flow.states if s.status == status and s.sub_status is None]
                listed = [s for s in flow.states if status in s.also]
                if len(plain) + len(listed) != 1:
                    raise ValueError(f"{type_key}: status {status!r} must map to exactly one state")
        for category in {s.category for s in catalog.statuses}:
            if category not in self.summary_states:
                raise ValueError(f"no summary state for status category {category!r}")

    # -- lookups -------------------------------------------------------------------------
    @cached_property
    def _by_name(self) -> dict[str, Action]:
        return {a.name.lower(): a for a in self.actions}

    @cached_property
    def _by_code(self) -> dict[int, Action]:
        return {a.code: a for a in self.actions}

    def action(self, name: str) -> Action | None:
        """The action of that name (case-insensitive)."""
        return self._by_name.get(name.lower())

    def action_by_code(self, code: int) -> Action | None:
        return self._by_code.get(code)

    def flow(self, ticket_type: str) -> TypeWorkflow:
        flow = self.types.get(ticket_type)
        if flow is None:
            raise Conflict(f"Ticket type {ticket_type!r} has no workflow.")
        return flow

    def state_of(self, ticket: Ticket) -> State:
        state = self.flow(ticket.type).state_for(ticket.status, ticket.sub_status)
        if state is None:
            raise Conflict(f"Status {ticket.status!r} has no {ticket.type} workflow state.")
        return state

    def summary_of(self, ticket: Ticket, catalog: Catalog | None = None) -> str:
        status = (catalog or get_catalog()).status(ticket.status)
        return self.summary_states.get(status.category if status else "", "")

    def available(self, ticket: Ticket) -> list[Action]:
        """The actions the ticket's type and current state allow, in code order."""
        state = self.state_of(ticket)
        return sorted(
            (a for a in self.actions if state.key in a.from_.get(ticket.type, ())),
            key=lambda a: a.code,
        )

    # -- the transition ------------------------------------------------------------------
    def check(self, ticket: Ticket, action: Action) -> State:
        """The ticket's state, if its type and that state allow ``action``; else ``ActionNotAllowed``."""
        state = self.state_of(ticket)
        if state.key not in action.from_.get(ticket.type, ()):
            allowed = ", ".join(a.name for a in self.available(ticket)) or "none"
            raise ActionNotAllowed(
                f"The action {action.name} is not allowed for the {self.flow(ticket.type).name} "
                f"in its state {state.key} (allowed: {allowed}).",
                state=state.key,
                action=action.name,
            )
        return state

    def apply(self, ticket: Ticket, action: Action, args: Arguments, now: datetime) -> tuple[State, State]:
        """Apply ``action`` to ``ticket`` (a draft, changed in place); returns (from, to) states.

        Refused with ``ActionNotAllowed`` when the ticket's type and current state do not
        allow it, and with ``ValidationFailed`` when a required parameter is missing.
        """
        before = self.check(ticket, action)
        missing = [r for r in action.required if not args.given(r)]
        if missing:
            raise ValidationFailed(f"The action {action.name} needs the parameter(s): {', '.join(missing)}.")
        if action.convert_to is not None and action.convert_to != ticket.type:
            ticket.type = action.convert_to
            if action.convert_to not in ticket.type_history:
                ticket.type_history = [*ticket.type_history, action.convert_to]
        if action.takes("operator") and args.operator_user_id is not None:
            ticket.assignee_ids = [args.operator_user_id]
        if action.takes("service") and args.service_id is not None:
            ticket.service_id = args.service_id
        if action.takes("customer") and args.customer_id is not None:
            ticket.customer_id = args.customer_id
        if action.takes("note") and args.note is not None:
            ticket.note = args.note
        target_flow = self.flow(ticket.type)
        if action.to is not None:
            after = target_flow.state(action.to)
            service.set_status(ticket, after.status, after.sub_status, now)
        return before, self.state_of(ticket)


def load(text: str | bytes) -> Workflow:
    workflow = Workflow.model_validate_json(text)
    workflow.check_against(default_catalog())
    return workflow


@lru_cache(maxsize=1)
def get_workflow() -> Workflow:
    """The workflow in force (``workflow.json``), parsed and checked once per container."""
    return load(_PATH.read_bytes())
