"""servicedesk's actions, workflow data and response types, without a store
(the rest: ``tests/integration/test_servicedesk.py``)."""

from __future__ import annotations

import json

import pytest
from doc_servicedesk import DOCUMENT_ACTIONS
from ticketing.catalog import default_catalog
from ticketing.dialects.servicedesk import dialect, models
from ticketing.http import Request
from ticketing.model import Ticket
from ticketing.workflow import ROLES, get_workflow, load


def test_every_action_the_document_names_is_declared_with_its_parameters():
    workflow = get_workflow()
    for name in DOCUMENT_ACTIONS:
        assert workflow.action(name) is not None and workflow.action(name).name == name
    assert workflow.action_by_code(207).name == "IncidentSuspend"
    needs_operator = {
        "IncidentAssign",
        "IncidentAssignOther",
        "IncidentFunctionEscalate",
        "ServiceRequestAssign",
        "ServiceRequestAssignOther",
        "ProblemAssign",
        "ChangeAssign",
    }
    for action in workflow.actions:
        assert action.requires("operator") == (action.name in needs_operator), action.name
        assert action.requires("service") == action.name.startswith("TicketConvertTo"), action.name
        if action.name.endswith("WaitForThirdParty"):
            assert action.optional == ["operator", "customer", "note"]
    assert set(models.PARAMETER_NAMES) == set(ROLES)


def test_every_status_of_every_type_maps_to_one_state_and_back():
    workflow, catalog = get_workflow(), default_catalog()
    pairs = [(s.key, None) for s in catalog.statuses] + [(s.status, s.key) for s in catalog.sub_statuses]
    for type_key, flow in workflow.types.items():
        for status, sub in pairs:
            assert flow.state_for(status, sub) is not None, (type_key, status, sub)
        for st in flow.states:  # a state's own status shows as that state
            assert flow.state_for(st.status, st.sub_status) == st
        for st in flow.states:  # only Closed is a dead end
            out = [a for a in workflow.actions if st.key in a.from_.get(type_key, ())]
            assert bool(out) == (st.key != "Closed"), (type_key, st.key)


def test_the_help_desk_actions_exist_for_every_type():
    workflow = get_workflow()
    for type_key, flow in workflow.types.items():
        for verb in ("Resolve", "Close", "Reopen"):
            action = workflow.action(flow.name + verb)
            assert action is not None and type_key in action.from_
        if any(s.key in ("Suspended", "WaitingForThirdParty") for s in flow.states):
            assert workflow.action(flow.name + "Resume") is not None


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda d: d["actions"][0]["from"].update(ticket=["Nowhere"]), "has no state"),
        (lambda d: d["actions"][1].update(code=101), "declared twice"),
        (lambda d: d["types"]["incident"]["states"][3]["also"].remove("pending"), "must map to exactly one state"),
        (lambda d: d["types"]["problem"]["states"][0].update(also=["open"]), "must map to exactly one state"),
        (lambda d: d["types"]["incident"]["states"][1].update(sub_status="nope"), "unknown sub-status"),
        (lambda d: d["actions"].append({"name": "Nothing", "code": 9, "from": {"ticket": ["New"]}}), "moves to"),
    ],
)
def test_inconsistent_workflow_data_is_refused_at_load(mutate, fragment):
    from ticketing import workflow as wf

    doc = json.loads(wf._PATH.read_text())
    mutate(doc)
    with pytest.raises(ValueError, match=fragment):
        load(json.dumps(doc))


def test_apply_rechecks_the_state_of_the_ticket_it_is_given():
    from datetime import UTC, datetime

    from ticketing.workflow import ActionNotAllowed, Arguments

    now = datetime.now(UTC)
    ticket = Ticket(id=5, type="incident", type_history=["incident"], status="on_hold", sub_status="suspended",
                    status_since=now, created_at=now, updated_at=now)  # fmt: skip
    with pytest.raises(ActionNotAllowed):
        get_workflow().apply(ticket, get_workflow().action("IncidentSuspend"), Arguments(), now)


def test_response_type_without_a_request_is_json():
    assert dialect.response_type(None) == "application/json"
    event = {"httpMethod": "GET", "headers": {"Accept": "application/xml;q=0.2, text/json;q=0.8"}}
    assert dialect.response_type(Request.from_event(event)) == "text/json"
