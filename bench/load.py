"""Mixed loopback load: visitors, harvesters and a maintainer, for a fixed time.

For each database (SQLite, then PostgreSQL) a synthetic catalog of
``--datasets`` datasets is built in a temporary home (``tests/support/
catalog_data``), indexed for search and loaded into the triple store; the real
service is then started with uvicorn in a subprocess on 127.0.0.1, and
``--clients`` client threads send traffic for ``--seconds`` seconds:

* visitors: the home page, search pages, landing pages of datasets and
  releases, organisation pages;
* harvesters: CKAN ``package_search`` pages sorted ``id asc`` and
  ``package_show``, OAI-PMH ``ListRecords`` followed through its resumption
  tokens and ``GetRecord``, SPARQL queries, DCAT catalog pages and dataset
  URIs in JSON-LD;
* one maintainer: create a dataset, upload a release, read it, change its
  notes, run the gate and publish it, over and over.

It reports throughput, p50/p95/p99 latency and errors per traffic class for
each database, then the PostgreSQL/SQLite throughput ratio. Any error (a
status other than the one expected, or a failed request) makes it exit 1.
PostgreSQL comes from ``--postgres`` or ``CARDIOFAIR_TEST_POSTGRES_URL``; the
catalog goes into a fresh schema dropped afterwards.

    .venv/bin/python bench/load.py
    .venv/bin/python bench/load.py --seconds 60 --clients 12 --datasets 5000
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from catalog import search  # noqa: E402
from catalog.app import create_app  # noqa: E402
from catalog.auth import create_organization, create_user, issue_token  # noqa: E402
from catalog.settings import load_settings  # noqa: E402
from catalog.triple_sync import reindex  # noqa: E402
from tests.releases.support import write_release_folder, write_splits  # noqa: E402
from tests.support.catalog_data import ORGANISATIONS, populate  # noqa: E402
from tests.support.postgres import fresh_schema  # noqa: E402
from tests.support.server import free_port, wait_for  # noqa: E402

POSTGRES_ENV = "CARDIOFAIR_TEST_POSTGRES_URL"
CLASSES = ("visitor", "harvester", "maintainer")
WORDS = ("block", "ecg", "hypertrophy", "fibrillation", "synthetic", "infarction")
SPARQL = (
    "PREFIX dcat: <http://www.w3.org/ns/dcat#> PREFIX dct: <http://purl.org/dc/terms/>"
    " SELECT ?d ?t WHERE { ?d a dcat:Dataset ; dct:title ?t } ORDER BY ?d LIMIT 50",
    "PREFIX dcat: <http://www.w3.org/ns/dcat#>"
    " SELECT (COUNT(?r) AS ?n) WHERE { ?d dcat:hasVersion ?r }",
    "ASK { ?s ?p ?o }",
)


@dataclass
class Tally:
    """Latencies and errors of one traffic class."""

    seconds: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    last_end: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, elapsed: float, error: str | None) -> None:
        with self.lock:
            self.seconds.append(elapsed)
            self.last_end = time.monotonic()
            if error:
                self.errors.append(error)


@dataclass
class Target:
    base: str
    slugs: list[str]
    token: str
    home: Path


# Building and serving -------------------------------------------------------


def build(env: dict[str, str], n_datasets: int) -> tuple[list[str], str]:
    """Populate, index and close the catalog; its slugs and a maintainer token."""
    settings = load_settings(env)
    app = create_app(settings, migrate=True)
    try:
        with app.state.sessions() as session:
            made = populate(session, settings, n_datasets=n_datasets, seed=11)
            org = create_organization(session, "load-lab", "Load Test Lab (synthetic)")
            user = create_user(session, "maintainer@load.example", "M", org, "admin")
            _, token = issue_token(session, user, "load")
            session.commit()
            search.rebuild(session, settings.base_url)
            session.commit()
            reindex(session, settings, app.state.triples)
    finally:
        app.state.sparql.close()
        app.state.triples.close()
        app.state.engine.dispose()
    write_splits(settings.home / "sources")
    return made.datasets, token


@contextmanager
def service(env: dict[str, str], port: int) -> Iterator[str]:
    """The real service under uvicorn in a subprocess."""
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "catalog.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    full_env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, env=full_env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/health", timeout=60)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# Traffic --------------------------------------------------------------------


def visitor(client: httpx.Client, rng: random.Random, target: Target):
    slug = rng.choice(target.slugs)
    yield "GET", "/", {}
    yield "GET", f"/search?q={rng.choice(WORDS)}", {}
    yield "GET", f"/search?organization={rng.choice(ORGANISATIONS)[0]}&page=2", {}
    yield "GET", f"/dataset/{slug}", {}
    yield "GET", f"/dataset/{slug}/v1", {"expect": (200, 410)}
    yield "GET", f"/organization/{rng.choice(ORGANISATIONS)[0]}", {}


def harvester(client: httpx.Client, rng: random.Random, target: Target):
    start = rng.randrange(0, max(1, len(target.slugs) - 100))
    yield "GET", f"/api/3/action/package_search?rows=100&start={start}&sort=id+asc", {}
    yield "GET", f"/api/3/action/package_show?id={rng.choice(target.slugs)}", {}
    yield "GET", f"/dataset/{rng.choice(target.slugs)}.jsonld", {}
    yield "GET", "/catalog.ttl?page_size=100&page=1", {}
    query = quote(rng.choice(SPARQL))
    yield "GET", f"/sparql?query={query}", {}
    prefix = rng.choice(("oai_dc", "oai_datacite", "dcat_ap"))
    response = yield "GET", f"/oai?verb=ListRecords&metadataPrefix={prefix}", {}
    for _ in range(2):
        token = _resumption_token(response.text if response else "")
        if not token:
            break
        response = yield "GET", f"/oai?verb=ListRecords&resumptionToken={token}", {}
    slug = rng.choice(target.slugs)
    yield (
        "GET",
        f"/oai?verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:127.0.0.1:{slug}/v1",
        {},
    )  # noqa: E501


def _resumption_token(text: str) -> str:
    marker = "<resumptionToken"
    if marker not in text:
        return ""
    tail = text.split(marker, 1)[1].split(">", 1)[1]
    return tail.split("<", 1)[0].strip()


_serial = iter(range(1_000_000))
_serial_lock = threading.Lock()


def maintainer(client: httpx.Client, rng: random.Random, target: Target):
    with _serial_lock:
        n = next(_serial)
    slug = f"load-release-{n}"
    folder = write_release_folder(target.home / "load-out" / slug, seed=n)
    files = [
        ("files", (p.relative_to(folder).as_posix(), p.read_bytes()))
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    ]
    body = {"slug": slug, "title": f"Load test release {n} (synthetic)"}
    yield "POST", "/api/v1/datasets", {"json": body, "expect": (201,)}
    created = yield (
        "POST",
        f"/api/v1/datasets/{slug}/releases",
        {
            "files": files,
            "expect": (201,),
        },
    )
    release = created.json()["id"] if created else None
    if release is None:
        return
    yield "GET", f"/api/v1/releases/{release}", {}
    notes = {"version_notes": "regenerated for the load test"}
    yield "PATCH", f"/api/v1/releases/{release}", {"json": notes}
    splits = {"real": "sources/real_train.csv", "control": "sources/control.csv"}
    yield "POST", f"/api/v1/releases/{release}/gate", {"json": splits}
    yield "POST", f"/api/v1/releases/{release}/publish", {}
    yield "GET", f"/api/v1/datasets/{slug}/audit", {}


TRAFFIC: dict[str, Callable] = {
    "visitor": visitor,
    "harvester": harvester,
    "maintainer": maintainer,
}


def client_loop(kind: str, target: Target, tally: Tally, deadline: float, seed: int):
    rng = random.Random(seed)
    headers = {}
    if kind == "maintainer":
        headers["Authorization"] = f"Bearer {target.token}"
    with httpx.Client(base_url=target.base, timeout=120, headers=headers) as client:
        while time.monotonic() < deadline:
            steps = TRAFFIC[kind](client, rng, target)
            response = None
            try:
                while time.monotonic() < deadline:
                    method, url, options = steps.send(response)
                    response = _send(client, tally, method, url, dict(options))
            except StopIteration:
                pass


def _send(client, tally: Tally, method: str, url: str, options: dict):
    expect = options.pop("expect", (200,))
    started = time.perf_counter()
    try:
        response = client.request(method, url, **options)
    except httpx.HTTPError as exc:
        tally.record(time.perf_counter() - started, f"{method} {url}: {exc!r}")
        return None
    elapsed = time.perf_counter() - started
    error = None
    if response.status_code not in expect:
        error = f"{method} {url}: {response.status_code} {response.text[:200]}"
    tally.record(elapsed, error)
    return response if error is None else None


def run_load(
    target: Target, seconds: float, clients: int
) -> tuple[dict[str, Tally], float]:
    """Run the clients; the tallies and the moment they started.

    A request under way at the deadline is waited for and counted; each class's
    throughput is taken over its own span, up to its last answer."""
    tallies = {kind: Tally() for kind in CLASSES}
    n_harvesters = max(1, (clients - 1) // 2)
    kinds = ["maintainer"] + ["harvester"] * n_harvesters
    kinds += ["visitor"] * max(1, clients - len(kinds))
    started = time.monotonic()
    deadline = started + seconds
    threads = [
        threading.Thread(
            target=client_loop, args=(kind, target, tallies[kind], deadline, seed)
        )
        for seed, kind in enumerate(kinds)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tallies, started


# Reporting ------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[rank]


def report(name: str, tallies: dict[str, Tally], started: float) -> None:
    wall = max(t.last_end for t in tallies.values()) - started
    print(f"\n{name}: {wall:.1f} s until the last answer")
    print(
        f"  {'class':<11}{'requests':>9}{'req/s':>9}{'p50 ms':>9}"
        f"{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}"
    )
    for kind, tally in tallies.items():
        ms = [s * 1000 for s in tally.seconds]
        span = max(tally.last_end - started, 1e-9)
        print(
            f"  {kind:<11}{len(ms):>9}{len(ms) / span:>9.1f}"
            f"{percentile(ms, 0.50):>9.1f}{percentile(ms, 0.95):>9.1f}"
            f"{percentile(ms, 0.99):>9.1f}{len(tally.errors):>8}"
        )
        for error in tally.errors[:5]:
            print(f"    ! {error}")


def run_backend(name: str, database_url: str | None, args) -> dict[str, Tally]:
    with tempfile.TemporaryDirectory(prefix=f"cardiofair-load-{name}-") as tmp:
        port = free_port()
        env = {
            "CARDIOFAIR_HOME": str(Path(tmp) / "home"),
            "CARDIOFAIR_BASE_URL": f"http://127.0.0.1:{port}",
        }
        if database_url:
            env["CARDIOFAIR_DATABASE_URL"] = database_url
        started = time.perf_counter()
        slugs, token = build(env, args.datasets)
        took = time.perf_counter() - started
        print(f"{name}: {len(slugs)} datasets built in {took:.0f} s")
        with service(env, port) as base:
            target = Target(base, slugs, token, Path(env["CARDIOFAIR_HOME"]))
            tallies, started = run_load(target, args.seconds, args.clients)
        report(name, tallies, started)
        return tallies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30, help="load duration")
    parser.add_argument("--clients", type=int, default=8, help="client threads")
    parser.add_argument("--datasets", type=int, default=2000, help="catalog size")
    parser.add_argument(
        "--postgres",
        default=os.environ.get(POSTGRES_ENV),
        help=f"PostgreSQL URL (default: ${POSTGRES_ENV})",
    )
    args = parser.parse_args(argv)
    if args.clients < 3 or args.seconds <= 0 or args.datasets < 10:
        parser.error("expected --clients >= 3, --seconds > 0 and --datasets >= 10")
    if not args.postgres:
        parser.error(f"PostgreSQL is needed: pass --postgres or set {POSTGRES_ENV}")
    print(
        f"mixed load: {args.clients} clients for {args.seconds:.0f} s on "
        f"{args.datasets} datasets, {os.cpu_count()} cores"
    )
    results = {"sqlite": run_backend("sqlite", None, args)}
    with fresh_schema(args.postgres, "cf_load") as url:
        results["postgresql"] = run_backend("postgresql", url, args)
    print("\nrequests served, postgresql / sqlite:")
    for kind in CLASSES:
        lite = len(results["sqlite"][kind].seconds)
        pg = len(results["postgresql"][kind].seconds)
        print(f"  {kind:<11}{pg / lite if lite else float('nan'):>6.2f}")
    errors = sum(len(t.errors) for r in results.values() for t in r.values())
    print(f"\nerrors: {errors}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
