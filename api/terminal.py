"""The plan on a terminal: header lines, a branch table that fits the width, diagnostics, shortfalls.

The table never wraps a row and never cuts a header: columns are taken in order of importance
(id, name, this year's targets, last year's, pace, …) while they fit the console's width, each
as wide as its header and its widest value; where not even id, name and target fit, each branch
is printed as a block of `header  value` lines instead. Text is left-aligned, numbers right-aligned with thousands
separators. Names come from the scenario file, so they enter rich as `Text` (never markup) with
control characters escaped; a long name is shortened with `…` rather than wrapped.
"""

from __future__ import annotations

import io

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from api import labels
from api.labels import Lang
from api.reports import REWARD_DIGITS, BRANCH_COLUMNS, branch_values, diagnostic_lines, money_digits, shortfall_frame
from optimize.plan import Plan
from scenarios.text import printable

#: Columns in order of importance: the first ones are always shown; later ones while they fit.
PRIORITY = ("id", "name", "target_clients", "target_loan_increment", "ratchet_coefficient", "last_year_target", "change",
            "effective_reward", "last_year_actual", "pace", "capacity", "long_term_target", "achieved_clients", "reason")
#: Widest a name cell gets before it is shortened with `…`.
NAME_MAX = 16
#: Cells of padding and border a column costs in a rich table (box edges and one space each side).
COLUMN_COST = 3
#: Violations and warnings listed before "N more".
LISTED = 20


def cell_text(key: str, value: object, digits: int, reward_digits: int = 2) -> str:
    """A value as printed: numbers with thousands separators (money to the rounding unit), blanks for gaps."""
    if value is None or (hasattr(value, "__class__") and str(value) in ("<NA>", "nan")):
        return "—"
    if key == "target_loan_increment":
        return f"{float(value):,.{digits}f}"
    if key == "ratchet_coefficient":
        return f"{float(value):+.2f}"
    if key == "effective_reward":
        return reward_text(float(value), reward_digits)
    if key in ("id", "name", "reason"):
        return printable(str(value))
    if key == "change":
        return f"{int(value):+,d}"
    return f"{int(value):,d}"


def reward_text(value: float, digits: int) -> str:
    """An effective reward per client as shown: ∞ where Weitzman's sum diverges, else to `digits` decimals."""
    return "∞" if value == float("inf") else f"{value:,.{digits}f}"


def shorten(text: str, width: int) -> str:
    """`text` cut to `width` cells with a trailing `…` when longer."""
    if cell_len(text) <= width:
        return text
    out = ""
    for ch in text:
        if cell_len(out + ch) > width - 1:
            break
        out += ch
    return out + "…"


def choose_columns(widths: dict[str, int], total: int) -> list[str]:
    """Columns in `PRIORITY` order while their widths (plus borders) fit `total` cells; shown in `BRANCH_COLUMNS` order."""
    chosen, used = [], 1
    for key in PRIORITY:
        cost = widths[key] + COLUMN_COST
        if used + cost <= total:
            chosen.append(key)
            used += cost
        elif key in ("id", "name", "target_clients"):
            return []
    return [k for k in BRANCH_COLUMNS if k in chosen]


def plan_table_text(plan: Plan, lang: Lang, width: int = 100, terminal: bool = False) -> str:
    """The plan as terminal text `width` cells wide, every word in `lang`."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=terminal, color_system="auto" if terminal else None,
                      highlight=False, emoji=False, soft_wrap=False)
    render(console, plan, lang)
    return buffer.getvalue()


def render(console: Console, plan: Plan, lang: Lang) -> None:
    """Header lines, the branch table (or blocks), diagnostics, shortfalls and warnings."""
    unit = plan.scenario.units.money
    digits = money_digits(plan)
    zh = lang == "zh"
    sep = "：" if zh else ": "
    status = Text(labels.status_word(plan.status, lang), style="bold green" if plan.status == "optimal" else "bold red")
    console.print(Text(printable(plan.scenario.name), style="bold"))
    console.print(Text(f"{labels.word('plan_year', lang)}{sep}{plan.plan_year}   {labels.word('policy', lang)}{sep}"
                       f"{labels.policy_name(plan.inputs.policy, lang)}   {labels.word('money_unit', lang)}{sep}{unit}"))
    sentence = f"（{labels.status_sentence(plan.status, lang)}）" if zh else f" ({labels.status_sentence(plan.status, lang)})"
    console.print(Text(f"{labels.word('status', lang)}{sep}") + status + Text(sentence))
    data = plan.to_json()["floors"]
    for key, quantity, word_key in (("micro_loan_increment", "loans", "floor_loans"), ("micro_client_increment", "clients", "floor_clients")):
        floor = data[key]
        places = digits if quantity == "loans" else 0
        rule = labels.rule_name(floor["binding_rule"], lang, short=True) if floor["binding_rule"] else labels.word("none", lang)
        set_by = f"（{rule}）" if zh else f" (set by {rule})"
        console.print(Text(f"{labels.word(word_key, lang)}{sep}{floor['value']:,.{places}f} {labels.quantity_unit(quantity, unit, lang)}{set_by}"))
    values = branch_values(plan, lang)
    totals = {"target_clients": int(values["target_clients"].sum()), "target_loan_increment": float(values["target_loan_increment"].sum())}
    client_word = labels.pick(labels.CLIENT_UNIT, lang)
    console.print(Text(f"{labels.word('totals', lang)}{sep}{totals['target_clients']:,d} {client_word}{'，' if zh else ', '}"
                       f"{totals['target_loan_increment']:,.{digits}f} {unit}"))
    branch_table(console, values, lang, unit, digits, totals)
    lines = diagnostic_lines(plan, lang)
    if lines:
        console.print(Text(labels.word("diagnostics", lang), style="bold"))
        for message in lines:
            console.print(Text(f"• {message}"), overflow="fold")
    shortfall_table(console, plan, lang)


def branch_table(console: Console, values, lang: Lang, unit: str, digits: int, totals: dict) -> None:
    """The branch table at the console's width, or one block per branch when even the key columns do not fit."""
    texts = {key: [cell_text(key, v, digits, REWARD_DIGITS[unit]) for v in values[key]] for key in BRANCH_COLUMNS}
    texts["name"] = [shorten(t, NAME_MAX) for t in texts["name"]]
    total_row = {key: "" for key in BRANCH_COLUMNS}
    total_row["id"] = labels.word("total", lang)
    total_row["target_clients"] = f"{totals['target_clients']:,d}"
    total_row["target_loan_increment"] = f"{totals['target_loan_increment']:,.{digits}f}"
    headers = {key: labels.header(key, lang, unit, short=True) for key in BRANCH_COLUMNS}
    widths = {key: max([cell_len(headers[key]), cell_len(total_row[key])] + [cell_len(t) for t in texts[key]]) for key in BRANCH_COLUMNS}
    columns = choose_columns(widths, console.width)
    if not columns:
        vertical(console, texts, headers, total_row)
        return
    table = Table(header_style="bold", show_edge=True, pad_edge=True, show_footer=True)
    for key in columns:
        numeric = key not in ("id", "name", "reason")
        table.add_column(Text(headers[key]), footer=Text(total_row[key]), justify="right" if numeric else "left",
                         no_wrap=True, min_width=widths[key], overflow="ellipsis")
    for i in range(len(values)):
        table.add_row(*[Text(texts[key][i]) for key in columns])
    console.print(table)


def vertical(console: Console, texts: dict, headers: dict, total_row: dict) -> None:
    """Each branch as `header: value` lines (for consoles too narrow for a table)."""
    keys = [k for k in BRANCH_COLUMNS if k not in ("id", "name")]
    label_width = max(cell_len(headers[k]) for k in keys)
    for i in range(len(texts["id"])):
        console.print(Text(f"{texts['id'][i]}  {texts['name'][i]}", style="bold"))
        for key in keys:
            pad = " " * (label_width - cell_len(headers[key]))
            console.print(Text(f"  {headers[key]}{pad}  {texts[key][i]}"), overflow="fold")
    console.print(Text(f"{total_row['id']}  {headers['target_clients']} {total_row['target_clients']}  "
                       f"{headers['target_loan_increment']} {total_row['target_loan_increment']}", style="bold"), overflow="fold")


def shortfall_table(console: Console, plan: Plan, lang: Lang) -> None:
    """Violations and warnings as a table: kind, rule, year, branch, amount, unit (the first `LISTED`)."""
    frame = shortfall_frame(plan, lang)
    if frame.empty:
        return
    console.print(Text(labels.word("shortfalls", lang), style="bold"))
    shown = frame.head(LISTED)
    texts = [[str(v) if j == 2 else f"{v:,}" if isinstance(v, (int, float)) else printable(str(v)) for j, v in enumerate(row)]
             for row in shown.itertuples(index=False)]
    widths = [max([cell_len(str(c))] + [cell_len(r[j]) for r in texts]) for j, c in enumerate(frame.columns)]
    if sum(w + COLUMN_COST for w in widths) + 1 > console.width:
        for row in texts:
            console.print(Text("  ".join(row)), overflow="fold")
    else:
        table = Table(header_style="bold")
        for j, name in enumerate(frame.columns):
            numeric = j in (2, 4)
            table.add_column(Text(str(name)), justify="right" if numeric else "left", no_wrap=True, min_width=widths[j])
        for row in texts:
            table.add_row(*[Text(c) for c in row])
        console.print(table)
    if len(frame) > LISTED:
        console.print(Text(labels.word("more", lang) % (len(frame) - LISTED)))
