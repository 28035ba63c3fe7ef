"""District and region names as call-centre exports write them: city and district words in ru/kk,
abbreviations, a city beside its district. Pure lookups on data/, no database."""
import pytest

from pipeline import reference


def region(value: str) -> str | None:
    """The region a region/city column value resolves to, keyed as ingest keys it."""
    keys = {reference._norm(str(v)): code for code, names in
            reference.regions().set_index("code")[["name_ru", "name_kk", "name_en"]].iterrows()
            for v in [code, *names]}
    return keys.get(reference._norm(value))


@pytest.mark.parametrize("value, code", [
    ("Абайский район г. Шымкент", "abai"),
    ("г.Шымкент, Туранский район", "turan"),
    ("Енбекшинский р-он", "enbekshi"),
    ("Енбекшинский р.", "enbekshi"),
    ("Енбекшинский р-н", "enbekshi"),
    ("Еңбекші ауд.", "enbekshi"),
    ("Шымкент қаласы, Қаратау ауданы", "karatau"),
    ("Абай ауданы (Шымкент қ.)", "abai"),
    ("город Шымкент Аль-Фарабийский район", "al_farabi"),
    ("Turan district, Shymkent city", "turan"),
    ("район Алматы, г.Актобе", "aktobe_almaty"),
    ("Алгинский р-н; Актюбинская обл.", "alga"),
    ("г. Кандыагаш, Мугалжарский р-н", "mugalzhar"),
    # what resolved before still does
    ("Аль-Фарабийский район", "al_farabi"),
    ("Алматы", "aktobe_almaty"),
    ("район Астана (г. Актобе)", "aktobe_astana"),
])
def test_district_beside_its_city_resolves(value, code):
    assert reference.match_district(value) == code


@pytest.mark.parametrize("value", [
    "Абайский, Туранский район",        # two districts
    "Абай Туран",
    "г. Шымкент, район Алматы",         # Aktobe's district beside Shymkent
    "г. Астана, район Алматы",          # another city's district of that name
    "г.Алматы",                         # the city of Almaty, not Aktobe's district
    "Алматы қаласы",
    "г. Караганда, Абайский район",     # another city's Abai district
    "г. Нарния, Туранский район",       # a city we do not know
    "г. Шымкент",                       # a city is no district
])
def test_ambiguous_or_foreign_district_stays_unknown(value):
    assert reference.match_district(value) is None


@pytest.mark.parametrize("value, code", [
    ("Актобе", "aktobe"), ("г. Актобе", "aktobe"), ("г.Актобе", "aktobe"), ("Ақтөбе қ.", "aktobe"),
    ("Актобе қаласы", "aktobe"), ("Ақтөбе", "aktobe"), ("Aktobe", "aktobe"), ("Aktyubinsk", "aktobe"),
    ("Актюбинская обл.", "aktobe"), ("Актюбинская область", "aktobe"), ("Ақтөбе облысы", "aktobe"),
    ("aktobe", "aktobe"),
    ("Шымкент", "shymkent"), ("город Шымкент", "shymkent"), ("Шымкент қаласы", "shymkent"),
    ("Shymkent", "shymkent"), ("shymkent", "shymkent"),
])
def test_region_centre_city_resolves_to_region(value, code):
    assert region(value) == code


@pytest.mark.parametrize("value", ["г. Караганда", "Алматы", "город Нарния", "Актобе, Шымкент"])
def test_unknown_or_ambiguous_city_stays_unknown(value):
    assert region(value) is None


def test_one_region_match_for_the_ingest_and_the_placements():
    from pipeline import reference

    for value, code in [("aktobe", "aktobe"), ("Актюбинская область", "aktobe"), ("г. Актобе", "aktobe"),
                        ("Шымкент", "shymkent"), ("SHYMKENT", "shymkent")]:
        assert reference.match_region(value) == code, value
    assert reference.match_region("Караганда") is None and reference.match_region("  ") is None


def test_pickers_list_names_in_the_alphabet_of_the_language():
    """Python's sort put Ә, Қ, Ө, Ү after Я: 'Әйтеке би ауданы' and 'Қарғалы ауданы' came last."""
    from pipeline import reference

    districts = reference.districts()
    aktobe = districts[districts["region"] == "aktobe"]
    kk = [reference.name(aktobe, c, "kk") for c in reference.in_order(aktobe, "kk")]
    assert kk.index("Әйтеке би ауданы") < kk.index("Байғанин ауданы") < kk.index("Қарғалы ауданы") \
        < kk.index("Мәртөк ауданы") < kk.index("Ырғыз ауданы") == len(kk) - 1
    ru = [reference.name(aktobe, c, "ru") for c in reference.in_order(aktobe, "ru")]
    assert ru[0] == "Айтекебийский район" and ru == sorted(ru, key=str.casefold)  # Russian: no letters apart
