"""Public form latency: `python bench/form.py [--clients 20] [--rounds 10]` (target: p95 < 200 ms).

Starts `python -m formapp` on a free localhost port with its own inbox and public folder (a
placements.json and a status.json of --receipts published receipts), then 20 concurrent clients,
each with its own address (through the trusted-proxy header) and cookies, the way a phone behind
a reverse proxy would come:
  baseline   GET /healthz, a static answer of the same process (framework, socket, client threads);
  form       GET /p/<placement>: the page with the form and its signed token;
  submit     POST /p/<placement>: checks, the token, the limits, one spool folder fsynced into the inbox;
  status     GET /r/<receipt>: the receipt's status from status.json.
Prints p50 and p95 per kind and the p95 as a ratio of the baseline's p95 measured in the same run.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import httpx2  # noqa: E402

from formapp import receipts  # noqa: E402
from tests.formserver import FormServer, token, write_placements  # noqa: E402

TEXT = "Нужна детская площадка во дворе дома {i} по улице Абая, дети играют на проезжей части"


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def publish_statuses(public: Path, n: int) -> list[str]:
    made = [receipts.new() for _ in range(n)]
    entry = {"status": "in_progress", "status_text": {"kk": "Жұмыста", "ru": "В работе", "en": "In progress"},
             "category": "roads", "category_text": {"kk": "Жолдар", "ru": "Дороги", "en": "Roads"},
             "received": "2026-11-20", "feedback": "2026-11-21", "resolved": None, "updated": "2026-11-22",
             "idea": None}
    (public / "status.json").write_text(json.dumps({"version": 1, "receipts": {r: entry for r in made}}),
                                        encoding="utf-8")
    return made


def run(server: FormServer, clients: int, rounds: int, known: list[str]) -> dict[str, list[float]]:
    def one(i: int) -> dict[str, list[float]]:
        times: dict[str, list[float]] = {"baseline": [], "form": [], "submit": [], "status": []}
        headers = {"x-forwarded-for": f"10.1.{i // 250}.{i % 250 + 1}", "accept-language": "kk,ru;q=0.8"}
        with httpx2.Client(base_url=server.url, headers=headers, timeout=30) as c:
            def timed(kind, fn):
                t = time.perf_counter()
                r = fn()
                times[kind].append(time.perf_counter() - t)
                return r

            for j in range(rounds):
                timed("baseline", lambda: c.get("/healthz"))
                page = timed("form", lambda: c.get("/p/SH-0042"))
                sent = timed("submit", lambda: c.post("/p/SH-0042", data={
                    "csrf": token(page.text), "lang": "kk", "text": TEXT.format(i=i * 1000 + j)}))
                assert sent.status_code == 303, sent.status_code
                timed("status", lambda: c.get(f"/r/{known[(i * rounds + j) % len(known)]}"))
        return times

    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        parts = list(pool.map(one, range(clients)))
    return {k: [t for p in parts for t in p[k]] for k in parts[0]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=10, help="form + submit + status per client")
    parser.add_argument("--receipts", type=int, default=20000, help="receipts in the published status.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_placements(folder / "public")
        known = publish_statuses(folder / "public", args.receipts)
        with FormServer(folder, form_trusted_proxies="127.0.0.1", form_per_minute=1000, form_per_day=100000,
                        form_requests_per_minute=100000) as server:
            run(server, 4, 2, known)  # warm-up: imports, template compilation, status.json parsed
            started = time.perf_counter()
            times = run(server, args.clients, args.rounds, known)
            wall = time.perf_counter() - started
            spools = len(list(server.inbox.glob("*.spool")))
    base95 = percentile(times["baseline"], 95)
    print(f"{args.clients} concurrent clients, {args.clients * args.rounds} proposals ({spools} spool folders) "
          f"in {wall:.1f} s; status.json with {args.receipts:,} receipts")
    print(f"{'request':<10} {'p50 ms':>8} {'p95 ms':>8} {'p95 / baseline p95':>20}")
    for kind, values in times.items():
        p50, p95 = percentile(values, 50) * 1000, percentile(values, 95) * 1000
        print(f"{kind:<10} {p50:8.1f} {p95:8.1f} {p95 / 1000 / base95:19.1f}x")
    worst = max(percentile(times[k], 95) for k in ("form", "submit", "status")) * 1000
    print(f"target p95 < 200 ms: {'met' if worst < 200 else 'missed'} (worst p95 {worst:.0f} ms, "
          f"mean of all requests {statistics.mean(t for v in times.values() for t in v) * 1000:.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
