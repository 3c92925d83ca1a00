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


def has_example(schema: dict, components: dict) -> bool:
    """An example on the schema, on the component it refers to, or on an array's items."""
    if "examples" in schema or "example" in schema:
        return True
    if "$ref" in schema:
        return has_example(components[schema["$ref"].split("/")[-1]], components)
    return schema.get("type") == "array" and has_example(schema.get("items", {}), components)


def test_every_route_is_documented(schema_server: ApiServer) -> None:
    """Every operation: a unique operationId, a summary, each parameter described with an example, and an
    example of its JSON body or answer; every route but /health asks for the bearer key."""
    import httpx

    doc = httpx.get(f"{schema_server.url}/schema/openapi.json").json()
    components = doc["components"]["schemas"]
    ids, problems = [], []
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            label = f"{method.upper()} {path}"
            ids.append(operation.get("operationId"))
            if not operation.get("summary"):
                problems.append(f"{label}: no summary")
            for parameter in operation.get("parameters", []):
                if not parameter.get("description") or not parameter.get("examples"):
                    problems.append(f"{label}: parameter {parameter['name']} lacks a description or an example")
            media = [*operation.get("requestBody", {}).get("content", {}).values(),
                     *(m for code, answer in operation["responses"].items() if code.startswith("2")
                       for kind, m in answer.get("content", {}).items() if "json" in kind)]
            binary = all("json" not in kind for code, answer in operation["responses"].items() if code.startswith("2")
                         for kind in answer.get("content", {}))
            if not binary and not any("example" in m or "examples" in m or has_example(m.get("schema", {}), components) for m in media):
                problems.append(f"{label}: no example of its body or answer")
            if path != "/health" and operation.get("security") == [{}]:
                problems.append(f"{label}: open without a key")
    assert None not in ids and len(ids) == len(set(ids)), ids
    assert not problems, problems
    assert doc["paths"]["/health"]["get"]["security"] == [{}] and doc["security"] == [{"bearer": []}]
