"""Open and read-only routes: `GET /health`, the bundled scenarios, a stored submission."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import Parameter
from pydantic import BaseModel

from api.http.auth import requires
from api.http.bodies import ErrorBody, Health, ScenarioName, with_example
from api.http.db import StoredScenario
from api.http.errors import NotFound
from api.http.routes.common import IdParam, scenario_example as _city_example
from api.http.routes.plans import ERRORS
from scenarios import Scenario, bundled_names, load_scenario
from scenarios.loading import scenario_to_dict

NameParam = Annotated[str, Parameter(description="a bundled scenario's name (see GET /scenarios)", max_length=100,
                                     examples=[Example(value="city-2014")])]


class Submitted(BaseModel):
    """A scenario as it was submitted: the text as sent, the uploaded table's name, and the scenario it validated to."""

    model_config = with_example({"id": "77c2…", "kind": "upload", "source": "name: 城商行 2014 年度小微计划\nplan_year: 2014\n…",
                                 "source_name": "city-2014.yaml", "table_name": "city_branches_2014.csv",
                                 "scenario": {"name": "城商行 2014 年度小微计划", "plan_year": 2014}})

    id: str
    kind: str
    source: str
    source_name: str
    table_name: str
    scenario: Scenario


@get("/health", operation_id="health", tags=["meta"], summary="Is the server up", sync_to_thread=False,
     security=[{}])  # open: no key needed
def health() -> Health:
    """`{"status": "ok"}`; needs no key."""
    return Health()


@get("/scenarios", operation_id="listScenarios", guards=[requires("viewer")], tags=["scenarios"], sync_to_thread=True,
     summary="The bundled example scenarios", responses=ERRORS)
def list_scenarios() -> list[ScenarioName]:
    """Name, plan year, regulatory preset and branch count of each bundled scenario (`microplan scenarios`)."""
    rows = []
    for name in bundled_names():
        s = load_scenario(name)
        rows.append(ScenarioName(name=name, plan_year=s.plan_year, preset=s.regulation.preset, branches=len(s.branches), title=s.name))
    return rows


@get("/scenarios/{name:str}", operation_id="getScenario", guards=[requires("viewer")], tags=["scenarios"], sync_to_thread=True,
     summary="One bundled scenario",
     responses={200: ResponseSpec(Scenario, description="the scenario, branch table inline", examples=[Example(value=_city_example())]),
                404: ResponseSpec(ErrorBody, description="no such bundled scenario"), **ERRORS})
def get_scenario(name: NameParam) -> Scenario:
    """A bundled scenario with its branch table inline, in its own money unit: ready to edit and POST to /plans."""
    if name not in bundled_names():
        raise NotFound("bundled scenario", name)
    return Scenario.model_validate(scenario_to_dict(load_scenario(name)))


@get("/submissions/{scenario_id:str}", operation_id="getSubmission", guards=[requires("viewer")], tags=["scenarios"],
     sync_to_thread=True, summary="A scenario as it was submitted",
     responses={404: ResponseSpec(ErrorBody, description="no such submission"), **ERRORS})
def get_submission(request: Request, scenario_id: IdParam) -> Submitted:
    """The stored scenario of a plan or job (`scenario_id` in GET /jobs/{id}): the text as sent and the scenario."""
    with request.app.state.db.session() as session:
        row = session.get(StoredScenario, scenario_id)
    if row is None:
        raise NotFound("submission", scenario_id)
    from scenarios.loading import scale_money
    from scenarios.schema import MONEY_FACTORS, from_wan

    unit = row.validated.get("units", {}).get("money", "万元")
    data = row.validated if MONEY_FACTORS[unit] == 1.0 else scale_money(row.validated, lambda v: from_wan(v, unit))
    return Submitted(id=row.id, kind=row.source_kind, source=row.source, source_name=row.source_name,
                     table_name=row.table_name, scenario=Scenario.model_validate(data))


ROUTES = [health, list_scenarios, get_scenario, get_submission]
