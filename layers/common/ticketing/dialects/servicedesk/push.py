"""The WorkflowPush action: its parameters checked and resolved against the reference data
(operators by UserProviderKey, services by ServiceId), and the command that applies it.

The state machine itself is data (``ticketing/workflow.json``, read by ``ticketing.workflow``);
this module only speaks the document's names for its parameters."""

from __future__ import annotations

from typing import Any

from ticketing import service
from ticketing.commands import ChangeSet, Command
from ticketing.dialects.operators import OPERATOR_KIND, operator_key
from ticketing.dialects.servicedesk.models import PARAMETER_NAMES, WorkflowPushPost
from ticketing.errors import ValidationFailed, quoted
from ticketing.model import Ticket
from ticketing.workflow import Arguments, Workflow, get_workflow


def _operator_user_id(user_provider_key: str) -> int:
    """The hub user an operator signs in as (``PUT /users/{id}`` with its ``operator_key``)."""
    key = operator_key(user_provider_key)
    doc = service.get_references(OPERATOR_KIND, [key]).get(key)
    if not doc or not doc.get("active", True) or not isinstance(doc.get("user_id"), int):
        raise ValidationFailed(f"UserProviderKey {quoted(user_provider_key)} is not a known operator.")
    return doc["user_id"]


def _service(service_id: int) -> dict[str, Any]:
    doc = service.get_references("service", [service_id]).get(str(service_id))
    if not doc or not doc.get("active", True):
        raise ValidationFailed(f"ServiceId {service_id} is not a known service.")
    return doc


def arguments(post: WorkflowPushPost) -> tuple[Arguments, dict[str, Any] | None]:
    """Check the action's parameters and resolve them; parameters the action does not take are ignored."""
    action = post.action
    missing = [PARAMETER_NAMES[r] for r in action.required if not post.given(r)]
    if missing:
        raise ValidationFailed(f"{' and '.join(missing)} is required for the action {action.name}.")
    user_id = service_doc = None
    if action.takes("operator") and post.user_provider_key is not None:
        user_id = _operator_user_id(post.user_provider_key)
    if action.takes("service") and post.service_id is not None:
        service_doc = _service(post.service_id)
    args = Arguments(
        operator_user_id=user_id,
        service_id=post.service_id if action.takes("service") else None,
        customer_id=post.customer_id if action.takes("customer") else None,
        note=post.note if action.takes("note") else None,
    )
    return args, service_doc


def _check_service_takes(service_id: int, doc: dict[str, Any], ticket: Ticket) -> None:
    types = doc.get("ticket_types")
    if types and ticket.type not in types:
        label = get_workflow().flow(ticket.type).name
        raise ValidationFailed(f"ServiceId {service_id} ({doc.get('name', '')}) does not take tickets of type {label}.")


def command(workflow: Workflow, post: WorkflowPushPost, ticket: Ticket) -> Command:
    """The repository command applying the post's action to ``ticket`` as just read: its
    parameters resolved now, the action re-checked on the ticket really written (a push that
    lost a race is refused there, not applied twice)."""
    workflow.check(ticket, post.action)  # refused early
    args, service_doc = arguments(post)
    ref_before = service.current_ref(ticket)

    def apply(draft: Ticket, cs: ChangeSet) -> None:
        before, after = workflow.apply(draft, post.action, args, cs.now)
        if service_doc is not None and args.service_id is not None:
            _check_service_takes(args.service_id, service_doc, draft)
        cs.event = "workflow_push"
        cs.detail = {
            "action": post.action.name,
            "action_code": post.action.code,
            "from_state": before.key,
            "to_state": after.key,
            "ref_before": ref_before,
            "ref": service.current_ref(draft),
        }
        cs.record_without_changes = True

    return apply
