"""JSON-LD with pyld, using only the contexts bundled in the package.

Remote contexts are never fetched: :func:`offline_loader` serves the bundled
contexts by their URLs and refuses every other URL, so a document that names
an unknown remote context fails fast instead of reaching the network. A
fetched context can change or vanish and so silently change what a published
record means, and fetching from a request path would let input make the
service call out. Our own output embeds its context inline.
"""

from __future__ import annotations

import copy
import json
import logging
from functools import cache
from importlib import resources
from typing import Any

from pyld import jsonld
from rdflib import BNode, Graph, Literal, URIRef

from metadata.namespaces import PREFIXES, XSD, bind_prefixes

log = logging.getLogger(__name__)

CONTEXT_URL = "https://w3id.org/cardiofair/context/v1"
# The official DCAT-AP 3.0.1 context is not bundled: it defines terms such as
# "Xsd:dateTime" that a JSON-LD 1.1 processor rejects as IRI-like terms.
BUNDLED = {CONTEXT_URL: "cardiofair-v1.jsonld"}


class RemoteContextRefused(ValueError):
    """A JSON-LD document asked for a context that is not bundled."""


@cache
def bundled_context(url: str = CONTEXT_URL) -> dict[str, Any]:
    """The parsed context document bundled for ``url``."""
    name = BUNDLED[url]
    text = resources.files("metadata.contexts").joinpath(name).read_text("utf-8")
    return json.loads(text)


def context() -> dict[str, Any]:
    """The project's context object (the value of ``@context``), a fresh copy."""
    return copy.deepcopy(bundled_context()["@context"])


def offline_loader(url: str, options: dict | None = None) -> dict[str, Any]:
    """pyld document loader that serves bundled contexts and nothing else.

    Raises
    ------
    RemoteContextRefused
        For any URL that is not a bundled context.
    """
    if url not in BUNDLED:
        raise RemoteContextRefused(
            f"JSON-LD context {url!r} is not bundled; remote contexts are never "
            f"fetched (bundled: {', '.join(sorted(BUNDLED))})"
        )
    return {
        "contextUrl": None,
        "documentUrl": url,
        "document": copy.deepcopy(bundled_context(url)),
    }


def _options(**extra) -> dict[str, Any]:
    return {"documentLoader": offline_loader, **extra}


def _run(operation, *args, **options):
    try:
        return operation(*args, _options(**options))
    except jsonld.JsonLdError as exc:
        refused = _find_refusal(exc)
        if refused is not None:
            raise refused from None
        raise


def _find_refusal(exc: BaseException) -> RemoteContextRefused | None:
    seen = exc
    while seen is not None:
        if isinstance(seen, RemoteContextRefused):
            return seen
        cause = getattr(seen, "cause", None) or seen.__cause__ or seen.__context__
        seen = cause if cause is not seen else None
    return None


# --------------------------------------------------------------------------
# Graph <-> JSON-LD


def _term_json(term) -> dict[str, Any]:
    if isinstance(term, URIRef):
        return {"@id": str(term)}
    if isinstance(term, BNode):
        return {"@id": f"_:{term}"}
    value: dict[str, Any] = {"@value": str(term)}
    if term.language:
        value["@language"] = term.language
    elif term.datatype is not None and term.datatype != XSD.string:
        value["@type"] = str(term.datatype)
    return value


def expanded(triples) -> list[dict[str, Any]]:
    """Flattened, expanded JSON-LD of any iterable of RDF triples.

    A direct mapping that needs no JSON-LD processor; it is also the fast
    path used to publish in bulk.
    """
    nodes: dict[Any, dict[str, Any]] = {}
    rdf_type = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
    for s, p, o in triples:
        subject = _term_json(s)["@id"]
        node = nodes.setdefault(subject, {"@id": subject})
        if str(p) == rdf_type and not isinstance(o, Literal):
            node.setdefault("@type", []).append(_term_json(o)["@id"])
        else:
            node.setdefault(str(p), []).append(_term_json(o))
    return list(nodes.values())


def from_graph(graph: Graph) -> list[dict[str, Any]]:
    """Expanded JSON-LD of an rdflib graph."""
    return expanded(graph)


def compact(graph: Graph) -> dict[str, Any]:
    """The graph as compacted JSON-LD with the project's inline context."""
    return _run(jsonld.compact, from_graph(graph), {"@context": context()})


def frame(graph: Graph, node_id: str) -> dict[str, Any]:
    """The graph framed around one node (a dataset, release or catalog).

    Everything reachable from ``node_id`` is embedded once, the rest stays
    referenced by ``@id``.
    """
    shape = {"@context": context(), "@id": node_id, "@embed": "@once"}
    return _run(jsonld.frame, from_graph(graph), shape, omitGraph=True)


def to_graph(document: dict[str, Any] | list) -> Graph:
    """Parse a JSON-LD document into an rdflib graph, offline.

    Raises
    ------
    RemoteContextRefused
        If the document names a context that is not bundled.
    """
    nquads = _run(jsonld.to_rdf, document, format="application/n-quads")
    graph = bind_prefixes(Graph())
    graph.parse(data=nquads, format="nt")
    return graph


def dumps(document: dict[str, Any] | list) -> str:
    """Serialise a JSON-LD document as compact UTF-8 JSON text."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


__all__ = [
    "CONTEXT_URL",
    "PREFIXES",
    "RemoteContextRefused",
    "compact",
    "context",
    "dumps",
    "expanded",
    "frame",
    "from_graph",
    "offline_loader",
    "to_graph",
]
