"""The comparison's offline HTML page (`api.comparison_html`), read as text and in a real headless Chromium.

The browser tests need Debian's `chromium` (installed by `.ci/run`) and are skipped only when that
executable is missing; Playwright (a test extra) drives it. What they check: the page loads with
no console error and no request but its own file, every chart has visible marks, Chinese text is
drawn as distinct glyphs (not the same box for every character), and the screenshot is not blank.
"""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from api.comparison import compare_scenario
from api.comparison_html import render_comparison_html
from builders import branch, build, raw_scenario
from scenarios.loading import bundled_path, read_document

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
#: A URL reference to a script, style, image or frame: src= / href= / url( / @import with http(s).
URL_REFERENCE = re.compile(r"""(?:src|href|xlink:href|action|poster|data)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//|@import""",
                           re.IGNORECASE)


@pytest.fixture(scope="module")
def city_scenario(tmp_path_factory) -> Path:
    """city-2014 with its variants and a small simulation (300 accounts, 4 replications, the whole year)."""
    raw = read_document(bundled_path("city-2014"))
    raw["branches"] = str(bundled_path("city-2014").parent / raw["branches"])
    raw["simulation"] = {"seed": 2014, "replications": 4, "days": 365, "revolving_credit": {"accounts": 300}}
    path = tmp_path_factory.mktemp("scenario") / "city.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def page_file(city_scenario: Path, tmp_path_factory) -> Path:
    """The page `microplan compare --report` writes for the bundled bank (in-process CLI, two workers)."""
    from typer.testing import CliRunner

    from api.cli import app

    out = tmp_path_factory.mktemp("page") / "compare.html"
    result = CliRunner().invoke(app, ["compare", str(city_scenario), "--report", str(out), "--workers", "2"])
    assert result.exit_code == 0, result.output
    return out


# -- the page as text ---------------------------------------------------------------------------------

def test_the_page_references_no_url(page_file: Path):
    html = page_file.read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html
    assert not URL_REFERENCE.search(html)
    assert "<script" not in html.lower() and "<link" not in html.lower() and "<img" not in html.lower()
    assert html.count("<svg") >= 4  # targets, pace, simulated outcomes, balance band


def test_text_from_the_scenario_is_escaped():
    raw = raw_scenario([branch("B1", name="<b>x</b>"), branch("B2")],
                       variants=[{"name": "<script>alert(1)</script>", "description": "a & b", "patch": {}}])
    html = render_comparison_html(compare_scenario(build(raw), workers=1))
    assert "<script" not in html and "&lt;script&gt;" in html and "&lt;b&gt;x&lt;/b&gt;" in html


def test_without_the_card_simulation_the_band_chart_is_replaced_by_a_note():
    raw = raw_scenario([branch("B1"), branch("B2", long_term_target=400)],
                       variants=[{"name": "ratchet", "patch": {"policy": {"name": "ratchet"}}}])
    html = render_comparison_html(compare_scenario(build(raw), workers=1))
    assert "不绘制余额区间图" in html and html.count("<svg") == 2
    english = render_comparison_html(compare_scenario(build(raw), workers=1), lang="en")
    assert "there is no balance band" in english and "方案比较" not in english


def test_a_large_bank_shows_the_branches_that_differ_most():
    from api.comparison_html import DOT_PLOT_ROWS, shown_branches

    rows = [branch(f"B{i:03d}", long_term_target=100 + 5 * i) for i in range(70)]
    comparison = compare_scenario(build(raw_scenario(rows, variants=[{"name": "r", "patch": {"policy": {"name": "ratchet"}}}])),
                                  workers=1)
    shown = shown_branches(comparison)
    spread = [abs(b.change_vs_base[1]) for b in comparison.branches]
    assert len(shown) == DOT_PLOT_ROWS
    assert min(spread[i] for i in shown) >= max(spread[i] for i in range(70) if i not in shown)


# -- the page in Chromium -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def loaded(browser, page_file: Path):
    """The page loaded from its file, with every console message and request recorded."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(page_file.as_uri())
    page.wait_for_load_state("load")
    yield page, errors, requests
    page.close()


@needs_chromium
def test_the_page_loads_without_errors_or_requests(loaded, page_file: Path):
    page, errors, requests = loaded
    assert errors == []
    assert requests == [page_file.as_uri()]


@needs_chromium
def test_every_chart_has_visible_marks(loaded):
    page, _, _ = loaded
    counts = page.evaluate("""() => [...document.querySelectorAll('svg.chart')].map(svg => {
        const marks = [...svg.querySelectorAll('.mark')].filter(el => {
            const box = el.getBoundingClientRect();
            const style = getComputedStyle(el);
            const painted = (style.fill !== 'none' && style.fillOpacity !== '0') || (style.stroke !== 'none' && style.strokeWidth !== '0px');
            return (box.width > 0 || box.height > 0) && style.visibility !== 'hidden' && style.display !== 'none' && painted;
        });
        return {label: svg.getAttribute('aria-label'), marks: marks.length, width: svg.getBoundingClientRect().width};
    })""")
    assert len(counts) >= 4, counts
    for chart in counts:
        assert chart["marks"] > 0 and chart["width"] > 100, chart
    options = 1 + len(read_document(bundled_path("city-2014"))["variants"])
    assert counts[0]["marks"] == 36 * options  # the targets: one marker per branch and option


@needs_chromium
def test_chinese_text_renders_as_glyphs_not_boxes(loaded):
    """Draw two different CJK characters in the page's own font: real glyphs differ and carry ink; a
    missing font draws the same box (or nothing) for both. The page's font must also be a CJK one."""
    page, _, _ = loaded
    result = page.evaluate("""() => {
        const family = getComputedStyle(document.querySelector('h1')).fontFamily;
        const svgFamily = getComputedStyle(document.querySelector('svg.chart text')).fontFamily;
        const draw = ch => {
            const c = document.createElement('canvas'); c.width = 64; c.height = 64;
            const g = c.getContext('2d'); g.fillStyle = '#fff'; g.fillRect(0, 0, 64, 64);
            g.fillStyle = '#000'; g.font = '48px ' + family; g.textBaseline = 'top'; g.fillText(ch, 8, 8);
            const d = g.getImageData(0, 0, 64, 64).data; const bits = [];
            for (let i = 0; i < d.length; i += 4) bits.push(d[i] < 128 ? 1 : 0);
            return bits;
        };
        const a = draw('方'), b = draw('案'), c = draw('较');
        const ink = bits => bits.reduce((s, v) => s + v, 0);
        const differ = (x, y) => x.reduce((s, v, i) => s + (v !== y[i] ? 1 : 0), 0);
        const h1 = document.querySelector('h1');
        return {family, svgFamily, ink: [ink(a), ink(b), ink(c)], differ: [differ(a, b), differ(b, c)],
                fontsReady: document.fonts.status, h1: h1.textContent};
    }""")
    assert "Noto Sans CJK SC" in result["family"] and result["svgFamily"] == result["family"]
    assert all(ink > 40 for ink in result["ink"]), result
    assert all(d > 40 for d in result["differ"]), result
    assert "方案比较" in result["h1"]


@needs_chromium
def test_the_screenshot_is_not_blank(loaded, tmp_path: Path):
    from PIL import Image

    page, _, _ = loaded
    png = page.screenshot(full_page=True)
    (tmp_path / "compare.png").write_bytes(png)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.height > 2000
    small = np.asarray(image.resize((image.width // 4, image.height // 4))).reshape(-1, 3)
    non_white = float((small.min(axis=1) < 235).mean())
    colours = len(np.unique(small, axis=0))
    assert non_white > 0.03 and colours > 50, (non_white, colours)
