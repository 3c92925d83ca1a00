"""The names of the simulated metrics and models, in Chinese and English: one source for every output
that shows them (`microplan simulate`'s table and CSV, the comparison's workbook, page and terminal).

Metric codes are machine names (JSON keys); people read the names below. A metric without a name
here would show its code: tests/test_sim_lang.py fails for every model metric that has none.
"""

from __future__ import annotations

from api import labels
from api.labels import Lang, pick

#: Metric code → (中文, English). The managing branch is 分行 (as in `api.labels`).
METRICS: dict[str, tuple[str, str]] = {
    # revolving_credit
    "mean_outstanding": ("日均贷款余额", "Mean outstanding"),
    "peak_outstanding": ("最高贷款余额", "Peak outstanding"),
    "mean_utilisation": ("额度使用率", "Mean utilisation"),
    "interest_income": ("利息收入", "Interest income"),
    "funding_cost": ("资金成本", "Funding cost"),
    "net_interest_income": ("净收益", "Net interest income"),
    "defaults": ("违约户数", "Defaults"),
    "ead": ("违约风险暴露", "Exposure at default"),
    "loss": ("损失", "Loss"),
    "ccf": ("信用转换系数", "Credit conversion factor"),
    "declined_draw_amount": ("额度不足未提款", "Declined draws"),
    "counter_visits": ("柜面提款笔数", "Counter drawdowns"),
    "counter_wait_minutes": ("柜面平均等候", "Counter wait"),
    # joint_marketing
    "new_clients": ("新增贷款户数", "New clients"),
    "new_loans": ("新发放贷款", "New loans"),
    "approval_rate": ("申贷获得率", "Approval rate"),
    "cross_sell_rate": ("交叉销售率", "Cross-sell rate"),
    "bundle_rate": ("产品包覆盖率", "Bundle rate"),
    "loan_margin": ("贷款利差", "Loan margin"),
    "simulated_profit": ("模拟利润", "Simulated profit"),
    "department_payout": ("部门分润", "Department payout"),
    "branch_payout": ("分行分润", "Branch payout"),
    "member_payout": ("组员分润", "Member payout"),
    "profit_after_incentives": ("激励后利润", "Profit after incentives"),
    "default_rate": ("违约率", "Default rate"),
    "leads": ("商机", "Leads"),
    "applications": ("申请户数", "Applications"),
    "approvals": ("获批户数", "Approvals"),
    "renewals": ("还后再贷户数", "Renewals"),
    "attrition": ("流失户数", "Attrition"),
    "visits": ("市场走访", "Market visits"),
    "effort": ("组员努力", "Member effort"),
    "leader_effort": ("组长努力", "Leader effort"),
    "large_sme_hours": ("小企业工时", "Large-SME hours"),
    # policy_loop
    "cycle_new_clients": ("周期新增客户", "Cycle new clients"),
    "cycle_completion": ("周期目标完成率", "Cycle completion"),
    "cycle_target_clients": ("各年目标合计", "Yearly targets, total"),
    "floor_missed_years": ("未达监管底线年数", "Years a floor is missed"),
    "holding_back_share": ("保留实力占比", "Share holding back"),
    "attainment_dispersion": ("完成率离散度", "Attainment dispersion"),
    "bonus_paid": ("超额奖励", "Bonus paid"),
    "penalty_charged": ("未完成扣罚", "Penalties charged"),
}
#: Model code → (中文, English).
MODELS: dict[str, tuple[str, str]] = {
    "revolving_credit": ("生意人卡循环贷", "Revolving credit (businessman card)"),
    "joint_marketing": ("联合营销与分润", "Joint marketing and profit sharing"),
    "policy_loop": ("多年政策循环", "Multi-year policy loop"),
}
#: Unit kind → (中文, English) for kinds that are not money and not clients.
KIND_UNITS: dict[str, tuple[str, str]] = {
    "count": ("次", "count"), "minutes": ("分钟", "minutes"), "hours": ("小时", "hours"), "years": ("年", "years"),
    "ratio": ("%", "%"),
}


def metric_name(metric: str, lang: Lang) -> str:
    """A metric's name; an unnamed code shows as itself (tests keep every model metric named)."""
    return pick(METRICS.get(metric, (metric, metric.replace("_", " "))), lang)


def model_name(model: str, lang: Lang) -> str:
    return pick(MODELS.get(model, (model, model.replace("_", " "))), lang)


def metric_unit(kind: str, unit: str, money_unit: str, lang: Lang) -> str:
    """The unit a metric is shown in: the money unit, %, 户 / clients, 次 / count, 分钟 / minutes, 年 / years.

    `unit` is the service's unit word (`SimulationResult.unit_label`): 户 marks counts of clients.
    """
    if kind == "money":
        return money_unit
    if unit == "户" or kind == "clients":
        return pick(labels.CLIENT_UNIT, lang)
    return pick(KIND_UNITS.get(kind, (unit, unit)), lang)
