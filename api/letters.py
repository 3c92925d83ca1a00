"""Target letters (目标任务书): one Word document per managing branch, from a replaceable template.

`letter_contexts(plan, lang)` gathers what a branch is told — its client and loan targets beside
last year's target and actual, its cycle progress and pace, why its target is what it is, the
bank's floors — from the same numbers the plan workbook shows (`api.reports.branch_values`).
`render_letter` fills a docxtpl template (api/templates/target_letter.docx by default, see
`api.letter_template` for the tags) in a sandboxed Jinja environment with XML escaping, so a
branch name is text and a template cannot reach Python. `pdf_copies` converts the letters with
LibreOffice when `soffice` is installed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import re
import shutil
import subprocess
import tempfile
import unicodedata
import zipfile
from pathlib import Path
from typing import Any

from api import labels
from api.labels import Lang
from api.letter_template import TEMPLATE_PATH
from api.reports import branch_values, money_digits
from optimize.plan import Plan

#: Largest template accepted (a letterhead with a logo is a few hundred KB), and once inflated.
MAX_TEMPLATE_BYTES = 20 * 1024 * 1024
MAX_TEMPLATE_INFLATED = 100 * 1024 * 1024
#: Seconds LibreOffice may take to convert a bank's letters before the PDFs are given up.
PDF_TIMEOUT = 300

#: The letter's fixed words: key → (中文, English); `{…}` fields are filled by `words`.
WORDS: dict[str, tuple[str, str]] = {
    "title": ("{year}年度小微企业金融业务目标任务书", "{year} micro-lending target letter"),
    "subtitle": ("{bank}", "{bank}"),
    "salutation": ("{name}（机构号 {id}）：", "To {name} (branch {id}):"),
    "intro": ("根据{bank}及监管要求，经小企业金融部测算（分配方法：{policy}），现下达贵行{year}年度小微企业金融业务目标如下，"
              "请认真组织落实。",
              "Following {bank} and the regulator's rules, the small-enterprise finance department has set your "
              "{year} micro-lending targets (method: {policy}) as below."),
    "h_targets": ("一、本年度目标", "1. This year's targets"),
    "h_cycle": ("二、长期目标进度", "2. Progress on the long-term target"),
    "h_reasons": ("三、目标说明", "3. Why this target"),
    "h_floors": ("四、全行监管底线与计划", "4. The bank's floors and plan"),
    "h_rolling": ("五、以后年度参考目标", "5. Indicative targets for later years"),
    "rolling_note": ("以后年度目标为参考数，每年按当年实际完成情况重新测算。",
                     "Later years are indicative and recomputed each year from what was achieved."),
    "col_item": ("指标", "Item"),
    "col_this_year": ("{year}年目标", "{year} target"),
    "col_last_target": ("上年目标", "Last year's target"),
    "col_last_actual": ("上年实际", "Last year's actual"),
    "col_change": ("比上年目标增减", "Change vs last target"),
    "col_year": ("年度", "Year"),
    "col_clients": ("新增小微户数(户)", "New micro clients"),
    "col_loans": ("小微贷款增量({unit})", "Micro-loan increment ({unit})"),
    "row_clients": ("新增小微贷款户数(户)", "New micro borrowers (clients)"),
    "row_loans": ("小微贷款增量({unit})", "Micro-loan increment ({unit})"),
    "closing": ("请贵行按季报送完成情况。特此通知。", "Please report progress every quarter."),
    "sign_department": ("小企业金融部（盖章）", "Small-enterprise finance department (seal)"),
    "sign_branch": ("{name}负责人（签收）", "For {name} (received)"),
    "sign_signature": ("签字：________________", "Signature: ________________"),
    "sign_date_filled": ("日期：{date}", "Date: {date}"),
    "sign_date": ("日期：________________", "Date: ________________"),
    "footer": ("由 microplan 生成 · {bank} · {year} · 机构号 {id}", "Made by microplan · {bank} · {year} · branch {id}"),
}
DASH = "—"


def words(lang: Lang, **fields: Any) -> dict[str, str]:
    """The letter's fixed words in `lang`, `{…}` fields filled."""
    return {key: labels.pick(pair, lang).format(**fields) for key, pair in WORDS.items()}


# ---------------------------------------------------------------- numbers as a letter shows them


def clients_text(value: float | None) -> str:
    """1234.0 → '1,234' (whole clients); None → '—'."""
    return DASH if value is None else f"{round(value):,}"


def signed_text(value: float | None) -> str:
    """+13 / −5 / 0; None → '—'."""
    if value is None:
        return DASH
    value = round(value)
    return f"+{value:,}" if value > 0 else f"−{-value:,}" if value < 0 else "0"


def count_text(value: float) -> str:
    """A pace or share of clients: 134.0 → '134', 75.5 → '75.5' (one decimal where it is not whole)."""
    return f"{value:,.0f}" if abs(value - round(value)) < 0.05 else f"{value:,.1f}"


def money_text(value: float, digits: int) -> str:
    """8899.0 → '8,899' (to the loan unit's decimals: 0 in 万元, 4 in 亿元)."""
    return f"{value:,.{digits}f}"


# ---------------------------------------------------------------- the letter's contents


def letter_contexts(plan: Plan, lang: Lang = "zh", today: dt.date | None = None) -> list[dict[str, Any]]:
    """One template context per managing branch, in the plan's branch order."""
    today = today or dt.date.today()
    zh = lang == "zh"
    scenario = plan.scenario
    unit = scenario.units.money
    digits = money_digits(plan)
    frame = branch_values(plan, lang)
    table = plan.branch_table()
    data = plan.to_json()
    date = f"{today.year}年{today.month}月{today.day}日" if zh else today.isoformat()
    policy = labels.policy_name(plan.inputs.policy, lang)
    floors = floor_sentences(plan, data, lang)
    contexts = []
    for i, (row, branch) in enumerate(zip(frame.itertuples(index=False), scenario.branches)):
        locked_clients = branch.locked_target_clients is not None
        locked_loans = branch.locked_target_loan_increment is not None
        cycle = cycle_context(plan, row, table.iloc[i], lang)
        targets = [
            {"label": labels.pick(WORDS["row_clients"], lang), "this_year": clients_text(row.target_clients),
             "last_target": clients_text(_optional(row.last_year_target)),
             "last_actual": clients_text(_optional(row.last_year_actual)), "change": signed_text(_optional(row.change))},
            {"label": labels.pick(WORDS["row_loans"], lang).format(unit=unit),
             "this_year": money_text(row.target_loan_increment, digits), "last_target": DASH, "last_actual": DASH,
             "change": DASH},
        ]
        rolling = [{"year": str(r["year"]), "clients": clients_text(r["target_clients"]),
                    "loans": money_text(r["target_loan_increment"], digits)}
                   for r in data["branches"][i]["rolling"]]
        contexts.append({
            "t": words(lang, year=plan.plan_year, bank=scenario.name, name=branch.name, id=branch.id, policy=policy,
                       unit=unit, date=date),
            "bank": scenario.name, "plan_year": plan.plan_year, "policy": policy, "date": date, "money_unit": unit,
            "branch": {"id": branch.id, "name": branch.name},
            "targets": targets,
            "target_clients": int(row.target_clients),
            "target_loan_increment": float(row.target_loan_increment),
            "cycle": cycle,
            "reasons": reason_sentences(plan, i, table.iloc[i], cycle, lang, locked_clients, locked_loans),
            "floors": floors,
            "rolling": rolling,
        })
    return contexts


def _optional(value: Any) -> float | None:
    """pandas' missing (NA, NaN, None) → None, else the number."""
    try:
        return None if value is None or value != value else float(value)
    except TypeError:  # pd.NA compares to nothing
        return None


def cycle_context(plan: Plan, row: Any, exact: Any, lang: Lang) -> dict[str, Any]:
    """The branch's long-term cycle: target, done, share done, remaining, years left, pace, capacity.

    `row` is the workbook's row (whole numbers), `exact` the plan's (the pace to one decimal)."""
    scenario = plan.scenario
    target, achieved = int(row.long_term_target), int(row.achieved_clients)
    remaining = max(0, target - achieved)
    share = achieved / target if target > 0 else 1.0
    years_left = scenario.years_left
    position = labels.pick(labels.SCHEDULE[str(exact["schedule"])], lang)
    pace_text = count_text(float(exact["pace"]))
    start, end = scenario.cycle.start_year, scenario.end_year
    if lang == "zh":
        sentence = (f"{start}—{end}年周期长期目标 {target:,} 户，截至上年末已完成 {achieved:,} 户（{share:.1%}），"
                    f"尚余 {remaining:,} 户；含本年剩余 {years_left} 年，追赶进度为每年 {remaining:,} ÷ {years_left} = "
                    f"{pace_text} 户；贵行产能每年 {row.capacity:,} 户。贵行目前{position}。")
    else:
        sentence = (f"Your {start}–{end} long-term target is {target:,} new clients; {achieved:,} are done "
                    f"({share:.1%}), {remaining:,} remain. With {years_left} years left (this one included) the "
                    f"catch-up pace is {remaining:,} ÷ {years_left} = {pace_text} a year; your capacity is "
                    f"{row.capacity:,} a year. You are {position}.")
    return {"start_year": start, "end_year": end, "long_term_target": f"{target:,}", "achieved": f"{achieved:,}",
            "share_done": f"{share:.1%}", "remaining": f"{remaining:,}", "years_left": years_left,
            "pace": pace_text, "capacity": f"{row.capacity:,}", "position": position, "sentence": sentence}


def reason_sentences(plan: Plan, i: int, r: Any, cycle: dict[str, Any], lang: Lang, locked_clients: bool,
                     locked_loans: bool) -> list[str]:
    """Why the branch's target is what it is, one sentence per cause (the workbook's reason, spelled out)."""
    zh = lang == "zh"
    scenario = plan.scenario
    branch = scenario.branches[i]
    x, extra = round(float(r.target_clients)), float(r.extra_load)
    extra_text = count_text(abs(extra))
    schedule = str(r.schedule)
    policy = plan.inputs.policy
    lines = []
    if policy == "catch_up":
        if schedule == "behind":
            lines.append(f"贵行落后于长期进度：本年目标以追赶进度 {cycle['pace']} 户为基准，落后越多，基准越高。" if zh else
                         f"You are behind your long-term schedule: this year's target starts from the catch-up pace of "
                         f"{cycle['pace']}; the further behind, the higher it is.")
        elif schedule == "ahead":
            lines.append(f"贵行超前于长期进度：已多完成的部分降低了本年追赶进度（{cycle['pace']} 户），超额完成不加码（不鞭打快马）。" if zh else
                         f"You are ahead of your long-term schedule: what you achieved beyond it lowers this year's "
                         f"catch-up pace ({cycle['pace']}); running fast never raises your target.")
        else:
            lines.append(f"贵行按长期进度推进：本年目标以追赶进度 {cycle['pace']} 户为基准。" if zh else
                         f"You are on schedule: this year's target starts from the catch-up pace of {cycle['pace']}.")
    else:
        lines.append(f"本年目标按“{labels.policy_name(policy, lang)}”方法分配。" if zh else
                     f"This year's targets are shared by the {labels.policy_name(policy, lang)} method.")
    if locked_clients or locked_loans:
        what = ("新增户数" if locked_clients else "") + ("、" if locked_clients and locked_loans else "") + ("贷款增量" if locked_loans else "")
        what_en = " and ".join(w for w, on in (("new clients", locked_clients), ("loan increment", locked_loans)) if on)
        lines.append(f"贵行{what}目标为协商确定的锁定目标，计划按原数保留，其余各行按同一规则分配。" if zh else
                     f"Your {what_en} target is the negotiated (locked) one and is kept as agreed; the other branches "
                     f"share the rest by the same rules.")
    if extra >= 1 and not locked_clients:  # below one client: whole-number rounding, not a share
        key = {"spare_capacity": ("剩余产能", "spare capacity"), "outlets": ("网点数", "outlets"),
               "client_managers": ("客户经理数", "client managers"), "reference": ("基准目标", "reference target")}
        by = labels.pick(key.get(plan.inputs.key_name, ("分摊系数", "the sharing key")), lang)
        lines.append(f"为满足全行监管底线和部门目标，超出各行进度的任务按{by}比例分摊，贵行分摊 {extra_text} 户。" if zh else
                     f"To meet the bank's floors and targets, the load above every branch's pace is shared in "
                     f"proportion to {by}; your share is {extra_text} clients.")
    elif extra <= -1 and not locked_clients:
        lines.append(f"本年目标比追赶进度少 {extra_text} 户（受产能限制）。" if zh else
                     f"This year's target is {extra_text} below the pace (held by capacity).")
    shift = float(r.smoothing_shift)
    if abs(shift) >= 1 and not locked_clients:  # smoothing from last year's target moved the reference
        last = plan.scenario.branches[i].last_year_target
        shift_text = count_text(abs(shift))
        if zh:
            lines.append(f"本年目标与上年目标（{last:,.0f} 户）的变动不超过产能的 {plan.inputs.max_change:.0%}，"
                         f"因此比追赶进度{'高' if shift > 0 else '低'} {shift_text} 户。")
        else:
            lines.append(f"This year's target may move at most {plan.inputs.max_change:.0%} of capacity from last year's "
                         f"target ({last:,.0f}), so it is {shift_text} {'above' if shift > 0 else 'below'} the pace.")
    if bool(r.at_capacity):
        lines.append(f"贵行本年目标 {x:,} 户已达产能上限（每年 {cycle['capacity']} 户）。" if zh else
                     f"Your target of {x:,} is at your capacity ({cycle['capacity']} a year).")
    if bool(r.risk_capped):
        tolerance = plan.inputs.floors.npl_tolerance
        growth = scenario.risk.capped_growth
        lines.append(f"贵行小微不良率 {branch.npl_ratio:.2%} 高于容忍度 {tolerance:.2%}，小微贷款余额年增长不超过 {growth:.0%}（风险限增）。" if zh else
                     f"Your micro NPL ratio of {branch.npl_ratio:.2%} is above the tolerance of {tolerance:.2%}: your "
                     f"micro book grows by at most {growth:.0%} a year (risk cap).")
    return lines


def floor_sentences(plan: Plan, data: dict[str, Any], lang: Lang) -> list[str]:
    """The bank's plan-year floors (value and the rule that sets it), department targets and plan totals."""
    zh = lang == "zh"
    unit = plan.scenario.units.money
    digits = money_digits(plan)
    lines = []
    for key, quantity in (("micro_loan_increment", "loans"), ("micro_client_increment", "clients")):
        floor = data["floors"][key]
        name = labels.pick(labels.QUANTITIES[quantity], lang)
        shown_unit = unit if quantity == "loans" else ("户" if zh else "clients")
        value = money_text(floor["value"], digits) if quantity == "loans" else clients_text(floor["value"])
        if floor["binding_rule"]:
            rule = labels.rule_name(floor["binding_rule"], lang)
            lines.append(f"全行{name}监管底线 {value} {shown_unit}（{rule}）。" if zh else
                         f"The bank's regulatory floor on the {name.lower()}: {value} {shown_unit} ({rule}).")
        else:
            lines.append(f"本年度无全行{name}监管底线。" if zh else f"No regulatory floor on the {name.lower()} this year.")
        if floor.get("department_target") is not None:
            target = money_text(floor["department_target"], digits) if quantity == "loans" else clients_text(floor["department_target"])
            lines.append(f"部门目标：{name} {target} {shown_unit}。" if zh else
                         f"Department target, {name.lower()}: {target} {shown_unit}.")
    totals = data["totals"]
    clients, loans = clients_text(totals["target_clients"]), money_text(totals["target_loan_increment"], digits)
    lines.append(f"全行计划合计：新增小微贷款户数 {clients} 户，小微贷款增量 {loans} {unit}；{labels.status_sentence(plan.status, lang)}。" if zh else
                 f"The bank's plan in total: {clients} new micro clients and {loans} {unit} of micro-loan increment; "
                 f"{labels.status_sentence(plan.status, lang)}.")
    return lines


# ---------------------------------------------------------------- files


def file_stem(branch_id: str, plan_year: int) -> str:
    """A safe file name for a branch's letter: `2014-B01`; other characters become `_` plus a hash of the id.

    Ids come from the scenario file: `../x`, `a/b`, `CON` or a name of 300 characters must not
    escape the folder, clash with a device name or another branch's file.
    """
    text = unicodedata.normalize("NFKC", branch_id).strip()
    safe = re.sub(r"[^0-9A-Za-z_\-\u4e00-\u9fff]", "_", text)[:60]
    if safe != text or not safe:
        safe = f"{safe}_{hashlib.sha256(branch_id.encode('utf-8')).hexdigest()[:8]}"
    return f"{plan_year}-{safe}"


def read_template(path: Path | None) -> bytes:
    """The template's bytes: the bundled one, or a bank's (a regular .docx within the size limits)."""
    from api.errors import BadInput
    from scenarios.errors import ScenarioError
    from scenarios.reading import read_bytes

    if path is None:
        return TEMPLATE_PATH.read_bytes()
    label = f"{path}: --template"
    if path.suffix.lower() != ".docx":
        raise BadInput([f"{label}: must be a .docx file (got {path.suffix or 'no suffix'})"])
    try:
        data = read_bytes(path, str(path), MAX_TEMPLATE_BYTES, "--template")
    except ScenarioError as exc:
        raise BadInput([str(p) for p in exc.problems]) from None
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise BadInput([f"{label}: not a Word document (.docx is a zip archive)"]) from None
    if sum(m.file_size for m in members) > MAX_TEMPLATE_INFLATED or len(members) > 1000:
        raise BadInput([f"{label}: the document inflates beyond {MAX_TEMPLATE_INFLATED} bytes or 1,000 parts"])
    return data


def render_letter(template: bytes, context: dict[str, Any], label: str = "template") -> bytes:
    """The template filled with `context` (sandboxed Jinja, XML-escaped), as .docx bytes."""
    from docxtpl import DocxTemplate
    from jinja2 import StrictUndefined, TemplateError
    from jinja2.sandbox import SandboxedEnvironment

    from api.errors import BadInput

    try:
        document = DocxTemplate(io.BytesIO(template))
        document.render(context, jinja_env=SandboxedEnvironment(undefined=StrictUndefined), autoescape=True)
    except TemplateError as exc:
        raise BadInput([f"{label}: the template cannot be filled: {type(exc).__name__}: {exc}"]) from None
    except (KeyError, ValueError, zipfile.BadZipFile) as exc:  # not a Word document's parts
        raise BadInput([f"{label}: not a usable Word template ({type(exc).__name__})"]) from None
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def pdf_copies(docx_files: dict[str, bytes]) -> dict[str, bytes] | None:
    """PDFs of the letters (name.docx → name.pdf) by LibreOffice, or None when `soffice` is not installed
    or fails. Converted in a private temporary folder with its own LibreOffice profile, so a running
    LibreOffice of the user is neither needed nor disturbed."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None or not docx_files:
        return None
    with tempfile.TemporaryDirectory(prefix="microplan-letters-") as folder:
        root = Path(folder)
        for name, data in docx_files.items():
            (root / name).write_bytes(data)
        command = [soffice, f"-env:UserInstallation={(root / 'profile').as_uri()}", "--headless",
                   "--convert-to", "pdf", "--outdir", str(root / "pdf"), *sorted(docx_files)]
        try:
            subprocess.run(command, cwd=root, capture_output=True, timeout=PDF_TIMEOUT, check=False,
                           env={**os.environ, "HOME": str(root)})
        except (OSError, subprocess.TimeoutExpired):
            return None
        pdfs = {}
        for name in docx_files:
            pdf = root / "pdf" / (Path(name).stem + ".pdf")
            if not pdf.is_file():
                return None
            pdfs[pdf.name] = pdf.read_bytes()
        return pdfs


def letters(plan: Plan, lang: Lang = "zh", template: bytes | None = None, label: str = "template",
            today: dt.date | None = None) -> dict[str, bytes]:
    """File name → .docx bytes, one letter per managing branch."""
    template = template if template is not None else TEMPLATE_PATH.read_bytes()
    return {f"{file_stem(c['branch']['id'], plan.plan_year)}.docx": render_letter(template, c, label)
            for c in letter_contexts(plan, lang, today)}


__all__ = ["letters", "letter_contexts", "pdf_copies", "read_template", "render_letter", "file_stem"]
