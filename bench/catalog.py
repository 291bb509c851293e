"""Latency and throughput of the catalog service on loopback, in one run.

Builds a synthetic catalog of N datasets (``tests/support/catalog_data``),
indexes it for search and SPARQL, serves the real application with uvicorn
on 127.0.0.1 and measures, sequentially from one client:

* p50 / p95 of the landing page, the JSON-LD of a dataset, ``package_search``;
* p50 / p95 of typical harvester SPARQL queries through ``/sparql``, asked
  again and again (the service answers repeats from its cache until the
  triples change) and each time with a new comment (so never from the
  cache), next to the same queries on an rdflib in-memory graph (the
  baseline; it is loaded with ``--baseline-n`` datasets only, because rdflib
  cannot hold the full catalog in reasonable memory and time, so its figures
  flatter it);
* records per second of a full OAI-PMH ``ListRecords`` harvest (oai_dc);
* with ``--virtuoso``, the same SPARQL queries again through the service
  backed by a private Virtuoso 7 (``tests/support/virtuoso``), loaded by
  ``reindex`` over SPARQL 1.1 Update, and both stores' figures side by side.

Goals at 100,000 datasets on 2 cores: landing page and package_search p95
<= 50 ms, SPARQL p95 <= 100 ms, OAI-PMH >= 2,000 records/s.

    .venv/bin/python bench/catalog.py              # N = 100,000
    .venv/bin/python bench/catalog.py --n 5000     # a quick look
    .venv/bin/python bench/catalog.py --home /var/tmp/cf100k   # build once,
                                                   # measure again later
    .venv/bin/python bench/catalog.py --n 5000 --virtuoso  # and on Virtuoso

With ``--home`` the catalog is built into that folder the first time and
reused as it is afterwards (same N, seed and base URL, recorded in
``bench.json`` there); the service then listens on the port the catalog was
built for, since every stored URI names it. Virtuoso's database is kept in
``virtuoso/`` there too, and loaded only the first time it is asked for.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import rdflib
from lxml import etree
from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from catalog import search  # noqa: E402
from catalog.app import create_app  # noqa: E402
from catalog.db.models import Dataset  # noqa: E402
from catalog.records import dataset_triples, iter_dataset_records  # noqa: E402
from catalog.settings import load_settings  # noqa: E402
from catalog.sparql_engine import query_form  # noqa: E402
from catalog.triple_sync import reindex  # noqa: E402
from tests.support.catalog_data import Populated, populate  # noqa: E402
from tests.support.server import free_port, live_server  # noqa: E402
from tests.support.virtuoso import checkpoint, private_virtuoso  # noqa: E402

PREFIXES = """
PREFIX dcat: <http://www.w3.org/ns/dcat#>
PREFIX dct: <http://purl.org/dc/terms/>
"""
SPARQL_QUERIES = {
    "recent releases": PREFIXES
    + """SELECT ?r ?modified WHERE { ?r dcat:isVersionOf ?d ; dct:modified ?modified }
ORDER BY DESC(?modified) LIMIT 100""",
    "releases of a theme": PREFIXES
    + """SELECT ?r ?title WHERE { ?r dcat:theme
<http://publications.europa.eu/resource/authority/data-theme/TECH> ; dct:title ?title ;
dcat:isVersionOf ?d } LIMIT 100""",
    "count by publisher": PREFIXES
    + """SELECT ?p (COUNT(?d) AS ?n) WHERE {
?d a dcat:DatasetSeries ; dct:publisher ?p } GROUP BY ?p""",
    "one dataset's distributions": PREFIXES
    + """SELECT ?dist ?url ?size WHERE { <{dataset}> dcat:hasVersion ?r .
?r dcat:distribution ?dist . ?dist dcat:downloadURL ?url ; dcat:byteSize ?size }""",
    "keyword filter": PREFIXES
    + """SELECT ?d WHERE { ?d dcat:keyword ?k FILTER(CONTAINS(STR(?k), "hypertrophy")) }
LIMIT 50""",
    # How a harvester walks a SPARQL endpoint: pages of series with their
    # issue dates, then each series described in full.
    "page of 1,000 series": PREFIXES
    + """SELECT ?d ?issued WHERE { ?d a dcat:DatasetSeries ; dct:issued ?issued }
LIMIT {page} OFFSET {offset}""",
    "describe one dataset": "DESCRIBE <{dataset}>",
}
SPARQL_PAGE = 1000  # series per page of the harvester's walk
OAI = "{http://www.openarchives.org/OAI/2.0/}"


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return statistics.median(ordered), p95


def timed_gets(client: httpx.Client, urls: list[str], headers=None) -> list[float]:
    samples = []
    for url in urls:
        started = time.perf_counter()
        response = client.get(url, headers=headers or {})
        samples.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
    return samples


def report(name: str, samples: list[float], goal: float | None = None) -> None:
    p50, p95 = percentiles(samples)
    verdict = ""
    if goal is not None:
        met = "met" if p95 <= goal else "MISSED"
        verdict = f"  goal p95 <= {goal:.0f} ms: {met}"
    print(
        f"{name:<34} p50 {p50:8.1f} ms  p95 {p95:8.1f} ms  (n={len(samples)}){verdict}"
    )


SEED = 11
MARKER = "bench.json"


def open_catalog(home: Path, n: int, port: int):
    """The application over the catalog in ``home``, built there if it is not.

    Returns the application, its settings, what the catalog holds and the
    port to serve on.

    Raises
    ------
    SystemExit
        If ``home`` holds a catalog of another size, or something else.
    """
    marker = home / MARKER
    if marker.exists():
        built = json.loads(marker.read_text())
        if built["n"] != n or built["seed"] != SEED:
            raise SystemExit(
                f"{home} holds a catalog of {built['n']} datasets (seed "
                f"{built['seed']}); asked for {n} (seed {SEED}): use another --home"
            )
        app, settings = _app(home, built["base_url"])
        populated = _populated(app)
        print(f"catalog: {n} datasets reused from {home} (built {built['built']})")
        return app, settings, populated, built["port"]
    if home.exists() and any(home.iterdir()):
        raise SystemExit(f"{home} is not empty and holds no {MARKER}: not ours")
    base_url = f"http://127.0.0.1:{port}"
    app, settings = _app(home, base_url)
    populated = build(app, settings, n)
    record = {"n": n, "seed": SEED, "base_url": base_url, "port": port}
    record["built"] = time.strftime("%Y-%m-%d %H:%M")
    marker.write_text(json.dumps(record))
    return app, settings, populated, port


def _app(home: Path, base_url: str, **env: str):
    settings = load_settings(
        {"CARDIOFAIR_HOME": str(home), "CARDIOFAIR_BASE_URL": base_url, **env}
    )
    return create_app(settings), settings


def _populated(app) -> Populated:
    """What a reused catalog holds, as far as the measurements need it."""
    with app.state.sessions() as session:
        slugs = session.scalars(select(Dataset.slug).order_by(Dataset.slug)).all()
    return Populated(datasets=list(slugs))


def build(app, settings, n: int) -> Populated:
    started = time.perf_counter()
    with app.state.sessions() as session:
        populated = populate(session, settings, n, seed=SEED)
        session.commit()
        print(
            f"catalog: {n} datasets, {populated.n_visible} releases "
            f"in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        started = time.perf_counter()
        search.rebuild(session, settings.base_url)
        session.commit()
        print(
            f"search index built in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        started = time.perf_counter()
        reindex(session, settings, app.state.triples)
        print(
            "triple store and stored OAI-PMH records built in "
            f"{time.perf_counter() - started:.0f} s",
            flush=True,
        )
    return populated


def baseline_graph(app, settings, n: int) -> tuple[rdflib.Graph, list[str]]:
    """The first ``n`` datasets' triples in an rdflib graph, and their slugs."""
    graph = rdflib.Graph()
    slugs = []
    with app.state.sessions() as session:
        for i, record in enumerate(iter_dataset_records(session, settings)):
            if i >= n:
                break
            graph += dataset_triples(record, settings)
            slugs.append(record.slug)
    return graph, slugs


def bench_pages(client, populated, rng, samples: int) -> None:
    slugs = rng.sample(populated.datasets, min(samples, len(populated.datasets)))
    report(
        "landing page",
        timed_gets(client, [f"/dataset/{s}" for s in slugs], {"Accept": "text/html"}),
        50,
    )
    report(
        "dataset JSON-LD", timed_gets(client, [f"/dataset/{s}.jsonld" for s in slugs])
    )
    words = ["ecg", "hypertrophy", "block", "synthetic", "fibrillation"]
    urls = [
        f"/api/3/action/package_search?q={rng.choice(words)}&rows=20&start={rng.randrange(200)}"
        for _ in range(samples)
    ]
    urls += [
        f"/api/3/action/package_search?rows=100&start={100 * page}&sort=id+asc"
        for page in range(samples // 4)
    ]
    report("package_search", timed_gets(client, urls), 50)


def bench_sparql(
    client, settings, populated, samples: int, baseline=None, cached: bool = True
) -> dict[str, tuple[float, float]]:
    """Each query asked ``samples`` times, then ``samples`` times more with a
    different comment each time; p50 and p95 of the second series by query.

    The service keeps the answers of the embedded store until it changes, so a
    query asked again is a cache hit; a query the store has not seen since its
    last change is not. The comment changes the text and nothing else, so the
    second series is the store's own work every time. A remote store has no
    such cache (``cached=False`` skips the first series). The rdflib
    ``baseline`` (a graph and the slugs it holds) is asked about datasets it
    holds and pages within its size. The texts are drawn from one seed, so
    every store is asked the same queries.
    """
    rng = random.Random(5)

    def texts_for(query: str, slugs: list[str], count: int) -> list[str]:
        pages = max(1, len(slugs) // SPARQL_PAGE)
        return [
            query.replace(
                "{dataset}", f"{settings.base_url}/dataset/{rng.choice(slugs)}"
            )
            .replace("{page}", str(SPARQL_PAGE))
            .replace("{offset}", str(SPARQL_PAGE * rng.randrange(pages)))
            for _ in range(count)
        ]

    figures = {}
    for name, query in SPARQL_QUERIES.items():
        texts = texts_for(query, populated.datasets, samples)
        print(f"SPARQL {name}")
        if cached:
            report("  answer cache allowed", sparql_times(client, name, texts), 100)
        fresh = [f"# request {i} of {rng.random()}\n{t}" for i, t in enumerate(texts)]
        uncached = sparql_times(client, name, fresh)
        report("  never cached", uncached, 100)
        figures[name] = percentiles(uncached)
        if baseline is None:
            continue
        graph, slugs = baseline
        theirs = []
        for text in texts_for(query, slugs, max(3, samples // 10)):
            started = time.perf_counter()
            list(graph.query(text))
            theirs.append((time.perf_counter() - started) * 1000)
        report("  rdflib baseline", theirs)
    return figures


def sparql_times(client, name: str, texts: list[str]) -> list[float]:
    graph = query_form(texts[0]) == "graph"  # CONSTRUCT or DESCRIBE
    accept = "application/n-triples" if graph else "application/sparql-results+json"
    times = []
    for text in texts:
        started = time.perf_counter()
        response = client.get(
            "/sparql",
            params={"query": text},
            headers={"Accept": accept},
        )
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            first_line = response.text.strip().splitlines()[0]
            print(f"SPARQL {name}: answered {response.status_code}: {first_line}")
    return times


def bench_oai(client) -> None:
    params = {"verb": "ListRecords", "metadataPrefix": "oai_dc"}
    records = pages = 0
    started = time.perf_counter()
    while True:
        response = client.get("/oai", params=params)
        document = etree.fromstring(response.content)
        records += len(document.findall(f"{OAI}ListRecords/{OAI}record"))
        pages += 1
        token = document.find(f".//{OAI}resumptionToken")
        if token is None or not token.text:
            break
        params = {"verb": "ListRecords", "resumptionToken": token.text}
    seconds = time.perf_counter() - started
    rate = records / seconds
    verdict = "met" if rate >= 2000 else "MISSED"
    print(
        f"OAI-PMH ListRecords oai_dc: {records} records, {pages} pages in "
        f"{seconds:.1f} s = {rate:,.0f} records/s  goal >= 2,000: {verdict}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="datasets to generate")
    parser.add_argument("--samples", type=int, default=200, help="requests per measure")
    parser.add_argument(
        "--baseline-n",
        type=int,
        default=5_000,
        help="datasets loaded into the rdflib baseline graph",
    )
    parser.add_argument(
        "--home",
        type=Path,
        help="build the catalog here once and reuse it in later runs "
        "(default: a temporary folder, removed afterwards)",
    )
    parser.add_argument(
        "--virtuoso",
        action="store_true",
        help="also measure SPARQL through the service backed by a private "
        "Virtuoso 7 (needs Debian's virtuoso-opensource)",
    )
    parser.add_argument(
        "--virtuoso-buffers",
        type=int,
        default=250_000,
        help="Virtuoso's NumberOfBuffers, pages of 8 KiB (default about 2 GB)",
    )
    args = parser.parse_args(argv)
    if args.home is not None:
        measure(args, args.home.resolve())
        return 0
    with tempfile.TemporaryDirectory(prefix="cardiofair-bench-") as tmp:
        measure(args, Path(tmp) / "home")
    return 0


def measure(args, home: Path) -> None:
    rng = random.Random(3)
    app, settings, populated, port = open_catalog(home, args.n, free_port())
    started = time.perf_counter()
    n_baseline = min(args.baseline_n, args.n)
    baseline = baseline_graph(app, settings, n_baseline)
    print(
        f"rdflib baseline: {len(baseline[0])} triples ({n_baseline} datasets) "
        f"loaded in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    with (
        live_server(app, port) as base,
        httpx.Client(base_url=base, timeout=60) as client,
    ):
        client.get("/sparql", params={"query": "ASK {}"})  # start the workers
        bench_pages(client, populated, rng, args.samples)
        embedded = bench_sparql(
            client, settings, populated, args.samples // 4, baseline
        )
        bench_oai(client)
    if args.virtuoso:
        remote = measure_virtuoso(args, home, settings, populated, port)
        print_side_by_side(embedded, remote)


def measure_virtuoso(args, home: Path, settings, populated, port: int) -> dict:
    """The SPARQL figures of the service over a private Virtuoso whose
    database lives in ``home``, loaded from the catalog the first time."""
    with private_virtuoso(
        home / "virtuoso", buffers=args.virtuoso_buffers, start_timeout_s=1800
    ) as store:
        app, remote_settings = _app(home, settings.base_url, **store.env())
        marker = home / MARKER
        built = json.loads(marker.read_text())
        if not built.get("virtuoso_loaded"):
            started = time.perf_counter()
            with app.state.sessions() as session:
                reindex(session, remote_settings, app.state.triples)
            print(
                "Virtuoso loaded over SPARQL 1.1 Update in "
                f"{time.perf_counter() - started:.0f} s",
                flush=True,
            )
            started = time.perf_counter()
            checkpoint(store)
            print(
                f"Virtuoso checkpoint in {time.perf_counter() - started:.0f} s",
                flush=True,
            )
            marker.write_text(json.dumps({**built, "virtuoso_loaded": True}))
        print("-- the same SPARQL queries, the service backed by Virtuoso")
        with (
            live_server(app, port) as base,
            httpx.Client(base_url=base, timeout=60) as client,
        ):
            return bench_sparql(
                client, remote_settings, populated, args.samples // 4, cached=False
            )


def print_side_by_side(embedded: dict, remote: dict) -> None:
    print("SPARQL never cached, p50 / p95 ms    embedded pyoxigraph      Virtuoso")
    for name, (p50, p95) in embedded.items():
        r50, r95 = remote[name]
        print(f"  {name:<32} {p50:8.1f} / {p95:8.1f}  {r50:8.1f} / {r95:8.1f}")


if __name__ == "__main__":
    sys.exit(main())
