"""Target letters (`microplan letters`): each .docx, read back with python-docx, carries its branch's
numbers from the plan (`microplan plan --format json`), its reasons, and nothing unsafe."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import docx
import pytest
import yaml
from builders import branch, raw_scenario

from api.letters import file_stem

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "api.cli", *args], capture_output=True, text=True, timeout=600, cwd=ROOT)


def text_of(document: docx.document.Document) -> str:
    """Every paragraph and table cell of a document, one per line."""
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        lines += [cell.text for row in table.rows for cell in row.cells]
    return "\n".join(lines)


def table_row(document: docx.document.Document, label_start: str) -> list[str]:
    """The cells of the first table row whose first cell starts with `label_start`."""
    for table in document.tables:
        for row in table.rows:
            cells = [c.text for c in row.cells]
            if cells[0].startswith(label_start):
                return cells
    raise AssertionError(f"no row {label_start!r}")


@pytest.fixture(scope="module")
def city_letters(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The bundled city-2014 letters (no PDF: that has its own test) and the plan JSON."""
    out = tmp_path_factory.mktemp("letters")
    result = run_cli("letters", "city-2014", "--out", str(out), "--no-pdf")
    assert result.returncode == 0, result.stderr
    plan = run_cli("plan", "city-2014", "--format", "json")
    assert plan.returncode == 0, plan.stderr
    return out, json.loads(plan.stdout)


def test_one_letter_per_branch_with_its_numbers_from_the_plan(city_letters: tuple[Path, dict]) -> None:
    out, plan = city_letters
    assert sorted(p.name for p in out.iterdir()) == sorted(f"2014-{b['id']}.docx" for b in plan["branches"])
    from scenarios import load_scenario

    rows = {b.id: b for b in load_scenario("city-2014").branches}
    for b in plan["branches"]:
        document = docx.Document(str(out / f"2014-{b['id']}.docx"))
        text = text_of(document)
        assert f"{b['name']}（机构号 {b['id']}）" in text
        clients = table_row(document, "新增小微贷款户数")
        last_target, last_actual = rows[b["id"]].last_year_target, rows[b["id"]].last_year_actual
        assert clients[1:4] == [f"{int(b['target_clients']):,}", f"{round(last_target):,}", f"{round(last_actual):,}"]
        change = int(b["target_clients"]) - round(last_target)
        assert clients[4] == (f"+{change:,}" if change > 0 else f"−{-change:,}" if change < 0 else "0")
        assert table_row(document, "小微贷款增量")[1] == f"{b['target_loan_increment']:,.0f}"
        assert f"周期长期目标 {int(b['long_term_target']):,} 户" in text
        assert f"已完成 {b['achieved_clients']:,} 户" in text
        assert "330,000 万元" in text  # the bank's increment floor (增量不低于) of 2014
        for r in b["rolling"]:
            assert table_row(document, str(r["year"]))[1:] == [f"{int(r['target_clients']):,}",
                                                               f"{r['target_loan_increment']:,.0f}"]
        assert "{{" not in text and "{%" not in text


def test_reasons_follow_the_plan(city_letters: tuple[Path, dict]) -> None:
    """behind/ahead from the schedule, 产能上限 when at capacity, 风险限增 when risk-capped."""
    out, plan = city_letters
    seen = set()
    for b in plan["branches"]:
        text = text_of(docx.Document(str(out / f"2014-{b['id']}.docx")))
        assert ("落后于长期进度" in text) == (b["schedule"] == "behind")
        assert ("超前于长期进度" in text) == (b["schedule"] == "ahead")
        assert ("已达产能上限" in text) == b["at_capacity"]
        assert ("风险限增" in text) == b["risk_capped"]
        seen |= {b["schedule"], "capacity" if b["at_capacity"] else "", "risk" if b["risk_capped"] else ""}
    assert {"behind", "ahead", "risk"} <= seen  # the bundled bank has no branch at capacity: see below


def small_bank(tmp_path: Path, target: int = 120, **first: object) -> Path:
    """Two branches of capacity 100 and pace 50; the department wants `target` new clients; the first
    branch with `first` fields (a lock, a hostile id or name)."""
    raw = raw_scenario([branch("B1", **first), branch("B2")], targets={"micro_client_increment": target})
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_at_capacity_is_said_so(tmp_path: Path) -> None:
    """The department wants 200 = 2 × capacity 100: both at capacity, each taking 50 above its pace."""
    result = run_cli("letters", str(small_bank(tmp_path, target=200)), "--out", str(tmp_path / "out"), "--no-pdf")
    assert result.returncode == 0, result.stderr
    for bid in ("B1", "B2"):
        text = text_of(docx.Document(str(tmp_path / "out" / f"2014-{bid}.docx")))
        assert "本年目标 100 户已达产能上限（每年 100 户）" in text and "贵行分摊 50 户" in text


def test_a_locked_target_is_said_so_and_english_letters(tmp_path: Path) -> None:
    """B1 locked at 70 of the 120: B2 takes 50. The English letter says the target is negotiated."""
    result = run_cli("letters", str(small_bank(tmp_path, locked_target_clients=70)), "--out", str(tmp_path / "out"),
                     "--lang", "en", "--no-pdf")
    assert result.returncode == 0, result.stderr
    first = docx.Document(str(tmp_path / "out" / "2014-B1.docx"))
    assert table_row(first, "New micro borrowers")[1] == "70"
    assert "negotiated (locked)" in text_of(first)
    second = docx.Document(str(tmp_path / "out" / "2014-B2.docx"))
    assert table_row(second, "New micro borrowers")[1] == "50"
    assert "locked" not in text_of(second)


def test_hostile_ids_and_names_stay_text_and_inside_the_folder(tmp_path: Path) -> None:
    name = "<w:p>&amp; {{ 7*7 }} 支行"
    result = run_cli("letters", str(small_bank(tmp_path, id="../../B1", name=name)), "--out", str(tmp_path / "out"),
                     "--no-pdf")
    assert result.returncode == 0, result.stderr
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len(files) == 2 and all("/" not in f and not f.startswith(".") for f in files)
    letter = next(p for p in (tmp_path / "out").iterdir() if p.name != "2014-B2.docx")
    text = text_of(docx.Document(str(letter)))
    assert name in text and "49" not in text.replace("2014", "")


@pytest.mark.parametrize("branch_id", ["../x", "a/b", "CON", "B 01", "Ｂ０１", "x" * 300, ""])
def test_file_stems_are_safe_and_distinct(branch_id: str) -> None:
    stem = file_stem(branch_id, 2014)
    assert stem.startswith("2014-") and len(stem) < 100
    assert all(ch.isalnum() or ch in "-_" for ch in stem)
    assert stem != file_stem(branch_id + "_", 2014)


def test_a_banks_own_template(tmp_path: Path) -> None:
    """Any .docx with docxtpl tags: its own words, our figures."""
    own = docx.Document()
    own.add_paragraph("本行函 {{ branch.name }}：{{ target_clients }} 户，{{ target_loan_increment }}")
    own.save(str(tmp_path / "own.docx"))
    result = run_cli("letters", str(small_bank(tmp_path)), "--out", str(tmp_path / "out"), "--no-pdf",
                     "--template", str(tmp_path / "own.docx"))
    assert result.returncode == 0, result.stderr
    text = text_of(docx.Document(str(tmp_path / "out" / "2014-B1.docx")))
    assert text.startswith("本行函 支行B1：60 户，")


@pytest.mark.parametrize("content, message", [
    ("{{ branch.name ", "cannot be filled"),                  # a tag left open
    ("{{ branch.nickname }}", "cannot be filled"),            # a field the letter does not have
    ("{{ ''.__class__.__mro__ }}", "cannot be filled"),       # the sandbox: no Python attributes
])
def test_a_bad_template_is_one_line_exit_2(tmp_path: Path, content: str, message: str) -> None:
    own = docx.Document()
    own.add_paragraph(content)
    own.save(str(tmp_path / "bad.docx"))
    result = run_cli("letters", str(small_bank(tmp_path)), "--out", str(tmp_path / "out"), "--no-pdf",
                     "--template", str(tmp_path / "bad.docx"))
    assert result.returncode == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_template_that_is_not_a_docx(tmp_path: Path) -> None:
    (tmp_path / "bad.docx").write_bytes(b"not a zip")
    result = run_cli("letters", str(small_bank(tmp_path)), "--out", str(tmp_path / "out"), "--template",
                     str(tmp_path / "bad.docx"))
    assert result.returncode == 2 and "not a Word document" in result.stderr


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_pdf_beside_each_letter_when_soffice_is_installed(tmp_path: Path) -> None:
    result = run_cli("letters", str(small_bank(tmp_path)), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["2014-B1.docx", "2014-B1.pdf", "2014-B2.docx", "2014-B2.pdf"]
    assert (tmp_path / "out" / "2014-B1.pdf").read_bytes().startswith(b"%PDF")
