"""Records per second publishing datasets as N-Triples and JSON-LD.

Each record is one dataset concept with one release (about 200 triples).
The package's bulk path (a plain set of triples written straight to text)
is timed on N records against the baseline of building an rdflib ``Graph``
per record and calling ``Graph.serialize``, timed on a smaller sample
because it is several times slower. Every figure is the median of
``--repeats`` timed batches; the ratio is fast path over baseline.

    .venv/bin/python bench/metadata.py            # N = 100,000
    .venv/bin/python bench/metadata.py -n 2000    # a quick look
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

from metadata import jsonld
from metadata.examples import EXAMPLE_BASE, example_dataset, example_release
from metadata.rdf import dataset_graph, dataset_triples, ntriples


def _records(n: int) -> list[tuple]:
    records = []
    for i in range(n):
        dataset = example_dataset(i)
        records.append((dataset, [example_release(dataset, 1)]))
    return records


def _timed_batches(
    work: Callable[[tuple], object], records: list[tuple], repeats: int
) -> float:
    """Median records per second over ``repeats`` equal batches of ``records``."""
    size = max(1, len(records) // repeats)
    rates = []
    for start in range(0, size * repeats, size):
        batch = records[start : start + size]
        began = time.perf_counter()
        for record in batch:
            work(record)
        rates.append(len(batch) / (time.perf_counter() - began))
    return statistics.median(rates)


def fast_ntriples(record: tuple) -> int:
    dataset, releases = record
    return len(ntriples(dataset_triples(dataset, releases, EXAMPLE_BASE)))


def fast_jsonld(record: tuple) -> int:
    dataset, releases = record
    triples = dataset_triples(dataset, releases, EXAMPLE_BASE)
    return len(jsonld.dumps(jsonld.expanded(triples)))


def graph_ntriples(record: tuple) -> int:
    dataset, releases = record
    return len(dataset_graph(dataset, releases, EXAMPLE_BASE).serialize(format="nt"))


def graph_jsonld(record: tuple) -> int:
    dataset, releases = record
    graph = dataset_graph(dataset, releases, EXAMPLE_BASE)
    return len(graph.serialize(format="json-ld"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=100_000, help="records, fast path")
    parser.add_argument(
        "--baseline-n", type=int, default=2_000, help="records, rdflib baseline"
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed batches")
    args = parser.parse_args(argv)

    records = _records(max(args.n, args.baseline_n))
    sample = records[: args.baseline_n]
    out = sys.stdout
    out.write(f"records: {args.n} (baseline sample {args.baseline_n}), ")
    out.write(f"median of {args.repeats} batches, one release per dataset\n")
    out.write(f"{'format':<12}{'package rec/s':>15}{'rdflib rec/s':>15}{'ratio':>8}\n")
    for name, fast, slow in (
        ("N-Triples", fast_ntriples, graph_ntriples),
        ("JSON-LD", fast_jsonld, graph_jsonld),
    ):
        fast_rate = _timed_batches(fast, records[: args.n], args.repeats)
        slow_rate = _timed_batches(slow, sample, args.repeats)
        out.write(
            f"{name:<12}{fast_rate:>15,.0f}{slow_rate:>15,.0f}"
            f"{fast_rate / slow_rate:>8.2f}\n"
        )
        out.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
