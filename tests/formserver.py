"""The public proposal form run as its own process (`python -m formapp`) on a free localhost port,
with its own inbox and public folder and no database setting at all; and a client that sends a
proposal the way a browser without JavaScript does (GET the form, POST it back with its token)."""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2

ROOT = Path(__file__).resolve().parents[1]
PLACEMENTS = [
    {"code": "SH-0042", "kind": "bus_stop", "name_ru": "Остановка «Рынок Айна»", "name_kk": "«Айна базары» аялдамасы",
     "region": "shymkent", "district": "al_farabi", "active": True},
    {"code": "AK-0007", "kind": "school", "name_ru": "Школа № 7", "name_kk": "№ 7 мектеп",
     "region": "aktobe", "district": "aktobe_astana", "active": True},
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_placements(public: Path, items=PLACEMENTS) -> None:
    public.mkdir(parents=True, exist_ok=True)
    (public / "placements.json").write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")


def form_env(inbox: Path, public: Path, **settings) -> dict:
    """The environment of a form process: no SC_DB (nor anything else naming the database)."""
    env = {k: v for k, v in os.environ.items() if k not in ("SC_DB", "SC_INBOX", "SC_PUBLIC_DIR", "SC_AUTH_DB")}
    env.update({"SC_INBOX": str(inbox), "SC_PUBLIC_DIR": str(public), "PYTHONPATH": str(ROOT)})
    env.update({f"SC_{k.upper()}": str(v) for k, v in settings.items()})
    return env


class FormServer:
    def __init__(self, folder: Path, **settings):
        self.inbox, self.public = folder / "inbox", folder / "public"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = form_env(self.inbox, self.public, form_port=self.port, form_host="127.0.0.1", **settings)
        self.log_path = folder / f"formapp-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> "FormServer":
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "formapp"], cwd=ROOT, env=self.env,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                if httpx2.get(self.url + "/healthz", timeout=2).text == "ok":
                    return self
            except httpx2.TransportError:
                time.sleep(0.1)
            if self.proc.poll() is not None:
                break
        self.stop()
        raise RuntimeError(f"the form did not start on {self.url}: {self.log_path.read_text()}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


TOKEN = re.compile(r'name="csrf" value="([^"]+)"')


def token(html: str) -> str:
    return TOKEN.search(html).group(1)


def send(client, path: str, text: str, **fields) -> httpx2.Response:
    """GET the form at `path`, POST it back with its token; the answer is not followed."""
    page = client.get(path)
    data = {"csrf": token(page.text), "text": text, **fields}
    return client.post(path, data=data, follow_redirects=False)


def receipt_of(response) -> str:
    assert response.status_code == 303, (response.status_code, response.text[:500])
    return re.match(r"/r/([^?]+)\?sent=1", response.headers["location"]).group(1)
