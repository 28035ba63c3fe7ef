"""The form's pages: the proposal form (/, /p/<placement code>), a receipt's status (/r/<receipt>),
what the city decided (/decisions). Server-side HTML (Jinja2, autoescaped), no JavaScript."""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
import secrets
import time
import unicodedata
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from formapp import published, receipts, refdata

# A contact the city can answer: a phone (at least 10 digits, the usual separators) or an e-mail
CONTACT = re.compile(r"(?<!\d)\+?(?:[\s()\-.]*\d){10,15}(?!\d)|[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]{2,}")
from formapp.config import FormConfig
from formapp.guard import RateLimiter, Tokens, client_address
from pipeline import i18n, inbox
from pipeline.grammar import alphabetical

log = logging.getLogger("formapp")
LANGS = ("kk", "ru")
LANG_NAMES = {"kk": "Қазақша", "ru": "Русский"}
LANG_COOKIE = "sc_form_lang"
SOURCE = "qr"          # the QR proposals' channel (pipeline.ingest.SOURCES)
CHANNEL = "form"       # extra.channel of rows from this form (pipeline.public.FORM_CHANNEL)
PLACEMENT_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,39}")
TEMPLATES = Path(__file__).resolve().parent / "templates"
SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                                 b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]


# ---- language ------------------------------------------------------------------------------------
def accepted_lang(header: str) -> str | None:
    """The first of kk / ru the browser asks for (by q-value, then order), or None."""
    ranked = []
    for i, part in enumerate((header or "").split(",")):
        tag, *params = [p.strip() for p in part.split(";")]
        primary = tag.lower().split("-")[0]
        primary = "kk" if primary == "kz" else primary  # some phones say kz
        q = 1.0
        for p in params:
            if p.startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        if primary in LANGS and q > 0:
            ranked.append((-q, i, primary))
    return min(ranked)[2] if ranked else None


def pick_lang(request: Request, default: str, form: dict | None = None) -> str:
    for wanted in (request.query_params.get("lang"), (form or {}).get("lang"), request.cookies.get(LANG_COOKIE),
                   accepted_lang(request.headers.get("accept-language", ""))):
        if wanted in LANGS:
            return wanted
    return default


def loopback(host: str | None) -> bool:
    host = (host or "").strip("[]").lower()
    return host in ("localhost", "::1", "") or host.startswith("127.") or host.endswith(".localhost")


# ---- input -----------------------------------------------------------------------------------------
def clean_text(value) -> str:
    """Line breaks kept, other control and invisible formatting characters (bidi overrides...) out."""
    value = str(value or "").replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch for ch in value if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co")).strip()


def date_text(iso: str | None) -> str:
    try:
        return dt.date.fromisoformat(str(iso)).strftime("%d.%m.%Y")
    except ValueError:
        return ""


class TooLarge(Exception):
    pass


class SpoolWriter:
    """Proposals into the inbox with group commit. Each spool folder costs five fsyncs (three files,
    the folder, the inbox), and 20 clients sending at once queued behind one another's fsyncs. Up
    to WRITERS writes run at a time; a proposal that arrives while they all run waits for the next
    free one and goes with the others that arrived meanwhile into one spool folder (at most
    MAX_ROWS): it waits for no timer, and one sent alone is written alone as before. `write`
    returns once the proposal's folder is in the inbox and raises what the write raised."""

    MAX_ROWS = 50
    WRITERS = 4

    def __init__(self, folder: Path):
        self.folder = folder
        self._queue: list[tuple[dict, asyncio.Future]] = []
        self._running = 0

    async def write(self, row: dict) -> None:
        done = asyncio.get_running_loop().create_future()
        self._queue.append((row, done))
        if self._running < self.WRITERS:
            self._running += 1
            asyncio.get_running_loop().create_task(self._run())
        await asyncio.shield(done)  # a client gone away does not cancel the others' write

    async def _run(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue[:self.MAX_ROWS], self._queue[self.MAX_ROWS:]
                rows = [row for row, _ in batch]
                name = f"public form {rows[0]['source_id']}" + (f" (+{len(rows) - 1})" if len(rows) > 1 else "")
                try:
                    await run_in_threadpool(inbox.write_raw, self.folder, rows, file=name, source=SOURCE)
                except Exception as exc:
                    for _, done in batch:
                        done.set_exception(exc)
                else:
                    for _, done in batch:
                        done.set_result(None)
        finally:
            self._running -= 1


class Site:
    def __init__(self, config: FormConfig):
        self.config = config
        self.spool = SpoolWriter(config.inbox)
        self.files = published.Published(config.public)
        self.tokens = Tokens(config.secret, config.token_hours * 3600)
        self.proposals = RateLimiter([("minute", config.per_minute, 60.0), ("day", config.per_day, 86400.0)])
        self.requests = RateLimiter([("requests", config.requests_per_minute, 60.0)])
        self.sent: dict[str, tuple[float, str]] = {}  # a visitor's proposal -> (when, its receipt): see repeat()
        self.env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                                      trim_blocks=True, lstrip_blocks=True)

    # ---- rendering
    def render(self, request: Request, template: str, lang: str, status: int = 200, headers: dict | None = None,
               chosen_lang: bool = False, **context) -> HTMLResponse:
        def t(key: str, **fmt) -> str:
            return i18n.t(key, lang, **fmt)

        query = {k: v for k, v in request.query_params.items() if k not in ("lang", "sent")}
        switch = [(code, LANG_NAMES[code], request.url.path + "?" + urlencode({**query, "lang": code}))
                  for code in LANGS]
        html = self.env.get_template(template).render(t=t, lang=lang, switch=switch, path=request.url.path,
                                                      **context)
        response = HTMLResponse(html, status_code=status, headers=headers)
        response.headers["cache-control"] = "no-store"
        if chosen_lang or request.query_params.get("lang") in LANGS:
            response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, httponly=True, samesite="lax",
                                secure=request.url.scheme == "https")
        return response

    def message(self, request: Request, lang: str, text: str, status: int, headers: dict | None = None) -> HTMLResponse:
        return self.render(request, "message.html", lang, status=status, headers=headers, text=text)

    def limit_text(self, lang: str, over: tuple[str, int, int]) -> str:
        name, limit, _ = over
        return i18n.t(f"form.error.rate_{name}", lang, n=limit)

    # ---- the form
    def form(self, request: Request, lang: str, code: str | None, values: dict | None = None,
             errors: list[str] | None = None, status: int = 200, headers: dict | None = None,
             alert: str | None = None, chosen_lang: bool = False) -> HTMLResponse:
        """The form, with what the resident typed (`values`) kept. `errors` are things to correct in
        the form; `alert` is a refusal that is not about the form (a limit, a save that failed, an
        expired form): the same words can be sent again later."""
        placement, inactive = self.placement(code)
        cookie = request.cookies.get(Tokens.COOKIE) or secrets.token_urlsafe(18)
        place_name = refdata.name({"name_ru": placement["name_ru"], "name_kk": placement["name_kk"]}, lang) \
            if placement else ""
        district_name = refdata.name(refdata.districts().get(placement["district"] or ""), lang) if placement else ""
        topics = sorted(((c, refdata.name(r, lang)) for c, r in refdata.topics().items()), key=lambda x: x[1])
        response = self.render(
            request, "form.html", lang, status=status, headers=headers, action=request.url.path,
            csrf=self.tokens.token(cookie), placement=placement, code=code,
            place_name=place_name or (placement or {}).get("code", ""), district_name=district_name,
            unknown_key="form.placement_inactive" if inactive else "form.placement_unknown",
            regions=refdata.districts_by_region(lang, (placement or {}).get("region")), topics=topics, values=values or {}, errors=errors or [], alert=alert,
            switch_form="proposal", chosen_lang=chosen_lang,
            text_min=self.config.text_min, text_max=self.config.text_max, contact_max=self.config.contact_max)
        if request.cookies.get(Tokens.COOKIE) != cookie:
            response.set_cookie(Tokens.COOKIE, cookie, max_age=int(self.config.token_hours * 3600), httponly=True,
                                samesite="lax", secure=request.url.scheme == "https", path="/")
        return response

    def placement(self, code: str | None) -> tuple[dict | None, bool]:
        """The placement a code names, and whether the code was taken down: an inactive placement's
        code no longer places a proposal (the form asks for the district, as for an unknown code)."""
        placement = self.files.placement(code) if code else None
        if placement is not None and not placement["active"]:
            return None, True
        return placement, False

    REPEAT_SECONDS = 600  # a proposal sent again this soon by the same visitor is the same proposal
    REPEAT_KEPT = 20_000  # visitors' last proposals remembered (the oldest go first)

    def repeat_key(self, cookie: str | None, code: str | None, values: dict) -> str | None:
        if not cookie:
            return None
        said = [code or "", values["district"], values["topic"], values["contact"], str(values["consent"]),
                " ".join(values["text"].split())]
        return "\x1f".join([cookie, *said])

    def repeat(self, key: str | None) -> str | None:
        """The receipt of the same proposal sent moments ago from the same browser: a double tap, or
        a retry on a weak connection after the first one went through, gets that receipt again
        instead of a second copy of the proposal."""
        if key is None:
            return None
        hit = self.sent.get(key)
        now = time.monotonic()
        return hit[1] if hit and now - hit[0] < self.REPEAT_SECONDS else None

    def remember(self, key: str | None, receipt: str) -> None:
        if key is None:
            return
        self.sent[key] = (time.monotonic(), receipt)
        while len(self.sent) > self.REPEAT_KEPT:
            self.sent.pop(next(iter(self.sent)))

    def validate(self, values: dict, placement: dict | None, lang: str) -> list[str]:
        c = self.config
        errors = []
        n = len(values["text"])
        if n < c.text_min:
            errors.append(i18n.t("form.error.text_short", lang, n=n, min=c.text_min))
        elif n > c.text_max:
            errors.append(i18n.t("form.error.text_long", lang, n=n, max=c.text_max))
        if placement is None or placement["district"] is None:
            chosen = refdata.districts().get(values["district"])
            if chosen is None or (placement is not None and chosen["region"] != placement["region"]):
                errors.append(i18n.t("form.error.district", lang))  # a Shymkent bus: a Shymkent district
        if len(values["contact"]) > c.contact_max:
            errors.append(i18n.t("form.error.contact_long", lang, max=c.contact_max))
        elif values["contact"] and not CONTACT.search(values["contact"]):  # "Алия, 8 701 123 45 67" is fine
            errors.append(i18n.t("form.error.contact_format", lang))
        elif values["contact"] and not values["consent"]:
            errors.append(i18n.t("form.error.consent", lang))
        return errors

    async def form_page(self, request: Request) -> Response:
        raw_code = request.path_params.get("code")
        code = raw_code.upper() if raw_code and PLACEMENT_CODE.fullmatch(raw_code) else None
        if raw_code and code is None:
            raise HTTPException(404)
        lang = pick_lang(request, self.config.default_lang)
        if request.method == "GET":
            return self.form(request, lang, code)

        client = request.scope["formapp.client"]
        try:
            form = await request.form(max_files=0, max_fields=20, max_part_size=self.config.max_bytes)
        except HTTPException:  # a malformed body
            return self.message(request, lang, i18n.t("form.error.server", lang), 400)
        lang = pick_lang(request, self.config.default_lang, {"lang": form.get("lang")})
        values = {"text": clean_text(form.get("text")), "topic": str(form.get("topic") or ""),
                  "contact": clean_text(form.get("contact")).replace("\n", " "),
                  "consent": form.get("consent") in ("1", "on", "yes"), "district": str(form.get("district") or "")}
        if values["topic"] not in refdata.topics():
            values["topic"] = ""
        if form.get("switch") in LANGS:  # the language switch on the form: the same form, nothing sent
            return self.form(request, str(form.get("switch")), code, values, chosen_lang=True)
        over = self.proposals.over(client)  # the words stay in the form for later
        if over:
            return self.form(request, lang, code, values, alert=self.limit_text(lang, over), status=429,
                             headers={"retry-after": str(over[2])})
        if not self.tokens.valid(form.get("csrf"), request.cookies.get(Tokens.COOKIE)):
            return self.form(request, lang, code, values, alert=i18n.t("form.error.csrf", lang), status=403)
        placement, _ = self.placement(code)
        errors = self.validate(values, placement, lang)
        if errors:
            return self.form(request, lang, code, values, errors, status=400)
        key = self.repeat_key(request.cookies.get(Tokens.COOKIE), code, values)
        again = self.repeat(key)
        if again is not None:
            return RedirectResponse(self.thanks_url(again, lang, code), status_code=303)
        over = self.proposals.take(client)
        if over:
            return self.form(request, lang, code, values, alert=self.limit_text(lang, over), status=429,
                             headers={"retry-after": str(over[2])})
        district = (placement or {}).get("district") or values["district"]
        receipt = receipts.new()
        row = {
            "source": SOURCE, "source_id": receipt, "received_at": dt.datetime.now(dt.timezone.utc),
            "text": values["text"], "district": district, "region": refdata.districts()[district]["region"],
            "placement": code, "contact": values["contact"] if values["contact"] and values["consent"] else None,
            "extra": json.dumps({"channel": CHANNEL, "topic": values["topic"] or None, "lang": lang,
                                 "contact_consent": bool(values["contact"])}, ensure_ascii=False),
        }
        try:
            await self.spool.write(row)
        except OSError as exc:
            self.proposals.refund(client)
            log.error("cannot write a proposal into %s: %s", self.config.inbox, exc)
            return self.form(request, lang, code, values, alert=i18n.t("form.error.unavailable", lang), status=503)
        self.remember(key, receipt)
        return RedirectResponse(self.thanks_url(receipt, lang, code), status_code=303)

    @staticmethod
    def thanks_url(receipt: str, lang: str, code: str | None) -> str:
        """The receipt after sending; with the placement, so 'send another' opens the same form."""
        return f"/r/{receipt}?" + urlencode({"sent": 1, "lang": lang, **({"p": code} if code else {})})

    def public_url(self, request: Request) -> str:
        """The form's address as residents reach it: SC_FORM_URL, unless that still names this
        machine (the default) while the resident came by another name; then the address they used."""
        configured = self.config.form_url.rstrip("/")
        if loopback(urlsplit(configured).hostname) and not loopback(request.url.hostname):
            return str(request.base_url).rstrip("/")
        return configured

    # ---- receipts
    async def lookup(self, request: Request) -> Response:
        lang = pick_lang(request, self.config.default_lang)
        typed = request.query_params.get("n", "")
        receipt = receipts.normalise(typed)
        if receipt is None:
            return self.render(request, "receipt.html", lang, status=404 if typed else 200, receipt=None,
                               typed=typed[:40], entry=None, sent=False, example=receipts.EXAMPLE, url="",
                               dates=[])
        return RedirectResponse(f"/r/{receipt}?lang={lang}", status_code=303)

    async def receipt_page(self, request: Request) -> Response:
        lang = pick_lang(request, self.config.default_lang)
        typed = request.path_params["receipt"]
        receipt = receipts.normalise(typed)
        code = request.query_params.get("p", "")
        again = f"/p/{code.upper()}" if PLACEMENT_CODE.fullmatch(code) else "/"  # 'send another' opens this
        if receipt is None:
            return self.render(request, "receipt.html", lang, status=404, receipt=None, typed=typed[:40], entry=None,
                               sent=False, example=receipts.EXAMPLE, url="", dates=[])
        if receipt != typed:
            return RedirectResponse(f"/r/{receipt}?lang={lang}", status_code=301)
        entry = self.files.receipt(receipt)
        dates = []
        if entry:
            for key in ("received", "feedback", "resolved", "updated"):
                if entry.get(key):
                    dates.append((i18n.t(f"form.receipt.{key}", lang), date_text(entry[key])))

        def words(field: str) -> str:
            value = (entry or {}).get(field)
            return str(value.get(lang) or value.get("ru") or "") if isinstance(value, dict) else ""

        return self.render(request, "receipt.html", lang, receipt=receipt, typed=typed, entry=entry,
                           status_text=words("status_text"), category_text=words("category_text"),
                           idea=(entry or {}).get("idea"), dates=dates,
                           sent=request.query_params.get("sent") == "1", example=receipts.EXAMPLE,
                           url=self.public_url(request) + f"/r/{receipt}", again=again)

    # ---- decisions
    async def decisions_page(self, request: Request) -> Response:
        lang = pick_lang(request, self.config.default_lang)
        chosen = request.query_params.get("district", "")
        items = self.files.decisions.get()
        known = refdata.districts()
        groups: dict[str, list[dict]] = {}
        for d in items:
            groups.setdefault(str(d.get("district")), []).append(d)
        order = sorted(groups, key=lambda c: (c not in known, alphabetical(refdata.name(known.get(c), lang, c))))
        districts = [(c, refdata.name(known.get(c), lang, i18n.t("form.decisions.other", lang)), len(groups[c]))
                     for c in order]
        shown = []
        for c, name, _ in districts:
            if chosen and c != chosen:
                continue
            entries = sorted(groups[c], key=lambda d: str(d.get("date") or ""), reverse=True)
            shown.append((name, [{
                "title": str(d.get("title") or ""), "text": str(d.get("text") or ""),
                "answer": str(d.get("answer") or ""), "date": date_text(d.get("date")),
                "supporters": d.get("supporters") if isinstance(d.get("supporters"), int) else None,
                "department": refdata.name(refdata.departments().get(str(d.get("department"))), lang,
                                           str(d.get("department") or "")),
            } for d in entries]))
        return self.render(request, "decisions.html", lang, districts=districts, chosen=chosen, shown=shown)

    async def health(self, request: Request) -> Response:
        return PlainTextResponse("ok")

    # ---- errors
    async def http_error(self, request: Request, exc: HTTPException) -> Response:
        lang = pick_lang(request, self.config.default_lang)
        key = "form.error.not_found" if exc.status_code == 404 else (
            "form.error.method" if exc.status_code == 405 else "form.error.server")
        return self.message(request, lang, i18n.t(key, lang), exc.status_code)

    async def server_error(self, request: Request, exc: Exception) -> Response:
        log.error("unexpected error on %s: %s", request.url.path, exc)
        lang = pick_lang(request, self.config.default_lang)
        return self.message(request, lang, i18n.t("form.error.server", lang), 500)


class Guard:
    """Outermost of our middleware: the client's address, the per-client request limit, the
    request size limit (413), and the security headers on every answer."""

    def __init__(self, app, site: Site):
        self.app, self.site = app, site

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        site = self.site
        client = client_address(scope, site.config.trusted_proxies)
        scope["formapp.client"] = client
        started = False

        async def send_with_headers(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        request = Request(scope)
        if scope["path"] != "/healthz":
            over = site.requests.take(client)
            if over:
                lang = pick_lang(request, site.config.default_lang)
                response = site.message(request, lang, site.limit_text(lang, over), 429,
                                        headers={"retry-after": str(over[2])})
                return await response(scope, receive, send_with_headers)
        limit = site.config.max_bytes
        try:
            declared = int(request.headers.get("content-length", "0"))
        except ValueError:
            declared = 0
        if declared > limit:
            return await self._too_large(request, scope, receive, send_with_headers)
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise TooLarge
            return message

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except TooLarge:
            if started:
                raise
            await self._too_large(request, scope, receive, send_with_headers)

    async def _too_large(self, request, scope, receive, send):
        lang = pick_lang(request, self.site.config.default_lang)
        text = i18n.t("form.error.too_large", lang, kb=max(1, self.site.config.max_bytes // 1024))
        response = self.site.message(request, lang, text, 413, headers={"connection": "close"})
        await response(scope, receive, send)


def create_app(config: FormConfig | None = None) -> Starlette:
    site = Site(config or FormConfig.from_settings())
    routes = [
        Route("/", site.form_page, methods=["GET", "POST"]),
        Route("/p/{code}", site.form_page, methods=["GET", "POST"]),
        Route("/r", site.lookup, methods=["GET"]),
        Route("/r/{receipt}", site.receipt_page, methods=["GET"]),
        Route("/decisions", site.decisions_page, methods=["GET"]),
        Route("/healthz", site.health, methods=["GET"]),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(Guard, site=site)],
                    exception_handlers={HTTPException: site.http_error, Exception: site.server_error})
    app.state.site = site
    return app
