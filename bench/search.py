"""Latency of search, the CKAN ``package_search`` and the landing page, on loopback.

Builds a synthetic catalog of N datasets (``tests/support/catalog_data``) once
per backend in a temporary home, indexes it for search, serves the real
application with uvicorn on 127.0.0.1 and measures, sequentially from one
client, p50 and p95 of:

* harvester pages: ``package_search`` with 100 rows sorted ``id asc``, walked
  from the first page to the last as CKAN's harvester does (without and with
  an organisation filter), and pages asked for at random offsets with ``fq``
  filters (no previous page to continue from);
* relevance queries: ``q=`` a word, 10 rows;
* the newest datasets: ``sort=metadata_modified desc``, 10 rows;
* the dataset landing page and the search page.

SQLite always; PostgreSQL as well when ``CARDIOFAIR_TEST_POSTGRES_URL`` is set
(in a fresh schema, dropped afterwards). Goal at 100,000 datasets on 2 cores:
p95 <= 50 ms for each.

    .venv/bin/python bench/search.py               # N = 100,000
    .venv/bin/python bench/search.py --n 5000      # a quick look
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from catalog import search  # noqa: E402
from catalog.app import create_app  # noqa: E402
from catalog.settings import load_settings  # noqa: E402
from tests.support.catalog_data import ORGANISATIONS, populate  # noqa: E402
from tests.support.postgres import fresh_schema  # noqa: E402
from tests.support.server import free_port, live_server  # noqa: E402

POSTGRES_ENV = "CARDIOFAIR_TEST_POSTGRES_URL"
GOAL_MS = 50.0
WORDS = ("block", "ecg", "hypertrophy", "fibrillation", "synthetic", "infarction")
ORGS = [slug for slug, _ in ORGANISATIONS]
FILTERS = (
    "",
    f"organization:{ORGS[0]} OR organization:{ORGS[1]}",
    f"-organization:{ORGS[2]}",
    "groups:tech",
    "metadata_modified:[2024-05-01T09:00:00.123456Z TO *]",
)


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def report(name: str, samples: list[float]) -> None:
    p50, p95 = percentiles(samples)
    verdict = "met" if p95 <= GOAL_MS else "MISSED"
    print(
        f"  {name:<48} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  "
        f"(n={len(samples)})  goal p95 <= {GOAL_MS:.0f} ms: {verdict}",
        flush=True,
    )


def timed_get(client: httpx.Client, url: str, headers=None) -> tuple[float, dict]:
    started = time.perf_counter()
    response = client.get(url, headers=headers or {})
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}")
    return elapsed, response


def package_search(**params) -> str:
    return "/api/3/action/package_search?" + urlencode(params, quote_via=quote)


def bench_harvest_walk(client: httpx.Client, max_pages: int, fq: str = "") -> None:
    """Pages of 100 by ``id asc`` from the start until one comes back empty."""
    samples, seen = [], 0
    for page in range(max_pages):
        params = {"rows": 100, "start": 100 * page, "sort": "id asc"}
        if fq:
            params["fq"] = fq
        elapsed, response = timed_get(client, package_search(**params))
        samples.append(elapsed)
        results = response.json()["result"]["results"]
        seen += len(results)
        if not results:
            break
    label = "fq organization OR" if fq else "no fq"
    report(f"harvest walk, {label} ({seen} datasets)", samples)


def bench_harvest_random(client: httpx.Client, n: int, rng, samples: int) -> None:
    """Pages of 100 by ``id asc`` at random offsets, with harvester filters."""
    times = []
    for _ in range(samples):
        fq = rng.choice(FILTERS)
        start = 100 * rng.randrange(max(1, n // 100))
        params = {"rows": 100, "start": start, "sort": "id asc"}
        if fq:
            params["fq"] = fq
        times.append(timed_get(client, package_search(**params))[0])
    report("harvest page at a random start, fq", times)


def bench_queries(client: httpx.Client, rng, samples: int) -> None:
    urls = [package_search(q=rng.choice(WORDS), rows=10) for _ in range(samples)]
    report("q= relevance, 10 rows", [timed_get(client, u)[0] for u in urls])
    urls = [
        package_search(sort="metadata_modified desc", rows=10, start=rng.randrange(50))
        for _ in range(samples)
    ]
    report("metadata_modified desc, 10 rows", [timed_get(client, u)[0] for u in urls])


def bench_pages(client: httpx.Client, slugs: list[str], rng, samples: int) -> None:
    html = {"Accept": "text/html"}
    chosen = rng.sample(slugs, min(samples, len(slugs)))
    times = [timed_get(client, f"/dataset/{s}", html)[0] for s in chosen]
    report("landing page", times)
    urls = [f"/search?q={rng.choice(WORDS)}" for _ in range(samples // 2)]
    urls += [f"/search?organization={rng.choice(ORGS)}" for _ in range(samples // 2)]
    report("search page with facets", [timed_get(client, u, html)[0] for u in urls])


def build(home: Path, n: int, port: int, database_url: str | None):
    env = {
        "CARDIOFAIR_HOME": str(home),
        "CARDIOFAIR_BASE_URL": f"http://127.0.0.1:{port}",
    }
    if database_url:
        env["CARDIOFAIR_DATABASE_URL"] = database_url
    settings = load_settings(env)
    started = time.perf_counter()
    app = create_app(settings, migrate=True)
    with app.state.sessions() as session:
        populated = populate(session, settings, n, seed=11)
        session.commit()
        built = time.perf_counter()
        search.rebuild(session, settings.base_url)
        session.commit()
    print(
        f"  {n} datasets generated in {built - started:.0f} s, "
        f"indexed in {time.perf_counter() - built:.0f} s",
        flush=True,
    )
    return app, populated


def run(backend: str, args, database_url: str | None = None) -> None:
    print(f"{backend}:", flush=True)
    rng = random.Random(5)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="cardiofair-bench-search-") as tmp:
        app, populated = build(Path(tmp) / "home", args.n, port, database_url)
        with (
            live_server(app, port) as base,
            httpx.Client(base_url=base, timeout=120) as client,
        ):
            client.get("/")  # first connection and template compilation
            bench_harvest_walk(client, args.walk_pages)
            bench_harvest_walk(client, args.walk_pages, FILTERS[1])
            bench_harvest_random(client, args.n, rng, args.samples)
            bench_queries(client, rng, args.samples)
            bench_pages(client, populated.datasets, rng, args.samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="datasets to generate")
    parser.add_argument("--samples", type=int, default=200, help="requests per measure")
    parser.add_argument(
        "--walk-pages",
        type=int,
        default=100_000,
        help="at most this many pages in the harvest walk",
    )
    parser.add_argument(
        "--sqlite-only", action="store_true", help="skip PostgreSQL even if set"
    )
    parser.add_argument("--postgres-only", action="store_true", help="skip SQLite")
    args = parser.parse_args(argv)
    if not args.postgres_only:
        run("SQLite", args)
    postgres = os.environ.get(POSTGRES_ENV)
    if postgres and not args.sqlite_only:
        with fresh_schema(postgres, "cf_bench") as url:
            run("PostgreSQL", args, url)
    elif not postgres:
        print(f"PostgreSQL: skipped ({POSTGRES_ENV} is unset)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
