"""The CPU-heavy work of the API, run in worker processes — never on the event loop.

Plain functions of plain data (the validated scenario as a mapping), so they can be sent to a
process pool (plans answered at once, exports) or run by a huey worker (jobs). They call the same
engine and the same writers as the CLI: `optimize.plan.make_plan`, `api.reports` (JSON, CSV,
XLSX), `api.letters` (the Word letters), `simulate.service.run_simulation`, and the comparison's
`api.comparison.compare_scenario` and `api.comparison_html.render_comparison_html`.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

from scenarios import Scenario

#: Export format → (media type, file suffix).
EXPORT_TYPES: dict[str, tuple[str, str]] = {
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "csv": ("text/csv; charset=utf-8", "csv"),
    "json": ("application/json", "json"),
}


def _plan(validated: dict[str, Any], policy: str | None):  # type: ignore[no-untyped-def]
    from optimize.plan import make_plan

    return make_plan(Scenario.model_validate(validated), policy)  # type: ignore[arg-type]


def plan_body(validated: dict[str, Any], policy: str | None, lang: str) -> dict[str, Any]:
    """The plan JSON of `microplan plan --format json` (`api.reports.plan_json`)."""
    from api.reports import plan_json

    return plan_json(_plan(validated, policy), lang)  # type: ignore[arg-type]


def export_bytes(validated: dict[str, Any], policy: str | None, lang: str, fmt: str) -> bytes:
    """The plan as the CLI writes it to `--out plan.<fmt>`: XLSX (`reports.plan_xlsx`), CSV with a BOM
    for Excel (`reports.plan_csv`), or JSON (`reports.plan_json`)."""
    from api import reports

    plan = _plan(validated, policy)
    if fmt == "xlsx":
        return reports.plan_xlsx(plan, lang)  # type: ignore[arg-type]
    if fmt == "csv":
        return reports.plan_csv(plan, lang).encode("utf-8-sig")  # type: ignore[arg-type]
    return (json.dumps(reports.plan_json(plan, lang), ensure_ascii=False, indent=2, allow_nan=False) + "\n").encode()  # type: ignore[arg-type]


def letters_zip(validated: dict[str, Any], policy: str | None, lang: str) -> bytes:
    """One Word target letter per managing branch (`api.letters.letters`, as `microplan letters`), zipped."""
    from api.letters import letters

    documents = letters(_plan(validated, policy), lang)  # type: ignore[arg-type]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in documents.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def simulation_body(validated: dict[str, Any], options: dict[str, Any], *, workers: int | None,
                    dask_address: str | None, progress: Callable[[float], None] | None) -> dict[str, Any]:
    """The JSON of `microplan simulate --format json`, money in the scenario's unit."""
    from simulate.service import run_simulation

    scenario = Scenario.model_validate(validated)
    result = run_simulation(scenario.simulation, options.get("model") or "revolving_credit",
                            replications=options.get("replications"), seed=options.get("seed"),
                            workers=workers, dask_address=dask_address, progress=progress,
                            start_year=scenario.plan_year)
    return result.in_money_unit(scenario.units.money).to_json()


#: Languages a comparison report is rendered in (both at once: the page is cheap, the comparison is not).
REPORT_LANGS = ("zh", "en")


def comparison_body(validated: dict[str, Any], options: dict[str, Any], *, workers: int | None,
                    dask_address: str | None, progress: Callable[[float], None] | None) -> tuple[dict[str, Any], dict[str, str]]:
    """The comparison JSON of `microplan compare` and its HTML report in each language (`REPORT_LANGS`)."""
    from api.comparison import compare_scenario
    from api.comparison_html import render_comparison_html

    comparison = compare_scenario(Scenario.model_validate(validated), workers=workers, dask_address=dask_address,
                                  progress=progress, replications=options.get("replications"))
    return comparison.to_json(), {lang: render_comparison_html(comparison, lang) for lang in REPORT_LANGS}  # type: ignore[arg-type]
