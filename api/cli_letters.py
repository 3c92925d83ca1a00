"""`microplan letters SCENARIO --out DIR`: one Word target letter (目标任务书) per managing branch.

Registered by `api.cli` as `app.command("letters")(letters_command)`. The plan is made exactly as
`microplan plan` makes it; each letter is filled from a docxtpl template (`api.letters`) and
written atomically through `api.writing`; a PDF is written beside each letter when LibreOffice's
`soffice` is installed.

Exit codes as `microplan plan`: 0 letters written and every plan-year rule met; 1 letters written
but a regulatory floor or department target cannot be met (the letters say so); 2 bad input.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from api.cli_common import EXIT_OK, EXIT_RELAXED, Lang, Policy, fail, load_or_exit
from scenarios.text import printable


def letters_command(
    scenario: Annotated[str, typer.Argument(metavar="SCENARIO", help="scenario file (YAML / JSON) or bundled name")],
    out: Annotated[Path, typer.Option("--out", help="folder to write the letters into (created if missing)")],
    lang: Annotated[Lang, typer.Option("--lang", help="zh (default) or en")] = Lang.zh,
    policy: Annotated[Optional[Policy], typer.Option(
        "--policy", help="catch_up: behind schedule → more, ahead → less (the memo's rule); ratchet: last actual × (1 + g); "
                         "proportional: the schedule's total shared by the key (default: the scenario's)")] = None,
    template: Annotated[Optional[Path], typer.Option(
        "--template", help="your own .docx template (docxtpl tags; see api/letter_template.py); default: the bundled one")] = None,
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="also write a PDF of each letter when LibreOffice (soffice) "
                                                             "is installed; without it no PDF is written and nothing is said")] = True,
) -> None:
    """Write one Word target letter (目标任务书) per managing branch: its targets, last year, cycle progress,
    why its target is what it is, the bank's floors and a signature block; a PDF beside each when
    LibreOffice's `soffice` is on the PATH (skipped silently otherwise). Files: DIR/<plan year>-<branch id>.docx.

    Example: microplan letters city-2014 --out letters/ --lang zh
    """
    from api.letters import letters, pdf_copies, read_template
    from api.errors import BadInput
    from api.writing import write_file
    from optimize.plan import make_plan

    if out.exists() and not out.is_dir():
        fail([f"{printable(str(out))}: --out: is not a folder; name a folder (it is created if missing)"])
    try:
        template_bytes = read_template(template)
    except BadInput as exc:
        fail(exc.lines)
    loaded = load_or_exit(scenario)
    plan = make_plan(loaded, policy.value if policy else None)
    try:
        documents = letters(plan, lang.value, template_bytes, f"{template}: --template" if template else "template")
    except BadInput as exc:
        fail(exc.lines)
    pdfs = pdf_copies(documents) if pdf else None
    for name, data in {**documents, **(pdfs or {})}.items():
        write_file(out / name, data)
    kinds = "docx + pdf" if pdfs else "docx"
    print(f"written: {len(documents)} letters ({kinds}) in {printable(str(out))}", file=sys.stderr)
    if plan.status != "optimal":
        print("note: a regulatory floor or department target cannot be met; see `microplan plan`", file=sys.stderr)
    raise typer.Exit(EXIT_RELAXED if plan.status != "optimal" else EXIT_OK)
