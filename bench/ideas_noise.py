"""Grouping quality on the labelled (development) fixture made noisy the way longer letters are:
greetings and thanks, one or two filler sentences of context, now and then all in capitals.

    python bench/ideas_noise.py

Prints pairwise precision and recall (mean of 4 arrival orders and noise draws) on the clean fixture
(the baseline, same process) and on its noisy copy. Used to choose the grouping's settings without
the held-out fixtures; the fillers are few and repeat, so the noisy figures are a stress test, not
an estimate for real letters (tests/fixtures/ideas_heldout2.csv is closer to those).
"""
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import pandas as pd  # noqa: E402

from pipeline import ideas  # noqa: E402
import tests.test_ideas as T  # noqa: E402

OPEN = {"ru": ["Здравствуйте!", "Добрый день.", "Уважаемый аким!", "Уважаемые сотрудники акимата,", "Добрый вечер!"],
        "kk": ["Сәлеметсіз бе!", "Қайырлы күн.", "Құрметті әкім!", "Құрметті әкімдік қызметкерлері,"]}
CLOSE = {"ru": ["Заранее спасибо.", "Спасибо за внимание!", "С уважением, жители.", "Надеемся на понимание.", "Очень просим, пожалуйста."],
         "kk": ["Алдын ала рахмет.", "Рахмет!", "Құрметпен, тұрғындар.", "Өтінемін, көмектесіңіздер."]}
FILL = {"ru": ["Мы живём здесь уже десять лет и каждый день это видим.", "Об этом уже писали много раз, но ничего не изменилось.",
               "Я пенсионерка, мне трудно ходить далеко.", "Соседи тоже поддерживают это предложение.",
               "Надеюсь, в этом году наконец-то что-то сделают.", "У нас трое детей, и нам это очень важно.",
               "Город растёт, а об этом никто не думает."],
        "kk": ["Біз бұл жерде он жыл тұрамыз.", "Бұл туралы бірнеше рет жаздық, бірақ ештеңе өзгерген жоқ.",
               "Көршілер де осы ұсынысты қолдайды.", "Биыл бірдеңе жасалады деп үміттенеміз.",
               "Үйде үш бала бар, бізге бұл өте маңызды."]}

def noisy(frame, seed):
    rnd = random.Random(seed)
    out = []
    for lang, text in zip(frame["lang"], frame["text"]):
        l = "kk" if lang == "kk" else "ru"
        if rnd.random() < 0.5: text = rnd.choice(OPEN[l]) + " " + text
        if not text.rstrip().endswith((".", "!", "?")): text += "."
        for _ in range(rnd.choice([0, 1, 1, 2])): text += " " + rnd.choice(FILL[l if rnd.random() < 0.8 else "ru"])
        if rnd.random() < 0.4: text += " " + rnd.choice(CLOSE[l])
        if rnd.random() < 0.1: text = text.upper()
        out.append(text)
    return frame.assign(text=out)


def pooled_noisy(name, orders=4):
    frame = pd.read_csv(T.FIXTURES / name)
    ps, rs = [], []
    for seed in range(orders):
        f = noisy(frame, seed).sample(frac=1, random_state=seed).reset_index(drop=True)
        p, r = T.pairwise(ideas.cluster(f["text"].tolist()), f["group"].tolist())
        ps.append(p); rs.append(r)
    return sum(ps) / orders, sum(rs) / orders


if __name__ == "__main__":
    clean = T.pooled("ideas_labelled.csv")
    noisy_ = pooled_noisy("ideas_labelled.csv")
    print(f"labelled fixture:        P {clean[0]:.3f} R {clean[1]:.3f}")
    print(f"labelled fixture, noisy: P {noisy_[0]:.3f} R {noisy_[1]:.3f} (recall ratio {noisy_[1] / clean[1]:.2f})")
