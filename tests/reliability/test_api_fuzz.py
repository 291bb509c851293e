"""Property-based fuzzing of every operation in the OpenAPI document.

Schemathesis draws requests from the document (paths, query strings, headers
and JSON or multipart bodies that fit the declared schemas, and, in negative
mode, ones that break them) and sends each to the application in process, once
as drawn and once with a valid maintainer token, so that the handlers behind
authentication are reached too. No answer may be a 5xx and no exception may
escape; the maintainers' API must also keep its error contract,
``{"detail": text}``.

The operations are walked in one test per generation mode rather than through
``schemathesis.pytest.from_fixture``, whose lazy loader reads a pytest
attribute that pytest 9 no longer has. Examples per operation are bounded so
that the run takes about a minute on two cores.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

EXAMPLES_PER_OPERATION = 20


@pytest.fixture(scope="module")
def api_schema(catalog):
    return schemathesis.openapi.from_asgi("/openapi.json", catalog.app)


def _operations(api_schema):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 15, "the OpenAPI document lost its operations"
    return operations


def _keeps_the_error_contract(response) -> None:
    url = response.request.url
    if response.status_code < 400 or "/api/v1/" not in url:
        return
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"detail"}, (url, body)
    assert isinstance(body["detail"], str) and body["detail"], (url, body)


def _fuzz(operation, mode: GenerationMode, token: str) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case):
        for headers in (None, {"Authorization": f"Bearer {token}"}):
            response = case.call(headers=headers)
            case.validate_response(response, checks=[not_a_server_error])
            _keeps_the_error_contract(response)

    check()


@pytest.mark.parametrize(
    "mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value
)
def test_no_operation_answers_with_a_server_error(api_schema, catalog, mode):
    operations = _operations(api_schema)
    fuzzed = []
    for operation in operations:
        try:
            _fuzz(operation, mode, catalog.actors.ana_token)
        except Unsatisfiable:
            # Only in negative mode: an operation without parameters or body
            # has no way to be called with data that breaks its schema.
            assert mode is GenerationMode.NEGATIVE, operation.label
            continue
        except Exception as exc:
            exc.add_note(f"operation: {operation.label} ({mode.value} data)")
            raise
        fuzzed.append(operation.label)
    least = len(operations) if mode is GenerationMode.POSITIVE else 10
    assert len(fuzzed) >= least, fuzzed
