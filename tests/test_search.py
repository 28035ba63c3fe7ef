"""Word-form search: which forms find each other, which must not, and the key's shape."""
import itertools

import numpy as np
import pytest

from pipeline import search


def finds(query: str, text: str) -> bool:
    return search.matches(search.doc_key(text), search.query_groups(query))


def ru(word: str) -> str:  # a Russian sentence around a word: no Kazakh sign in it
    return f"Жители жалуются: {word}, просим принять меры."


def kk(word: str) -> str:  # a Kazakh sentence around a word: "біздің" has Kazakh-only letters
    return f"Біздің ауданда {word}, шара қолдануды сұраймыз."


# Forms of one word that must find each other, whichever is typed and whichever is stored.
RU_FORMS = [
    ("ямы", "яма", "ямой", "ям", "ямах"),
    ("фонарь", "фонари", "фонарей", "фонарями"),
    ("отопление", "отопления", "отоплением", "отоплении"),
    ("лифт", "лифта", "лифтов", "лифте"),
    ("подъезд", "подъезде", "подъезды", "подъездов"),
    ("мусор", "мусора", "мусором"),
    ("вода", "воды", "водой", "воде"),
    ("снег", "снега", "снегом"),
    ("автобус", "автобусы", "автобусов", "автобусе"),
    ("дорога", "дороги", "дорогу", "дорог"),
    ("улица", "улицы", "улице", "улицу"),
    ("двор", "двора", "дворе", "дворов"),
    ("труба", "трубы", "трубой", "трубе"),
    ("свет", "света", "светом"),
    ("крыша", "крыши", "крыше"),
    ("школа", "школы", "школе"),
    ("газ", "газа", "газом"),
    ("канализация", "канализации", "канализацию"),
    ("освещение", "освещения", "освещении"),
    ("ремонт", "ремонта", "ремонтом"),
    ("остановка", "остановки", "остановке"),
    ("квартира", "квартиры", "квартире"),
    ("асфальт", "асфальта", "асфальтом"),
    ("собака", "собаки", "собак"),
    ("светофор", "светофора", "светофоры"),
    ("тротуар", "тротуара", "тротуаре"),
    ("площадка", "площадки", "площадке"),
    ("мост", "моста", "мосту"),
]
KK_FORMS = [
    ("жарық", "жарығы", "жарықтың", "жарыққа", "жарықсыз", "жарығын"),
    ("су", "суы", "судың", "суда", "суға", "сусыз"),
    ("жол", "жолдар", "жолда", "жолдың", "жолы", "жолға", "жолдарды", "жолдағы"),
    ("мектеп", "мектебі", "мектепке", "мектепте", "мектептер", "мектебінде"),
    ("көше", "көшесі", "көшеде", "көшелер", "көшесінде", "көшеге", "көшенің", "көшедегі"),
    ("аула", "ауласында", "аулада", "аулалар", "ауланың", "ауласы"),
    ("қоқыс", "қоқысты", "қоқыстар", "қоқыстың", "қоқысы", "қоқысқа"),
    ("үй", "үйлер", "үйде", "үйіміз", "үйге", "үйімізде"),
    ("жылу", "жылуы", "жылусыз"),
    ("лифт", "лифті", "лифтілер"),
    ("бағдаршам", "бағдаршамы", "бағдаршамдар"),
    ("аялдама", "аялдамада", "аялдамасы"),
    ("автобус", "автобустар", "автобуста", "автобусы"),
    ("қала", "қаласы", "қалада", "қаланың"),
    ("аудан", "ауданда", "ауданның", "ауданнан", "ауданы", "ауданына"),
    ("шам", "шамдар", "шамы"),
    ("ағаш", "ағаштар", "ағашты", "ағаштың"),
    ("құбыр", "құбырлар", "құбыры", "құбырдың"),
    ("жөндеу", "жөндеуі", "жөндеуге"),
    ("алаң", "алаңы", "алаңда", "алаңның"),
    ("мәселе", "мәселесі", "мәселені", "мәселемен"),
    ("тұрғын", "тұрғындар", "тұрғындары", "тұрғындардың"),
    ("кезек", "кезегі", "кезекте"),
    ("әкімдік", "әкімдігі", "әкімдікке", "әкімдіктің"),
    ("пәтер", "пәтерде", "пәтерлер", "пәтері"),
    ("көлік", "көлігі", "көліктер", "көлікпен"),
    ("есік", "есігі", "есікті"),
    ("шағым", "шағымы", "шағымдар"),
]


def _pairs(groups):
    for forms in groups:
        yield from itertools.permutations(forms, 2)


@pytest.mark.parametrize("query,stored", list(_pairs(RU_FORMS)))
def test_russian_forms_find_each_other(query, stored):
    assert finds(query, ru(stored))


@pytest.mark.parametrize("query,stored", list(_pairs(KK_FORMS)))
def test_kazakh_forms_find_each_other(query, stored):
    assert finds(query, kk(stored))


# Words that share letters but not meaning: none may find the other.
APART = [
    ("вода", "водитель"), ("мост", "мостовая"),  # мостовая is the pavement, not a bridge
    ("свет", "светофор"), ("газ", "газон"), ("дом", "домофон"), ("труба", "трубка"),
    ("тепло", "теплица"), ("школа", "школьник"), ("лифт", "лифтер"), ("кран", "крановщик"),
    ("жол", "жолақ"),  # a stripe
    ("жарық", "жарылыс"),  # an explosion
    ("көше", "көш"),  # a migration
    ("мектеп", "мекен"), ("су", "сурет"), ("аула", "ауыл"), ("үй", "үйрек"),
    ("қала", "қалта"), ("шам", "шаң"),  # dust
]


@pytest.mark.parametrize("a,b", APART)
def test_different_words_do_not_find_each_other(a, b):
    for text in (ru, kk):
        assert not finds(a, text(b)), (a, b, text.__name__)
        assert not finds(b, text(a)), (b, a, text.__name__)


def test_brief_examples():
    assert finds("ямы", "На дороге яма") and finds("ямы", "Ямой повредил колесо") and finds("ямы", "сколько ям")
    assert finds("жарық", "Көшеде жарығы жоқ") and finds("жарық", "жарықтың мәселесі")
    assert finds("фонарь", "Фонари не горят") and finds("фонарь", "нет фонарей")
    assert finds("су", "Үйдің суы жоқ") and finds("су", "судың сапасы нашар")
    assert finds("отопление", "Нет отопления")


def test_a_russian_text_is_read_as_russian_only():
    # "суда" in Russian is the court's: without a Kazakh sign the text has no Kazakh readings.
    assert not finds("су", "Решение суда не исполнено")
    assert finds("суд", "Решение суда не исполнено")
    assert search.doc_key("Решение суда") == " решен суд "


def test_a_kazakh_word_without_kazakh_letters_needs_a_kazakh_sign_in_the_text():
    assert finds("жол", "Жолда шұңқыр")  # шұңқыр: Kazakh letters
    assert finds("жол", "Жолда су жок деп айттык")  # деп, жок: common Kazakh words
    assert not finds("жол", "Жолда")  # one plain word reads as Russian: a known gap


def test_every_query_word_is_required():
    text = "Во дворе яма и не горят фонари"
    assert finds("яма фонарь", text)
    assert not finds("яма снег", text)
    assert not finds("", text) and not finds("и на в", text)


def test_mixed_texts_find_both_languages():
    text = "Здравствуйте! Біздің көшеде фонари не горят, жарық жоқ, подъезде темно."
    for q in ("фонарь", "жарық", "көше", "подъезд", "жарығы", "көшесі"):
        assert finds(q, text), q
    assert finds("жарық фонари", text)


def test_yo_is_e_and_case_and_punctuation_do_not_matter():
    assert finds("елка", "Упала ёлка!") and finds("ёлка", "упала елка")
    assert finds("ЯМА", "«Ямы»—везде...") and finds("яма!!!", "(ямы)")
    assert search.stem("ёлка") == search.stem("елка")


def test_latin_lookalikes_inside_cyrillic_words():
    assert finds("дорога", "дoрoги разбиты")  # Latin o
    assert finds("көше", "көшесi")  # Latin i for і
    assert finds("жол", "жолда cyы бiтiп калды")  # Latin letters only: the i makes the text Kazakh


def test_doc_key_shape_and_determinism():
    text = "Яма, яма, ЯМЫ! На улице 5 ям и 10 фонарей. 2024"
    key = search.doc_key(text)
    assert key == " улиц фонар ям "
    assert key.startswith(" ") and key.endswith(" ") and "  " not in key
    words = key.split()
    assert words == sorted(set(words))
    assert search.doc_key(text) == key == search.doc_key(text.upper().replace("Я", "я"))
    assert search.doc_key("") == search.doc_key("12 345, !!") == search.doc_key("и на в") == " "
    assert search.doc_key(None) == search.doc_key(float("nan")) == " "


def test_stop_words_digits_and_single_letters_are_left_out():
    assert search.doc_key("и в на не что по с у және мен бұл да де х 42") == " "
    assert search.stem("и") == search.stem("және") == search.stem("12") == ""
    assert search.query_groups("и яма 12") == [("ям", "яма")]  # Russian reading, then the Kazakh one


def test_only_the_first_4000_characters_are_keyed():
    text = "слово " * 700 + "мусор"
    assert len(text) > search.MAX_CHARS and " мусор " not in search.doc_key(text)


def test_stem_of_one_word():
    assert search.stem("ямы") == "ям" and search.stem("фонарей") == "фонар"
    assert search.stem("жарығы") == search.stem("жарықтың") == "жарық"
    assert search.stem("мектебі") == "мектеп"
    assert search.stem("wifi") == "wifi"  # Latin words are kept as they are


def test_query_groups_and_terms():
    groups = search.query_groups('"ямы" жарығы вода ямой')
    assert groups == [("ям", "ямы"), ("жарық",), ("вод", "во"), ("ям", "ямой")]  # Russian reading first
    terms = search.query_terms("ямы вода")
    assert terms[0] == "ям" and "вод" in terms and len(terms) == len(set(terms))
    assert search.key_needles([("ям",)]) == [(" ям ",)]


def test_highlight_spans_are_offsets_of_matched_words():
    text = "Көшеде ЖАРЫҒЫ жоқ; фонари не горят. Жарық!"
    spans = search.highlight_spans(text, search.query_terms("жарық фонарь"))
    assert [text[a:b] for a, b in spans] == ["ЖАРЫҒЫ", "фонари", "Жарық"]
    assert search.highlight_spans(text, []) == [] and search.highlight_spans("", ["ям"]) == []
    yo = "Ёлка упала"
    assert [yo[a:b] for a, b in search.highlight_spans(yo, ["елк"])] == ["Ёлка"]


def test_score_counts_distinct_terms_then_words():
    terms = search.query_terms("яма фонарь")
    assert search.score("яма, ямы и фонарь", terms) > search.score("яма, ямы, ямой", terms)
    assert search.score("ничего", terms) == (0, 0)


def test_stored_terms_round_trip_and_match_only_whole_tokens():
    """The store keeps a text's terms as six-character tokens (search.encode); a contains() test of
    one token is exact: it cannot match across two tokens, whatever their digits."""
    import duckdb

    lists = [[], [0], [1, 2, 4294967295], [0x1B24F372, 0xDEADBEEF], sorted({search.term_id(s) for s in "яма жарық".split()})]
    stored = [search.encode(x) for x in lists]
    assert stored[2] == '!!!!" !!!!# s8W-! ' and search.token(0) == "!!!!! "  # base 85 from '!'; 2**32 - 1
    assert search.encode_many(lists).to_pylist() == stored
    assert [search.decode(s) for s in stored] == lists and search.decode(None) == []
    offsets, flat = search.decode_many([*stored, None])
    # a NULL read through pandas' string columns is NaN (incident grouping reads them so)
    assert search.decode_many(np.array([stored[2], float("nan")], dtype=object))[0].tolist() == [0, 3, 3]
    assert offsets.tolist() == [0, 0, 1, 4, 6, 8, 8] and flat.tolist() == [t for x in lists for t in x]
    assert search.stored_terms("Яма во дворе") == search.encode(search.doc_terms("Яма во дворе"))
    con = duckdb.connect()
    # a token's last character is its only space: what spans two tokens is never one
    two = stored[3]
    assert con.execute("SELECT contains(?, ?), contains(?, ?), contains(?, ?)",
                       [two, search.token(0xDEADBEEF), two, two[3:6] + two[:3], two, two[8:12] + two[:1] + " "]
                       ).fetchall() == [(True, False, False)]
    assert all(len(search.token(t)) == 6 and search.token(t).count(" ") == 1 for t in (0, 84, 85, 2 ** 32 - 1))
    with pytest.raises(ValueError, match="six-character"):
        search.decode_many([" 123"])
