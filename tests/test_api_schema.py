"""schemathesis against the running server's own OpenAPI document (/schema/openapi.json): for
every route, generated requests (a bounded number per route, so CI stays fast) never get a 5xx,
and every answer conforms to the document — status codes, content types, headers, bodies.

One check is left out where a scenario is the body: "a schema-valid request is accepted". A
scenario's rules between fields (weights summing to 1, minimum ≤ maximum, a YAML text that must
hold a scenario) are not expressible in JSON Schema, so a schema-valid body may rightly get 422.

(The operations are walked inside one test with `as_strategy()`: schemathesis' pytest loader
`from_fixture` does not run under pytest 9.)"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from schemathesis.specs.openapi.checks import positive_data_acceptance

from api_support import ApiServer

#: Generated requests per route.
EXAMPLES_PER_ROUTE = 8


@pytest.fixture(scope="module")
def schema_server(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("api-schema")
    server = ApiServer(folder, f"sqlite:///{folder / 'microplan.sqlite'}").start()
    yield server
    server.stop(graceful=False)


def test_no_server_error_and_answers_conform(schema_server: ApiServer) -> None:
    """Every route, generated requests with the admin key (every route allowed): no 5xx, answers as documented."""
    schema = schemathesis.openapi.from_url(f"{schema_server.url}/schema/openapi.json")
    schema.config.update(base_url=schema_server.url)
    headers = schema_server.auth("admin")
    failures: dict[str, str] = {}
    checked = []
    statuses: dict[str, set[int]] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        takes_scenario = operation.method.upper() == "POST" and operation.path in ("/plans", "/simulations", "/comparisons")

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_ROUTE, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case) -> None:  # type: ignore[no-untyped-def]
            excluded = [positive_data_acceptance] if takes_scenario else []
            response = case.call_and_validate(headers=headers, timeout=120, excluded_checks=excluded)
            statuses.setdefault(operation.label, set()).add(response.status_code)

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 — collect every route's failure, then report them together
            failures[operation.label] = str(exc)[:3000]
        checked.append(operation.label)
    assert len(checked) >= 15, checked
    assert 201 in statuses["POST /plans"] and 202 in statuses["POST /simulations"], statuses  # the examples ran
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
