"""Real-browser harness: the app on a free localhost port with its own database, driven by
Playwright in Debian's chromium (never a downloaded browser)."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("SC_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    def __init__(self, db: Path, env: dict | None = None):
        self.db = db
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "SC_DB": str(db), "SC_DEMO_ROWS": "3000", **(env or {})}
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 90) -> "AppServer":
        if not self.db.exists() and self.env["SC_DEMO_ROWS"] == str(TEMPLATE_ROWS) and TEMPLATES:
            shutil.copy(demo_template(self.env), self.db)  # the app finds its demo made, as on a second start
        self.log = open(self.db.parent / f"streamlit-{self.port}.log", "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
             "--server.headless", "true", "--server.port", str(self.port),
             "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2).read() == b"ok":
                    return self
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"app did not start on {self.url}; log: {self.db.parent}")

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


# The demo store an app builds on its first start (6-7 s of CPU for 3,000 rows, mostly fixed costs),
# built once per pytest worker and copied for each app a test starts on a new file of that size.
# The first start itself is covered by tests/test_first_start.py and by apps on other sizes.
TEMPLATE_ROWS = 3000
TEMPLATES: list[Path] = []  # the folder, once the session fixture below has made it


@pytest.fixture(scope="session", autouse=True)
def _demo_templates(tmp_path_factory):
    TEMPLATES.append(tmp_path_factory.mktemp("demo_template"))
    yield
    TEMPLATES.clear()


def demo_template(env: dict) -> Path:
    """The worker's demo store of TEMPLATE_ROWS rows, made by `python -m pipeline demo` with the
    app's environment (its model folder) the first time it is asked for."""
    path = TEMPLATES[0] / "demo.duckdb"
    if not path.exists():
        made = subprocess.run([sys.executable, "-m", "pipeline", "demo", "--rows", str(TEMPLATE_ROWS),
                               "--db", str(path)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert made.returncode == 0, made.stderr[-2000:]
    return path


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="ru-RU")
    pg = context.new_page()
    yield pg
    context.close()


@pytest.fixture(scope="module")
def app_server(tmp_path_factory):
    """One app per test module, on its own demo database."""
    server = AppServer(tmp_path_factory.mktemp("app") / "situation.duckdb").start()
    yield server
    server.stop()


def wait_for_app(page, timeout: float = 60_000) -> None:
    """Wait until Streamlit finished running the script (no 'running' indicator, main block shown)."""
    page.wait_for_selector("[data-testid='stMain']", timeout=timeout)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout
    )


@pytest.fixture
def shot(tmp_path):
    """Screenshot helper that keeps the picture next to the test's tmp dir (and in bench/out when asked)."""
    out = Path(os.environ.get("SC_SCREENSHOTS", tmp_path))
    out.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = out / f"{name}.png"
        page.screenshot(path=str(path), full_page=False)
        return path

    return take


def sign_in(page, url: str, user: str = "admin", password: str = "demo", timeout: float = 120_000) -> None:
    """Open `url`, sign in through the form (the demo's documented sign-ins by default) and wait
    for the page behind it. The session then lives in a cookie, so later page.goto calls stay in."""
    page.goto(url)
    page.wait_for_selector("[data-testid='stForm']", timeout=timeout)
    wait_for_app(page, timeout)
    page.locator("input[type='text']").first.fill(user)
    page.locator("input[type='password']").first.fill(password)
    # The button, not Enter: Enter right after the form's last element arrived was dropped by the
    # browser side in 2 of about 40 runs under load (no message reached the server; py-spy showed it
    # idle), a click on the drawn button never was.
    page.locator("[data-testid='stBaseButton-primaryFormSubmit']").first.click()
    try:
        # signed in once the form is gone and the session's cookie is set (by a script the page
        # runs): a page opened before that would be a new, signed-out session
        page.wait_for_function("() => !document.querySelector('input[type=password]') && "
                               "document.cookie.includes('sc_session=')", timeout=timeout)
    except Exception as e:
        raise AssertionError(f"still not signed in as {user} after {timeout / 1000:.0f} s; "
                             f"the page shows: {page.inner_text('body')[:400]!r}") from e
    wait_for_app(page, timeout)


def pytest_collection_modifyitems(config, items):
    """Browser tests run one after another on one pytest-xdist worker (each starts an app and a
    browser; two at once on two cores starved each other past their timeouts), while the other
    worker runs the rest of the suite. The walk (test_walk.py) is the exception: it has its own
    group and runs beside them, on the worker that runs the rest."""
    for item in items:
        # a test that names its own group (the long walk, "walk") runs on the other worker instead
        if "tests/browser/" in item.nodeid.replace("\\", "/") and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group("browser"))
