"""The briefing as documents: PDF (fpdf2, A4, DejaVu fonts embedded, charts drawn as vector
rectangles, so they print sharp and need no browser or network) and DOCX (python-docx, editable
text and tables). Both end with an appendix: what each kind of figure means and, for every figure,
its value and the explorer address that shows its rows.

The district map is drawn by the same code into both: fpdf2 polygons in the PDF; for the DOCX the
same drawing on a page of its own, rasterised by pypdfium2 at 200 dpi (no browser, no network), and
likewise the bar chart of the biggest problems."""
from __future__ import annotations

import html
import io
import math
from pathlib import Path

import pandas as pd

from pipeline import geo, i18n, reference, settings
from pipeline.briefing import Briefing, Part, Section, _short, plain
from pipeline.grammar import fmt_dec

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
        if sec.key == "districts" and len(b.facts.districts):
            _pdf_map(doc, b)
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


def _pdf_map(doc, b: Briefing) -> None:
    """The map block where it fits whole: on this page, else at the top of the next."""
    rings, error = map_rings(b)
    if rings is None:
        doc.set_font("DejaVu", "I", 8.5)
        doc.set_text_color(*GREY)
        doc.multi_cell(0, 4.5, i18n.t("map.no_geometry", b.lang, error=error), new_x="LMARGIN", new_y="NEXT")
        return
    height = _measure(lambda d, x, y: _map_block(d, b, rings, x, y))
    if doc.get_y() + height + 2 > doc.h - 18:
        doc.add_page()
    _map_block(doc, b, rings, doc.l_margin, doc.get_y() + 2)


def _bars(doc, bars, width: float, bottom: float = 18) -> None:
    """Horizontal bars with value labels and, when known, the interval as a whisker (vector)."""
    label_w, value_w, h, gap = 62, 30, 5.0, 1.6
    plot_w = width - label_w - value_w
    top = max([hi for _, v, _, hi in bars if hi is not None] + [v for _, v, _, _ in bars]) or 1
    if bottom and doc.get_y() + len(bars) * (h + gap) + 4 > doc.h - bottom:
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


# ---- district map -----------------------------------------------------------------------------
# ColorBrewer "Blues" (sequential, light to dark, readable in greyscale print); the top class is
# always the darkest blue, whatever the number of classes.
PALETTES = {
    1: [(198, 219, 239)],
    2: [(198, 219, 239), (8, 81, 156)],
    3: [(222, 235, 247), (107, 174, 214), (8, 81, 156)],
    4: [(239, 243, 255), (158, 202, 225), (66, 146, 198), (8, 81, 156)],
    5: [(239, 243, 255), (189, 215, 231), (107, 174, 214), (49, 130, 189), (8, 81, 156)],
    6: [(239, 243, 255), (198, 219, 239), (158, 202, 225), (107, 174, 214), (49, 130, 189), (8, 81, 156)],
}
NO_DATA, EDGE, OUTLINE = (225, 225, 225), (95, 95, 95), (20, 20, 20)
MAP_W = 174.0  # mm: the A4 text width (210 - 2 x 18)
# Area boxes (fractions of the map's width and height) by the set of areas drawn: a region with its
# city beside it, all three with the two cities stacked on the right, one area alone.
MAP_LAYOUTS = {
    ("aktobe_city", "aktobe_region"): ({"aktobe_region": (0.0, 0.0, 0.62, 1.0), "aktobe_city": (0.65, 0.0, 0.35, 0.62)}, 100),
    ("aktobe_city", "aktobe_region", "shymkent"): ({"aktobe_region": (0.0, 0.0, 0.6, 1.0),
                                                   "aktobe_city": (0.63, 0.0, 0.37, 0.5),
                                                   "shymkent": (0.63, 0.5, 0.37, 0.5)}, 112),
}
AREA_TITLE_H = 5.0  # mm above each area for its name


def map_scale(values) -> tuple[list[float], list[tuple[int, int, int]]]:
    """Class bounds (n + 1 numbers from 0) and their colours for the per-10,000 rates: equal steps of
    the smallest round size (1, 2, 2.5 or 5 times a power of ten) that covers the highest value in
    at most 6 classes, so it falls in the top class, the darkest (3 to 6 classes)."""
    present = [float(v) for v in values if v is not None and not pd.isna(v)]
    top = max(present, default=0.0)
    if top <= 0:
        return [0.0, 1.0], PALETTES[1]
    raw = top / 6
    k = 10 ** math.floor(math.log10(raw))
    step = next(m * k for m in (1, 2, 2.5, 5, 10) if m * k >= raw * (1 - 1e-9))
    n = max(1, min(6, math.ceil(top / step - 1e-9)))
    return [round(step * i, 9) for i in range(n + 1)], PALETTES[n]


def map_colour(value, bounds: list[float], colours: list) -> tuple[int, int, int]:
    """The fill of a value: its class's colour (the top class includes its upper bound); light grey
    when there is no value."""
    if value is None or pd.isna(value):
        return NO_DATA
    step = bounds[1] - bounds[0]
    i = math.floor((float(value) - bounds[0]) / step + 1e-9) if step > 0 else 0
    return colours[min(max(i, 0), len(colours) - 1)]


def _num(x: float) -> str:
    return fmt_dec(x, 0 if float(x).is_integer() else 1)


def _span(points, y: float, x: float, vertical: bool = False) -> float:
    """Free length along the horizontal (or vertical) line through (x, y) inside the polygon,
    centred on the point: twice the distance to the nearer edge crossing."""
    if vertical:
        points = [(py, px) for px, py in points]
        x, y = y, x
    cuts = []
    for (x0, y0), (x1, y1) in zip(points, points[1:] + points[:1]):
        if (y0 <= y) != (y1 <= y):
            cuts.append(x0 + (y - y0) * (x1 - x0) / (y1 - y0))
    left = max([c for c in cuts if c <= x], default=None)
    right = min([c for c in cuts if c >= x], default=None)
    if left is None or right is None:
        return 0.0
    return 2 * min(x - left, right - x)


def map_rings(b: Briefing):
    """The rings of the districts the briefing's facts carry (the territory's region, or both), or
    the reason there is no map."""
    try:
        rings = geo.load()
    except ValueError as exc:
        return None, str(exc)
    codes = set(b.facts.districts["district"]) if len(b.facts.districts) else set()
    if b.facts.territory.region:
        codes |= set(reference.districts().query("region == @b.facts.territory.region")["code"])
    rings = rings[rings["code"].isin(codes)] if codes else rings
    return (rings, None) if len(rings) else (None, "no district of the territory has a shape")


def _map_block(doc, b: Briefing, rings, x: float, y: float, w: float = MAP_W) -> float:
    """The district map as one block at (x, y), w wide: title, one-line note, the territory's
    districts filled by submissions per 10,000 residents with their short names and figures where
    they fit, area names, and the legend (classes, units, lowest and highest, schematic or not).
    Returns the y below it. Vector: fpdf2 polygons and text."""
    lang = b.lang
    t = lambda key, **kw: i18n.t(key, lang, **kw)  # noqa: E731
    stats = b.facts.districts
    rates = dict(zip(stats["district"], stats["per_10k"])) if len(stats) else {}
    bounds, colours = map_scale(rates.values())
    n = len(colours)
    # title and note
    doc.set_xy(x, y)
    doc.set_font("DejaVu", "B", 10.5)
    doc.set_text_color(*INK)
    doc.cell(w, 6, t("brief.map.title"), new_x="LEFT", new_y="NEXT")
    doc.set_font("DejaVu", "", 7.5)
    doc.set_text_color(*GREY)
    avg = fmt_dec(b.facts.district_average) if b.facts.district_average is not None else "—"
    doc.multi_cell(w, 3.8, t("brief.map.note", avg=avg), align="L", new_x="LEFT", new_y="NEXT")
    top = doc.get_y() + 1
    areas_drawn = tuple(sorted(set(rings["area"])))
    boxes, h = MAP_LAYOUTS.get(areas_drawn, ({a: (0.0, 0.0, 1.0, 1.0) for a in areas_drawn}, 100))
    placed, areas = geo.arrange(rings, w, h, boxes=boxes, title_h=AREA_TITLE_H)
    own = b.facts.territory.district
    doc.set_line_width(0.2)
    doc.set_draw_color(*EDGE)
    for r in placed.itertuples():
        doc.set_fill_color(*map_colour(rates.get(r.code), bounds, colours))
        doc.polygon([(x + px, top + py) for px, py in r.points], style="DF")
    for r in placed.itertuples():  # the territory's own district on top, outlined
        if r.code == own:
            doc.set_line_width(0.7)
            doc.set_draw_color(*OUTLINE)
            doc.polygon([(x + px, top + py) for px, py in r.points], style="D")
            doc.set_line_width(0.2)
    doc.set_font("DejaVu", "B", 8)
    doc.set_text_color(*GREY)
    for area, (tx, ty, _) in areas.items():
        doc.text(x + tx - 4 * AREA_TITLE_H / geo.TITLE_H, top + ty, t("map.area." + area))
    # labels: name and figure, smaller if need be, left out where they do not fit or would overlap
    taken: list[tuple[float, float, float, float]] = []
    for r in sorted(placed.itertuples(), key=lambda r: -(rates.get(r.code) or 0)):
        cx, cy = r.label
        pts = r.points
        name = _short(r.code, lang)
        v = rates.get(r.code)
        value = "—" if v is None or pd.isna(v) else fmt_dec(v)
        for lines, size in [([name, value], z) for z in (7.5, 6.5, 5.5)] + [([name], z) for z in (7.5, 6.5, 5.5)] + [([value], 6.5)]:
            lh = size * 0.3528 * 1.2
            doc.set_font("DejaVu", "B", size)
            tw = max(doc.get_string_width(s) for s in lines) + 0.8
            th = lh * len(lines)
            free_w = min(_span(pts, cy + d, cx) for d in (-th / 2, 0, th / 2))
            free_h = _span(pts, cy, cx, vertical=True)
            box = (cx - tw / 2, cy - th / 2, cx + tw / 2, cy + th / 2)
            clash = any(box[0] < o[2] and o[0] < box[2] and box[1] < o[3] and o[1] < box[3] for o in taken)
            if tw <= free_w and th <= free_h and not clash:
                break
        else:
            continue
        taken.append(box)
        cls = colours.index(map_colour(v, bounds, colours)) if v is not None and not pd.isna(v) else 0
        doc.set_text_color(*((255, 255, 255) if n >= 3 and cls >= n - 2 else INK))
        for i, s in enumerate(lines):
            doc.set_font("DejaVu", "B" if i == 0 else "", size)
            sw = doc.get_string_width(s)
            doc.text(x + cx - sw / 2, top + cy - th / 2 + lh * (i + 0.78), s)
    # legend: units, one swatch per class with its range, no data, lowest and highest, schematic
    y = top + h + 2
    doc.set_font("DejaVu", "B", 7.5)
    doc.set_text_color(*INK)
    label = t("brief.map.legend") + ":"
    doc.text(x, y + 3.2, label)
    sx = x + doc.get_string_width(label) + 3
    sw_w, sw_h = 16.0, 4.0
    doc.set_font("DejaVu", "", 7)
    doc.set_draw_color(*EDGE)
    for i, c in enumerate(colours):
        doc.set_fill_color(*c)
        doc.rect(sx + i * sw_w, y, sw_w, sw_h, style="DF")
        rng = f"{_num(bounds[i])}–{_num(bounds[i + 1])}"
        doc.text(sx + i * sw_w + (sw_w - doc.get_string_width(rng)) / 2, y + sw_h + 3.2, rng)
    ex = sx + n * sw_w + 3
    if any(v is None or pd.isna(v) for v in (rates.get(c) for c in placed["code"])):
        doc.set_fill_color(*NO_DATA)
        doc.rect(ex, y, 6, sw_h, style="DF")
        doc.text(ex + 7, y + 3.2, t("brief.map.nodata"))
        ex += 9 + doc.get_string_width(t("brief.map.nodata")) + 3
    present = [v for v in rates.values() if v is not None and not pd.isna(v)]
    doc.set_text_color(*GREY)
    notes = []
    if present:
        notes.append(t("brief.map.range", lo=fmt_dec(min(present)), hi=fmt_dec(max(present))))
    if own:
        notes.append(t("brief.map.outlined", name=_short(own, lang)))
    notes.append(t("wall.schematic" if bool(rings["schematic"].any()) else "wall.official"))
    doc.set_xy(x, y + sw_h + 4.8)  # a line of its own below the swatches and their ranges
    line = "; ".join(notes[:-1]) + (". " if len(notes) > 1 else "") + notes[-1] + "."
    doc.multi_cell(w, 3.4, line[:1].upper() + line[1:], align="L", new_x="LEFT", new_y="NEXT")
    bottom = doc.get_y()
    doc.set_text_color(*INK)
    doc.set_draw_color(*GREY)
    doc.set_fill_color(255, 255, 255)  # fpdf2's tables fill with the current colour otherwise
    doc.set_xy(doc.l_margin, bottom + 3)
    return bottom + 3


def _new_pdf(fmt="A4", margins=(18, 16, 18)):
    from fpdf import FPDF

    doc = FPDF(format=fmt, unit="mm")
    doc.set_margins(*margins)
    for style, name in FONTS.items():
        doc.add_font("DejaVu", style, str(FONT_DIR / name))
    return doc


def _png(draw, w: float, h: float, dpi: int = 200) -> bytes:
    """Run draw(doc, x, y) on a page of its own w x h mm and rasterise that page (pypdfium2) at dpi."""
    import pypdfium2 as pdfium

    doc = _new_pdf((w, h), (1, 1, 1))
    doc.set_auto_page_break(False)
    doc.add_page()
    draw(doc, 1, 1)
    pdf = pdfium.PdfDocument(bytes(doc.output()))
    try:
        image = pdf[0].render(scale=dpi / 72).to_pil()
    finally:
        pdf.close()
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(dpi, dpi))
    return out.getvalue()


def _measure(draw) -> float:
    """The height (mm) a drawing takes, from a dry run on a tall page."""
    doc = _new_pdf((MAP_W + 2, 600), (1, 1, 1))
    doc.set_auto_page_break(False)
    doc.add_page()
    return draw(doc, 1, 1) - 1


def map_png(b: Briefing, rings, dpi: int = 200) -> bytes:
    """The PDF's district map block as a PNG (the same drawing, rasterised)."""
    draw = lambda doc, x, y: _map_block(doc, b, rings, x, y)  # noqa: E731
    return _png(draw, MAP_W + 2, _measure(draw) + 2, dpi)


def bars_png(bars, dpi: int = 200) -> bytes:
    """The PDF's bar chart of the biggest problems as a PNG."""
    def draw(doc, x, y):
        doc.set_xy(x, y)
        _bars(doc, bars, MAP_W, bottom=0)
        return doc.get_y()
    return _png(draw, MAP_W + 2, _measure(draw) + 2, dpi)


# ---- DOCX --------------------------------------------------------------------------------------
def docx(b: Briefing) -> bytes:
    import docx as python_docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt, RGBColor

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

    page = d.sections[0]
    image_w = min(Mm(MAP_W), page.page_width - page.left_margin - page.right_margin)  # the text width
    d.add_heading(b.title, level=1)
    sub = d.add_paragraph(b.subtitle)
    sub.runs[0].font.color.rgb = RGBColor(110, 110, 110)
    d.add_paragraph(i18n.t("brief.appendix.link", b.lang, base=settings.get("APP_URL"))).runs[0].italic = True
    for sec in b.sections:
        d.add_heading(sec.title, level=2)
        for s in sec.sentences:
            parts(d.add_paragraph(), s)
        if sec.bars:
            d.add_picture(io.BytesIO(bars_png(sec.bars)), width=image_w)
        if sec.key == "districts" and len(b.facts.districts):
            rings, error = map_rings(b)
            if rings is None:
                d.add_paragraph(i18n.t("map.no_geometry", b.lang, error=error)).runs[0].italic = True
            else:
                d.add_picture(io.BytesIO(map_png(b, rings)), width=image_w)
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
