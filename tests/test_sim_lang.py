"""`microplan simulate --lang zh|en`: one language per output (table, per-group / per-branch tables, CSV),
every metric of every model named in both languages, tables that fit 80 columns.

The models run for real (small: 2 replications, 60 days, 200 card accounts), once per model; the
tables are rendered by the functions the CLI calls, and the CLI itself is run once per language.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
import yaml
from rich.cells import cell_len

from api import simulation_tables as tables
from api.metric_labels import METRICS, metric_name
from scenarios.loading import bundled_path, scenario_from_dict
from simulate.service import MODELS, run_simulation

BUNDLED = "city-2014"
#: Small enough for a test; every model still reports every metric (and joint_marketing its groups and branches).
SMALL = {"seed": 3, "replications": 2, "warmup_days": 0, "days": 60, "revolving_credit": {"accounts": 200}}
#: ASCII words a Chinese output may hold besides the scenario's own ids: the percentile columns.
ZH_ASCII_ALLOWED = frozenset({"P5", "P50", "P95"})
#: CJK ideographs, CJK punctuation (，。；：（）) and full-width forms.
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
ASCII_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
WIDTH = 80


def small_raw() -> dict:
    raw = yaml.safe_load(bundled_path(BUNDLED).read_text(encoding="utf-8"))
    raw["branches"] = str(bundled_path(BUNDLED).parent / raw["branches"])
    raw["simulation"] = {**raw.get("simulation", {}), **SMALL}
    return raw


@pytest.fixture(scope="module")
def scenario():
    return scenario_from_dict(small_raw(), base_dir=bundled_path(BUNDLED).parent)


@pytest.fixture(scope="module")
def results(scenario):
    """model → its SimulationResult (one real run each)."""
    return {model: run_simulation(scenario.simulation, model, workers=1, scenario=scenario, start_year=scenario.plan_year)
            for model in MODELS}


def table_text(scenario, result, lang: str) -> str:
    policy = scenario.policy.name if result.model == "policy_loop" else None
    title = tables.title(scenario.name, result, policy, lang)
    return tables.render_table(result, title, lang, WIDTH) + tables.render_breakdowns(result, lang, WIDTH)


def ids_of(result) -> set[str]:
    return {ident for by_id in result.breakdowns.values() for ident in by_id}


def stray_ascii_words(text: str, allowed: set[str]) -> list[str]:
    """ASCII words of `text` that are neither in `allowed` nor a group / branch id."""
    return [w for w in ASCII_WORD.findall(text) if w not in allowed]


def ours_in_english(text: str, scenario) -> str:
    """`text` without the bank's own words (its name, the money unit it counts in): what must be English."""
    return text.replace(scenario.name, "").replace(scenario.units.money, "")


# ---------------------------------------------------------------- the names


@pytest.mark.parametrize("model", list(MODELS))
def test_every_metric_of_every_model_is_named_in_both_languages(model: str) -> None:
    """A model metric (and a per-group / per-branch column) without a (zh, en) name in api/metric_labels.py
    would show its code: the zh name holds no ASCII letter, the en name no CJK, and no two metrics of
    a model share a name in either language."""
    names = [*MODELS[model].metrics, *tables.BREAKDOWN_COLUMNS]
    missing = [n for n in names if n not in METRICS]
    assert not missing, f"{model}: metrics without a name in api/metric_labels.METRICS: {missing}"
    for name in names:
        zh, en = METRICS[name]
        assert zh and not re.search("[A-Za-z]", zh), (name, zh)
        assert en and not CJK.search(en), (name, en)
    for lang in ("zh", "en"):
        shown = [metric_name(n, lang) for n in MODELS[model].metrics]
        assert len(set(shown)) == len(shown), (model, lang, shown)


def test_the_managing_branch_is_fenhang_in_every_output() -> None:
    """api/labels.py calls the managing branch 分行; its payout and the per-branch table say so, never 支行."""
    assert metric_name("branch_payout", "zh") == "分行分润"
    assert tables.SCOPES["branch"][0][0] == "各分行"
    assert not any("支行" in zh for zh, _ in METRICS.values())


# ---------------------------------------------------------------- the tables


@pytest.mark.parametrize("model", list(MODELS))
def test_chinese_table_has_no_english_words(scenario, results, model: str) -> None:
    """zh: title, headers, metric names, units, captions, per-group and per-branch tables carry no ASCII
    word but P5 / P95 and the scenario's group and branch ids (G1, B01)."""
    result = results[model]
    text = table_text(scenario, result, "zh")
    stray = stray_ascii_words(text.replace(scenario.name, ""), ZH_ASCII_ALLOWED | ids_of(result))
    assert not stray, f"{model}: English in the Chinese table: {sorted(set(stray))}"
    for name in result.metrics:
        assert metric_name(name, "zh") in text, (model, name)  # each metric is there, by its name
    if result.breakdowns:
        assert "各联合营销小组" in text and "各分行" in text and "单元格：均值 ± 95%置信区间半宽" in text


@pytest.mark.parametrize("model", list(MODELS))
def test_english_table_has_no_chinese(scenario, results, model: str) -> None:
    """en: no CJK character (nor full-width punctuation) apart from the bank's own name and money unit."""
    result = results[model]
    text = table_text(scenario, result, "en")
    found = CJK.search(ours_in_english(text, scenario))
    assert not found, f"{model}: Chinese in the English table: {ours_in_english(text, scenario)[max(0, found.start() - 30):found.end() + 30]!r}"
    for name in result.metrics:
        assert metric_name(name, "en").split()[0] in text, (model, name)
    if result.breakdowns:
        assert "Per joint-marketing group" in text and "Per branch" in text


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("model", list(MODELS))
def test_tables_fit_80_columns_with_every_header_whole_and_its_unit(scenario, results, model: str, lang: str) -> None:
    """At 80 columns no line is wider than 80 cells and no table is cropped (each box line closes with its
    right border); every per-group / per-branch header (metric and unit) appears whole on one line of
    those tables; every row of the metrics table names its unit in brackets."""
    result = results[model]
    text = table_text(scenario, result, lang)
    assert max(cell_len(line.rstrip()) for line in text.splitlines()) <= WIDTH
    closing = {"┏": "┓", "┃": "┃", "┡": "┩", "│": "│", "└": "┘"}
    for line in text.splitlines():
        if line[:1] in closing:
            assert line.rstrip().endswith(closing[line[0]]), f"cropped: {line!r}"
    breakdowns = tables.render_breakdowns(result, lang, WIDTH)
    for scope, by_id in result.breakdowns.items():
        for name in tables.BREAKDOWN_COLUMNS:
            if any(name in values for values in by_id.values()):
                assert tables.label_with_unit(result, name, lang) in breakdowns, (scope, name)
    units = {"money": result.money_unit, "ratio": "%"}
    for name in result.metrics:
        unit = units.get(result.metric_units[name], tables.unit_of(result, name, lang))
        assert tables.label_with_unit(result, name, lang).endswith(f"({unit})"), name


# ---------------------------------------------------------------- the CLI: --lang, CSV


@pytest.fixture
def small_file(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(small_raw(), allow_unicode=True), encoding="utf-8")
    return path


def test_cli_lang_picks_the_table_language(cli, small_file, scenario, monkeypatch) -> None:
    """Default zh, `--lang en` English; the table takes $COLUMNS (80) when stdout is not a terminal."""
    monkeypatch.setenv("COLUMNS", str(WIDTH))
    zh = cli("simulate", small_file, "--workers", "1")
    en = cli("simulate", small_file, "--workers", "1", "--lang", "en")
    assert zh.code == 0 and en.code == 0, (zh.err, en.err)
    assert "日均贷款余额(万元)" in zh.out and "生意人卡循环贷" in zh.out and "2 次重复，随机种子 3" in zh.out
    assert "Mean outstanding" in en.out and "Revolving credit (businessman card)" in en.out
    assert not stray_ascii_words(zh.out.replace(scenario.name, ""), set(ZH_ASCII_ALLOWED))
    assert not CJK.search(ours_in_english(en.out, scenario))
    assert max(cell_len(line.rstrip()) for line in zh.out.splitlines() + en.out.splitlines()) <= WIDTH
    bad = cli("simulate", small_file, "--lang", "fr")
    assert bad.code == 2 and "Traceback" not in bad.err


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_csv_headers_and_words_follow_the_language(cli, small_file, scenario, lang: str) -> None:
    """As the plan's CSV: headers, scopes, metric names and units in `lang`; ratios in % like the unit says
    (approval rate 0.7–1 as a share → 70–100 in the file)."""
    result = cli("simulate", small_file, "--model", "joint_marketing", "--workers", "1", "--format", "csv", "--lang", lang)
    assert result.code == 0, result.err
    rows = list(csv.reader(io.StringIO(result.out)))
    header = rows[0]
    assert header == [tables.word(k, lang) for k in ("scope", "metric_name", "unit", "mean", "std", "ci95_low",
                                                     "ci95_high", "p5", "p50", "p95", "replications")]
    words = "\n".join(",".join(row[:3]) for row in rows)
    ids = {row[0].split(" ", 1)[1] for row in rows[1:] if " " in row[0]}
    assert {"G1", "B01"} <= ids
    if lang == "zh":
        assert not stray_ascii_words(words, ZH_ASCII_ALLOWED | ids)
    else:
        assert not CJK.search(ours_in_english(words, scenario))
    approval = next(row for row in rows if row[0] == tables.word("all", lang) and row[1] == metric_name("approval_rate", lang))
    assert approval[2] == "%" and 50 < float(approval[3]) <= 100
