"""Ideas: grouping quality on two labelled fixtures, incremental joining, staff's merges and splits
kept by a regroup, decisions and what is published. Fast (seconds)."""
from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path

import pandas as pd
import pytest

from streamlit.testing.v1 import AppTest

from formapp import published
from pipeline import auth, ideas, public, search, settings
from tests.conftest import signed_in

FIXTURES = Path(__file__).parent / "fixtures"


def pairwise(labels, truth) -> tuple[float, float]:
    tp = fp = fn = 0
    for i, j in itertools.combinations(range(len(truth)), 2):
        same, real = labels[i] == labels[j], truth[i] == truth[j]
        tp += same and real
        fp += same and not real
        fn += real and not same
    return tp / (tp + fp) if tp + fp else 1.0, tp / (tp + fn) if tp + fn else 1.0


def pooled(name: str, orders: int = 4) -> tuple[float, float]:
    """Mean pairwise precision and recall over a few arrival orders (the grouping is one pass)."""
    frame = pd.read_csv(FIXTURES / name)
    ps, rs = [], []
    for seed in range(orders):
        f = frame if seed == 0 else frame.sample(frac=1, random_state=seed).reset_index(drop=True)
        p, r = pairwise(ideas.cluster(f["text"].tolist()), f["group"].tolist())
        ps.append(p)
        rs.append(r)
    return sum(ps) / orders, sum(rs) / orders


def test_labelled_fixture_pairwise_precision_and_recall():
    p, r = pooled("ideas_labelled.csv")
    assert p >= 0.90 and r >= 0.90, (p, r)


def test_heldout_fixture_pairwise_precision_and_recall():
    """Measured once at the end of the long-letters branch: P 1.000, R 0.901 (was 1.00 / 0.89); a
    narrow pass, the fixture was not tuned on."""
    p, r = pooled("ideas_heldout.csv")
    assert p >= 0.90 and r >= 0.90, (p, r)


def test_second_heldout_fixture_of_longer_letters_pairwise_precision_and_recall():
    """A second held-out fixture of realistic letters (87-292 characters, greetings, capitals,
    context, places named on the way), written before measuring: P 0.83, R 0.48 before the
    long-letters branch, P 0.954, R 0.790 after it; the group-long branch developed on it (its
    errors were read): P 0.978, R 0.915 (a wider ru/kk vocabulary, stock sentences left out, a
    route's number said only in context no name, ranges of hours no names)."""
    p, r = pooled("ideas_heldout2.csv")
    assert p >= 0.90 and r >= 0.90, (p, r)


def test_third_heldout_fixture_of_long_letters_pairwise_precision_and_recall():
    """A third held-out fixture of long letters (224-389 characters, ru/kk/mixed, near-misses,
    Russian and Kazakh spellings of one street), written before the long-letters branch: P 0.874,
    R 0.107 before it, P 0.932, R 0.686 after it; the group-long branch developed on it (errors
    read): P 0.981, R 0.925. The honest measure is a blind fixture written apart."""
    p, r = pooled("ideas_heldout3.csv")
    assert p >= 0.90 and r >= 0.90, (p, r)


def test_fourth_heldout_fixture_of_long_letters_with_hard_negatives_pairwise_precision_and_recall():
    """A fourth held-out fixture, written blind (160 letters of 281-383 characters, ru/kk/mixed):
    hard negatives at one place on other topics (lighting and broken stairs in one underpass) and
    one topic in other cities (drinking fountains in Shymkent and Almaty). P 0.796, R 0.823 before
    the group-precise branch, which developed on it (errors read): P 0.941, R 0.918 (topics and
    cities part ideas, a city is no place, two-word street names)."""
    p, r = pooled("ideas_heldout4.csv")
    assert p >= 0.90 and r >= 0.90, (p, r)


@pytest.mark.xfail(strict=True, reason="fixture written blind for the group-long6 branch, which developed on it (errors "
                   "read): P 0.771, R 0.441 before it, P 0.879, R 0.719 after it, P 0.863, R 0.736 with the grown "
                   "vocabulary (2026-12-03); letters of one idea sharing few words "
                   "(the street or the school beside it, a route's number or its ends) still part, and ideas at one "
                   "place on neighbouring topics still meet")
def test_sixth_heldout_fixture_of_long_letters_sharing_few_words_pairwise_precision_and_recall():
    """A sixth fixture, written blind (165 letters of 300-363 characters, 40 ideas and 25 single
    letters, ru/kk/mixed): letters of one idea share few words (synonyms, Russian and Kazakh, the
    street or the school beside it, a route's number or its ends); hard negatives at one place, in
    other places or cities, route 12 and 21."""
    p, r = pooled("ideas_heldout6.csv")
    assert p >= 0.90 and r >= 0.90, (p, r)


def test_fifth_heldout_fixture_of_long_letters_written_blind_pairwise_precision_and_recall():
    """A fifth held-out fixture, written blind (161 letters of 335-399 characters in ten other cities,
    ru/kk/mixed, a third of the ideas hard negatives) and only measured: the honest figure for
    long letters. Its errors were not read. P 0.958, R 0.922 since the vocabulary grew by 868 general
    ru/kk words of urban requests in two rounds (2026-12-03, written apart from every fixture); before
    it P 0.954, R 0.848, a strict xfail."""
    p, r = pooled("ideas_heldout5.csv")
    assert p >= 0.90 and r >= 0.90, (p, r)


@pytest.mark.xfail(strict=True, reason="blind fixture written 2026-12-03 apart from the grouping code: P 0.832, R 0.821 "
                   "when measured; some of its wrong merges were read (route 12 in a letter naming no city joined route "
                   "12 in Shymkent; one request in two parks neither names by a marker), no change was kept from them; "
                   "P 0.841, R 0.831 with the grown vocabulary")
def test_seventh_heldout_fixture_of_long_letters_written_blind_pairwise_precision_and_recall():
    """A seventh fixture, written blind (162 letters of 301-359 characters, 42 ideas and 25 single
    letters, ru/kk/mixed, eleven pairs of hard negatives: one request at two crossings of one street,
    routes 12 and 21, route 12 in two cities, lighting and benches in one park, one request in two
    cities)."""
    p, r = pooled("ideas_heldout7.csv")
    assert p >= 0.90 and r >= 0.90, (p, r)


@pytest.mark.xfail(strict=True, reason="blind fixture written 2026-12-03 by a helper that saw neither the grouping code "
                   "nor the other fixtures: P 0.792, R 0.806 when first measured, P 0.795, R 0.820 with the grown "
                   "vocabulary; its errors not read")
def test_eighth_heldout_fixture_of_long_letters_written_blind_pairwise_precision_and_recall():
    """An eighth fixture, written blind (160 letters of 300-360 characters in other cities, 40 ideas
    and 25 single letters, ru/kk/mixed, nine pairs of hard negatives: one avenue's two crossings, two
    parks' lighting, lighting and benches in one park, routes 12 and 21, a shelter and a crossing at
    one stop, a ramp and queues at one clinic, one request in two cities)."""
    p, r = pooled("ideas_heldout8.csv")
    assert p >= 0.90 and r >= 0.90, (p, r)


@pytest.mark.xfail(strict=True, reason="blind fixture written 2026-12-03 by a helper that saw neither the grouping code "
                   "nor the other fixtures, in eight cities of the south and west: P 0.735, R 0.814 when first measured, "
                   "P 0.730, R 0.814 with the vocabulary's second round; its wrong merges were read once (a request at "
                   "one street joined by another request there: icicles and icy pavements, stray dogs and a dog park; "
                   "one request in two cities chained through a letter naming neither), no change kept from them yet")
def test_ninth_heldout_fixture_of_long_letters_written_blind_pairwise_precision_and_recall():
    """A ninth fixture, written blind (160 letters of 300-396 characters in Almaty, Astana, Shymkent,
    Aktobe, Atyrau, Taraz, Kyzylorda and Turkestan, 40 ideas and 25 single letters, ru/kk/mixed,
    eight pairs of hard negatives)."""
    p, r = pooled("ideas_heldout9.csv")
    assert p >= 0.90 and r >= 0.90, (p, r)


def test_a_place_asked_for_other_things_or_a_thing_asked_for_in_another_city_parts_ideas():
    stairs = "В переходе на Райымбека разрушены ступени. Прошу отремонтировать лестницу в переходе."
    light = "В переходе на Райымбека темно. Прошу поставить фонари в переходе."
    assert ideas.features(stairs).topics == {"stairs"} and ideas.features(light).topics == {"lighting"}
    assert len(set(ideas.cluster([stairs, light]))) == 2
    shym = "В парке Шымкента нет питьевых фонтанчиков. Прошу установить питьевые фонтанчики в парке."
    alm = "В парке Алматы нет питьевых фонтанчиков. Прошу установить питьевые фонтанчики в парке."
    assert ideas.features(shym).cities == {"шымкент"} and len(set(ideas.cluster([shym, alm]))) == 2
    assert len(set(ideas.cluster([shym, "Шымкенттегі саябаққа ауыз су бұрқақшаларын орнату керек"]))) == 1


def test_letters_asking_for_one_thing_in_other_words_share_its_topic_and_villages_are_places():
    from pipeline import placenames

    # long letters (a short note is mostly its thing's words already and gets no topic feature)
    dark = ideas.features("Добрый вечер. Мы с мужем гуляем в центральном парке после работы, там растут старые "
                          "деревья и много детей. Вечером в парке темно, страшно ходить по аллеям с коляской. "
                          "Прошу что-то сделать, пока никто не пострадал. Спасибо, жительница соседнего дома.")
    lamps = ideas.features("Сәлеметсіз бе. Мен осы ауданда жиырма жыл тұрамын, балаларым мектепке саябақ арқылы "
                           "барады. Саябақтағы шамдар екі айдан бері жанбайды, жол бойы қап-қараңғы. "
                           "Жарықтандыруды қалпына келтіріңіздер, өтінемін. Рахмет, зейнеткер апа.")
    assert "%lighting" in dark.feats & lamps.feats and "%lighting" not in dark.context | lamps.context
    assert "%lighting" not in ideas.features("В парке темно. Прошу поставить фонари.").feats
    assert placenames.places("В селе Бабайкорган нет медпункта") == placenames.places("Бабайқорған ауылында медпункт жоқ")
    assert not placenames.places("Біздің ауылымызда медпункт жоқ")


def test_ordinals_in_words_are_numbers_from_the_third_and_residential_areas_are_places():
    from pipeline import placenames

    assert ideas.ordinals_to_digits("ждём двенадцатый, под девятым микрорайоном, двадцать первый автобус") \
        == "ждём 12, под 9 микрорайоном, 21 автобус"
    assert ideas.ordinals_to_digits("Жетінші шағынауданда, отыз жетінші автобус, он екінші бағыт") \
        == "7 шағынауданда, 37 автобус, 12 бағыт"
    unchanged = "в первую очередь, парк Первого Президента, екінші рет, тоғыз адам"
    assert ideas.ordinals_to_digits(unchanged) == unchanged
    assert "#12" in ideas.features("Каждое утро ждём двенадцатый автобус по полчаса").feats
    # a day counted is no name: "третий день" (the third day without water) parts no idea
    assert ideas.features("В Кайтпасе нет воды третий день, сделайте водопровод").names \
        == ideas.features("В Кайтпасе нет воды, сделайте водопровод").names
    learned = placenames.learn(["в новом жилом массиве в Ахмирово"])
    assert placenames.places("Ахмирово тұрғын алабына автобус жоқ", learned) \
        == placenames.places("в жилом массиве в Ахмирово", learned) != frozenset()


def test_cities_are_where_a_letter_is_not_places_in_it():
    from pipeline import placenames

    assert placenames.cities("Өскемендегі «Үлбі» мәдениет үйі") == placenames.cities("В Усть-Каменогорске") \
        == {"усть-каменогорск"}
    assert not placenames.cities("Алматы ауданы, Ақтөбе") - {"актоб"}  # a district of Aktobe is no city
    assert not placenames.cities("автобусы на Бишкек и Талдыкорган") and not placenames.cities("много семей")
    assert not placenames.places("В 12-м микрорайоне Актобе") - {"#12"}  # the city is no place
    assert placenames.places("по проспекту Улы Дала") >= placenames.places("Ұлы Дала даңғылы бойынша")
    assert placenames.same(*placenames.places("проспект Бухар жырау"), *placenames.places("Бұқар жырау даңғылы"))


def test_letter_stock_is_left_out_but_a_short_note_keeps_its_words():
    doc = ideas.features("Здравствуйте! Я живу в этом районе больше двадцати лет. В парке нет туалета. "
                         "Мы платим налоги и имеем право на нормальные условия жизни. Прошу поставить туалет в парке.")
    assert doc.feats == {"туал", "парк", "уста"}
    paid = {ideas._word_feature(w, False)[0] for w in ("платим", "налоги")}
    assert paid <= ideas.features("Мы платим налоги. Нужен туалет.").feats  # too short to be a letter
    # a sentence a batch writes word for word at different places is stock; at one place, or twice, it is not
    texts = ["Нужен туалет в парке на Абая. Ничего не меняется уже годами, вот так.",
             "Нужен свет на улице Кунаева. Ничего не меняется уже годами, вот так.",
             "Каток на Жибек жолы. Ничего не меняется уже годами, вот так."]
    assert ideas.stock_sentences(texts) == {"ничего не меняется уже годами вот так"}
    assert not ideas.stock_sentences(texts[:2])
    assert not ideas.stock_sentences([t.replace("Кунаева", "Абая").replace("Жибек жолы", "Абая") for t in texts])
    # the address's abbreviation does not end a sentence: a short proposal repeated at many streets is no stock
    repeated = [f"Запустить фонтан у драмтеатра, он не работает, мкр. {p}" for p in ("Самал", "Туран", "Нурсат")]
    assert not ideas.stock_sentences(repeated)


def test_the_vocabulary_reads_kazakh_and_russian_forms_without_false_friends():
    kk = lambda w: ideas._word_feature(w, True)[0]  # noqa: E731
    ru = lambda w: ideas._word_feature(w, False)[0]  # noqa: E731
    assert kk("жылдан") == ru("год") != kk("жылу")  # a year is not heating, though жылу stems to жыл
    assert kk("жөндеп") == kk("жөндеу") == ru("отремонтируют") == ru("ремонт")  # forms the stemmers leave apart
    assert kk("отырмын") != kk("отырғызу")  # I sit is no planting
    assert kk("тұран") != ru("парковка") != ru("парк")  # a district is no parking, a parking no park
    assert kk("бұрқағын") == ru("фонтан") and kk("аялдамадағы") == ru("остановке")
    assert kk("қойыңыздар") == ru("поставить") and kk("түнгі") == ru("ночной") and kk("әуежайға") == ru("аэропорт")
    assert kk("бірақ") is None and ru("каждый") is None  # words every letter says


def test_no_concept_of_the_vocabulary_is_lost_as_a_word_every_letter_says():
    # a concept whose feature begins as a generic word does is dropped from every text (спасатель was
    # спас-, as спасибо; пожар пожа-, as пожалуйста); only the words meant to be generic may
    lost = {c for c, f in ideas._targets().items() if f[:ideas.PREFIX] in ideas._GENERIC_PREFIXES}
    assert lost <= {"город", "микрорайон", "нужно", "предлагаю", "предложение", "район", "улица"}, lost


def test_a_place_named_for_comparison_and_a_range_of_hours_part_no_idea():
    assert not ideas.features("Поставьте питьевые фонтанчики, как в Европе и в Астане.").names
    assert not ideas.features("Алматыдағы сияқты ауызсу бұрқақтарын орнату керек").names
    assert ideas.features("Прошу добавить автобусы на маршрут 8 с 19 до 23 часов").names == {"#8"}
    # a number said only in a sentence of context is a plain word
    doc = ideas.features("Поставьте навесы на остановках по Республике. Я вчера долго ждала 12 автобус.")
    assert "#12" in doc.feats and "#12" not in doc.names


def test_place_keys_meet_across_russian_and_kazakh_and_skip_common_words():
    from pipeline import placenames

    assert placenames.places("фонари на улице Кунаева") == placenames.places("Қонаев көшесінде шам жоқ")
    assert placenames.places("Тассайда жарық жоқ") == placenames.places("В микрорайоне Тассай темно")
    assert not placenames.places("Темно по улицам. Просим поставить фонари")  # a sentence, not a street
    assert not placenames.places("Жастар көшеде бос жүреді")  # in the street, not a street's name
    assert not placenames.places("Арықты темір тормен жабу керек")  # iron, not Темир
    # a common word is no slip of a rare name: "Құрметті" (Dear), the usual opening of a Kazakh letter,
    # was one fifth letter away from the village Курмы in 325 letters of the corpus and the fixtures
    assert not placenames.places("Құрметті әкімдік! Аулада жарық жоқ.") and not placenames.places("Құрметпен, Әсел")
    assert placenames.places("Нужен светофор на Байтусрынова") == placenames.places("Нужен светофор на Байтурсынова")
    # a slip is the whole name with one slip, not a word that starts like it: Кайтбаста and Кайптас are
    # Кайтпас; Қайталама ("repeated", opening many Kazakh appeals) and Қартайған ("aged") are no places
    assert placenames.places("Біз Кайтбаста тұрамыз") == placenames.places("Мы на Кайптас") \
        == placenames.places("Мы живём в Кайтпасе") != frozenset()
    assert not placenames.places("Қайталама өтініш. Қартайған ата-анам тұрады.")


def test_context_sentences_weigh_less_in_a_long_letter():
    doc = ideas.features("Здравствуйте! В парке нет туалета. Мы живём здесь десять лет. Прошу поставить туалет.")
    assert {"жив", "лет"} <= doc.context and not {"туал", "парк"} & doc.context
    assert not ideas.features("Поставить туалет в парке").context


def test_courtesy_and_measures_do_not_make_or_break_an_idea():
    from pipeline import textnorm

    assert textnorm.strip_courtesy("Здравствуйте! Уважаемый аким, сделайте, пожалуйста, каток. Заранее спасибо.") \
        == "сделайте каток."
    assert textnorm.strip_courtesy("Құрметті әкім мырза! Бағдаршам қойыңыздар, өтінемін. Рахмет!") == "Бағдаршам қойыңыздар."
    assert textnorm.strip_courtesy("Спасибо") == ""
    doc = ideas.features("Автобус 8 ходит раз в 40 минут, после 20:00 ждём до 23 часов")
    assert doc.names == frozenset({"#8"}) and {"#40", "#20", "#23"} <= doc.feats


def test_the_representative_is_a_clean_central_text_shown_without_greetings(con):
    texts = ["Нужен светофор на перекрёстке Абая и Байтусрынова",  # a slip
             "ЗДРАВСТВУЙТЕ! НУЖЕН СВЕТОФОР НА ПЕРЕКРЁСТКЕ АБАЯ И БАЙТУРСЫНОВА",
             "ЗДРАВСТВУЙТЕ! НУЖЕН СВЕТОФОР НА ПЕРЕКРЁСТКЕ АБАЯ И БАЙТУРСЫНОВА",
             "Здравствуйте! Нужен светофор на перекрёстке Абая и Байтурсынова, спасибо",
             "нужен светофор на перекрестке абая и байтурсынова"]
    add(con, texts)
    ideas.regroup(con)
    table = ideas.ideas_table(con, viewer=staff("admin"))
    assert len(table) == 1 and table["text"].iloc[0] == "Нужен светофор на перекрёстке Абая и Байтурсынова"


# ---- the store ---------------------------------------------------------------------------------
T0 = dt.datetime(2026, 11, 1, 9, tzinfo=dt.timezone.utc)


def add(con, texts, source="qr", start=0, category="landscaping", district="al_farabi"):
    for k, text in enumerate(texts):
        con.execute("""INSERT INTO submissions (source, source_id, received_at, text, region, district, category,
                                                status, contact)
                       VALUES (?, ?, ?, ?, 'shymkent', ?, ?, 'new', '+7 701 123 45 67')""",
                    [source, f"t{start + k}", T0 + dt.timedelta(hours=start + k), text, district, category])


def idea_of(con, text) -> int:
    return con.execute("""SELECT m.idea_id FROM idea_members m JOIN submissions s ON s.id = m.submission_id
                          WHERE s.text = ? AND m.kind = 'idea'""", [text]).fetchall()[0][0]


LIGHT = ["Установить светофор на перекрёстке Тауке хана и Байтурсынова",
         "На пересечении Тауке хана и Байтурсынова нужен светофор",
         "Тәуке хан мен Байтұрсынов қиылысына бағдаршам орнату керек"]
POOL = ["Построить бассейн для детей в Каратауском районе",
        "В Каратауском районе нет бассейна, нужен детский бассейн"]


def test_a_new_proposal_joins_its_idea_incrementally_and_old_ideas_keep_their_numbers(con):
    add(con, LIGHT[:2] + POOL)
    ideas.regroup(con)
    before = {t: idea_of(con, t) for t in LIGHT[:2] + POOL}
    assert before[LIGHT[0]] == before[LIGHT[1]] != before[POOL[0]] == before[POOL[1]]
    add(con, [LIGHT[2]], start=10)
    out = ideas.update(con)
    assert out["grouped"] == 1 and out["new_ideas"] == 0
    assert idea_of(con, LIGHT[2]) == before[LIGHT[0]]
    assert {t: idea_of(con, t) for t in before} == before


def staff(role: str) -> auth.Viewer:
    return auth.viewer_for("t_" + role, role)


def test_merge_and_split_survive_a_regroup_and_need_the_permission(con):
    add(con, LIGHT + POOL)
    ideas.regroup(con)
    light, pool = idea_of(con, LIGHT[0]), idea_of(con, POOL[0])
    with pytest.raises(auth.Forbidden):
        ideas.merge(con, staff("analyst"), light, pool)
    ideas.merge(con, staff("operator"), light, pool)
    new = ideas.split(con, staff("operator"), con.execute("SELECT id FROM submissions WHERE text = ?",
                                                           [LIGHT[2]]).fetchall()[0][0])
    ideas.regroup(con)
    assert idea_of(con, POOL[0]) == idea_of(con, LIGHT[0]) == light
    assert idea_of(con, LIGHT[2]) == new != light


def test_an_ideas_proposals_are_listed_newest_first_the_newest_few_when_many(con):
    add(con, LIGHT)
    ideas.regroup(con)
    idea = idea_of(con, LIGHT[0])
    every = ideas.members(con, idea, staff("operator"), limit=None)
    assert len(every) == len(LIGHT) and set(every["text"]) == set(LIGHT)
    assert list(every["received_at"]) == sorted(every["received_at"], reverse=True)
    newest = ideas.members(con, idea, staff("operator"), limit=2)
    pd.testing.assert_frame_equal(newest, every.head(2))
    assert list(newest.columns) == ["id", "received_at", "district", "placement", "language", "pinned", "text", "contact"]


def test_decisions_are_checked(con):
    add(con, POOL)
    ideas.regroup(con)
    idea = idea_of(con, POOL[0])
    akim = staff("akim")
    with pytest.raises(auth.Forbidden):
        ideas.decide(con, staff("operator"), idea, "accepted", department="x", decided_on=dt.date(2026, 11, 2))
    for kwargs, code in (({"decision": "maybe"}, "bad_decision"),
                         ({"decision": "accepted", "department": "nowhere", "decided_on": dt.date(2026, 11, 2)},
                          "needs_department"),
                         ({"decision": "not_accepted"}, "needs_reason"),
                         ({"decision": "under_study", "answer": "x" * 4001}, "too_long")):
        with pytest.raises(ideas.IdeaError) as err:
            ideas.decide(con, akim, idea, **kwargs)
        assert err.value.code == code
    with pytest.raises(ideas.IdeaError):
        ideas.decide(con, akim, 999_999, "under_study")


def test_published_decisions_are_masked_and_carry_no_contacts(con, tmp_path):
    from pipeline import sla

    texts = ["Меня зовут Айгуль Нурланова, мой телефон +7 701 555 12 34. Построить бассейн для детей в Каратауском районе",
             "В Каратауском районе нет бассейна, нужен детский бассейн"]
    add(con, texts)
    ideas.regroup(con)
    idea, other = idea_of(con, texts[1]), idea_of(con, texts[0])
    if other != idea:  # however the grouping saw them, staff put them together
        ideas.merge(con, staff("admin"), idea, other)
    department = sla.departments()["code"].iloc[0]
    ideas.decide(con, staff("akim"), idea, "accepted", answer="Строим. Звоните +7 701 555 12 34",
                 department=department, decided_on=dt.date(2026, 11, 20))
    path, n = ideas.publish_decisions(con, tmp_path / "public" / "decisions.json")
    document = json.loads(path.read_text(encoding="utf-8"))
    rows = document["decisions"]
    assert document["version"] == 1 and n == len(rows) == 1
    body = json.dumps(rows, ensure_ascii=False)
    assert "555 12 34" not in body and "+7 701" not in body
    assert set(rows[0]) == set(public.DECISION_FIELDS)
    assert rows[0]["supporters"] == 2 and rows[0]["date"] == "2026-11-20"
    assert published.parse_decisions(document)  # what the public form reads
    assert not [p for p in (tmp_path / "public").iterdir() if p.name != "decisions.json"]  # no temporary file left


# ---- the page ------------------------------------------------------------------------------------
def test_page_ranks_shows_masked_proposals_merges_decides_and_publishes(real_app, tmp_path, monkeypatch):
    from pipeline import sla

    monkeypatch.setenv("SC_PUBLIC_DIR", str(tmp_path / "public"))
    secret = "Меня зовут Айгуль Нурланова, мой телефон +7 701 555 12 34. Построить бассейн для детей в Каратауском районе"

    def fill(con):
        add(con, LIGHT + [secret, POOL[1], "<b>Нужен</b> каток в сквере на Маресьева"])
        ideas.regroup(con)

    at = real_app(fill)
    at.run()
    at.switch_page("pages/ideas.py").run()
    assert not at.exception, at.exception
    ranked = at.dataframe[0].value
    assert ranked["Поддержали"].tolist()[0] == 3  # the traffic light: three proposals, ranked first
    texts = " ".join(ranked["Текст"])
    assert "<b>Нужен</b> каток" in texts  # residents' markup stays text
    # the admin sees contacts; an analyst sees the same idea masked and no group or decision forms
    light = int(ranked["Идея"].iloc[0].removeprefix("№ "))
    pool = next(int(i.removeprefix("№ ")) for i, t in zip(ranked["Идея"], ranked["Текст"]) if "бассейн" in t)
    at.selectbox(key="id_pick").set_value(pool).run()
    if len(at.dataframe[1].value) == 1:  # however the grouping saw the two pool proposals, merge them
        other = next(int(i.removeprefix("№ ")) for i, t in zip(ranked["Идея"], ranked["Текст"])
                     if "бассейн" in t and int(i.removeprefix("№ ")) != pool)
        at.selectbox(key="id_merge_other").set_value(other).run()
        at.button(key="id_merge").click().run()
        assert at.success and "присоединена" in at.success[0].value, [e.value for e in at.error]
    # a decision: not accepted without a reason is refused in words; accepted with a department is kept
    at.selectbox(key="id_pick").set_value(pool).run()
    choice = f"id_choice_{pool}"
    assert at.radio(key=choice).value is None  # an undecided idea: no decision pre-selected
    at.button(key=f"FormSubmitter:id_decide_{pool}-Сохранить решение").click().run()
    assert at.error[0].value.startswith("Выберите решение"), [e.value for e in at.error]
    at.radio(key=choice).set_value("not_accepted")
    at.button(key=f"FormSubmitter:id_decide_{pool}-Сохранить решение").click().run()
    assert at.error[0].value == "Для непринятой идеи укажите причину."
    at.radio(key=choice).set_value("accepted")
    at.selectbox(key="id_department").set_value(sla.departments()["code"].iloc[0])
    at.text_area(key="id_answer").set_value("Бассейн в плане на 2027 год")
    at.button(key=f"FormSubmitter:id_decide_{pool}-Сохранить решение").click().run()
    assert not at.error and at.success[0].value.startswith(f"Решение по идее № {pool} сохранено"), \
        [e.value for e in at.error]
    at.selectbox(key="id_pick").set_value(light).run()
    assert at.radio(key=f"id_choice_{light}").value is None  # another idea's form starts empty too
    at.selectbox(key="id_pick").set_value(pool).run()
    assert at.radio(key=choice).value == "accepted"  # a decided idea shows its decision
    at.button(key="id_publish").click().run()
    assert at.success[0].value.startswith("Опубликовано принятых идей: 1")
    document = json.loads((tmp_path / "public" / "decisions.json").read_text(encoding="utf-8"))
    assert [d["idea"] for d in document["decisions"]] == [str(pool)]
    assert "555 12 34" not in json.dumps(document, ensure_ascii=False)
    # an analyst: masked texts, no forms
    at = signed_in(AppTest.from_file(str(settings.ROOT / "app.py"), default_timeout=60), "analyst")
    at.run()
    at.switch_page("pages/ideas.py").run()
    assert not at.exception, at.exception
    at.selectbox(key="id_pick").set_value(pool).run()
    shown = " ".join(at.dataframe[1].value["Текст"]) + " ".join(at.dataframe[0].value["Текст"])
    assert "555 12 34" not in shown and "Нурланова" not in shown
    assert not [e for e in at.expander if e.label == "Объединить или разделить"]
    assert not at.get("form") and light


# ---- after a drain ---------------------------------------------------------------------------------
def test_after_a_drain_new_proposals_join_their_ideas_and_decisions_are_published(con, tmp_path, caplog):
    from pipeline import sla

    add(con, LIGHT[:2] + POOL)
    ideas.regroup(con)
    pool = idea_of(con, POOL[0])
    ideas.decide(con, staff("akim"), pool, "accepted", department=sla.departments()["code"].iloc[0],
                 decided_on=dt.date(2026, 11, 20))
    hook = ideas.AfterDrain()
    assert hook.after_drain(con, [], tmp_path) == {}  # nothing drained: decisions.json published once
    first = json.loads((tmp_path / "decisions.json").read_text(encoding="utf-8"))["decisions"]
    assert [d["supporters"] for d in first] == [2]
    add(con, ["Бассейн для детей в Каратауском районе, пожалуйста"], start=20)
    con.execute("UPDATE submissions SET ingest_run_id = 7 WHERE source_id = 't20'")
    out = hook.after_drain(con, [{"ingest_run_id": 7, "inserted": 1}], tmp_path)
    assert out["ideas"] == {"grouped": 1, "new_ideas": 0}
    assert idea_of(con, "Бассейн для детей в Каратауском районе, пожалуйста") == pool
    assert json.loads((tmp_path / "decisions.json").read_text(encoding="utf-8"))["decisions"][0]["supporters"] == 3
    # staff moved proposals meanwhile: the kept state is built again, not trusted
    ideas.split(con, staff("operator"), con.execute("SELECT id FROM submissions WHERE text = ?", [LIGHT[1]]).fetchall()[0][0])
    add(con, [LIGHT[2]], start=30)
    con.execute("UPDATE submissions SET ingest_run_id = 8 WHERE source_id = 't30'")
    assert hook.after_drain(con, [{"ingest_run_id": 8, "inserted": 1}], tmp_path)["ideas"]["grouped"] == 1
    # a failure is logged and the drain goes on
    add(con, ["Посадить деревья вдоль улицы Момышулы"], start=40)
    con.execute("UPDATE submissions SET ingest_run_id = 9 WHERE source_id = 't40'")
    hook.live.update = lambda con: 1 / 0
    assert "ideas" not in hook.after_drain(con, [{"ingest_run_id": 9, "inserted": 1}], tmp_path)
    assert "grouping new proposals failed" in caplog.text
    assert hook.after_drain(con, [{"ingest_run_id": 9, "inserted": 1}], tmp_path)["ideas"]["grouped"] == 1


# ---- incidents -----------------------------------------------------------------------------------
def complaint(con, sid, hours, text, category="water", district="al_farabi"):
    con.execute("""INSERT INTO submissions (source, source_id, received_at, text, region, district, category, status,
                                            search_terms)
                   VALUES ('hotline_109', ?, ?, ?, 'shymkent', ?, ?, 'new', ?)""",
                [sid, T0 + dt.timedelta(hours=hours), text, district, category, search.stored_terms(text)])


def test_incidents_need_three_reports_of_one_street_or_wording_and_the_counts_match_direct_sql(con):
    from pipeline.queries import incidents
    from pipeline.queries.filters import Filters

    burst = ["Прорвало трубу, течёт вода. Адрес: ул. Маресьева, 12", "Нет воды, прорыв на ул. Маресьева, 40",
             "Во дворе фонтан из трубы (ул. Маресьева, 7)", "Опять вода хлещет, ул. Маресьева, 12"]
    for k, text in enumerate(burst):  # one event: one street, each within 6 h of the one before
        complaint(con, f"b{k}", 2 * k, text)
    complaint(con, "late", 20, "Прорвало трубу на ул. Маресьева, 12")  # 14 h after the last: another matter
    complaint(con, "gas", 1, "Запах газа, ул. Маресьева, 3", category="gas")  # another category
    complaint(con, "far", 3, "Прорвало трубу на ул. Маресьева", district="abai")  # another district
    for k, text in enumerate(["Течёт кран в подъезде, Толе би 5", "Нет горячей воды, Байтурсынова 10"]):
        complaint(con, f"pair{k}", 30 + k, text)  # two unrelated reports: never an incident
    ideas.update_incidents(con)
    grouped = con.execute("""SELECT s.source_id, m.idea_id FROM idea_members m JOIN submissions s ON s.id = m.submission_id
                             WHERE m.kind = 'incident' ORDER BY s.source_id""").fetchall()
    assert [sid for sid, _ in grouped] == ["b0", "b1", "b2", "b3"] and len({i for _, i in grouped}) == 1
    f = Filters(start=(T0 - dt.timedelta(days=1)).date(), end=(T0 + dt.timedelta(days=2)).date())
    direct = con.execute("""SELECT count(*), count(DISTINCT m.idea_id) FROM idea_members m
                            JOIN submissions s ON s.id = m.submission_id
                            JOIN ideas i ON i.id = m.idea_id AND i.kind = 'incident'""").fetchall()[0]
    assert incidents.counts(con, f) == {"reports": direct[0], "incidents": direct[1]} == {"reports": 4, "incidents": 1}
    assert incidents.counts(con, Filters(start=f.start, end=f.end, district="abai")) == {"reports": 0, "incidents": 0}
    assert incidents.counts_between(con, T0, T0 + dt.timedelta(hours=3)) == {"reports": 2, "incidents": 1}
    assert incidents.line({"reports": 4, "incidents": 1}, "ru") == "4\u00a0обращения о 1\u00a0происшествии (одно событие — много сообщений)"
