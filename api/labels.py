"""The words of every human output, in Chinese and English: one language per output.

Rule codes (`growth_rate`, …), statuses (`optimal` / `relaxed`), tiers, schedule positions and
headers are machine words; people read the names below. A Chinese output carries no English rule
code and no `{` (tests/test_plan_outputs.py); the JSON keeps the codes for programs and adds the
words. Sentences are templates filled from structured fields, never parsed from English text.
"""

from __future__ import annotations

from typing import Literal

Lang = Literal["zh", "en"]

#: Rule code → (中文, English).
RULES: dict[str, tuple[str, str]] = {
    "growth_rate": ("增速不低于", "Growth floor (micro growth ≥ all-loan growth)"),
    "increment": ("增量不低于", "Increment floor (≥ last year's increment)"),
    "borrower_count": ("户数不低于", "Borrower-count floor (≥ last year's borrowers)"),
    "approval_rate": ("申贷获得率不低于", "Approval-rate floor"),
    "asset_quality": ("不良率容忍度", "NPL tolerance"),
    "all_in_cost": ("综合融资成本", "All-in financing cost"),
    "department_target": ("部门目标", "Department target"),
    "cycle_schedule": ("长期进度全行合计", "Long-term schedule, bank total"),
    "long_term_completion": ("长期目标完成", "Long-term completion"),
    "lock_above_capacity": ("锁定户数目标超过产能", "Locked client target above capacity"),
    "lock_outside_smoothing": ("锁定户数目标超出上年目标平滑范围", "Locked client target outside the smoothing band"),
    "lock_outside_loan_band": ("锁定贷款目标超出贷款额度范围", "Locked loan target outside the loan band"),
    "lock_above_risk_cap": ("锁定贷款目标超过风险限增上限", "Locked loan target above the risk cap"),
}
#: Short rule names for narrow columns.
RULES_SHORT: dict[str, tuple[str, str]] = {
    "growth_rate": ("增速不低于", "Growth floor"),
    "increment": ("增量不低于", "Increment floor"),
    "borrower_count": ("户数不低于", "Borrower floor"),
}
TIERS = {"regulatory": ("监管要求", "Regulatory"), "department": ("部门目标", "Department"),
         "schedule": ("长期进度", "Long-term schedule"), "lock": ("锁定目标", "Locked target")}
QUANTITIES = {"loans": ("小微贷款增量", "Micro-loan increment"), "clients": ("新增小微户数", "New micro clients")}
#: Plan status code → ((中文 word, sentence), (English word, sentence)).
STATUS = {
    "optimal": (("达标", "全部监管底线和部门目标均已满足"), ("met", "every regulatory floor and department target is met")),
    "relaxed": (("未达标", "有监管底线或部门目标无法满足，缺口见下"),
                ("not met", "a regulatory floor or department target cannot be met; shortfalls below")),
}
SCHEDULE = {"behind": ("落后进度", "behind schedule"), "ahead": ("超前进度", "ahead of schedule"),
            "on": ("按进度", "on schedule")}
POLICIES = {
    "catch_up": ("追赶进度", "catch-up"),
    "ratchet": ("上年实际递增", "ratchet"),
    "proportional": ("按比例分配", "proportional"),
}
CLIENT_UNIT = ("户", "clients")


def pick(pair: tuple[str, str], lang: Lang) -> str:
    """The word of `lang` from a (中文, English) pair."""
    return pair[0] if lang == "zh" else pair[1]


def rule_name(rule: str, lang: Lang, short: bool = False) -> str:
    """A rule's name; a department buffer on a floor is named after the floor; unknown codes get a generic word."""
    if rule.startswith("department_") and rule != "department_target":
        base = rule_name(rule[len("department_"):], lang, short)
        return f"部门目标（{base}上浮）" if lang == "zh" else f"Department buffer on {base}"
    table = RULES_SHORT if short and rule in RULES_SHORT else RULES
    if rule in table:
        return pick(table[rule], lang)
    return "其他规则" if lang == "zh" else rule.replace("_", " ")


def status_word(status: str, lang: Lang) -> str:
    """达标 / 未达标 (met / not met) for the plan's `status` code."""
    return STATUS[status][0 if lang == "zh" else 1][0]


def status_sentence(status: str, lang: Lang) -> str:
    return STATUS[status][0 if lang == "zh" else 1][1]


def policy_name(policy: str, lang: Lang) -> str:
    """The policy's name (`catch_up` → 追赶进度 / catch-up)."""
    return pick(POLICIES.get(policy, ("其他", policy)), lang)


def quantity_unit(quantity: str, money_unit: str, lang: Lang) -> str:
    """The unit of a quantity: the money unit for loans, 户 / clients for clients."""
    return money_unit if quantity == "loans" else pick(CLIENT_UNIT, lang)


#: Column key → (中文 header, English header); `{money}` is replaced by the money unit.
HEADERS: dict[str, tuple[str, str]] = {
    "id": ("机构号", "Branch id"),
    "name": ("管辖行", "Branch"),
    "long_term_target": ("长期目标(户)", "Long-term target (clients)"),
    "achieved_clients": ("周期内已完成(户)", "Achieved in cycle (clients)"),
    "pace": ("追赶进度(户/年)", "Catch-up pace (clients/yr)"),
    "last_year_target": ("上年目标(户)", "Last year's target (clients)"),
    "last_year_actual": ("上年实际(户)", "Last year's actual (clients)"),
    "target_clients": ("新增小微户数目标", "Target new micro clients"),
    "change": ("比上年目标增减(户)", "Change vs last target (clients)"),
    "target_loan_increment": ("小微贷款增量目标(%s)", "Target micro-loan increment (%s)"),
    "capacity": ("产能(户/年)", "Capacity (clients/yr)"),
    "ratchet_coefficient": ("棘轮系数λ(明年目标户/今年多做1户)", "Ratchet λ (next target per extra client)"),
    "effective_reward": ("多做1户有效奖励(%s)", "Effective reward per extra client (%s)"),
    "reason": ("目标说明", "Why this target"),
}
#: Short headers for the terminal (units kept: a header is never cut).
SHORT_HEADERS: dict[str, tuple[str, str]] = {
    "id": ("机构号", "Id"),
    "name": ("管辖行", "Branch"),
    "long_term_target": ("长期目标(户)", "Long-term"),
    "achieved_clients": ("已完成(户)", "Achieved"),
    "pace": ("进度(户/年)", "Pace/yr"),
    "last_year_target": ("上年目标(户)", "Last target"),
    "last_year_actual": ("上年实际(户)", "Last actual"),
    "target_clients": ("本年目标(户)", "Target"),
    "change": ("增减(户)", "Change"),
    "target_loan_increment": ("贷款增量(%s)", "Loans (%s)"),
    "capacity": ("产能(户/年)", "Capacity/yr"),
    "ratchet_coefficient": ("棘轮系数", "Ratchet λ"),
    "effective_reward": ("有效奖励(%s/户)", "Reward (%s/client)"),
    "reason": ("说明", "Why"),
}


def header(key: str, lang: Lang, money_unit: str, short: bool = False) -> str:
    text = pick((SHORT_HEADERS if short else HEADERS)[key], lang)
    return text % money_unit if "%s" in text else text


WORDS: dict[str, tuple[str, str]] = {
    "total": ("合计", "Total"),
    "bank": ("银行 / 计划", "Bank / plan"),
    "plan_year": ("计划年度", "Plan year"),
    "policy": ("分配方法", "Policy"),
    "money_unit": ("金额单位", "Money unit"),
    "loan_rounding": ("贷款目标取整单位", "Loan targets rounded to"),
    "status": ("计划状态", "Status"),
    "date": ("生成日期", "Date"),
    "version": ("microplan 版本", "microplan version"),
    "year": ("年度", "Year"),
    "rule": ("规则", "Rule"),
    "tier": ("层级", "Tier"),
    "quantity": ("指标", "Quantity"),
    "floor": ("底线", "Floor"),
    "plan_total": ("计划合计", "Plan total"),
    "slack": ("余量", "Slack"),
    "unit": ("单位", "Unit"),
    "branch": ("机构号", "Branch"),
    "amount": ("缺口", "Short by"),
    "kind": ("类别", "Kind"),
    "violation": ("未达标", "Not met"),
    "warning": ("提示", "Warning"),
    "whole_bank": ("全行", "whole bank"),
    "floor_loans": ("小微贷款增量底线", "Floor, micro-loan increment"),
    "floor_clients": ("新增小微户数底线", "Floor, new micro clients"),
    "totals": ("计划合计", "Plan totals"),
    "binding_rule": ("决定底线的规则", "set by"),
    "shortfalls": ("未达标与提示", "Shortfalls and warnings"),
    "diagnostics": ("诊断说明", "Diagnostics"),
    "none": ("无", "none"),
    "more": ("另有 %d 条，见 --format json", "%d more (see --format json)"),
    "written": ("已写入", "written"),
}


def word(key: str, lang: Lang) -> str:
    return pick(WORDS[key], lang)


SHEETS = {
    "branches": ("分行目标", "Branch targets"),
    "rolling": ("滚动计划", "Rolling plan"),
    "summary": ("概要", "Summary"),
    "floors": ("监管底线", "Floors"),
    "shortfalls": ("未达标与提示", "Shortfalls"),
    "diagnostics": ("诊断", "Diagnostics"),
}


def sheet_name(key: str, lang: Lang) -> str:
    return pick(SHEETS[key], lang)


# ---------------------------------------------------------------- a branch's reason


def reason_parts(lang: Lang, *, schedule: str, pace: float, extra: float, at_capacity: bool, smoothed: bool,
                 risk_capped: bool, locked: bool) -> list[str]:
    """Why a branch's target is what it is: schedule position, catch-up pace, extra share, limits, lock."""
    zh = lang == "zh"
    parts = [pick(SCHEDULE[schedule], lang), f"追赶进度 {pace:,.0f} 户/年" if zh else f"catch-up pace {pace:,.0f}/yr"]
    if locked:
        parts.append("锁定目标" if zh else "locked (negotiated)")
    extra = round(extra)
    if extra >= 1:
        parts.append(f"分摊超进度任务 +{extra:,.0f} 户" if zh else f"extra share +{extra:,.0f}")
    elif extra <= -1:
        parts.append(f"比进度少 {-extra:,.0f} 户" if zh else f"{-extra:,.0f} below pace")
    if at_capacity:
        parts.append("满产能" if zh else "at capacity")
    elif smoothed:
        parts.append("受上年目标平滑限制" if zh else "held by smoothing from last year")
    if risk_capped:
        parts.append("风险限增" if zh else "risk-capped")
    return parts


def join_parts(parts: list[str], lang: Lang) -> str:
    return ("；" if lang == "zh" else "; ").join(parts)


# ---------------------------------------------------------------- diagnostics sentences


def listing(ids: list[str], lang: Lang, limit: int = 10) -> str:
    """'B01, B02 and 3 more' / 'B01、B02 等 5 家'."""
    shown = ("、" if lang == "zh" else ", ").join(ids[:limit])
    if len(ids) <= limit:
        return shown
    return f"{shown} 等 {len(ids)} 家" if lang == "zh" else f"{shown} and {len(ids) - limit} more"


def binding_sentence(rule: str, year: int, amount: str, lang: Lang) -> str:
    if lang == "zh":
        return f"{year} 年{rule_name(rule, lang)}为约束：计划合计正好等于底线 {amount}。"
    return f"{rule_name(rule, lang)} binds in {year}: the plan's total equals the floor, {amount}."


def marginal_sentence(rule: str, quantity: str, moves: dict[str, float], branches: int, money_unit: str,
                      lang: Lang, listed: int = 5) -> str:
    """Who takes one more unit of a binding floor (100 clients or 1 亿元), in proportion to their key."""
    step_zh, step_en = ("100 户", "100 more clients") if quantity == "clients" else ("1 亿元", "One more 亿元")
    if not moves:
        if lang == "zh":
            return f"{rule_name(rule, lang)}底线再增加 {step_zh} 将无法分配：所有管辖行已到上限，会形成缺口。"
        return f"{step_en} on the {rule_name(rule, lang)} cannot be placed: every branch is at its limit; it would be a shortfall."
    top = sorted(moves.items(), key=lambda kv: (-kv[1], kv[0]))[:listed]
    unit = "户" if quantity == "clients" else "万元"
    shown = ("、" if lang == "zh" else ", ").join(f"{b} +{v:,.1f}" for b, v in top) + (" …" if len(moves) > listed else "")
    if lang == "zh":
        how = "按剩余产能比例" if quantity == "clients" else "按剩余贷款空间比例"
        return f"{rule_name(rule, lang)}底线每增加 {step_zh}，将{how}分给 {len(moves)}/{branches} 家管辖行：{shown}（{unit}）。"
    how = "in proportion to their spare capacity" if quantity == "clients" else "in proportion to their spare loan room"
    return f"{step_en} on the {rule_name(rule, lang)} would go to {len(moves)} of {branches} branches {how}: {shown} ({unit})."


def shortfall_sentence(rule: str, year: int, amount: str, capacity: list[str], smoothing: list[str],
                       band: list[str], risk: list[str], lang: Lang) -> str:
    """A missed plan-year floor and the limit that holds each branch."""
    zh = lang == "zh"
    parts = []
    for ids, zh_word, en_word in ((capacity, "满产能", "at capacity"), (smoothing, "受上年目标平滑限制", "held by smoothing"),
                                  (band, "已到贷款额度上限", "at the top of their loan band"), (risk, "风险限增", "held by the risk cap")):
        if ids:
            parts.append(f"{len(ids)} 家{zh_word}（{listing(ids, lang)}）" if zh else f"{len(ids)} {en_word} ({listing(ids, lang)})")
    head = (f"{year} 年{rule_name(rule, lang)}无法满足，差 {amount}" if zh
            else f"{rule_name(rule, lang)} cannot be met in {year}: short by {amount}")
    if not parts:
        return head + "。" if zh else head + "."
    return head + ("；各管辖行均已到上限：" if zh else "; every branch is at its limit: ") + join_parts(parts, lang) + ("。" if zh else ".")


def lock_sentence(rule: str, branch: str, amount: str, lang: Lang) -> str:
    """A negotiated target kept as locked although it breaks a rule, and by how much."""
    if lang == "zh":
        return f"{branch}：{rule_name(rule, lang)}，超出 {amount}；按协商结果保留锁定目标。"
    return f"{branch}: {rule_name(rule, lang).lower()} by {amount}; the lock is kept as negotiated."


def completion_sentence(count: int, last_year: int, total: float, capacity: list[str], other: list[str], lang: Lang) -> str:
    zh = lang == "zh"
    parts = []
    if capacity:
        parts.append(f"{len(capacity)} 家产能不足（{listing(capacity, lang)}）" if zh else f"{len(capacity)} lack the capacity ({listing(capacity, lang)})")
    if other:
        parts.append(f"{len(other)} 家受平滑或本年限制（{listing(other, lang)}）" if zh
                     else f"{len(other)} are held by smoothing or the plan year's limits ({listing(other, lang)})")
    if zh:
        return f"长期进度提示（不影响本年计划达标）：{count} 家管辖行到 {last_year} 年无法完成长期目标，合计差 {total:,.0f} 户：" + join_parts(parts, lang) + "。"
    return (f"Long-term schedule (a warning, not a failed plan): {count} branch(es) cannot finish their target by {last_year}, "
            f"{total:,.0f} clients short in all: " + join_parts(parts, lang) + ".")


def indicative_sentence(items: list[tuple[str, int]], lang: Lang) -> str:
    if lang == "zh":
        return "滚动年度（仅供参考，不影响本年）有缺口：" + "；".join(f"{year} 年{rule_name(r, lang)}" for r, year in items) + "。"
    return "Indicative rolling years fall short (not binding this year): " + "; ".join(f"{rule_name(r, lang)} {year}" for r, year in items) + "."


def smoothing_sentence(held: list[tuple[str, float, float]], above: bool, max_change: float, lang: Lang) -> str:
    """Branches whose pace lies outside the smoothing band from last year's target: (id, reference, bound)."""
    sign = "≤" if above else "≥"
    shown = ("、" if lang == "zh" else ", ").join(f"{b} ({ref:,.0f} → {sign} {bound:,.0f})" for b, ref, bound in held[:5])
    shown += " …" if len(held) > 5 else ""
    if lang == "zh":
        side = "低于" if above else "高于"
        return f"上年目标平滑（产能的 ±{max_change:.0%}）使 {len(held)} 家管辖行的目标{side}其进度参考值：{shown}。"
    side = "below" if above else "above"
    return f"Smoothing from last year's target (±{max_change:.0%} of capacity) keeps {len(held)} branch(es) {side} their reference: {shown}."


def cycle_capacity_sentence(target: float, possible: float, long_term_sum: float, lang: Lang) -> str:
    if lang == "zh":
        return (f"周期新增客户目标 {target:,.0f} 户超过各管辖行周期内产能（期限 × 产能 = {possible:,.0f} 户）；"
                f"长期目标合计 {long_term_sum:,.0f} 户。")
    return (f"The cycle target of {target:,.0f} new clients exceeds what the branches can do in the cycle "
            f"(horizon × capacity = {possible:,.0f}); the long-term targets add up to {long_term_sum:,.0f}.")


def at_capacity_sentence(ids: list[str], year: int, lang: Lang) -> str:
    if lang == "zh":
        return f"{year} 年 {len(ids)} 家管辖行满产能：{listing(ids, lang)}。"
    return f"{len(ids)} branch(es) at capacity in {year}: {listing(ids, lang)}."


def risk_capped_sentence(ids: list[str], tolerance: float, growth: float, lang: Lang) -> str:
    if lang == "zh":
        return f"{len(ids)} 家管辖行不良率超过容忍度 {tolerance:.2%}，小微贷款增长限制在 {growth:.0%} 以内：{listing(ids, lang)}。"
    return f"{len(ids)} branch(es) over the NPL tolerance {tolerance:.2%}, micro book growth capped at {growth:.0%}: {listing(ids, lang)}."
