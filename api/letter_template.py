"""The default target-letter template (api/templates/target_letter.docx) and how it is built.

A bank replaces it with its own letterhead (`microplan letters --template PATH`): any .docx with
the Jinja tags below (docxtpl syntax) works. Every word of the default letter is a variable
(`t.*`), so one template serves both languages; a bank's own template may write its text
directly and use only the figures. The tags a template may use:

- `t.*` — the letter's fixed words in the chosen language (title, headings, labels);
- `bank`, `plan_year`, `policy`, `date`, `money_unit`, `department`;
- `branch.id`, `branch.name`;
- `targets` — rows `label`, `this_year`, `last_target`, `last_actual`, `change` (table, `{%tr %}`);
- `cycle.*` — `start_year`, `end_year`, `long_term_target`, `achieved`, `share_done`, `remaining`,
  `years_left`, `pace`, `capacity`, `position`, `sentence`;
- `reasons` — sentences saying why the target is what it is (behind/ahead, extra share, at
  capacity, risk-capped, locked);
- `floors` — sentences on the bank's floors and totals; `rolling` — rows `year`, `clients`, `loans`.

Rebuild the default with `python -m api.letter_template` (python-docx writes one run per tag, so
docxtpl sees each tag whole).
"""

from __future__ import annotations

import io
from pathlib import Path

TEMPLATE_PATH = Path(__file__).with_name("templates") / "target_letter.docx"
#: Fonts of the default letter: a serif for the body, a sans for headings (fontconfig substitutes
#: Noto CJK where SimSun / SimHei are not installed).
BODY_FONT, HEADING_FONT = "SimSun", "SimHei"


def build_template() -> bytes:
    """The default template as .docx bytes (A4, CJK fonts, the tags listed in the module docstring)."""
    from docx import Document
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt, RGBColor

    doc = Document()
    section = doc.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)
    section.left_margin = section.right_margin = Cm(2.5)
    section.top_margin = section.bottom_margin = Cm(2.2)
    _fonts(doc.styles["Normal"], BODY_FONT, Pt(11))
    for name in ("Title", "Heading 1", "Heading 2"):
        _fonts(doc.styles[name], HEADING_FONT, None)

    title = doc.add_paragraph(style="Title")
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run("{{ t.title }}")
    run.font.size, run.font.bold, run.font.color.rgb = Pt(18), True, RGBColor(0, 0, 0)
    sub = doc.add_paragraph()
    sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
    sub.add_run("{{ t.subtitle }}")

    doc.add_paragraph().add_run("{{ t.salutation }}").bold = True
    doc.add_paragraph("{{ t.intro }}")

    doc.add_heading("{{ t.h_targets }}", level=2)
    table = doc.add_table(rows=3, cols=5)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, tag in zip(table.rows[0].cells, ("t.col_item", "t.col_this_year", "t.col_last_target",
                                               "t.col_last_actual", "t.col_change")):
        cell.paragraphs[0].add_run("{{ %s }}" % tag).bold = True
    table.rows[1].cells[0].paragraphs[0].add_run("{%tr for row in targets %}")
    for col, (cell, key) in enumerate(zip(table.rows[2].cells, ("label", "this_year", "last_target", "last_actual", "change"))):
        cell.paragraphs[0].add_run("{{ row.%s }}" % key)
        if col:
            cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    _widths(table, (Cm(4.6), Cm(2.9), Cm(2.9), Cm(2.9), Cm(2.7)))
    # docxtpl: the row holding {%tr for %} and the one holding {%tr endfor %} are removed
    end = table.add_row()
    end.cells[0].paragraphs[0].add_run("{%tr endfor %}")

    doc.add_heading("{{ t.h_cycle }}", level=2)
    doc.add_paragraph("{{ cycle.sentence }}")

    doc.add_heading("{{ t.h_reasons }}", level=2)
    doc.add_paragraph("{%p for line in reasons %}")
    doc.add_paragraph("{{ line }}", style="List Bullet")
    doc.add_paragraph("{%p endfor %}")

    doc.add_heading("{{ t.h_floors }}", level=2)
    doc.add_paragraph("{%p for line in floors %}")
    doc.add_paragraph("{{ line }}", style="List Bullet")
    doc.add_paragraph("{%p endfor %}")

    doc.add_paragraph("{%p if rolling %}")
    doc.add_heading("{{ t.h_rolling }}", level=2)
    rolling = doc.add_table(rows=3, cols=3)
    rolling.style = "Table Grid"
    rolling.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, tag in zip(rolling.rows[0].cells, ("t.col_year", "t.col_clients", "t.col_loans")):
        cell.paragraphs[0].add_run("{{ %s }}" % tag).bold = True
    rolling.rows[1].cells[0].paragraphs[0].add_run("{%tr for row in rolling %}")
    for col, (cell, key) in enumerate(zip(rolling.rows[2].cells, ("year", "clients", "loans"))):
        cell.paragraphs[0].add_run("{{ row.%s }}" % key)
        if col:
            cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    rolling.add_row().cells[0].paragraphs[0].add_run("{%tr endfor %}")
    note = doc.add_paragraph()
    note.paragraph_format.space_before = Pt(4)
    note.add_run("{{ t.rolling_note }}").font.size = Pt(9)
    doc.add_paragraph("{%p endif %}")

    doc.add_paragraph("{{ t.closing }}")
    sign = doc.add_table(rows=3, cols=2)
    for row, (left, right) in enumerate((("t.sign_department", "t.sign_branch"),
                                         ("t.sign_signature", "t.sign_signature"),
                                         ("t.sign_date_filled", "t.sign_date"))):
        sign.rows[row].cells[0].paragraphs[0].add_run("{{ %s }}" % left)
        sign.rows[row].cells[1].paragraphs[0].add_run("{{ %s }}" % right)
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer.add_run("{{ t.footer }}").font.size = Pt(8)

    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def _widths(table, widths) -> None:  # noqa: ANN001 — python-docx objects
    """Column widths (Word reads the cells' widths, LibreOffice the grid's)."""
    from docx.oxml.ns import qn

    table.autofit = False
    for col, width in zip(table._tbl.tblGrid.findall(qn("w:gridCol")), widths):
        col.set(qn("w:w"), str(int(width.twips)))
    for row in table.rows:
        for cell, width in zip(row.cells, widths):
            cell.width = width


def _fonts(style, font: str, size) -> None:  # noqa: ANN001 — python-docx style objects
    """Latin and East Asian font of a style (python-docx sets only the Latin one by itself)."""
    from docx.oxml.ns import qn

    style.font.name = font
    if size is not None:
        style.font.size = size
    rpr = style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia"):
        fonts.set(qn(attr), font)


if __name__ == "__main__":
    TEMPLATE_PATH.parent.mkdir(exist_ok=True)
    TEMPLATE_PATH.write_bytes(build_template())
    print(f"written: {TEMPLATE_PATH}")
