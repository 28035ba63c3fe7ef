"""The app's first start on an empty machine, timed in a real browser:
`python bench/first_start.py [--rows 150000]`.

A new store and a new model folder: the app trains the classifier on the corpus, builds the demo
and shows the sign-in form; signed in as the analyst, the overview shows data. Prints the seconds
from the launch to the health answer (the baseline: Streamlit itself up), to the sign-in form and to
the overview with data, and each as a ratio to the baseline. The README's first-start figures come
from here. Needs Debian's chromium and Playwright from pip (as the browser tests do).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=150_000, help="demo rows (the app's default is 150,000)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, AppServer

    folder = Path(tempfile.mkdtemp(prefix="sc-first-start-"))
    env = {"SC_DEMO_ROWS": str(args.rows), "SC_MODEL_DIR": str(folder / "models"), "SC_CV_AFTER_START": "1"}
    t0 = time.time()
    server = AppServer(folder / "situation.duckdb", env=env).start(timeout=600)
    up = time.time() - t0
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(server.url + "/")
            page.wait_for_selector("input[type=password]", timeout=600_000)
            form = time.time() - t0
            page.locator("input[type='text']").first.fill("analyst")
            page.locator("input[type='password']").first.fill("demo")
            page.locator("[data-testid='stBaseButton-primaryFormSubmit']").first.click()
            page.wait_for_selector("[data-testid='stTable']", timeout=600_000)
            data = time.time() - t0
            browser.close()
    finally:
        server.stop()
    print(f"health answer (baseline) {up:.1f} s; sign-in form {form:.1f} s ({form / up:.0f}x); "
          f"overview with data {data:.1f} s ({data / up:.0f}x); {args.rows:,} demo rows, store in {folder}")


if __name__ == "__main__":
    main()
