"""The words of the comparison's outputs (workbook, HTML), in Chinese and English; rule and policy
names come from `api.labels` and metric and model names from `api.metric_labels`, so a rule or a
metric reads the same in a plan, a simulation and a comparison."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from api import labels
from api.labels import Lang, pick
from api.metric_labels import metric_name, metric_unit, model_name  # noqa: F401  (re-exported: `words.metric_name`, …)

if TYPE_CHECKING:
    from api.comparison import Comparison

SHARING_KEYS = {
    "spare_capacity": ("按剩余产能分摊", "by spare capacity"),
    "outlets": ("按网点数分摊", "by outlets"),
    "client_managers": ("按客户经理数分摊", "by client managers"),
}
BASE_NAME = ("基准方案", "Base")

WORDS: dict[str, tuple[str, str]] = {
    "title": ("方案比较", "Comparison of policy options"),
    "option": ("方案", "Option"),
    "description": ("说明", "Description"),
    "changes": ("调整内容", "What the option changes"),
    "policy": ("分配方法", "Policy"),
    "sharing_key": ("超进度任务分摊", "Extra load shared"),
    "status": ("计划状态", "Status"),
    "violations": ("未达标项(项)", "Rules not met (count)"),
    "loan_floor": ("小微贷款增量底线(%s)", "Floor, micro-loan increment (%s)"),
    "loan_floor_rule": ("贷款底线决定规则", "Loan floor set by"),
    "client_floor": ("新增小微户数底线(户)", "Floor, new micro clients (clients)"),
    "client_floor_rule": ("户数底线决定规则", "Client floor set by"),
    "loan_department_target": ("部门目标·贷款增量(%s)", "Department target, loan increment (%s)"),
    "client_department_target": ("部门目标·新增户数(户)", "Department target, new clients (clients)"),
    "target_clients": ("新增户数目标合计(户)", "Target new clients, total (clients)"),
    "target_loan_increment": ("贷款增量目标合计(%s)", "Target loan increment, total (%s)"),
    "base_part": ("其中基础任务(户)", "of which the policy's own share (clients)"),
    "extra_part": ("其中分摊加压(户)", "of which extra load (clients)"),
    "max_load": ("最高产能负荷(%)", "Highest load (% of capacity)"),
    "load_spread": ("负荷极差(百分点)", "Load spread (percentage points)"),
    "at_capacity": ("满产能管辖行(家)", "Branches at capacity (count)"),
    "changed_branches": ("目标与基准不同的管辖行(家)", "Branches with a target unlike the base (count)"),
    "moved_clients": ("与基准差异绝对值合计(户)", "Σ |difference from base| (clients)"),
    "binds": ("（约束）", " (binds)"),
    "none": ("无", "none"),
    "same": ("同基准", "as base"),
    "summary": ("概要", "Summary"),
    "branches": ("分行目标", "Branch targets"),
    "differences": ("与基准差异", "Differences"),
    "loan_sheet": ("贷款增量", "Loan targets"),
    "split": ("基础与加压", "Pace and extra"),
    "simulation": ("模拟结果", "Simulation"),
    "highlights": ("主要差异", "What differs most"),
    "no_differences": ("各方案与基准方案没有差异。", "No option differs from the base."),
    "id": ("机构号", "Branch id"),
    "name": ("管辖行", "Branch"),
    "capacity": ("产能(户/年)", "Capacity (clients/yr)"),
    "last_year_target": ("上年目标(户)", "Last year's target (clients)"),
    "last_year_actual": ("上年实际(户)", "Last year's actual (clients)"),
    "pace": ("追赶进度(户/年)", "Catch-up pace (clients/yr)"),
    "target": ("目标(户)", "target (clients)"),
    "vs_last": ("比上年目标(户)", "vs last year's target (clients)"),
    "loans": ("贷款增量(%s)", "loan increment (%s)"),
    "vs_base": ("比基准(户)", "vs base (clients)"),
    "loans_vs_base": ("贷款比基准(%s)", "loans vs base (%s)"),
    "base_share": ("基础任务(户)", "policy's share (clients)"),
    "extra_share": ("分摊加压(户)", "extra load (clients)"),
    "load": ("负荷(%)", "load (%)"),
    "total": ("合计", "Total"),
    "model": ("模型", "Model"),
    "metric": ("指标", "Metric"),
    "unit": ("单位", "Unit"),
    "mean": ("均值", "mean"),
    "ci_low": ("95%置信下限", "95% CI low"),
    "ci_high": ("95%置信上限", "95% CI high"),
    "diff": ("比基准差异", "difference from base"),
    "diff_low": ("差异95%下限", "difference, 95% CI low"),
    "diff_high": ("差异95%上限", "difference, 95% CI high"),
    "bank": ("银行 / 计划", "Bank / plan"),
    "plan_year": ("计划年度", "Plan year"),
    "money_unit": ("金额单位", "Money unit"),
    "options": ("比较方案(个)", "Options compared"),
    "date": ("生成日期", "Date"),
    "version": ("microplan 版本", "microplan version"),
    "sim_setup": ("模拟设置", "Simulation"),
    "sim_setup_text": ("%d 次重复，随机种子 %d，%d 天；各方案使用相同随机数（共同随机数），差异置信区间按配对差计算",
                       "%d replications, seed %d, %d days; every option uses the same random numbers (common random "
                       "numbers), so differences carry paired confidence intervals"),
    "no_simulation": ("情景未设置模拟（simulation），只比较计划。", "The scenario has no simulation section: plans only."),
    "notes": ("说明", "Notes"),
    "note_parts": ("基础任务：分配方法本身给出的任务（追赶进度法为追赶进度；上年实际递增法为上年实际×(1+增幅)；"
                   "按比例法没有基础任务，只有上年目标平滑要求的下限），受产能和上年目标平滑限制；分摊加压：为满足全行底线和部门目标"
                   "在基础任务之上按分摊规则增加的任务。两者相加等于目标。",
                   "Policy's share: what the policy itself asks (catch-up: the catch-up pace; ratchet: last actual × (1 + growth); "
                   "proportional: nothing but the least that smoothing from last year's target demands), within capacity and "
                   "smoothing; extra load: what the bank's floors and the department's targets add on top, shared by the sharing "
                   "rule. The two add up to the target."),
    "note_load": ("产能负荷 = 目标 ÷ 产能；负荷极差 = 最高负荷 − 最低负荷。", "Load = target ÷ capacity; spread = highest − lowest load."),
    "met": ("达标", "met"),
    "not_met": ("未达标", "not met"),
}


def word(key: str, lang: Lang, money_unit: str = "") -> str:
    text = pick(WORDS[key], lang)
    return text % money_unit if "%s" in text else text


def option_title(name: str, lang: Lang) -> str:
    """An option's display name: 基准方案 / Base for the base, else the name the scenario gives."""
    return pick(BASE_NAME, lang) if name == "base" else name


def sharing_name(key: str, lang: Lang) -> str:
    return pick(SHARING_KEYS.get(key, (key, key)), lang)


def status_name(status: str, lang: Lang) -> str:
    return labels.status_word(status, lang)


def rule_name(rule: str | None, lang: Lang) -> str:
    return labels.rule_name(rule, lang) if rule else word("none", lang)


# ---------------------------------------------------------------- what differs most, in words


def highlight_sentence(item: dict, money_unit: str, lang: Lang, money_digits: int = 0) -> str:
    """One item of `Comparison.highlights()` as a sentence."""
    zh = lang == "zh"
    who = option_title(item["option"], lang)
    kind = item["kind"]
    if kind == "targets":
        largest = ("、" if zh else ", ").join(f"{b['id']} {b['change']:+,d}" for b in item["largest"])
        if zh:
            return f"{who}：{item['branches']} 家管辖行目标与基准不同，差异绝对值合计 {item['moved_clients']:,d} 户；变化最大：{largest} 户。"
        return (f"{who}: {item['branches']} branches get a target unlike the base, {item['moved_clients']:,d} clients "
                f"moved in all; largest: {largest} clients.")
    if kind == "totals":
        parts = []
        if item["target_clients"]:
            parts.append(f"全行新增户数目标 {item['target_clients']:+,d} 户" if zh
                         else f"the bank's total target {item['target_clients']:+,d} clients")
        if round(item["target_loan_increment"], money_digits):
            loans = f"{item['target_loan_increment']:+,.{money_digits}f} {money_unit}"
            parts.append(f"贷款增量目标 {loans}" if zh else f"loan increment {loans}")
        return f"{who}：" + "，".join(parts) + "（与基准相比）。" if zh else f"{who}: " + ", ".join(parts) + " (against the base)."
    if kind == "floor":
        unit = money_unit if item["quantity"] == "loans" else pick(labels.CLIENT_UNIT, lang)
        digits = money_digits if item["quantity"] == "loans" else 0
        what = pick(labels.QUANTITIES[item["quantity"]], lang)
        if zh:
            return (f"{who}：{what}底线由 {item['base']:,.{digits}f} {unit}（{rule_name(item['base_rule'], lang)}）"
                    f"变为 {item['value']:,.{digits}f} {unit}（{rule_name(item['rule'], lang)}）。")
        return (f"{who}: the {what.lower()} floor moves from {item['base']:,.{digits}f} {unit} ({rule_name(item['base_rule'], lang)}) "
                f"to {item['value']:,.{digits}f} {unit} ({rule_name(item['rule'], lang)}).")
    if kind == "status":
        if zh:
            return f"{who}：计划状态由{status_name(item['base'], lang)}变为{status_name(item['status'], lang)}。"
        return f"{who}: the plan's status changes from {status_name(item['base'], lang)} to {status_name(item['status'], lang)}."
    if kind == "load":
        def pct(v: float | None) -> str:
            return "—" if v is None else f"{v * 100:.0f}%"
        if zh:
            return (f"{who}：最高产能负荷 {pct(item['base_max_load'])} → {pct(item['max_load'])}，"
                    f"满产能管辖行 {item['base_at_capacity']} → {item['at_capacity']} 家。")
        return (f"{who}: highest load {pct(item['base_max_load'])} → {pct(item['max_load'])}, branches at capacity "
                f"{item['base_at_capacity']} → {item['at_capacity']}.")
    if kind == "metric":
        ratio = item.get("metric_kind") == "ratio"
        scale = 100.0 if ratio else 1.0
        diff, low, high = (v * scale for v in (item["diff"], *item["diff_ci95"]))
        unit = ("个百分点" if zh else " pp") if ratio else " " + metric_unit(item.get("metric_kind", ""), item.get("unit", ""), money_unit, lang)
        name = metric_name(item["metric"], lang)
        model = model_name(item["model"], lang)
        if zh:
            return (f"{who}：模拟{model}的{name}比基准 {diff:+,.2f}{unit}（95% 置信区间 {low:+,.2f} 至 {high:+,.2f}，"
                    f"相对 {item['relative']:.1%}）。")
        return (f"{who}: simulated {name.lower()} ({model}) {diff:+,.2f}{unit} against the base "
                f"(95% CI {low:+,.2f} to {high:+,.2f}, {item['relative']:.1%} relative).")
    return f"{who}: {kind}"


def change_text(patch: dict, lang: Lang) -> str:
    """A patch as short text, `policy.name = ratchet; policy.sharing_key = outlets`; policy and key values in words."""
    parts: list[str] = []
    if not patch:
        return word("none", lang)

    def walk(node: object, path: str) -> None:
        if isinstance(node, dict) and node:
            for key, value in node.items():
                walk(value, f"{path}.{key}" if path else str(key))
            return
        value = node
        if path == "policy.name" and isinstance(node, str):
            value = labels.policy_name(node, lang)
        elif path == "policy.sharing_key" and isinstance(node, str):
            value = sharing_name(node, lang)
        elif isinstance(node, list):
            value = f"[{len(node)}]"
        parts.append(f"{path} = {value}")

    walk(patch, "")
    return ("；" if lang == "zh" else "; ").join(parts) if parts else word("none", lang)


# ---------------------------------------------------------------- the options table


def summary_rows(comparison: Comparison, lang: Lang) -> list[tuple[str, str, Callable[[Any], Any]]]:
    """(label, cell kind, value of an option summary) for each row of the options table (workbook, page, terminal)."""
    unit = comparison.money_unit
    return [
        (word("description", lang), "wrap", lambda o: o.description or "—"),
        (word("changes", lang), "wrap", lambda o: change_text(o.patch, lang)),
        (word("policy", lang), "text", lambda o: labels.policy_name(o.policy, lang)),
        (word("sharing_key", lang), "text", lambda o: sharing_name(o.sharing_key, lang)),
        (word("status", lang), "text", lambda o: status_name(o.status, lang)),
        (word("violations", lang), "number", lambda o: len(o.violations)),
        (word("loan_floor", lang, unit), "money", lambda o: o.loan_floor),
        (word("loan_floor_rule", lang), "text",
         lambda o: rule_name(o.loan_floor_rule, lang) + (word("binds", lang) if o.loan_floor_binds else "")),
        (word("client_floor", lang), "number", lambda o: o.client_floor),
        (word("client_floor_rule", lang), "text",
         lambda o: rule_name(o.client_floor_rule, lang) + (word("binds", lang) if o.client_floor_binds else "")),
        (word("loan_department_target", lang, unit), "money", lambda o: o.loan_department_target),
        (word("client_department_target", lang), "number", lambda o: o.client_department_target),
        (word("target_clients", lang), "number", lambda o: o.target_clients),
        (word("base_part", lang), "number", lambda o: o.base_part),
        (word("extra_part", lang), "number", lambda o: o.extra_part),
        (word("target_loan_increment", lang, unit), "money", lambda o: o.target_loan_increment),
        (word("max_load", lang), "percent", lambda o: o.max_load),
        (word("load_spread", lang), "decimal", lambda o: None if o.load_spread is None else round(o.load_spread * 100, 1)),
        (word("at_capacity", lang), "number", lambda o: o.at_capacity),
        (word("changed_branches", lang), "number", lambda o: o.changed_branches),
        (word("moved_clients", lang), "number", lambda o: o.moved_clients),
    ]


def simulation_text(comparison: Comparison, lang: Lang) -> str:
    """The simulation's setup in one line, or that there is none."""
    sim = comparison.simulation
    if not sim:
        return word("no_simulation", lang)
    models = ("、" if lang == "zh" else ", ").join(model_name(m, lang) for m in sim["models"])
    return f"{models}：" + word("sim_setup_text", lang) % (sim["replications"], sim["seed"], sim["days"]) if lang == "zh" \
        else f"{models}: " + word("sim_setup_text", lang) % (sim["replications"], sim["seed"], sim["days"])


def cell_text(value: object, kind: str, digits: int) -> str:
    """A summary value as terminal text."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if kind == "money":
        return f"{value:,.{digits}f}"
    if kind == "percent":
        return f"{value * 100:.1f}%"
    if kind == "decimal":
        return f"{value:,.1f}"
    return f"{value:,.0f}"
