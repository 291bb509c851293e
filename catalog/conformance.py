"""Publish-time SHACL validation, run in a child process.

pyshacl's RDFS inference (owlrl) swaps rdflib's literal converters for the
whole process while it runs; a service thread that builds a graph at that
moment gets its literals converted wrongly (checksums came out as decimal
integers under concurrent load). A child process keeps the inference away
from the threads that serve requests.
"""

from __future__ import annotations

import json
import subprocess
import sys


class ConformanceCheckFailed(RuntimeError):
    """The validating child process did not answer."""


def violations(ntriples: str, profiles: list[str]) -> dict[str, list[str]]:
    """The ``sh:Violation`` messages of a graph per profile (empty: conforms).

    Parameters
    ----------
    ntriples : str
        The graph as N-Triples.
    profiles : list of str
        Profile names of :mod:`metadata.shacl`.

    Raises
    ------
    ConformanceCheckFailed
        If the child process fails or does not answer within ten minutes.
    """
    try:
        result = subprocess.run(
            [sys.executable, "-m", "catalog.conformance", *profiles],
            input=ntriples,
            capture_output=True,
            text=True,
            timeout=600,
        )
    except subprocess.TimeoutExpired:
        raise ConformanceCheckFailed("SHACL validation took over 10 minutes") from None
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise ConformanceCheckFailed(f"SHACL validation failed: {last}")
    return json.loads(result.stdout)


def _main(profiles: list[str]) -> None:
    from rdflib import Graph

    from metadata import shacl

    graph = Graph().parse(data=sys.stdin.read(), format="nt")
    found = {profile: shacl.violations(graph, profile) for profile in profiles}
    sys.stdout.write(json.dumps(found))


if __name__ == "__main__":
    _main(sys.argv[1:])
