"""District geometry: schematic cells we build ourselves, or an akimat's official GeoJSON.

No package ships district boundaries for Kazakhstan, and the map must work on a closed network,
so `python -m pipeline geo` builds a schematic map from facts we can cite: the approximate centre
of each district's territory (map_lat, map_lon in data/districts.csv; for the city districts, of
their part of the city) and hand-drawn outlines of the Aktobe region, Aktobe city
and Shymkent (data/geo/outlines.csv, a few dozen points traced from the published extents). Each
district gets the part of its outline closer to its centre than to any other (a Voronoi cell); the
result is a GeoJSON FeatureCollection with a `code` property per district and `schematic: true`.
Any GeoJSON whose features carry a `code` (or `district`) property matching data/districts.csv can
replace it: set SC_GEOJSON. Everything here is pure geometry: no tiles, no network.
"""
from __future__ import annotations

import argparse
import json
import sys
import math
from pathlib import Path

import pandas as pd

from pipeline import reference, settings

OUTLINES = reference.DATA / "geo" / "outlines.csv"
Ring = list[tuple[float, float]]  # (lon, lat)


# ---- building the schematic map ---------------------------------------------------------------
def _clip(poly: Ring, a: tuple[float, float], b: tuple[float, float]) -> Ring:
    """Keep the part of `poly` nearer to a than to b (Sutherland-Hodgman against the bisector);
    coordinates are already projected so distances are comparable in both axes."""
    mx, my = (a[0] + b[0]) / 2, (a[1] + b[1]) / 2
    nx, ny = b[0] - a[0], b[1] - a[1]
    side = lambda p: (p[0] - mx) * nx + (p[1] - my) * ny  # noqa: E731  (<= 0: nearer to a)
    out: Ring = []
    for i, cur in enumerate(poly):
        prev = poly[i - 1]
        sc, sp = side(cur), side(prev)
        if (sc <= 0) != (sp <= 0):
            t = sp / (sp - sc)
            out.append((prev[0] + t * (cur[0] - prev[0]), prev[1] + t * (cur[1] - prev[1])))
        if sc <= 0:
            out.append(cur)
    return out


def voronoi_cells(outline: Ring, centres: dict[str, tuple[float, float]]) -> dict[str, Ring]:
    """Cells of `outline` (lon, lat) around each centre, computed in a local equal-scale projection."""
    lat0 = sum(lat for _, lat in outline) / len(outline)
    k = math.cos(math.radians(lat0))
    proj = lambda p: (p[0] * k, p[1])  # noqa: E731
    unproj = lambda p: (round(p[0] / k, 4), round(p[1], 4))  # noqa: E731
    shape = [proj(p) for p in outline]
    cells = {}
    for code, c in centres.items():
        poly = shape
        for other, o in centres.items():
            if other != code and poly:
                poly = _clip(poly, proj(c), proj(o))
        cells[code] = [unproj(p) for p in poly]
    return cells


def build_schematic() -> dict:
    """GeoJSON FeatureCollection of schematic district cells."""
    outlines = pd.read_csv(OUTLINES)
    districts = reference.districts()
    features = []
    for area, pts in outlines.groupby("area", sort=False):
        ring = list(zip(pts["lon"].astype(float), pts["lat"].astype(float)))
        members = districts[districts["map_area"] == area]
        cells = voronoi_cells(ring, {r.code: (float(r.map_lon), float(r.map_lat)) for r in members.itertuples()})
        for code, cell in cells.items():
            features.append({"type": "Feature",
                             "properties": {"code": code, "area": area, "schematic": True},
                             "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in cell + cell[:1]]]}})
    return {"type": "FeatureCollection",
            "properties": {"schematic": True, "source": "Voronoi cells around district centres "
                           "(data/districts.csv) clipped to hand-drawn outlines (data/geo/outlines.csv)"},
            "features": features}


# ---- reading whichever map is configured -------------------------------------------------------
def path() -> Path:
    return Path(settings.get("GEOJSON"))


def load(file: str | Path | None = None) -> pd.DataFrame:
    """One row per district polygon ring: code, area, schematic, ring [(lon, lat), ...].
    Raises ValueError naming the file and the problem when the GeoJSON cannot be used."""
    file = Path(file) if file else path()
    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{file}: no district map; build one with `python -m pipeline geo`") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{file}: not valid JSON ({exc})") from None
    except UnicodeDecodeError:
        raise ValueError(f"{file}: not UTF-8 text, so not GeoJSON (a workbook or another encoding?)") from None
    except (OSError, RecursionError) as exc:
        raise ValueError(f"{file}: cannot be read ({getattr(exc, 'strerror', None) or type(exc).__name__})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("features", []), list):
        raise ValueError(f"{file}: not a GeoJSON FeatureCollection (no list of features)")
    try:
        return _rings(file, doc)
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        if str(exc).startswith(str(file)):
            raise
        raise ValueError(f"{file}: a feature's geometry cannot be read ({type(exc).__name__}: "
                         f"{' '.join(str(exc).split())[:120]})") from None


# Kazakhstan with a margin: a coordinate outside is swapped, projected (metres) or wrong
LON_RANGE, LAT_RANGE = (45.0, 88.0), (39.0, 56.5)


def _rings(file: Path, doc: dict) -> pd.DataFrame:
    districts = reference.districts().set_index("code")
    known = set(districts.index)
    rows, unknown = [], []
    for i, feat in enumerate(doc.get("features", [])):
        props = feat.get("properties") or {}
        code = props.get("code") or props.get("district")
        geom = feat.get("geometry") or {}
        if code not in known:
            unknown.append(f"feature {i}: {code!r}")
            continue
        polys = {"Polygon": [geom.get("coordinates")], "MultiPolygon": geom.get("coordinates")}.get(geom.get("type"))
        if not polys:
            unknown.append(f"feature {i}: geometry {geom.get('type')!r}")
            continue
        schematic = bool(props.get("schematic", doc.get("properties", {}).get("schematic", False)))
        area = props.get("area") or districts.loc[code, "map_area"]
        for poly in polys:
            ring = [(float(x), float(y)) for x, y, *_ in poly[0]]
            if len(ring) < 4:
                raise ValueError(f"{file}: feature {i} ({code}): a ring of {len(ring)} points; a polygon needs at "
                                 f"least 4 (the first repeated last)")
            bad = next(((x, y) for x, y in ring if not (LON_RANGE[0] <= x <= LON_RANGE[1]
                                                        and LAT_RANGE[0] <= y <= LAT_RANGE[1])), None)
            if bad:
                raise ValueError(f"{file}: feature {i} ({code}): point {bad} is not a longitude, latitude in "
                                 f"Kazakhstan (swapped, or projected in metres? GeoJSON is lon, lat in degrees)")
            rows.append((code, area, schematic, ring))
    if not rows:
        raise ValueError(f"{file}: no feature has a `code` property matching data/districts.csv"
                         + (f" ({'; '.join(unknown[:5])})" if unknown else ""))
    return pd.DataFrame(rows, columns=["code", "area", "schematic", "ring"])


def centroid(ring: Ring) -> tuple[float, float]:
    """Area-weighted centre of a ring (lon, lat); the label and click point of a district."""
    a = cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1]):
        cross = x0 * y1 - x1 * y0
        a += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    if abs(a) < 1e-12:
        return sum(x for x, _ in ring) / len(ring), sum(y for _, y in ring) / len(ring)
    return cx / (3 * a), cy / (3 * a)


def project(rings: list[Ring], width: float, height: float, pad: float = 0.03) -> tuple[list[Ring], callable]:
    """Fit rings into a width x height box (y down), keeping the local scale of both axes equal;
    returns the projected rings and the function that projects any (lon, lat)."""
    pts = [p for r in rings for p in r]
    lat0 = (min(y for _, y in pts) + max(y for _, y in pts)) / 2
    k = math.cos(math.radians(lat0))
    xs, ys = [x * k for x, _ in pts], [y for _, y in pts]
    w, h = max(xs) - min(xs) or 1, max(ys) - min(ys) or 1
    s = min(width * (1 - 2 * pad) / w, height * (1 - 2 * pad) / h)
    ox = (width - s * w) / 2 - s * min(xs)
    oy = (height - s * h) / 2 + s * max(ys)
    f = lambda p: (round(ox + s * p[0] * k, 1), round(oy - s * p[1], 1))  # noqa: E731
    return [[f(p) for p in r] for r in rings], f


# Where each area goes on one canvas: the region on top, the two cities side by side below.
AREA_BOXES = {"aktobe_region": (0.0, 0.0, 1.0, 0.6), "aktobe_city": (0.0, 0.62, 0.49, 0.38),
              "shymkent": (0.51, 0.62, 0.49, 0.38)}
TITLE_H = 44


def arrange(rings: pd.DataFrame, width: float = 1000, height: float = 1000, boxes: dict | None = None,
            title_h: float = TITLE_H) -> tuple[pd.DataFrame, dict]:
    """Rings placed on one width x height canvas (y down): a frame with code, area, points and the
    label point per ring, and per area its (title x, title y, projection) for extra layers.
    `boxes` (area -> x, y, w, h as fractions of the canvas) and `title_h` (the space above each
    area for its title, in canvas units) change the layout; areas without rings are skipped."""
    placed, areas = [], {}
    for area, (bx, by, bw, bh) in (boxes or AREA_BOXES).items():
        sub = rings[rings["area"] == area]
        if sub.empty:
            continue
        x0, y0, w, h = bx * width, by * height, bw * width, bh * height - title_h
        projected, f = project(list(sub["ring"]), w, h)
        shift = lambda p, x0=x0, y0=y0: (p[0] + x0, p[1] + y0 + title_h)  # noqa: E731
        areas[area] = (x0 + 4 * title_h / TITLE_H, y0 + title_h * 0.75, lambda p, f=f, shift=shift: shift(f(p)))
        for code, ring, pts in zip(sub["code"], sub["ring"], projected):
            placed.append((code, area, [shift(p) for p in pts], shift(f(centroid(ring)))))
    return pd.DataFrame(placed, columns=["code", "area", "points", "label"]), areas


# ---- CLI -------------------------------------------------------------------------------------
def arguments_geo(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", help="GeoJSON to write (default: SC_GEOJSON)")
    parser.add_argument("--check", metavar="FILE", help="only check that FILE can be used as the district map")
    parser.add_argument("--force", action="store_true",
                        help="replace --out even when it is not a schematic map made by this command")


def _is_schematic(path: Path) -> bool:
    """The file is a district map this command wrote (its collection says schematic)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and isinstance(doc.get("properties"), dict) and doc["properties"].get("schematic") is True


def run_geo(args: argparse.Namespace) -> int:
    if args.check:
        try:
            rings = load(args.check)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        missing = sorted(set(reference.districts()["code"]) - set(rings["code"]))
        print(f"{args.check}: {rings['code'].nunique()} districts, {len(rings)} polygons"
              + (f"; no shape for: {', '.join(missing)}" if missing else ""))
        return 0
    out = Path(args.out) if args.out else path()
    if out.is_dir():
        print(f"error: {out} is a folder; give a .geojson file", file=sys.stderr)
        return 2
    if out.exists() and not args.force and not _is_schematic(out):
        # SC_GEOJSON may be the akimat's official map: replacing it with our drawing lost it
        print(f"error: {out} exists and is not a schematic map made by this command (an official map?); "
              f"give another --out, or --force to replace it", file=sys.stderr)
        return 2
    out.parent.mkdir(parents=True, exist_ok=True)
    doc = build_schematic()
    out.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {len(doc['features'])} schematic districts to {out}")
    return 0
