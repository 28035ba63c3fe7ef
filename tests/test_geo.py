"""District geometry: the schematic cells tile each outline, the shipped map covers every
district, and an unusable GeoJSON is refused with a reason."""
import json

import pytest

from pipeline import geo, reference
from pipeline.__main__ import main


def area(ring):
    return abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1]))) / 2


def inside(p, ring):
    x, y = p
    hit = False
    for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1]):
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            hit = not hit
    return hit


def test_voronoi_cells_tile_the_outline_and_hold_their_centres():
    square = [(0, 0), (4, 0), (4, 4), (0, 4)]
    centres = {"a": (1, 1), "b": (3, 1), "c": (2, 3)}
    cells = geo.voronoi_cells(square, centres)
    assert sum(area(c) for c in cells.values()) == pytest.approx(16, rel=1e-3)
    assert all(inside(centres[k], cells[k]) for k in centres)


def test_the_shipped_schematic_map_covers_every_district_and_is_current():
    rings = geo.load()
    assert set(rings["code"]) == set(reference.districts()["code"])
    assert rings["schematic"].all()
    d = reference.districts().set_index("code")
    for r in rings.itertuples():  # each district's centre lies in its own cell
        assert inside((d.loc[r.code, "map_lon"], d.loc[r.code, "map_lat"]), r.ring), r.code
    shipped = json.loads(geo.path().read_text(encoding="utf-8"))
    assert shipped["features"] == geo.build_schematic()["features"], "run `python -m pipeline geo`"


def test_arrange_keeps_every_area_on_the_canvas():
    placed, areas = geo.arrange(geo.load(), 1000, 1000)
    assert set(areas) == {"aktobe_region", "aktobe_city", "shymkent"}
    for r in placed.itertuples():
        assert all(0 <= x <= 1000 and 0 <= y <= 1000 for x, y in r.points)


def test_an_official_geojson_with_multipolygons_replaces_the_schematic(tmp_path):
    square = [[69.5, 42.3], [69.6, 42.3], [69.6, 42.4], [69.5, 42.3]]
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"district": "abai"}, "geometry": {"type": "MultiPolygon", "coordinates": [[square], [square]]}},
        {"type": "Feature", "properties": {"code": "nowhere"}, "geometry": {"type": "Polygon", "coordinates": [square]}}]}
    path = tmp_path / "official.geojson"
    path.write_text(json.dumps(doc))
    rings = geo.load(path)
    assert rings["code"].tolist() == ["abai", "abai"] and not rings["schematic"].any()
    assert main(["geo", "--check", str(path)]) == 0


@pytest.mark.parametrize("content, reason", [
    ("{not json", "not valid JSON"),
    ('{"features": [{"properties": {"code": "atlantis"}, "geometry": {"type": "Polygon", "coordinates": []}}]}', "'atlantis'"),
])
def test_an_unusable_geojson_is_refused_with_the_file_and_reason(tmp_path, content, reason, capsys):
    path = tmp_path / "bad.geojson"
    path.write_text(content)
    with pytest.raises(ValueError, match=reason):
        geo.load(path)
    assert main(["geo", "--check", str(path)]) == 2
    assert str(path) in capsys.readouterr().err


def test_reference_names_follow_the_table_and_fall_back_to_the_code():
    import pandas as pd

    from pipeline import reference

    tax = reference.taxonomy()
    first = tax.iloc[0]
    assert reference.name(tax, first["code"], "kk") == first["name_kk"]
    assert reference.name(tax, first["code"], "xx") == first["name_ru"]           # unknown language: Russian
    assert reference.name(tax, "no_such_code", "ru") == "no_such_code"
    assert reference.name(tax, None, "ru") == "None" and reference.name(tax, ["a"], "ru") == "['a']"
    fresh = pd.DataFrame({"code": ["a", "a", "b"], "name_ru": ["first", "second", "b"]})
    assert reference.name(fresh, "a", "ru") == "first"                             # the first row of a code
    fresh2 = fresh.assign(name_ru=["другое", "x", "y"])                            # another table, its own names
    assert reference.name(fresh2, "a", "ru") == "другое" and reference.name(fresh, "a", "ru") == "first"


def test_check_names_the_file_and_the_problem_of_a_broken_map(tmp_path):
    from pipeline import geo

    cases = {
        "points.geojson": ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"code": '
                           '"abai"}, "geometry": {"type": "Polygon", "coordinates": [[[69.5, 42.3], [69.6, 42.3]]]}}]}',
                           "a ring of 2 points"),
        "metres.geojson": ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"code": '
                           '"abai"}, "geometry": {"type": "Polygon", "coordinates": [[[500, 500], [501, 500], '
                           '[501, 501], [500, 500]]]}}]}', "not a longitude, latitude in Kazakhstan"),
        "list.geojson": ("[1, 2]", "not a GeoJSON FeatureCollection"),
        "words.geojson": ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"code": '
                          '"abai"}, "geometry": {"type": "Polygon", "coordinates": [[["a", 1], [1, 2]]]}}]}',
                          "geometry cannot be read"),
    }
    for name, (content, why) in cases.items():
        (tmp_path / name).write_text(content, encoding="utf-8")
        with pytest.raises(ValueError, match=why) as err:
            geo.load(tmp_path / name)
        assert str(err.value).startswith(str(tmp_path / name))
    (tmp_path / "cp1251.geojson").write_bytes("Абай".encode("cp1251"))
    with pytest.raises(ValueError, match="not UTF-8 text"):
        geo.load(tmp_path / "cp1251.geojson")
