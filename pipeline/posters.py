"""QR codes and printable posters for placements (issue 14).

A placement's QR code encodes exactly `<SC_FORM_URL>/p/<CODE>` with error correction Q (a quarter
of the code may be dirty or torn and it still reads) and a quiet zone of four modules. Codes come
as PNG and SVG (the `qrcode` package); posters as A4 or A5 PDF (fpdf2, DejaVu fonts for the
Kazakh letters): the call to act in Kazakh and Russian (data/i18n/placements.csv), the code drawn
as vector squares, the placement's name, its short code for typing by hand and the form's address.

    python -m pipeline posters placements.csv --size a5 --out posters.pdf
"""
from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import qrcode
import qrcode.image.svg

from pipeline import i18n, placements, settings, store

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONTS = {("sans", ""): "DejaVuSans.ttf", ("sans", "B"): "DejaVuSans-Bold.ttf", ("mono", "B"): "DejaVuSansMono-Bold.ttf"}
SIZES = {"a4": (210.0, 297.0), "a5": (148.0, 210.0)}
QUIET = 4  # modules of white around the code, as the standard asks


class PosterError(RuntimeError):
    """The poster cannot be made (fonts missing, nothing to print); one line."""


def form_url() -> str:
    return settings.get("FORM_URL").rstrip("/")


def local_form_url(base: str | None = None) -> bool:
    """Whether the form's address is this machine's own (localhost, 127.x, ::1, 0.0.0.0): fine for a
    trial, but a code printed with it opens nothing on a resident's phone."""
    from urllib.parse import urlsplit

    host = (urlsplit(base or form_url()).hostname or "").lower()
    return host in ("localhost", "::1", "0.0.0.0") or host.startswith("127.") or host.endswith(".localhost")


def url(code: str, base: str | None = None) -> str:
    """What a placement's QR code encodes: <SC_FORM_URL>/p/<CODE>."""
    return f"{(base or form_url()).rstrip('/')}/p/{placements.normal_code(code)}"


def qr(code: str, base: str | None = None) -> qrcode.QRCode:
    q = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_Q, border=QUIET, box_size=12)
    q.add_data(url(code, base))
    q.make(fit=True)
    return q


def png(code: str, base: str | None = None) -> bytes:
    out = io.BytesIO()
    qr(code, base).make_image().save(out, format="PNG")
    return out.getvalue()


def svg(code: str, base: str | None = None) -> bytes:
    return qr(code, base).make_image(image_factory=qrcode.image.svg.SvgPathImage).to_string(encoding="unicode").encode()


# ---- posters -------------------------------------------------------------------------------
def _fonts(pdf) -> None:
    for (family, style), name in FONTS.items():
        path = FONT_DIR / name
        if not path.exists():
            raise PosterError(f"font {path} not found: install the DejaVu fonts (apt-get install fonts-dejavu-core)")
        pdf.add_font(family, style, str(path))


def _draw_code(pdf, code: str, base: str | None, x: float, y: float, side: float) -> None:
    """The code as filled squares (vector, sharp at any print size), joined along each row."""
    matrix = qr(code, base).get_matrix()  # includes the quiet zone
    cell = side / len(matrix)
    pdf.set_fill_color(255, 255, 255)
    pdf.rect(x, y, side, side, style="F")
    pdf.set_fill_color(0, 0, 0)
    for r, row in enumerate(matrix):
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                # a hair of overlap so that no white seam shows between neighbouring modules
                pdf.rect(x + start * cell, y + r * cell, (c - start) * cell + 0.02, cell + 0.02, style="F")
            else:
                c += 1


def _both(key: str, **fmt) -> tuple[str, str]:
    return i18n.t(key, "kk", **fmt), i18n.t(key, "ru", **fmt)


def _page(pdf, row: dict, size: str, base: str | None) -> None:
    width, height = SIZES[size]
    s = width / 210.0  # type sizes and spacing scale with the page
    margin = 14 * s
    inner = width - 2 * margin
    pdf.add_page()
    # the call to act, Kazakh first
    pdf.set_fill_color(0, 94, 150)
    pdf.rect(0, 0, width, 58 * s, style="F")
    pdf.set_text_color(255, 255, 255)
    pdf.set_xy(margin, 9 * s)
    kk, ru = _both("poster.call")
    pdf.set_font("sans", "B", 25 * s)
    pdf.multi_cell(inner, 10.5 * s, kk, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(margin)
    pdf.set_font("sans", "", 18 * s)
    pdf.multi_cell(inner, 8.5 * s, ru, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    # the code
    side = 128 * s
    top = 64 * s
    _draw_code(pdf, row["code"], base, (width - side) / 2, top, side)
    pdf.set_xy(margin, top + side + 1 * s)
    pdf.set_font("sans", "", 12 * s)
    kk, ru = _both("poster.scan")
    pdf.multi_cell(inner, 5.6 * s, f"{kk}\n{ru}", align="C", new_x="LMARGIN", new_y="NEXT")
    # the placement and its short code for typing by hand
    pdf.set_y(pdf.get_y() + 3 * s)
    pdf.set_x(margin)
    kk, ru = _both("poster.code")
    pdf.set_font("sans", "", 11 * s)
    pdf.multi_cell(inner, 5 * s, f"{kk} / {ru}", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(margin)
    pdf.set_font("mono", "B", 34 * s)
    pdf.multi_cell(inner, 14 * s, row["code"], align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(margin)
    pdf.set_font("sans", "B", 11 * s)
    pdf.multi_cell(inner, 5 * s, row["name_kk"], align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(margin)
    pdf.set_font("sans", "", 11 * s)
    pdf.multi_cell(inner, 5 * s, row["name_ru"], align="C", new_x="LMARGIN", new_y="NEXT")
    # the address to type when the camera does not read the code
    pdf.set_xy(margin, height - margin - 17 * s)
    kk, ru = _both("poster.or_type")
    pdf.set_font("sans", "", 10 * s)
    pdf.multi_cell(inner, 4.6 * s, f"{kk}\n{ru}", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(margin)
    pdf.set_font("mono", "B", 13 * s)
    pdf.multi_cell(inner, 6 * s, url(row["code"], base), align="C", new_x="LMARGIN", new_y="NEXT")


def poster_pdf(rows: list[dict], size: str = "a4", base: str | None = None) -> bytes:
    """One PDF, a poster a page, for placements (dicts with code, name_ru, name_kk)."""
    from fpdf import FPDF

    size = size.lower()
    if size not in SIZES:
        raise PosterError(f"unknown size {size!r}; use a4 or a5")
    if not rows:
        raise PosterError("no placements to make posters for")
    pdf = FPDF(orientation="portrait", unit="mm", format=SIZES[size])  # in mm: no warning about A5
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    pdf.set_title(i18n.t("poster.call", "ru"))
    pdf.set_creator("Situation Centre")
    _fonts(pdf)
    for row in rows:
        _page(pdf, row, size, base)
    return bytes(pdf.output())


# ---- CLI -----------------------------------------------------------------------------------
def arguments_posters(parser) -> None:
    parser.add_argument("csv", nargs="?", help="placements CSV (code,kind,name_ru,name_kk,region,district,lat,lon,"
                        "active; see data/placements.csv); without it, the store's active placements")
    parser.add_argument("--size", choices=sorted(SIZES), type=str.lower, default="a4", help="paper size (default a4)")
    parser.add_argument("--out", default="posters.pdf", help="PDF to write (default posters.pdf)")
    parser.add_argument("--codes", metavar="DIR", help="also write CODE.png and CODE.svg for every placement to DIR")
    parser.add_argument("--form-url", help="the form's public address (default SC_FORM_URL)")
    parser.add_argument("--db", help="DuckDB file to read placements from when no CSV is given (default SC_DB)")


def _from_store(db: Path) -> list[dict]:
    """The store's active placements; while the app holds the file, the file it last published."""
    try:
        store.check_path(db)
        if not db.exists():
            raise PosterError(f"{db} does not exist; give a placements CSV")
        con = store.connect(db, read_only=True)
    except store.StoreLocked:
        published = settings.public_path(db) / placements.PUBLIC_FILE
        if not published.exists():
            raise PosterError(f"{db} is in use by the app and {published} does not exist; give a placements CSV") from None
        print(f"note: {db} is in use by the app; using its published {published}", file=sys.stderr)
        return [r for r in json.loads(published.read_text(encoding="utf-8")) if r.get("active")]
    except store.StoreError as exc:
        raise PosterError(str(exc)) from None
    try:
        frame = placements.table(con, None, active=True)
    except Exception as exc:  # an old store without the placements table
        raise PosterError(f"{db} has no placements ({' '.join(str(exc).split())[:120]})") from None
    finally:
        con.close()
    return frame.to_dict("records")


def _checked_url(base: str) -> str | None:
    """Why `base` cannot be printed under every code (None when it can): an http(s) address of a host."""
    from urllib.parse import urlsplit

    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in base):
        return f"{base!r} is not a web address; give e.g. https://form.akimat.kz (SC_FORM_URL or --form-url)"
    return None


def run_posters(args) -> int:
    out = Path(args.out)
    if out.exists() and out.suffix.lower() != ".pdf":  # `posters pl.csv --out pl2.csv` replaced a CSV with a PDF
        print(f"error: --out {out} exists and is not a PDF; give a .pdf file", file=sys.stderr)
        return 2
    problem = _checked_url(args.form_url or form_url())
    if problem:  # printed posters that open nothing cannot be taken back
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        rows = placements.read_csv(args.csv) if args.csv else _from_store(settings.db_path(args.db))
        taken_down = [r["code"] for r in rows if r.get("active") is False]
        rows = [r for r in rows if r.get("active") is not False]  # as the staff page prints: active ones
        if taken_down:
            shown = ", ".join(taken_down[:10]) + (f" and {len(taken_down) - 10} more" if len(taken_down) > 10 else "")
            many = "placement" if len(taken_down) == 1 else "placements"
            print(f"note: no posters for {len(taken_down)} inactive {many}: {shown}", file=sys.stderr)
        data = poster_pdf(rows, args.size, args.form_url)
    except placements.ImportRefused as exc:  # every bad line in the one line, so the clerk fixes them in one go
        print(f"error: {exc.name}: {'; '.join(map(str, exc.errors))}", file=sys.stderr)
        return 2
    except PosterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    try:
        if out.is_dir():
            raise IsADirectoryError(21, "a folder, not a file", str(out))
        out.write_bytes(data)
        if args.codes:
            folder = Path(args.codes)
            folder.mkdir(parents=True, exist_ok=True)
            for row in rows:
                (folder / f"{row['code']}.png").write_bytes(png(row["code"], args.form_url))
                (folder / f"{row['code']}.svg").write_bytes(svg(row["code"], args.form_url))
    except OSError as exc:
        print(f"error: {exc.filename or out}: cannot write ({exc.strerror})", file=sys.stderr)
        return 2
    if not (args.form_url or os.environ.get("SC_FORM_URL")):
        print(f"note: the codes open {form_url()}, the default; set SC_FORM_URL to the form's public address",
              file=sys.stderr)
    codes = f", codes in {args.codes}" if args.codes else ""
    print(f"{len(rows)} posters ({args.size.upper()}) written to {out}{codes}; the codes open {url('CODE', args.form_url)}")
    return 0
