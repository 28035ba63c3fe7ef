"""Issue 15's acceptance walk: every page of the staff app, in Russian and Kazakh, at 1920x1080,
3840x2160 and 390x844, in one real browser. Fails on clipped text, overlapping boxes, Latin letters
outside ALLOWED_LATIN, and raw event codes; leaves a screenshot of each page, language and size
in docs/screenshots/<page>_<lang>_<size>.png.

Speed: one sign-in, whose session cookie every later context reuses; one context per language,
moving from page to page through the menu like a user (no reload); each page is run once per
language and then looked at in all three sizes by resizing the window, which is how Streamlit's
layout answers anyway (CSS and resize observers, no rerun). Waits are for
Streamlit's own signs of work (running indicator, stale elements, loading skeletons), never
fixed sleeps."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from pipeline import i18n, workflow

from tests.test_words import TYPED  # addresses and setting names, typed as written

from .conftest import ROOT, AppServer, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("walk")]

SHOTS = ROOT / "docs" / "screenshots"
SIZES = [(1920, 1080), (3840, 2160), (390, 844)]
LANGS = ["ru", "kk"]

# Latin words allowed on a Russian or Kazakh page, each with why. Everything else in Latin letters
# is a leak (English or a code) and fails the walk. Not seen here because they show only while a
# table is hovered: Streamlit's table toolbar (Search, Fullscreen, Show/hide columns) and column
# menus, fixed English in Streamlit 1.67 with no setting to translate them (client.disableDataExport,
# set in .streamlit/config.toml, removes the toolbar's 'Download as CSV'); the deadlines list hides
# the toolbar (ui.widgets.without_table_toolbar), elsewhere its icons stay for search and full screen.
ALLOWED_LATIN = {
    "QR": "the QR code is called so in Russian and Kazakh too (QR-код)",
    "SLA": "the service-level term the akimats' regulations use untranslated",
    "ID": "an identifier column, as staff call it",
    "CSV": "a file format's name, as on the download buttons",
    "XLSX": "a file format's name",
    "PDF": "a file format's name",
    "DOCX": "a file format's name",
    "SQL": "the query language's name on the explorer's SQL console",
    "Parquet": "a file format's name",
    "F1": "the classifier's quality measure (Макро-F1) has no other name",
    "Word": "the word processor's name beside DOCX on the briefing's download, so staff know what opens it",
    "Ctrl": "a key's name as printed on the keyboard (Ctrl+Enter registers a call)",
    "Enter": "a key's name as printed on the keyboard",
    "English": "the language switch names each language in itself (Русский · Қазақша · English)",
    "Language": "the language switch's label is the same in all three languages, so it is found "
                "by anyone whatever language is on",
    "admin": "the demo account's user name and display name ('demo admin'): data, not interface",
    "operator": "a demo account's user name (admin page's user list): data",
    "analyst": "a demo account's user name (admin page's user list): data",
    "akim": "a demo account's user name (admin page's user list): data",
    "demo": "the demo accounts' display names ('demo admin'): data typed by whoever made the users",
    "AK": "placement codes (AK-0001) printed on the posters: the region's letters (Aktobe)",
    "SH": "placement codes (SH-0001) printed on the posters: the region's letters (Shymkent)",
    "qazaqgaz": "a word from residents' appeals (the gas company's name) among the words the model "
                "learned for 'gas' on the model page: data",
}
# Streamlit 1.67's file uploader (the placements' import): its button ("Upload") and its line
# "200MB per file • CSV, TXT" are fixed English in the frontend with no setting to change them;
# allowed inside the uploader only, where the label above it says in words what to drop there.
UPLOADER_LATIN = {"Upload", "Browse", "files", "Drag", "and", "drop", "file", "here", "Limit", "per", "MB",
                  "CSV", "TXT", "XLSX"}
LATIN = re.compile(r"[A-Za-z][A-Za-z0-9]*")


def _label_head(key: str) -> re.Pattern:
    """What precedes {text} in a translated label, in any language, as a pattern: our words, then a
    resident's (ui.ideas.label: an idea's number and supporters, then its proposal)."""
    heads = {re.escape(i18n.t(key, lang, idea="\x00", n="\x00", text="\x01").split("\x01")[0]).replace("\x00", r"\d+")
             for lang in LANGS}
    return re.compile("^(" + "|".join(sorted(heads)) + ")")


IDEA_LABEL = _label_head("ideas.label")  # "№ 15 · 12 чел. · Бесплатный Wi-Fi на остановках": Wi-Fi is theirs

# Codes that must never reach a reader: workflow states, event-log field names, UTC stamps, arrows
# between codes.
CODES = sorted(set(workflow.STATUSES) | {"created", "feedback_at", "resolved_at", "category_source",
                                          "category_confidence", "due_extended", "forwarded_to"})
RAW = [re.compile(r"\b(" + "|".join(CODES) + r")\b"),
       re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d"),            # ISO stamp
       re.compile(r"\d\d:\d\d(:\d\d)?(\.\d+)?([+-]\d\d:\d\d|Z)\b"),  # a time with its UTC offset
       re.compile(r"[A-Za-z_]+\s*(→|->)|(→|->)\s*[A-Za-z_]+")]

# Streamlit has finished: the script ran (no running indicator), nothing is left stale from the run
# before, no element is still a loading skeleton, every chart has drawn.
READY = """() => {
  const main = document.querySelector('[data-testid=stMain]');
  if (!main || document.querySelector('[data-testid=stStatusWidget], [data-stale=true], [data-testid=stSkeleton]'))
    return false;
  if (!main.querySelector('h1, [data-testid=wall]')) return false;
  return [...main.querySelectorAll('[data-testid=stPlotlyChart]')].every(c => c.querySelector('.main-svg'));
}"""

# After a resize: no transition running, charts have followed their containers' new width.
RESIZED = """(w) => innerWidth === w
  && !document.getAnimations().some(a => a instanceof CSSTransition)  // the sidebar sliding away
  && (w > 768 || !document.querySelector('[data-testid=stSidebar]')    // on a phone: gone from view
      || document.querySelector('[data-testid=stSidebar]').getBoundingClientRect().right <= 0)
  && [...document.querySelectorAll('[data-testid=stPlotlyChart]')].every(c => {
  const svg = c.querySelector('.main-svg');
  return svg && Math.abs(svg.getBoundingClientRect().width - c.getBoundingClientRect().width) < 3;
})"""

PROBE = """() => {
  const vw = innerWidth;
  const shown = e => {
    if (!e.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) return false;
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && r.right > 0 && r.left < vw;
  };
  // meant to scroll: data grids (a canvas), code, the wall's news strip (it moves through its box)
  const SKIP = '[data-testid=stDataFrame], [data-testid=stCode], pre, code, canvas, svg, script, style, .wall .ticker .track';
  const icon = e => getComputedStyle(e).fontFamily.includes('Material');  // a ligature: 'warning' draws ⚠
  const label = e => ((e.closest('[data-testid]') || e).getAttribute('data-testid') || e.tagName.toLowerCase())
                     + ': ' + (e.innerText || e.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 70);
  // residents' own words and file names (plain text blocks, the wall's news strip): data, whose
  // Latin letters are theirs; still checked for raw codes
  const DATA = '[data-testid=stText], .wall .said, .sc-brief .said';
  const kind = e => e.closest(DATA) ? 'data' : e.closest('[data-testid=stFileUploader]') ? 'uploader' : '';
  const clipped = [];
  const texts = [];
  for (const e of document.querySelectorAll('body *')) {
    if (e.closest(SKIP) || icon(e)) continue;
    const own = [...e.childNodes].filter(n => n.nodeType === 3 && n.textContent.trim());
    if (!own.length) continue;
    if (!shown(e)) {  // squeezed to no width at all: the text is gone, the worst cut
      const r = e.getBoundingClientRect();
      if (e.checkVisibility({checkOpacity: true, checkVisibilityCSS: true}) && r.height > 0 && r.width === 0
          && r.left > 0 && r.left < vw && getComputedStyle(e).display !== 'inline') clipped.push(label(e));
      continue;
    }
    for (const n of own) texts.push([n.textContent.trim(), label(e), kind(e)]);
    // the text's own extent against the element and every ancestor that cuts (overflow hidden/clip)
    const range = document.createRange();
    range.selectNodeContents(e);
    const t = range.getBoundingClientRect();
    let cut = e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 0
              && !['auto', 'scroll'].includes(getComputedStyle(e).overflowX);
    for (let a = e.parentElement; a && !cut && a !== document.body; a = a.parentElement) {
      const ox = getComputedStyle(a).overflowX;
      if (ox === 'auto' || ox === 'scroll') break;   // meant to scroll: reachable
      if (ox !== 'hidden' && ox !== 'clip') continue;
      const r = a.getBoundingClientRect();
      cut = t.right > r.right + 1 || t.left < r.left - 1;
    }
    if (cut) clipped.push(label(e));
    // a word broken across two lines (a word wider than its line, e.g. a title on a phone)
    for (const n of own) {
      const re = /[^\s\-–—\/·,.:;()«»"]{5,}/g;
      for (let m; (m = re.exec(n.textContent)); ) {
        range.setStart(n, m.index); range.setEnd(n, m.index + m[0].length);
        const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
        if (tops.size > 1) { clipped.push(label(e) + ' (the word ' + m[0] + ' broken across lines)'); break; }
      }
    }
  }
  // what a text box shows: its value, and its placeholder (shown as soon as it is emptied to type)
  for (const i of document.querySelectorAll('input[type=text], input:not([type]), input[type=number], textarea'))
    if (shown(i)) {
      if (i.value) texts.push([i.value, 'value of ' + label(i), kind(i)]);
      if (i.placeholder) texts.push([i.placeholder, 'placeholder of ' + label(i), kind(i)]);
    }
  for (const t of document.querySelectorAll('svg text')) if (shown(t) && t.textContent.trim())
    texts.push([t.textContent.trim(), 'chart: ' + t.textContent.trim(), '']);
  // data grids draw on a canvas; the grid keeps the rows it shows in an accessible table too
  // (checked for raw codes only: cells hold residents' own words, Latin ones too, and booleans the
  // grid draws as checkboxes)
  const cells = [...document.querySelectorAll('[data-testid=stDataFrame] table td, [data-testid=stDataFrame] table th')]
      .map(c => c.textContent.trim()).filter(s => s && s !== 'true' && s !== 'false');
  const SEL = '[data-testid=stMetric], h1, h2, h3, h4, h5, h6, button, [data-testid=stCaptionContainer]';
  const boxes = [...document.querySelectorAll(SEL)].filter(e => shown(e) && !e.closest('[data-testid=stDataFrame]'));
  const overlaps = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i], b = boxes[j];
    if (a.contains(b) || b.contains(a)) continue;
    const p = a.getBoundingClientRect(), q = b.getBoundingClientRect();
    if (p.left < q.right - 1 && q.left < p.right - 1 && p.top < q.bottom - 1 && q.top < p.bottom - 1)
      overlaps.push(label(a) + '  ×  ' + label(b));
  }
  return {clipped, overlaps, texts, cells};
}"""


def staff_pages() -> list[tuple[str, str]]:
    """(url path, name) of every page in app.py's navigation, read from its source (importing it
    would run Streamlit); the first is the default, served at '/'."""
    tree = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    sections = next(n.value for n in ast.walk(tree) if isinstance(n, ast.Assign)
                    and getattr(n.targets[0], "id", "") == "sections")
    items = [item for lst in ast.literal_eval(sections).values() for item in lst]
    return [("" if i == 0 else url, url) for i, (_, _, url, _) in enumerate(items)]


def problems_in(found: dict) -> list[str]:
    out = [f"clipped text: {c}" for c in found["clipped"]]
    out += [f"overlapping boxes: {o}" for o in found["overlaps"]]
    for text, where, kind in found["texts"]:
        allowed = ALLOWED_LATIN.keys() | (UPLOADER_LATIN if kind == "uploader" else set())
        ours = m.group(1) if (m := IDEA_LABEL.match(text)) else text
        latin = [] if kind == "data" else sorted({w for w in LATIN.findall(TYPED.sub("", ours)) if w not in allowed})
        if latin:
            out.append(f"Latin {latin} in {where!r}: {text[:80]!r}")
        for pattern in RAW:
            if m := pattern.search(text):
                out.append(f"raw code {m.group(0)!r} in {where!r}: {text[:80]!r}")
    for text in found["cells"]:
        for pattern in RAW:
            if m := pattern.search(text):
                out.append(f"raw code {m.group(0)!r} in a table cell: {text[:80]!r}")
    return list(dict.fromkeys(out))  # once each


@pytest.fixture(scope="module")
def walk_server(tmp_path_factory):
    server = AppServer(tmp_path_factory.mktemp("walk") / "walk.duckdb").start()
    yield server
    server.stop()


# The menu's link to a page, clicked in the page (the menu may be folded away on a phone-sized window).
CLICK = """(path) => {
  const a = [...document.querySelectorAll('[data-testid=stSidebarNav] a')]
      .find(a => new URL(a.href).pathname.replace(/\\/$/, '') === '/' + path);
  if (!a) return null;
  const h = document.querySelector('[data-testid=stMain] h1');
  a.click();
  return h ? h.innerText : '';
}"""


# When the page last changed: Streamlit shows its running indicator only 500 ms after a run starts,
# so a page whose title is drawn and whose figures are still being computed looks ready for that
# long (the Kazakh briefing was once checked with only its title on screen).
WATCH = """window.__scChanged = 0;
new MutationObserver(() => { window.__scChanged = performance.now(); })
  .observe(document, {subtree: true, childList: true, characterData: true});"""
QUIET = "() => performance.now() - window.__scChanged > 600"


def go(page, path: str) -> None:
    """To another page through the menu, as staff do: Streamlit swaps the page in the same session
    (about a third of the time of loading the address afresh, which reconnects and reruns the
    router). Done when the old page's title has gone, nothing has changed for longer than Streamlit
    waits before it shows a run, and Streamlit is ready again."""
    old = page.evaluate(CLICK, path)
    assert old is not None, f"no link to /{path} in the menu"
    page.wait_for_function("""(old) => { const h = document.querySelector('[data-testid=stMain] h1');
                                         return (h ? h.innerText : '') !== old; }""", arg=old, timeout=120_000)
    page.wait_for_function(QUIET, timeout=120_000)
    page.wait_for_function(READY, timeout=120_000)


TABS = "[data-testid=stTabs] button[role=tab]"
SETTLED = """() => !document.getAnimations().some(a => a instanceof CSSTransition  // expanders unfolding
                                                      || a.effect?.target?.closest?.('details'))"""


def opened(page) -> list[str]:
    """The same checks with every expander open and on every tab in turn (client-side: no rerun),
    so what a page keeps folded or behind a tab is looked at too."""
    page.evaluate("() => document.querySelectorAll('[data-testid=stExpander] details:not([open]) > summary')"
                  ".forEach(s => s.click())")
    out = []
    for i in range(max(1, page.locator(TABS).count())):
        page.evaluate("([sel, i]) => { const t = document.querySelectorAll(sel)[i]; if (t) t.click(); }", [TABS, i])
        page.wait_for_function(READY, timeout=30_000)
        page.wait_for_function(SETTLED, timeout=30_000)
        out += problems_in(page.evaluate(PROBE))
    return list(dict.fromkeys(out))


def walk(browser, url: str, pages: list[tuple[str, str]], shots: Path) -> dict[str, list[str]]:
    """Every page in every language at every size; {'page lang size': [problems]}."""
    context = browser.new_context(viewport={"width": SIZES[0][0], "height": SIZES[0][1]})
    sign_in(context.new_page(), url + "/", "admin")   # admin sees every page
    state = context.storage_state()
    context.close()
    shots.mkdir(parents=True, exist_ok=True)
    found = {}
    for lang in LANGS:
        context = browser.new_context(viewport={"width": SIZES[0][0], "height": SIZES[0][1]}, storage_state=state)
        context.add_init_script(WATCH)
        page = context.new_page()
        page.goto(f"{url}/{pages[0][0]}?lang={lang}")    # the session keeps the language from here on
        page.wait_for_function(READY, timeout=120_000)
        page.wait_for_function(QUIET, timeout=120_000)
        page.wait_for_function(READY, timeout=120_000)
        for i, (path, name) in enumerate(pages):
            page.set_viewport_size({"width": SIZES[0][0], "height": SIZES[0][1]})
            if i:
                go(page, path)
            for width, height in SIZES:
                page.set_viewport_size({"width": width, "height": height})
                page.wait_for_function(RESIZED, arg=width, timeout=30_000)
                page.wait_for_function(READY, timeout=30_000)
                key = f"{name}_{lang}_{width}x{height}"
                page.screenshot(path=str(shots / f"{key}.png"))   # the viewport only: small files
                found[key] = problems_in(page.evaluate(PROBE))
            found[f"{name}_{lang}_{width}x{height}_opened"] = opened(page)
        context.close()
    return found


def test_every_page_in_ru_and_kk_at_three_sizes(browser, walk_server):
    found = walk(browser, walk_server.url, staff_pages(), SHOTS)
    assert len(found) == len(staff_pages()) * len(LANGS) * (len(SIZES) + 1)  # + each page opened up
    bad = {k: v for k, v in found.items() if v}
    assert not bad, "\n".join(f"{k}: {p}" for k, v in bad.items() for p in v)
