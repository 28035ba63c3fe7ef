"""Receipt numbers: 12 characters in three groups (e.g. 7KM4-0XP2-T9A3), 11 random and a check
character, from 10 digits and the 10 capital letters that look the same in Latin and Cyrillic
(A B C E H K M P T X), so a resident can read one out, and type it back on either keyboard.

20^11 (about 2 * 10^14) numbers: guessing one is hopeless under the form's rate limits, and two
proposals meet on one number with a chance of about 2.5 * 10^-5 in 100,000. The check character
(Luhn mod 20) catches every single mistyped character and most swapped neighbours.
"""
from __future__ import annotations

import re
import secrets

ALPHABET = "0123456789ABCEHKMPTX"
RANDOM_CHARS = 11
# Cyrillic look-alikes (either case) and the usual misreadings, to the alphabet.
_SAME = str.maketrans({
    "А": "A", "В": "B", "С": "C", "Е": "E", "Н": "H", "К": "K", "М": "M", "Р": "P", "Т": "T", "Х": "X",
    "О": "0", "O": "0", "Q": "0", "D": "0", "З": "3", "I": "1", "L": "1", "Ӏ": "1", "S": "5", "Z": "2", "G": "6",
})
_FORM = re.compile(f"[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}")


def _check(payload: str) -> str:
    n, factor, total = len(ALPHABET), 2, 0
    for ch in reversed(payload):
        addend = factor * ALPHABET.index(ch)
        factor = 1 if factor == 2 else 2
        total += addend // n + addend % n
    return ALPHABET[(n - total % n) % n]


def _group(chars: str) -> str:
    return f"{chars[:4]}-{chars[4:8]}-{chars[8:]}"


def new() -> str:
    payload = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_CHARS))
    return _group(payload + _check(payload))


def normalise(typed: str) -> str | None:
    """The receipt a resident typed, in its canonical form, or None when it cannot be one."""
    chars = re.sub(r"[\s\-–—_.·/]+", "", str(typed or "")).upper().translate(_SAME)
    if len(chars) != RANDOM_CHARS + 1 or any(c not in ALPHABET for c in chars):
        return None
    if _check(chars[:-1]) != chars[-1]:
        return None
    return _group(chars)


def is_canonical(value: str) -> bool:
    return bool(_FORM.fullmatch(value or "")) and normalise(value) == value


EXAMPLE = _group("7KM40XP2T9A" + _check("7KM40XP2T9A"))
