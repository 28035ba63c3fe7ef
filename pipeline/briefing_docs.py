"""The briefing as documents: PDF (fpdf2, A4, DejaVu fonts embedded, charts drawn as vector
rectangles, so they print sharp and need no browser or network) and DOCX (python-docx, editable
text and tables). Both end with an appendix: what each kind of figure means and, for every figure,
its value and the explorer address that shows its rows."""
from __future__ import annotations

import html
import io
from pathlib import Path

from pipeline import i18n, settings
from pipeline.briefing import Briefing, Part, Section, plain

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONTS = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf", "I": "DejaVuSans-Oblique.ttf", "BI": "DejaVuSans-BoldOblique.ttf"}
INK, LINK, GREY, BAR, WHISKER = (20, 20, 20), (0, 70, 160), (110, 110, 110), (70, 120, 190), (20, 20, 20)


def _url(path: str) -> str:
    return settings.get("APP_URL").rstrip("/") + path


def _links(b: Briefing) -> dict[str, str]:
    from pipeline.briefing import explorer_link

    return {k: _url(explorer_link(f)) for k, f in b.facts.figures.items()}


# ---- PDF ---------------------------------------------------------------------------------------
def pdf(b: Briefing) -> bytes:
    from fpdf import FPDF
    from fpdf.fonts import FontFace, TextStyle

    class Doc(FPDF):
        def footer(self):
            self.set_y(-12)
            self.set_font("DejaVu", "", 7)
            self.set_text_color(*GREY)
            self.cell(0, 5, f"{b.title} · {self.page_no()}/{{nb}}", align="C")

    doc = Doc(format="A4", unit="mm")
    doc.set_margins(18, 16, 18)
    doc.set_auto_page_break(True, margin=18)
    for style, name in FONTS.items():
        doc.add_font("DejaVu", style, str(FONT_DIR / name))
    doc.set_title(b.title)
    doc.set_lang(b.lang)
    doc.alias_nb_pages()
    doc.add_page()
    links = _links(b)
    width = doc.w - doc.l_margin - doc.r_margin

    doc.set_font("DejaVu", "B", 15)
    doc.set_text_color(*INK)
    doc.multi_cell(width, 7, b.title, align="L", new_x="LMARGIN", new_y="NEXT")
    doc.set_font("DejaVu", "", 8.5)
    doc.set_text_color(*GREY)
    doc.multi_cell(width, 4.5, b.subtitle, align="L", new_x="LMARGIN", new_y="NEXT")
    doc.ln(1)
    doc.set_font("DejaVu", "I", 8)
    doc.multi_cell(width, 4.2, i18n.t("brief.appendix.link", b.lang, base=settings.get("APP_URL")), align="L",
                   new_x="LMARGIN", new_y="NEXT")

    def sentence(parts: list[Part]) -> None:
        # write_html wraps whole words across links (write() called per part breaks a word where a
        # call ends); every text is escaped, so nothing in it is read as markup
        body = "".join(f'<a href="{html.escape(links[p.fig])}">{html.escape(p.text)}</a>' if p.fig in links
                       else html.escape(p.text) for p in parts)
        doc.set_text_color(*INK)
        doc.write_html(f'<p line-height="1.45">{body}</p>', font_family="DejaVu",
                       tag_styles={"a": FontFace(color=LINK, emphasis=None),
                                   "p": TextStyle(font_size_pt=10, t_margin=0, b_margin=1.2)})

    for sec in b.sections:
        if doc.get_y() > doc.h - 60:
            doc.add_page()
        doc.ln(2)
        doc.set_font("DejaVu", "B", 12)
        doc.set_text_color(*INK)
        doc.cell(0, 7, sec.title, new_x="LMARGIN", new_y="NEXT")
        doc.set_draw_color(*GREY)
        doc.line(doc.l_margin, doc.get_y(), doc.l_margin + width, doc.get_y())
        doc.ln(1.5)
        for s in sec.sentences:
            sentence(s)
        if sec.bars:
            _bars(doc, sec.bars, width)
        if sec.table:
            _table(doc, sec.table, links, FontFace)

    doc.add_page()
    doc.set_font("DejaVu", "B", 12)
    doc.set_text_color(*INK)
    doc.cell(0, 7, i18n.t("brief.section.appendix", b.lang), new_x="LMARGIN", new_y="NEXT")
    doc.ln(1)
    for kind, definition in b.definitions:
        doc.set_font("DejaVu", "B", 9)
        doc.write(4.6, kind + ". ")
        doc.set_font("DejaVu", "", 9)
        doc.write(4.6, definition)
        doc.ln(6)
    doc.ln(2)
    doc.set_font("DejaVu", "B", 10)
    doc.cell(0, 6, i18n.t("brief.appendix.figures", b.lang), new_x="LMARGIN", new_y="NEXT")
    doc.set_font("DejaVu", "", 7)
    head = [i18n.t(k, b.lang) for k in ("brief.col.figure", "brief.col.value", "brief.col.link")]
    with doc.table(col_widths=(70, 18, 86), line_height=3.6, text_align=("LEFT", "RIGHT", "LEFT"),
                   headings_style=FontFace(emphasis="BOLD", fill_color=(235, 235, 235)), borders_layout="HORIZONTAL_LINES", cell_fill_mode="NONE") as table:
        row = table.row()
        for h in head:
            row.cell(h)
        for what, value, link in b.figures:
            row = table.row()
            row.cell(what)
            row.cell(value)
            row.cell(link, link=_url(link), style=FontFace(color=LINK))
    return bytes(doc.output())


def _bars(doc, bars, width: float) -> None:
    """Horizontal bars with value labels and, when known, the interval as a whisker (vector)."""
    label_w, value_w, h, gap = 62, 30, 5.0, 1.6
    plot_w = width - label_w - value_w
    top = max([hi for _, v, _, hi in bars if hi is not None] + [v for _, v, _, _ in bars]) or 1
    if doc.get_y() + len(bars) * (h + gap) + 4 > doc.h - 18:
        doc.add_page()
    y = doc.get_y() + 1
    x0 = doc.l_margin + label_w
    doc.set_font("DejaVu", "", 8.5)
    for label, value, low, high in bars:
        doc.set_text_color(*INK)
        doc.set_xy(doc.l_margin, y)
        doc.cell(label_w - 2, h, label if len(label) <= 40 else label[:38] + "…", align="R")
        doc.set_fill_color(*BAR)
        doc.rect(x0, y + 0.6, max(plot_w * value / top, 0.3), h - 1.2, style="F")
        if low is not None and high is not None:
            doc.set_draw_color(*WHISKER)
            doc.set_line_width(0.3)
            ym = y + h / 2
            doc.line(x0 + plot_w * low / top, ym, x0 + plot_w * high / top, ym)
            for v in (low, high):
                doc.line(x0 + plot_w * v / top, ym - 1.2, x0 + plot_w * v / top, ym + 1.2)
            doc.set_line_width(0.2)
        doc.set_xy(x0 + plot_w + 1, y)
        doc.cell(value_w - 1, h, f"{value:.1f} %".replace(".", ","), align="L")
        y += h + gap
    doc.set_xy(doc.l_margin, y + 1)
    doc.set_fill_color(255, 255, 255)


def _table(doc, table, links: dict[str, str], FontFace) -> None:
    header, rows = table
    n = len(header)
    widths = (60,) + tuple((doc.w - doc.l_margin - doc.r_margin - 60) / (n - 1) for _ in range(n - 1))
    doc.set_font("DejaVu", "", 8.5)
    doc.set_text_color(*INK)
    with doc.table(col_widths=widths, line_height=4.6, text_align=("LEFT",) + ("RIGHT",) * (n - 1),
                   headings_style=FontFace(emphasis="BOLD", fill_color=(235, 235, 235)),
                   borders_layout="HORIZONTAL_LINES", cell_fill_mode="NONE") as t:
        row = t.row()
        for h in header:
            row.cell(h)
        for cells in rows:
            row = t.row()
            for c in cells:
                if c.fig:
                    row.cell(c.text, link=links.get(c.fig), style=FontFace(color=LINK))
                else:
                    row.cell(c.text)
    doc.ln(2)


# ---- DOCX --------------------------------------------------------------------------------------
def docx(b: Briefing) -> bytes:
    import docx as python_docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    links = _links(b)
    d = python_docx.Document()
    style = d.styles["Normal"]
    style.font.name = "DejaVu Sans"
    style.font.size = Pt(10)
    d.core_properties.title = b.title
    d.core_properties.language = b.lang

    def hyperlink(paragraph, text: str, url: str) -> None:
        rel = paragraph.part.relate_to(url, python_docx.opc.constants.RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
        link = OxmlElement("w:hyperlink")
        link.set(qn("r:id"), rel)
        run = OxmlElement("w:r")
        props = OxmlElement("w:rPr")
        color = OxmlElement("w:color")
        color.set(qn("w:val"), "0046A0")
        props.append(color)
        run.append(props)
        t = OxmlElement("w:t")
        t.text = text
        t.set(qn("xml:space"), "preserve")
        run.append(t)
        link.append(run)
        paragraph._p.append(link)

    def parts(paragraph, ps: list[Part]) -> None:
        for p in ps:
            if p.fig and p.fig in links:
                hyperlink(paragraph, p.text, links[p.fig])
            else:
                paragraph.add_run(p.text)

    d.add_heading(b.title, level=1)
    sub = d.add_paragraph(b.subtitle)
    sub.runs[0].font.color.rgb = RGBColor(110, 110, 110)
    d.add_paragraph(i18n.t("brief.appendix.link", b.lang, base=settings.get("APP_URL"))).runs[0].italic = True
    for sec in b.sections:
        d.add_heading(sec.title, level=2)
        for s in sec.sentences:
            parts(d.add_paragraph(), s)
        if sec.table:
            header, rows = sec.table
            table = d.add_table(rows=1, cols=len(header))
            table.style = "Table Grid"
            for cell, h in zip(table.rows[0].cells, header):
                cell.text = h
                cell.paragraphs[0].runs[0].bold = True
            for cells in rows:
                row = table.add_row().cells
                for i, (cell, c) in enumerate(zip(row, cells)):
                    parts(cell.paragraphs[0], [c])
                    if i:
                        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    d.add_page_break()
    d.add_heading(i18n.t("brief.section.appendix", b.lang), level=2)
    for kind, definition in b.definitions:
        p = d.add_paragraph()
        p.add_run(kind + ". ").bold = True
        p.add_run(definition)
    d.add_heading(i18n.t("brief.appendix.figures", b.lang), level=3)
    table = d.add_table(rows=1, cols=3)
    table.style = "Table Grid"
    for cell, key in zip(table.rows[0].cells, ("brief.col.figure", "brief.col.value", "brief.col.link")):
        cell.text = i18n.t(key, b.lang)
    for what, value, link in b.figures:
        row = table.add_row().cells
        row[0].text, row[1].text = what, value
        hyperlink(row[2].paragraphs[0], link, _url(link))
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


def text_of(b: Briefing) -> str:
    """The briefing's sentences as plain text (what a reader of the PDF sees)."""
    return "\n".join(plain(s) for sec in b.sections for s in sec.sentences)


__all__ = ["pdf", "docx", "text_of", "Section"]
