"""The comparison as one self-contained HTML page: inline CSS, inline SVG charts, no script and no
reference to any URL — bank intranets are offline, and the page is forwarded as a file.

Charts (`api.svg_charts`, text kept as SVG text so Chinese renders with the reader's font):
branch targets per option (a dot plot; the 40 branches whose targets differ most when a bank has
more than 60), pace against target per option (who is asked to catch up, who may slow down),
simulated outcomes with their 95 % intervals, and the revolving-credit portfolio's balance band
over the year (omitted, with a note, when that model was not simulated). The page is rendered by
a Jinja2 template with autoescaping (`api/templates/comparison.html.j2`); the SVG is built with
every text escaped and inserted as markup.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources
from typing import Any

from markupsafe import Markup

from api import comparison_labels as words
from api import svg_charts as charts
from api.comparison import Comparison, MetricComparison, significant
from api.labels import Lang, pick
from api.reports import microplan_version, step_digits

#: Banks with more branches than this show only `DOT_PLOT_ROWS` in the target chart.
MAX_DOT_ROWS = 60
DOT_PLOT_ROWS = 40
#: Simulated metrics drawn per model (the table lists them all).
MAX_METRIC_PANELS = 6
SCHEDULE_COLOURS = {"behind": "#D55E00", "on": "#7F7F7F", "ahead": "#0072B2"}

HTML_WORDS: dict[str, tuple[str, str]] = {
    "charts": ("图表", "Charts"),
    "chart_targets": ("各方案的分行目标", "Branch targets under each option"),
    "chart_pace": ("追赶进度与目标：谁需要追赶、谁可以放缓", "Pace against target: who is asked to catch up, who may slow down"),
    "chart_simulation": ("模拟结果（均值与 95% 置信区间）", "Simulated outcomes (mean and 95% interval)"),
    "chart_balance": ("生意人卡贷款余额全年走势（P5–P95 区间）", "Card portfolio balance over the year (P5–P95 band)"),
    "no_balance": ("本次比较没有模拟生意人卡循环贷（revolving_credit），因此不绘制余额区间图。",
                   "The revolving-credit card was not simulated in this comparison, so there is no balance band."),
    "mean_ci": ("均值 [95% 区间]", "mean [95% CI]"),
    "metric_note": ("第二行为 95% 置信区间；第三行为与基准方案的配对差（各方案使用相同随机数）及其 95% 置信区间。",
                    "Second line: the 95% confidence interval; third: the paired difference from the base (every option "
                    "uses the same random numbers) with its 95% interval."),
    "diagonal": ("目标 = 进度", "target = pace"),
    "x_pace": ("追赶进度(户/年)", "Catch-up pace (clients/yr)"),
    "y_target": ("目标(户)", "Target (clients)"),
    "x_target": ("新增小微户数目标(户)", "Target new micro clients (clients)"),
    "x_day": ("日期", "Date"),
    "y_balance": ("贷款余额(%s)", "Balance (%s)"),
    "footer": ("由 microplan %s 于 %s 生成。本页不引用任何外部资源，可离线打开、打印和转发。",
               "Made by microplan %s on %s. This page references nothing outside itself: it opens, prints and "
               "forwards offline."),
    "cap_targets": ("每行一家管辖行，每种标记一个方案；横线连接各方案中的最低和最高目标。",
                    "One line per branch, one marker per option; the grey bar joins the lowest and highest target."),
    "cap_targets_some": ("共 %d 家管辖行，图中为各方案目标差异最大的 %d 家（全部见下方明细表）。",
                         "%d branches; the chart shows the %d whose targets differ most between options (all in the table below)."),
    "cap_pace": ("每点一家管辖行，横轴为追赶进度、纵轴为目标。虚线上方：目标高于进度（要求追赶或分摊加压）；下方：目标低于进度（可以放缓）。",
                 "One dot per branch: catch-up pace across, target up. Above the dashed line the target exceeds the pace "
                 "(asked to catch up or take extra load); below it, the branch may slow down."),
    "cap_simulation": ("%s：%d 次重复；点为均值，横线为 95%% 置信区间。", "%s: %d replications; dot = mean, bar = 95%% interval."),
    "cap_balance": ("实线为各日贷款余额均值，阴影为 P5–P95 区间；模拟输入相同的方案共用一次模拟（曲线重合）。",
                    "Lines: the mean end-of-day balance; shading: the P5–P95 band. Options with equal simulation inputs "
                    "share one run (their lines coincide)."),
    "behind": ("落后进度", "behind schedule"),
    "on": ("按进度", "on schedule"),
    "ahead": ("超前进度", "ahead of schedule"),
    "diff_prefix": ("比基准 ", "vs base "),
    "month": ("%d月", "%s"),
}
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def hw(key: str, lang: Lang) -> str:
    return pick(HTML_WORDS[key], lang)


def render_comparison_html(comparison: Comparison, lang: Lang = "zh", today: dt.date | None = None) -> str:
    """The page as text (UTF-8 when written)."""
    from jinja2 import Environment

    template_text = resources.files("api").joinpath("templates/comparison.html.j2").read_text(encoding="utf-8")
    environment = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    return environment.from_string(template_text).render(**page_context(comparison, lang, today))


def page_context(comparison: Comparison, lang: Lang, today: dt.date | None = None) -> dict[str, Any]:
    """Everything the template shows, as text and markup."""
    digits = step_digits(comparison.loan_rounding)
    titles = [words.option_title(n, lang) for n in comparison.names]
    options = [{"title": t, "colour": charts.colour(k)} for k, t in enumerate(titles)]
    date = (today or dt.date.today()).isoformat()
    version = microplan_version()
    w = {key: words.word(key, lang) for key in ("highlights", "no_differences", "summary", "option", "simulation", "model",
                                                 "metric", "unit", "branches", "notes", "no_simulation")}
    w.update({key: hw(key, lang) for key in ("charts", "chart_targets", "chart_pace", "chart_simulation", "chart_balance",
                                              "no_balance", "mean_ci", "metric_note")})
    return {
        "html_lang": "zh-CN" if lang == "zh" else "en",
        "title": f"{comparison.scenario} — {words.word('title', lang)}",
        "version": version,
        "meta": [f"{words.word('plan_year', lang)} {comparison.plan_year}", f"{words.word('money_unit', lang)} {comparison.money_unit}",
                 f"{words.word('options', lang)} {len(comparison.options)}", f"{words.word('date', lang)} {date}"],
        "simulation_text": words.simulation_text(comparison, lang),
        "w": w,
        "highlights": [words.highlight_sentence(item, comparison.money_unit, lang, digits) for item in comparison.highlights()],
        "options": options,
        "summary": summary_table(comparison, lang, digits),
        "charts": {"targets": Markup(targets_chart(comparison, lang, titles)),
                   "pace": Markup(pace_chart(comparison, lang, titles)),
                   "simulation": simulation_charts(comparison, lang, titles),
                   "balance": Markup(balance_chart(comparison, lang, titles)) if comparison.balance else None},
        "captions": {"targets": targets_caption(comparison, lang), "pace": hw("cap_pace", lang), "balance": hw("cap_balance", lang)},
        "schedule_groups": [{"name": hw(k, lang), "colour": c} for k, c in SCHEDULE_COLOURS.items()],
        "balance_options": balance_legend(comparison, lang, titles),
        "metrics": metric_rows(comparison, lang),
        "branch_note": "",
        "branch_headers": branch_headers(comparison, lang, titles),
        "branch_rows": branch_rows(comparison),
        "branch_totals": branch_totals(comparison, lang),
        "notes": [words.word("note_parts", lang), words.word("note_load", lang)],
        "footer": hw("footer", lang) % (version, date),
    }


# ---------------------------------------------------------------- tables


def summary_table(comparison: Comparison, lang: Lang, digits: int) -> list[dict]:
    """The options side by side, as in the workbook's summary sheet."""
    rows = []
    for label, kind, value in words.summary_rows(comparison, lang):
        cells = [words.cell_text(value(o), kind, digits) for o in comparison.options]
        rows.append({"label": label, "cells": cells, "css": "" if kind in ("text", "wrap") else "num"})
    return rows


def metric_rows(comparison: Comparison, lang: Lang) -> list[dict]:
    """Per model, every simulated metric: each option's mean, its interval and (variants) the paired difference."""
    models: dict[str, dict] = {}
    for m in comparison.metrics:
        scale = 100.0 if m.kind == "ratio" else 1.0

        def show(v: float | None) -> str:
            return "—" if v is None else f"{v * scale:,.2f}"

        cells = []
        for k in range(len(comparison.options)):
            low, high = m.ci95[k]
            cell = {"value": show(m.mean[k]), "ci": f"[{show(low)}, {show(high)}]" if low is not None else "", "diff": ""}
            if k > 0 and m.diff[k] is not None:
                d_low, d_high = m.diff_ci95[k]
                cell["diff"] = (words.word("same", lang) if m.diff[k] == 0 and d_low == d_high == 0
                                else f"{hw('diff_prefix', lang)}{m.diff[k] * scale:+,.2f} [{show(d_low)}, {show(d_high)}]")
            cells.append(cell)
        block = models.setdefault(m.model, {"name": words.model_name(m.model, lang), "rows": []})
        block["rows"].append({"name": words.metric_name(m.metric, lang),
                              "unit": words.metric_unit(m.kind, m.unit, comparison.money_unit, lang), "cells": cells})
    return list(models.values())


def branch_headers(comparison: Comparison, lang: Lang, titles: list[str]) -> list[str]:
    heads = [words.word(k, lang) for k in ("id", "name", "capacity", "last_year_target", "pace")]
    heads += [f"{t} {words.word('target', lang)}" for t in titles]
    heads += [f"{t} {words.word('vs_base', lang)}" for t in titles[1:]]
    return heads


def branch_rows(comparison: Comparison) -> list[list[dict]]:
    def num(v: int | None, signed: bool = False) -> dict:
        if v is None:
            return {"text": "—", "css": "num"}
        css = "num" + (" pos" if signed and v > 0 else " neg" if signed and v < 0 else "")
        return {"text": f"{v:+,d}" if signed and v else f"{v:,d}", "css": css}

    rows = []
    for b in comparison.branches:
        row = [{"text": b.id, "css": ""}, {"text": b.name, "css": ""}, num(b.capacity), num(b.last_year_target), num(b.pace)]
        row += [num(t) for t in b.target_clients]
        row += [num(c, signed=True) for c in b.change_vs_base[1:]]
        rows.append(row)
    return rows


def branch_totals(comparison: Comparison, lang: Lang) -> list[dict]:
    def total(values: list[int | None]) -> dict:
        return {"text": f"{sum(v for v in values if v is not None):,d}", "css": "num"}

    bs = comparison.branches
    row = [{"text": words.word("total", lang), "css": ""}, {"text": "", "css": ""}, total([b.capacity for b in bs]),
           total([b.last_year_target for b in bs]), total([b.pace for b in bs])]
    row += [total([b.target_clients[k] for b in bs]) for k in range(len(comparison.options))]
    row += [total([b.change_vs_base[k] for b in bs]) for k in range(1, len(comparison.options))]
    return row


# ---------------------------------------------------------------- charts


def shown_branches(comparison: Comparison) -> list[int]:
    """Indices of the branches in the target chart: all, or the `DOT_PLOT_ROWS` whose targets differ most."""
    rows = comparison.branches
    if len(rows) <= MAX_DOT_ROWS:
        return list(range(len(rows)))

    def spread(i: int) -> int:
        values = [v for v in rows[i].target_clients if v is not None]
        return max(values) - min(values) if values else 0

    chosen = sorted(range(len(rows)), key=lambda i: (-spread(i), i))[:DOT_PLOT_ROWS]
    return sorted(chosen)


def targets_caption(comparison: Comparison, lang: Lang) -> str:
    shown = len(shown_branches(comparison))
    caption = hw("cap_targets", lang)
    if shown < len(comparison.branches):
        caption += " " + hw("cap_targets_some", lang) % (len(comparison.branches), shown)
    return caption


def targets_chart(comparison: Comparison, lang: Lang, titles: list[str]) -> str:
    rows = [comparison.branches[i] for i in shown_branches(comparison)]
    series = [(titles[k], [b.target_clients[k] for b in rows]) for k in range(len(titles))]
    return charts.dot_plot([f"{b.id} {b.name}" for b in rows], series, hw("x_target", lang), hw("chart_targets", lang))


def pace_chart(comparison: Comparison, lang: Lang, titles: list[str]) -> str:
    panels = []
    for k, title in enumerate(titles):
        points = [(float(b.pace), float(b.target_clients[k]), b.schedule,
                   f"{b.id} {b.name}: {hw('x_pace', lang)} {b.pace:,d}, {hw('y_target', lang)} {b.target_clients[k]:,d}")
                  for b in comparison.branches if b.target_clients[k] is not None]
        panels.append((title, points))
    return charts.scatter_panels(panels, hw("x_pace", lang), hw("y_target", lang), hw("diagonal", lang),
                                 SCHEDULE_COLOURS, hw("chart_pace", lang))


def panel_metrics(comparison: Comparison, model: str) -> list[MetricComparison]:
    """The metrics drawn for a model: those that differ significantly from the base first (largest
    relative difference), then the rest in the model's order, at most `MAX_METRIC_PANELS`."""
    metrics = [m for m in comparison.metrics if m.model == model and any(v is not None for v in m.mean)]

    def strength(m: MetricComparison) -> float:
        base = abs(m.mean[0] or 0.0)
        changes = [abs(m.diff[k]) / base for k in range(1, len(m.mean)) if base and significant(m, k) and m.diff[k] is not None]
        return max(changes, default=0.0)

    ranked = sorted(range(len(metrics)), key=lambda i: (-strength(metrics[i]), i))
    return [metrics[i] for i in ranked[:MAX_METRIC_PANELS]]


def simulation_charts(comparison: Comparison, lang: Lang, titles: list[str]) -> list[dict]:
    blocks = []
    for model in comparison.simulation.get("models", []):
        panels = []
        for m in panel_metrics(comparison, model):
            scale = 100.0 if m.kind == "ratio" else 1.0
            unit = words.metric_unit(m.kind, m.unit, comparison.money_unit, lang)
            items = [(titles[k], *(None if v is None else v * scale for v in (m.mean[k], *m.ci95[k])))
                     for k in range(len(titles))]
            name = words.metric_name(m.metric, lang)
            panels.append((f"{name}({unit})" if lang == "zh" else f"{name} ({unit})", items))
        if panels:
            label = words.model_name(model, lang)
            blocks.append({"svg": Markup(charts.error_bar_panels(panels, f"{hw('chart_simulation', lang)} — {label}")),
                           "caption": hw("cap_simulation", lang) % (label, comparison.simulation["replications"])})
    return blocks


def balance_groups(comparison: Comparison) -> list[list[int]]:
    """Option indices sharing one revolving-credit run (equal inputs), in option order."""
    names = comparison.names
    shared = comparison.simulation.get("shared", {}).get("revolving_credit")
    if not shared:
        return [[k] for k in range(len(comparison.balance))]
    return [[names.index(n) for n in group] for group in shared]


def balance_legend(comparison: Comparison, lang: Lang, titles: list[str]) -> list[dict]:
    joiner = "、" if lang == "zh" else ", "
    return [{"title": joiner.join(titles[k] for k in group), "colour": charts.colour(group[0])}
            for group in balance_groups(comparison)] if comparison.balance else []


def balance_chart(comparison: Comparison, lang: Lang, titles: list[str]) -> str:
    """One line and band per run of the revolving-credit model, coloured as the first option sharing it."""
    by_option = {b.option: b for b in comparison.balance}
    series = []
    for group in balance_groups(comparison):
        band = by_option[comparison.names[group[0]]]
        series.append((titles[group[0]], charts.colour(group[0]), band.day, band.mean, band.p5, band.p95))
    start = dt.date(comparison.simulation.get("start_year", comparison.plan_year), 1, 1)
    return charts.band_chart(series, hw("x_day", lang), hw("y_balance", lang) % comparison.money_unit,
                             month_ticks(start, max(len(b.day) for b in comparison.balance), lang), hw("chart_balance", lang))


def month_ticks(start: dt.date, days: int, lang: Lang) -> list[tuple[int, str]]:
    """(day, label) of each month's first day within the measured days (day 0 = `start`)."""
    ticks = []
    year, month = start.year, start.month
    while True:
        first = dt.date(year, month, 1)
        offset = (first - start).days
        if offset >= days:
            break
        if offset >= 0:
            name = hw("month", lang) % month if lang == "zh" else MONTHS_EN[month - 1]
            if month == 1 and offset > 0:
                name = f"{year}-{name}" if lang == "en" else f"{year}年{name}"
            ticks.append((offset, name))
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return ticks
