"""Scenarios: the schema a planner writes, loading from YAML / JSON / CSV / XLSX, bundled examples.

The bottom of the dependency chain (`scenarios` ← `optimize` ← `simulate` ← `api`): nothing
here knows about solvers, simulation or HTTP.
"""

from scenarios.errors import Problem, ScenarioError
from scenarios.loading import bundled_names, dump_scenario, load_scenario, scenario_from_dict
from scenarios.schema import Branch, Scenario

__all__ = [
    "Branch", "Problem", "Scenario", "ScenarioError",
    "bundled_names", "dump_scenario", "load_scenario", "scenario_from_dict",
]
