"""Protection: who the client is, per-client rate limits, and anti-forgery tokens."""
from __future__ import annotations

import threading
import time
from collections import deque

from itsdangerous import BadSignature, URLSafeTimedSerializer


def client_address(scope, trusted: frozenset[str]) -> str:
    """The connection's address; behind a trusted reverse proxy, the last address in
    X-Forwarded-For that is not one of the trusted proxies (the earlier ones are the client's word)."""
    host = (scope.get("client") or ("unknown", 0))[0]
    if host in trusted:
        forwarded = b",".join(v for k, v in scope.get("headers", []) if k == b"x-forwarded-for").decode("latin-1")
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        for hop in reversed(hops):
            if hop not in trusted:
                return hop
    return host


class RateLimiter:
    """Sliding windows per key: at most `limit` hits in any `seconds`. Kept in memory (one form
    process); a restart forgets, which errs on the residents' side."""

    MAX_KEYS = 100_000

    def __init__(self, windows: list[tuple[str, int, float]]):
        self.windows = windows          # (name, limit, seconds)
        self.longest = max(s for _, _, s in windows)
        self.keep = max(limit for _, limit, _ in windows)
        self.hits: dict[str, deque] = {}
        self.lock = threading.Lock()

    def _prune(self, now: float) -> None:
        if len(self.hits) < self.MAX_KEYS:
            return
        cutoff = now - self.longest
        for key in [k for k, d in self.hits.items() if not d or d[-1] < cutoff]:
            del self.hits[key]
        while len(self.hits) >= self.MAX_KEYS:  # still full: forget the oldest-seen clients
            del self.hits[next(iter(self.hits))]

    def over(self, key: str, now: float | None = None) -> tuple[str, int, int] | None:
        """(window name, limit, seconds to wait) of the first window `key` has used up, else None."""
        now = time.monotonic() if now is None else now
        with self.lock:
            hits = self.hits.get(key)
            if not hits:
                return None
            for name, limit, seconds in self.windows:
                recent = [t for t in hits if t > now - seconds]
                if len(recent) >= limit:
                    return name, limit, max(1, int(recent[-limit] + seconds - now) + 1)
        return None

    def take(self, key: str, now: float | None = None) -> tuple[str, int, int] | None:
        """Count one hit unless a window is used up (then that window, as `over` says)."""
        now = time.monotonic() if now is None else now
        with self.lock:
            hits = self.hits.get(key)
            if hits:
                for name, limit, seconds in self.windows:
                    recent = [t for t in hits if t > now - seconds]
                    if len(recent) >= limit:
                        return name, limit, max(1, int(recent[-limit] + seconds - now) + 1)
            else:
                self._prune(now)
                hits = self.hits[key] = deque(maxlen=self.keep)
            hits.append(now)
        return None

    def refund(self, key: str) -> None:
        with self.lock:
            hits = self.hits.get(key)
            if hits:
                hits.pop()


class Tokens:
    """Anti-forgery tokens for the form (no JavaScript): the page sets a random cookie and puts a
    signed, timed copy of it in a hidden field; a post counts only when both match. Another site
    can neither read our cookie nor sign a value, so it cannot post a proposal in a visitor's name."""

    COOKIE = "sc_form"

    def __init__(self, secret: str, max_age: float):
        self.signer = URLSafeTimedSerializer(secret, salt="formapp-csrf")
        self.max_age = max_age

    def token(self, cookie: str) -> str:
        return self.signer.dumps(cookie)

    def valid(self, token: str | None, cookie: str | None) -> bool:
        if not token or not cookie:
            return False
        try:
            return self.signer.loads(token, max_age=self.max_age) == cookie
        except BadSignature:  # also SignatureExpired
            return False
