"""The form's configuration: where it reads and writes, and its limits. Nothing about the database."""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

from pipeline import settings


@dataclass(frozen=True)
class FormConfig:
    inbox: Path                  # where accepted proposals go, as spool folders (SC_INBOX)
    public: Path                 # what the staff side publishes for the form (SC_PUBLIC_DIR)
    form_url: str = "http://localhost:8502"
    host: str = "127.0.0.1"
    port: int = 8502
    per_minute: int = 5
    per_day: int = 30
    requests_per_minute: int = 120
    max_bytes: int = 32768
    text_min: int = 15
    text_max: int = 2000
    contact_max: int = 200
    token_hours: float = 4.0
    trusted_proxies: frozenset[str] = frozenset()
    default_lang: str = "ru"
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)

    @classmethod
    def from_settings(cls) -> "FormConfig":
        """From SC_* settings. The inbox and the public folder are resolved here once (give them
        as SC_INBOX and SC_PUBLIC_DIR when the form runs on another machine or as another user)."""
        lang = settings.get("LANG")
        return cls(
            inbox=settings.inbox_path(), public=settings.public_path(), form_url=settings.get("FORM_URL"),
            host=settings.get("FORM_HOST"), port=settings.get_int("FORM_PORT"),
            per_minute=settings.get_int("FORM_PER_MINUTE"), per_day=settings.get_int("FORM_PER_DAY"),
            requests_per_minute=settings.get_int("FORM_REQUESTS_PER_MINUTE"),
            max_bytes=settings.get_int("FORM_MAX_BYTES"), text_min=settings.get_int("FORM_TEXT_MIN"),
            text_max=settings.get_int("FORM_TEXT_MAX"),
            trusted_proxies=frozenset(p.strip() for p in settings.get("FORM_TRUSTED_PROXIES").split(",") if p.strip()),
            default_lang=lang if lang in ("kk", "ru") else "ru",
            secret=settings.get("FORM_SECRET") or secrets.token_urlsafe(32),
        )
