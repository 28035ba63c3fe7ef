"""Search-key throughput: `python bench/search_terms.py [--texts 20000]`.

Keys --texts synthetic 300-400 character appeals (a third Russian, a third Kazakh, a third mixed,
built from the word lists below) with `search.doc_key`, and, as the baseline in the same run, with
plain `text.lower().split()`. Target: doc_key >= 20,000 texts/s on one core. The first pass fills
the stem cache (a fresh process at ingest pays it once per distinct word); the figure is the best
of --repeat passes after it, and the cold first pass is printed too. Rates are per second of CPU time, i.e. per core.
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RU = """здравствуйте прошу принять меры во дворе нашего дома уже месяц стоит огромная яма на дороге
нет освещения фонари не горят вечером темно опасно детям мусор не вывозят контейнеры переполнены
в подъезде не работает лифт пожилые люди не могут подняться на девятый этаж отопления нет батареи
холодные трубы протекают вода в подвале канализация засорилась запах невозможный снег не убирают
тротуары скользкие автобусы ходят редко остановка разбита светофор на перекрестке не работает
жители нашей улицы неоднократно обращались в акимат ответа нет ремонт крыши обещали летом
просим разобраться и сообщить о результатах заранее спасибо собаки бегают без присмотра""".split()
KK = """сәлеметсіз бе біздің көшеде жарық жоқ шамдар жанбайды кешке қараңғы балаларға қауіпті
ауланың ішінде үлкен шұңқыр пайда болды жолдың жағдайы нашар қоқыс шығарылмайды контейнерлер толып
кеткен үйдің лифті істемейді жылу жоқ құбырлар ағып жатыр судың сапасы нашар кәріз бітелген
қар тазаланбайды аялдама бұзылған бағдаршам жұмыс істемейді тұрғындар әкімдікке бірнеше рет
шағым жазды жауап жоқ мектептің жанындағы жол жөндеуді қажет етеді көмектесуіңізді сұраймыз
ауданның әкімі назар аударсын пәтерлерде суық балалар ауырып жүр рахмет алдын ала""".split()
MIXED_GLUE = "и в на по с уже тоже және мен бұл да де".split()


def synthetic_texts(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    texts = []
    for i in range(n):
        kind = i % 3
        words = RU if kind == 0 else KK if kind == 1 else RU + KK + MIXED_GLUE
        target = rng.randint(300, 400)
        parts: list[str] = []
        length = 0
        while length < target:
            w = rng.choice(words)
            if rng.random() < 0.08:
                w = w.capitalize()
            if rng.random() < 0.1:
                w += rng.choice(",.!?")
            if rng.random() < 0.03:
                w = str(rng.randint(1, 300))
            parts.append(w)
            length += len(w) + 1
        texts.append(" ".join(parts)[:target])
    return texts


def _rate(fn, texts: list[str], repeat: int) -> float:
    """Texts per second of this process's CPU time (best pass): one core's rate, whatever else
    the shared machine runs at the time."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for t in texts:
            fn(t)
        best = min(best, time.process_time() - start)
    return len(texts) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from pipeline import search

    texts = synthetic_texts(args.texts)
    mean_len = sum(map(len, texts)) / len(texts)
    cold = _rate(search.doc_key, texts, 1)
    warm = _rate(search.doc_key, texts, args.repeat)
    base = _rate(lambda t: t.lower().split(), texts, args.repeat)
    keys = [search.doc_key(t) for t in texts]
    print(f"{len(texts):,} synthetic texts, {mean_len:.0f} characters on average (ru, kk, mixed)")
    print(f"doc_key, first pass (cache filling): {cold:>10,.0f} texts/s")
    print(f"doc_key:                             {warm:>10,.0f} texts/s  (target >= 20,000 per core)")
    print(f"baseline text.lower().split():       {base:>10,.0f} texts/s")
    print(f"doc_key / baseline:                  {warm / base:>10.2f}")
    print(f"mean key length: {sum(map(len, keys)) / len(keys):.0f} characters, "
          f"{sum(len(k.split()) for k in keys) / len(keys):.1f} stems")


if __name__ == "__main__":
    main()
