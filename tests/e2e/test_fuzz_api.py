"""schemathesis against the local run, from the OpenAPI document the code generates.

Every operation of ``devkit.openapi.build()`` (built in memory: whether the checked-in
``openapi.json`` is current is ``tests/unit/test_openapi.py``'s business) gets generated
requests, valid and invalid (schemathesis' coverage and fuzzing phases), sent to a real
``python -m devkit.local`` with the Authorization header of its dialect's demo client.
Every response must be

* no 5xx (``not_a_server_error``),
* a status the document declares for that operation (``status_code_conformance``),
* a body that matches the schema declared for that status (``response_schema_conformance``).

Bounded and deterministic: a fixed number of fuzzed examples per operation, at most
``COVERAGE_CASES`` of the coverage phase's systematic cases, derandomized generation
and no example database, so CI sends the same requests on every run.

One test per operation, its Hypothesis test built when it runs, as schemathesis' pytest plugin
builds it (``build_operation_test``), not when it is collected: with ``schema.parametrize()``
every xdist worker made every operation's coverage cases while collecting (~2.5 s of each
worker's start), though only one runs each operation.  (``schemathesis.pytest.from_fixture``,
the lazy way, fails on pytest 9: it sets ``Function._nodeid``, which pytest 9 no longer has.)
"""

from __future__ import annotations

import functools
import zlib
from typing import Any

import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup, as_reported_failure
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.coverage import GenerationSession
from schemathesis.generation.feedback import FeedbackSources
from schemathesis.generation.meta import CoveragePhaseData
from schemathesis.pytest._test_builder import build_operation_test
from schemathesis.python._constants.orchestrator import make_constants_value_source
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance
from ticketing.catalog import default_catalog

from devkit import openapi

MAX_EXAMPLES = 25  # fuzzed requests per operation (valid and invalid)
COVERAGE_CASES = 30  # coverage-phase requests per operation, at most (its distinct scenarios)
UNEXPECTED_METHODS = ["get", "put", "post", "delete", "options", "patch"]
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]

CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 20240305,
        "generation": {
            "mode": "all",  # valid and invalid inputs
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "database": "none",
            # The Authorization header is the dialect's demo client's (below), not generated;
            # requests without it still come from the coverage phase's missing-header cases.
            "with-security-parameters": False,
        },
        "phases": {
            "stateful": {"enabled": False},
            # Requests with methods the operation does not have: the methods the local run's
            # server answers.  TRACE and QUERY are refused by the local run's HTTP server itself
            # (501, before any route or handler): the local run's emulation, not the API's.
            "coverage": {"unexpected-methods": UNEXPECTED_METHODS},
        },
    }
)
schema = schemathesis.openapi.from_dict(openapi.build(), config=CONFIG)

# Identifiers that exist in the demo data, by path and path variable, so that requests
# reach the handlers' success paths (and their response schemas), not only their 404s.
_TICKETS = ["1001", "1002", "1004", "INC-001001", "8FC95B0F", "tic_1rdbm6i"]
_PARTNER_TICKET = {"id": ["1001"], "taskid": ["1"], "PartnerTechnicalId": ["TKT0196", "TKT0197"]}
KNOWN_PATH_VALUES: dict[str, dict[str, list[str]]] = {
    "/tickets/{id}": {"id": _TICKETS},
    "/tickets/{id}/history": {"id": _TICKETS},
    "/tickets/{id}/tasks": {"id": _TICKETS},
    "/tickets/{id}/tasks/{taskid}/partnertickets": _PARTNER_TICKET,
    "/tickets/{id}/tasks/{taskid}/partnertickets/{PartnerTechnicalId}": _PARTNER_TICKET,
    "/users/{id}": {"id": ["1", "4", "900"]},
    "/orders/{number}": {"number": ["123456", "123457"]},
    "/api/tickets/{ticket}": {"ticket": ["1001", "1004", "8FC95B0F"]},
    "/api/v1/ticket/{id}": {"id": ["tic_1rdbm6i", "1001", "1004"]},
    "/api/Tickets/GetTicket/{id}": {"id": ["1001", "INC-001001", "PRB-001006"]},
}
# Body values the demo data gives meaning to, by dialect: the flows a ParticleSpace update
# must name (random text is never one); for a servicedesk push, tickets (by id and REF, in
# step: a push naming both must name the same ticket), an action each one's state allows,
# a known operator and service.
KNOWN_BODY_VALUES: dict[str, dict[str, list[Any]]] = {
    "particlespace": {"status": [str(t.term) for t in default_catalog().vocabulary("particlespace").terms]},
    "servicedesk": {
        "TicketId": [1001, 1003, 1006],
        "TicketREF": ["INC-001001", "REQ-001003", "PRB-001006"],
        "Action": ["IncidentSuspend", "ServiceRequestAssign", "ProblemResolve"],
        "UserProviderKey": ["jane.smith@example.com"],
        "ServiceId": [10, 12],
    },
}
# Headers that, generated at random, decide the answer before the body is even read: a
# random If-Match is a 412 and a repeated Idempotency-Key with another body a 422.  The
# fuzzer sends them in half of its requests; a coverage case keeps them only when it is
# about them.
GATING_HEADERS = ("If-Match", "Idempotency-Key")


def _stable(text: str) -> int:
    return zlib.crc32(text.encode("utf-8", "surrogatepass"))


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    known = KNOWN_PATH_VALUES.get(context.operation.path, {})
    if not path_parameters or not known:
        return st.just(path_parameters)
    return st.fixed_dictionaries(
        {name: st.sampled_from([value, *known.get(name, [])]) for name, value in path_parameters.items()}
    )


@schema.hook
def flatmap_body(context, body):
    known = KNOWN_BODY_VALUES.get(context.operation.tags[0], {})
    if not isinstance(body, dict) or not known.keys() & body.keys():
        return st.just(body)
    return st.fixed_dictionaries({key: st.sampled_from([value, *known.get(key, [])]) for key, value in body.items()})


@schema.hook
def flatmap_headers(context, headers):
    if not headers or not any(h in headers for h in GATING_HEADERS):
        return st.just(headers)
    gating = [h for h in GATING_HEADERS if h in headers]
    return st.sets(st.sampled_from(gating)).map(lambda drop: {k: v for k, v in headers.items() if k not in drop})


def _coverage_key(case) -> tuple[Any, ...]:
    data = case.meta.phase.data
    return (case.meta.generation.mode, data.parameter_location, data.description, case.media_type)


@functools.cache
def coverage_plan(label: str) -> frozenset[tuple[Any, ...]]:
    """The coverage cases sent for one operation: ``COVERAGE_CASES`` at most, shared out
    between its kinds (valid/invalid x body, query, path, headers, unexpected methods) and
    spread evenly over each kind's distinct scenarios in the order the phase makes them
    (every property of the schema, one after the other), so a large body schema neither
    crowds out the other kinds nor gets only its first properties tried."""
    operation = next(op.ok() for op in schema.get_all_operations() if op.ok().label == label)
    config = schema.config.generation_for(operation=operation, phase="coverage")
    kinds: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
    # a session of its own: the schema's records which paths were already probed with
    # unexpected methods, and this dry run must not use them up
    cases = schema.iter_coverage_cases(
        operation, generation_modes=config.modes, generation_config=config, session=GenerationSession()
    )
    for case in cases:
        key = _coverage_key(case)
        scenarios = kinds.setdefault(key[:2], [])
        if key not in scenarios:
            scenarios.append(key)
    quota = dict.fromkeys(kinds, 0)
    while sum(quota.values()) < COVERAGE_CASES and any(quota[k] < len(v) for k, v in kinds.items()):
        for kind in sorted(kinds, key=str):  # round robin: each kind one more, while it has more
            if quota[kind] < len(kinds[kind]) and sum(quota.values()) < COVERAGE_CASES:
                quota[kind] += 1
    return frozenset(
        scenarios[i * len(scenarios) // quota[kind]] for kind, scenarios in kinds.items() for i in range(quota[kind])
    )


_coverage_kept: dict[tuple[Any, ...], int] = {}


@schema.hook
def filter_case(context, case):
    """The coverage phase: the cases of ``coverage_plan``, the first of each scenario."""
    if case.meta is None or not isinstance(case.meta.phase.data, CoveragePhaseData):
        return True
    key = _coverage_key(case)
    if key not in coverage_plan(case.operation.label):
        return False
    kept = _coverage_kept.setdefault((case.operation.label, *key), id(case))
    return kept == id(case)  # the same answer if the hook is asked again about the same case


@schema.hook
def map_case(context, case):
    """A coverage case gets the demo data's identifiers and values for what it is not about,
    and no gating header unless it is about that header."""
    data = case.meta.phase.data if case.meta is not None else None
    if not isinstance(data, CoveragePhaseData):
        return case
    varied = data.parameter_location
    known = KNOWN_PATH_VALUES.get(case.operation.path, {})
    if case.path_parameters and varied != ParameterLocation.PATH:
        case.path_parameters = {
            name: _pick(known.get(name, [value]), data.description) for name, value in case.path_parameters.items()
        }
    if case.headers:
        about = data.parameter if varied == ParameterLocation.HEADER else None
        case.headers = {k: v for k, v in case.headers.items() if k not in GATING_HEADERS or k == about}
    known = KNOWN_BODY_VALUES.get(case.operation.tags[0], {})
    if isinstance(case.body, dict) and known:
        mentioned = f"{data.description} {data.location or ''}"
        case.body = {
            key: value if key not in known or key in mentioned else _pick(known[key], data.description)
            for key, value in case.body.items()
        }
    return case


def _pick(values: list[Any], description: str) -> Any:
    return values[_stable(description) % len(values)]


@pytest.fixture(scope="module")
def fuzz_target(local_run):
    """The local run with its demo data restored (before, and for the tests after), and each
    dialect's main demo client's Authorization header (the client named after the dialect)."""
    assert local_run.request("POST", "/_local/reset")[0] == 200
    status, _, credentials = local_run.json("GET", "/_local/credentials")
    assert status == 200
    yield local_run.url, {dialect: clients[dialect] for dialect, clients in credentials.items()}
    assert local_run.request("POST", "/_local/reset")[0] == 200


def auth_headers(operation, credentials: dict[str, str]) -> dict[str, str]:
    """The credentials of the operation's dialect (its tag), as its security scheme sends them."""
    (dialect,) = operation.tags
    ((name, _),) = operation.definition.raw["security"][0].items()
    scheme = openapi.SECURITY_SCHEMES[name]
    value = credentials[dialect]  # "<Scheme> <token>"
    assert value.split(" ", 1)[0].lower() == scheme["scheme"], f"{dialect}: {value.split()[0]} is not {scheme}"
    return {"Authorization": value}


# the operations, by label ("GET /tickets/{id}"): collecting them builds no test cases
OPERATIONS = {result.ok().label: result.ok() for result in schema.get_all_operations()}


def send(case, fuzz_target):
    url, credentials = fuzz_target
    case.call_and_validate(base_url=url, headers=auth_headers(case.operation, credentials), checks=CHECKS)


def probed_before(label: str) -> set[tuple[str, str]]:
    """The (path, method) pairs the coverage phase has probed with an unexpected method before this
    operation, in the schema's order (each path is probed once, by its first operation), whichever
    operations this process ran before: the same requests however xdist shares them out."""
    before = list(OPERATIONS)[: list(OPERATIONS).index(label)]
    return {(OPERATIONS[other].path, method) for other in before for method in UNEXPECTED_METHODS}


@pytest.mark.parametrize("label", list(OPERATIONS))
def test_api(label, fuzz_target):
    """Every generated case of one operation, sent and checked (the cases and the report of a failure
    as ``schema.parametrize()`` gives them: the same builder, seed and hooks)."""
    schema.coverage_unexpected_methods_seen = probed_before(label)
    test = build_operation_test(
        config=schema.config,
        operation=OPERATIONS[label],
        test_func=send,
        given_kwargs={},
        feedback=FeedbackSources(constants_value_source=make_constants_value_source(schema)),
    )
    try:
        test(fuzz_target=fuzz_target)
    except FailureGroup as failures:
        raise as_reported_failure(failures) from None


def test_every_operation_is_fuzzed():
    fuzzed = {(op.method.upper(), op.path) for op in OPERATIONS.values()}
    assert len(fuzzed) == len(OPERATIONS)  # one label, one operation
    assert fuzzed == {(op.method.upper(), op.path) for op in openapi.operations()}
